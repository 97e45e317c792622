//! The 13 GB Llama-7B-shaped checkpoint shared by the big-file test and the benchmark: generated as
//! a sparse file (its storages are holes) by `gen/make_llama.py`, plus the instruments that
//! measure opening it: a source that counts what is read and an allocator that records peak heap.
#![allow(dead_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use torchpeek::{Result, Source};

/// The Llama-7B-shaped bf16 torch zip, generated once into cargo's scratch folder for tests.
pub fn llama_file() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let path = dir.join("llama-7b-bf16.pt");
    if !path.exists() {
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../gen/make_llama.py");
        // A name of this process's own: two runs (a test and the bench) may generate at once.
        let partial = dir.join(format!("llama-7b-bf16.pt.{}.partial", std::process::id()));
        let status = std::process::Command::new("python3").arg(&script).arg(&partial).status().expect("python3 runs");
        assert!(status.success(), "make_llama.py failed");
        std::fs::rename(&partial, &path).unwrap();
    }
    path
}

/// A source that counts the reads and bytes asked of the one it wraps.
pub struct Counting<S> {
    pub inner: S,
    pub reads: AtomicU64,
    pub bytes: AtomicU64,
}

impl<S: Source> Counting<S> {
    pub fn new(inner: S) -> Self {
        Counting { inner, reads: AtomicU64::new(0), bytes: AtomicU64::new(0) }
    }
}

impl<S: Source> Source for Counting<S> {
    fn name(&self) -> &str {
        self.inner.name()
    }
    fn len(&self) -> u64 {
        self.inner.len()
    }
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<()> {
        self.reads.fetch_add(1, Ordering::Relaxed);
        self.bytes.fetch_add(buf.len() as u64, Ordering::Relaxed);
        self.inner.read_at(offset, buf)
    }
}

/// The system allocator, recording live and peak heap bytes. Install with `#[global_allocator]`.
pub struct PeakAlloc;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for PeakAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let live = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(live, Ordering::Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            if new_size >= layout.size() {
                let live = LIVE.fetch_add(new_size - layout.size(), Ordering::Relaxed) + new_size - layout.size();
                PEAK.fetch_max(live, Ordering::Relaxed);
            } else {
                LIVE.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
            }
        }
        p
    }
}

/// Peak heap bytes allocated beyond what was live when `f` started, while `f` ran.
pub fn peak_heap_during<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let base = LIVE.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    let v = f();
    (v, PEAK.load(Ordering::Relaxed) - base)
}
