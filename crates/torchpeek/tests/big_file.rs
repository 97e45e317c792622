//! Opening a 13 GB checkpoint reads kilobytes and allocates megabytes (a Llama-7B-shaped bf16
//! state_dict, generated as a sparse file). `cargo bench --bench open` prints the exact numbers.

#[path = "common/big.rs"]
mod big;

use big::{peak_heap_during, Counting, PeakAlloc};
use std::sync::atomic::Ordering;
use torchpeek::{dtype::DType, FileSource, Source};
use std::sync::Arc;

#[global_allocator]
static ALLOC: PeakAlloc = PeakAlloc;

#[test]
fn a_13_gb_checkpoint_opens_from_kilobytes_in_megabytes() {
    let path = big::llama_file();
    let counting = Arc::new(Counting::new(FileSource::open(&path).unwrap()));
    let file_len = counting.len();
    assert!(file_len > 13_000_000_000, "{file_len}");

    let start = std::time::Instant::now();
    let (model, peak) = peak_heap_during(|| torchpeek::open(vec![Box::new(counting.clone())]).unwrap());
    let elapsed = start.elapsed();
    let read = counting.bytes.load(Ordering::Relaxed);
    eprintln!("open: {elapsed:?}, {read} bytes read in {} reads, peak heap {peak} bytes", counting.reads.load(Ordering::Relaxed));

    let doc = &model.document;
    assert_eq!(doc.tensors.len(), 291);
    assert_eq!(doc.state_dict.len(), 291);
    assert!(doc.tensors.iter().all(|t| t.dtype == DType::BFloat16));
    let params: u64 = doc.tensors.iter().map(|t| t.numel).sum();
    assert_eq!(params, 6_738_415_616);
    let embed = doc.state_dict.iter().find(|e| e.key == "model.embed_tokens.weight").unwrap();
    assert_eq!(doc.tensors[embed.tensor].shape, vec![32000, 4096]);
    assert!(doc.errors.is_empty(), "{:?}", doc.errors);

    // Metadata only: the pickle and the zip directory, not the 13 GB of storages.
    assert!(read < 1 << 20, "opening read {read} bytes");
    assert!(peak < 64 << 20, "opening allocated a peak of {peak} bytes");
    // Lenient here (a loaded CI machine); the benchmark reports the real time.
    assert!(elapsed.as_secs_f64() < 2.0, "opening took {elapsed:?}");

    // The safety check reads the pickles only.
    let before = counting.bytes.load(Ordering::Relaxed);
    let start = std::time::Instant::now();
    let safety = torchpeek::safety::check_one(&counting);
    let elapsed = start.elapsed();
    let read = counting.bytes.load(Ordering::Relaxed) - before;
    eprintln!("check: {elapsed:?}, {read} bytes read");
    assert_eq!(safety.verdict, torchpeek::safety::Verdict::Safe, "{:?}", safety.findings);
    assert!(read < 1 << 20, "checking read {read} bytes");
    assert!(elapsed.as_secs_f64() < 1.0, "checking took {elapsed:?}");

    // A statistic reads its tensor only.
    let norm = doc.state_dict.iter().find(|e| e.key == "model.norm.weight").unwrap().tensor;
    let before = counting.bytes.load(Ordering::Relaxed);
    let s = torchpeek::stats::tensor_stats(&model, norm).unwrap();
    assert_eq!(s.count, 4096);
    assert_eq!(counting.bytes.load(Ordering::Relaxed) - before, 4096 * 2);
}
