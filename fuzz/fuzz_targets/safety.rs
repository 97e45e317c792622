//! The safety verdict on arbitrary bytes: the scan (every place a pickle hides: zip members both
//! ways, tar members, numpy object arrays, nested loaders) and the torch.load mirror (zip records,
//! the legacy format, the weights-only unpickler), under two names since `.safetensors` changes
//! torch's path.
#![no_main]
use libfuzzer_sys::fuzz_target;
use torchpeek::MemSource;

fuzz_target!(|data: &[u8]| {
    for name in ["fuzz.pt", "fuzz.safetensors"] {
        let s = torchpeek::safety::check_one(&MemSource::new(name, data.to_vec()));
        assert!(s.torch_loads == s.refusal.is_none());
        assert!(s.verdict != torchpeek::safety::Verdict::Safe || s.torch_loads);
    }
});
