//! Whole-file opening on arbitrary bytes (every container: torch zip, legacy, TorchScript,
//! safetensors, ONNX), then what the page does next: the document's JSON and each tensor's
//! statistics and first values.
#![no_main]
use libfuzzer_sys::fuzz_target;
use torchpeek::{MemSource, Source};

fuzz_target!(|data: &[u8]| {
    let source: Box<dyn Source> = Box::new(MemSource::new("fuzz.pt", data.to_vec()));
    if let Ok(model) = torchpeek::open(vec![source]) {
        let _ = model.document.to_json();
        for i in 0..model.document.tensors.len().min(8) {
            let _ = torchpeek::stats::tensor_stats(&model, i);
            let _ = torchpeek::read::tensor_values(&model, i, 16);
        }
    }
});
