//! `cargo bench --bench open`: what opening and reading cost, next to what a user would otherwise
//! run (`bench/compare.py`: Python's zipfile + pickle, torch.load when torch is installed, numpy).
//!
//! 1. A 13 GB Llama-7B-shaped bf16 torch zip (sparse, generated): open time, bytes read, peak heap
//!    of `torchpeek::open`, and the CLI's wall time and peak RSS for `inspect --json`.
//! 2. Statistics over a 1 GiB float32 tensor (a safetensors file of pseudo-random values).

#[path = "../../torchpeek/tests/common/big.rs"]
mod big;

use big::{peak_heap_during, Counting, PeakAlloc};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;
use torchpeek::FileSource;

#[global_allocator]
static ALLOC: PeakAlloc = PeakAlloc;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

/// Runs `bench/compare.py` and returns its JSON line.
fn python(args: &[&str]) -> Option<serde_json::Value> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../bench/compare.py");
    let out = Command::new("python3").arg(script).args(args).output().ok()?;
    serde_json::from_slice(&out.stdout).ok()
}

/// `/usr/bin/time` of a command: (wall seconds, peak RSS in KiB).
fn timed(cmd: &str, args: &[&str]) -> Option<(f64, u64)> {
    let out = Command::new("/usr/bin/time").args(["-f", "%e %M", cmd]).args(args).output().ok()?;
    let err = String::from_utf8_lossy(&out.stderr);
    let mut last = err.lines().last()?.split_whitespace();
    Some((last.next()?.parse().ok()?, last.next()?.parse().ok()?))
}

fn mib(bytes: f64) -> String {
    format!("{:.1} MiB", bytes / (1u64 << 20) as f64)
}

fn open_bench() {
    let path = big::llama_file();
    let size = std::fs::metadata(&path).unwrap().len();
    println!("## Opening {} ({:.1} GB, Llama-7B-shaped bf16 state_dict, sparse)\n", path.display(), size as f64 / 1e9);

    let mut times = Vec::new();
    let (mut read, mut reads, mut peak) = (0, 0, 0);
    for _ in 0..21 {
        let counting = Arc::new(Counting::new(FileSource::open(&path).unwrap()));
        let t0 = Instant::now();
        let (model, p) = peak_heap_during(|| torchpeek::open(vec![Box::new(counting.clone())]).unwrap());
        times.push(t0.elapsed().as_secs_f64() * 1e3);
        assert_eq!(model.document.tensors.len(), 291);
        (read, reads, peak) = (counting.bytes.load(Ordering::Relaxed), counting.reads.load(Ordering::Relaxed), p);
    }
    let ours = median(times);
    let check_times: Vec<f64> = (0..21)
        .map(|_| {
            let src = FileSource::open(&path).unwrap();
            let t0 = Instant::now();
            assert_eq!(torchpeek::safety::check_one(&src).verdict, torchpeek::safety::Verdict::Safe);
            t0.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    let check = median(check_times);
    let cli = timed(env!("CARGO_BIN_EXE_torchpeek"), &["inspect", "--json", path.to_str().unwrap()]);
    let py = python(&["open", path.to_str().unwrap()]);

    println!("| reader | open (median of 21) | peak memory | bytes read |");
    println!("|---|---|---|---|");
    println!("| torchpeek::open (library) | {ours:.2} ms | {} heap | {read} in {reads} reads |", mib(peak as f64));
    println!("| torchpeek::safety::check_one (scan every pickle) | {check:.2} ms | | |");
    if let Some((wall, rss)) = cli {
        println!("| `torchpeek inspect --json` (whole process) | {:.0} ms wall | {} RSS | |", wall * 1e3, mib(rss as f64 * 1024.0));
    }
    match py {
        Some(py) => {
            let rss = py["max_rss_kb"].as_f64().unwrap_or(0.0) * 1024.0;
            println!("| Python zipfile + pickle with stand-ins (median of 5) | {:.2} ms | {} RSS (whole interpreter) | |", py["stdlib_ms"].as_f64().unwrap_or(f64::NAN), mib(rss));
            match py["torch_ms"].as_f64() {
                Some(t) => println!("| torch.load(mmap=True, weights_only=True) | {t:.1} ms | | |"),
                None => println!("| torch.load(mmap=True, weights_only=True) | torch not installed | | |"),
            }
        }
        None => println!("| Python zipfile + pickle | python3 did not run | | |"),
    }
    println!();
}

/// A safetensors file with one float32 tensor of `n` pseudo-random values (xorshift, some NaN).
fn float_file(n: usize) -> PathBuf {
    let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("f32-{n}.safetensors"));
    if path.exists() {
        return path;
    }
    let header = format!(r#"{{"x":{{"dtype":"F32","shape":[{n}],"data_offsets":[0,{}]}}}}"#, n * 4);
    let mut f = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    f.write_all(&(header.len() as u64).to_le_bytes()).unwrap();
    f.write_all(header.as_bytes()).unwrap();
    let mut x = 0x9e3779b97f4a7c15u64;
    let mut block = Vec::with_capacity(1 << 20);
    for i in 0..n {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let v = if i % 1_000_003 == 0 { f32::NAN } else { ((x >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * 4.0 };
        block.extend_from_slice(&v.to_le_bytes());
        if block.len() >= 1 << 20 {
            f.write_all(&block).unwrap();
            block.clear();
        }
    }
    f.write_all(&block).unwrap();
    f.flush().unwrap();
    path
}

fn stats_bench() {
    let n = 1usize << 28; // 1 GiB of float32
    let path = float_file(n);
    let mut len = [0u8; 8];
    std::io::Read::read_exact(&mut std::fs::File::open(&path).unwrap(), &mut len).unwrap();
    let header_len = 8 + u64::from_le_bytes(len) as usize;
    println!("## Statistics over one float32 tensor of {} (file in the page cache)\n", mib((n * 4) as f64));
    let model = torchpeek::open(vec![Box::new(FileSource::open(&path).unwrap())]).unwrap();
    torchpeek::stats::tensor_stats(&model, 0).unwrap(); // warm the cache
    let mut times = Vec::new();
    let mut sum = 0.0;
    for _ in 0..3 {
        let t0 = Instant::now();
        sum = torchpeek::stats::tensor_stats(&model, 0).unwrap().sum;
        times.push(t0.elapsed().as_secs_f64());
    }
    let ours = median(times);
    let t0 = Instant::now();
    torchpeek::stats::histogram(&model, 0, 64, &mut |_, _| true).unwrap();
    let hist = t0.elapsed().as_secs_f64();
    let gb = (n * 4) as f64 / 1e9;
    println!("| reader | time | throughput | sum |");
    println!("|---|---|---|---|");
    println!("| torchpeek stats (min, max, mean, std, sum, abs sum, NaN/Inf/zero counts) | {ours:.3} s | {:.2} GB/s | {sum:.6e} |", gb / ours);
    println!("| torchpeek stats + 64-bin histogram (two passes) | {hist:.3} s | {:.2} GB/s | |", gb / hist);
    match python(&["stats", path.to_str().unwrap(), &header_len.to_string(), &n.to_string()]) {
        Some(py) if py["numpy_s"].is_f64() => {
            let t = py["numpy_s"].as_f64().unwrap();
            let rss = py["max_rss_kb"].as_f64().unwrap_or(0.0) * 1024.0;
            println!(
                "| numpy memmap: nanmin, nanmax, nanmean, nanstd, nansum, abs nansum, NaN/Inf counts ({} RSS) | {t:.3} s | {:.2} GB/s | {:.6e} |",
                mib(rss),
                gb / t,
                py["numpy_sum"].as_f64().unwrap_or(f64::NAN)
            );
        }
        _ => println!("| numpy | did not run (`pip install numpy`) | | |"),
    }
    println!();
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test` runs bench targets only when asked, with no flag.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    open_bench();
    stats_bench();
}
