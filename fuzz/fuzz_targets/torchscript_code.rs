//! The TorchScript code reader (`code/**/*.py`: our tokenizer and parser) on arbitrary text.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = torchpeek::container::torchscript::parser::parse(&String::from_utf8_lossy(data));
});
