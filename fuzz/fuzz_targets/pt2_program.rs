//! The `.pt2` exported-program reader (`models/model.json`) on arbitrary bytes, and its summary.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(p) = torchpeek::container::pt2::program::parse(data, "fuzz/models/model.json") {
        let _ = p.summary_json();
    }
});
