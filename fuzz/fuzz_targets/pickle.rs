//! The pickle machine on arbitrary bytes: any result but a panic, a hang or a runaway allocation.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = torchpeek::pickle::machine::parse(data, 0, "data.pkl");
});
