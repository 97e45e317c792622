//! The ONNX protobuf reader on arbitrary bytes (opening needs a plausible first field; this target
//! reaches the wire reader directly).
#![no_main]
use libfuzzer_sys::fuzz_target;
use torchpeek::MemSource;

fuzz_target!(|data: &[u8]| {
    let _ = torchpeek::container::onnx::parse(&MemSource::new("fuzz.onnx", data.to_vec()));
});
