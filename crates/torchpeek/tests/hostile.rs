//! Truncated, corrupted and hostile inputs: each gives a clear error (or a reported problem),
//! never a panic, a hang or an unbounded allocation.

mod common;
use common::*;
use torchpeek::{Error, Model};

fn err(name: &str, bytes: Vec<u8>) -> String {
    match open_bytes(name, bytes) {
        Ok(m) => panic!("{name} opened: {:?}", m.document.errors),
        Err(e) => e.to_string(),
    }
}

/// Fails unless the document lists a problem whose message contains `what`.
fn assert_problem(m: &Model, what: &str) {
    assert!(m.document.errors.iter().any(|e| e.message.contains(what)), "no problem mentions {what:?}: {:?}", m.document.errors);
}

/// The error reading the first tensor's statistics gives.
fn stats_err(m: &Model) -> String {
    match torchpeek::stats::tensor_stats(m, 0) {
        Ok(s) => panic!("statistics of a broken tensor: {s:?}"),
        Err(e) => e.to_string(),
    }
}

fn f32s(n: usize) -> Vec<u8> {
    (0..n).flat_map(|i| (i as f32).to_le_bytes()).collect()
}

#[test]
fn a_hand_made_checkpoint_reads() {
    let p = state_dict_pickle("w", "0", 6, 0, &[2, 3], &[3, 1]);
    let m = open_bytes("ok.pt", torch_zip(&p, &[("0", &f32s(6))])).unwrap();
    assert_eq!(m.document.tensors[0].shape, vec![2, 3]);
    let s = torchpeek::stats::tensor_stats(&m, 0).unwrap();
    assert_eq!(s.sum, 15.0);
}

#[test]
fn truncated_files_name_what_is_missing() {
    let full = fixture("mlp_checkpoint.pt");
    for cut in [0, 3, 100, full.len() / 2, full.len() - 10] {
        let e = err("cut.pt", full[..cut].to_vec());
        assert!(!e.is_empty(), "cut at {cut}");
    }
    let e = err("cut.pt", full[..full.len() - 10].to_vec());
    assert!(e.contains("end of central directory"), "{e}");
    let legacy = fixture("mlp_state_dict_legacy.pth");
    let e = err("cut.pth", legacy[..300].to_vec());
    assert!(e.contains("truncated"), "{e}");
}

#[test]
fn unknown_opcode_names_member_and_offset() {
    let mut p = state_dict_pickle("w", "0", 6, 0, &[6], &[1]);
    let at = p.len() - 1;
    p[at] = 0xff;
    let e = err("bad.pt", torch_zip(&p, &[("0", &f32s(6))]));
    assert!(e.contains("archive/data.pkl at byte") && e.contains("unknown opcode 0xff"), "{e}");
}

#[test]
fn memo_cycles_are_reported_not_followed() {
    // l = []; l.append(l); {'x': l}
    let p = b"\x80\x02}q\x00X\x01\x00\x00\x00x]q\x01h\x01as.".to_vec();
    let m = open_bytes("cycle.pt", torch_zip(&p, &[])).unwrap();
    assert_problem(&m, "cycle");
}

#[test]
fn billion_laughs_is_bounded() {
    // a = [1]; then 40 times a = [a, a]: 2^40 leaves if expanded.
    let mut p = b"\x80\x02]q\x00K\x01a".to_vec();
    for i in 0..40u32 {
        p.extend_from_slice(b"(h");
        p.push(i as u8);
        p.push(b'h');
        p.push(i as u8);
        p.extend_from_slice(b"lq");
        p.push(i as u8 + 1);
    }
    p.push(b'.');
    let start = std::time::Instant::now();
    let m = open_bytes("laughs.pt", torch_zip(&p, &[])).unwrap();
    assert!(start.elapsed().as_secs() < 20);
    assert_problem(&m, "expands to more than");
}

#[test]
fn missing_storage_record_is_a_problem() {
    let p = state_dict_pickle("w", "7", 6, 0, &[6], &[1]);
    let m = open_bytes("missing.pt", torch_zip(&p, &[("0", &f32s(6))])).unwrap();
    assert_problem(&m, "archive/data/7");
    let e = stats_err(&m);
    assert!(e.contains("no data"), "{e}");
}

#[test]
fn views_past_their_storage_are_caught() {
    // 6 floats declared, the view wants 100 from offset 10.
    let p = state_dict_pickle("w", "0", 6, 10, &[100], &[1]);
    let m = open_bytes("past.pt", torch_zip(&p, &[("0", &f32s(6))])).unwrap();
    assert_problem(&m, "reaches byte");
    let e = stats_err(&m);
    assert!(e.contains("reaches past its storage of 24 bytes"), "{e}");
    // Storage declared larger than its record.
    let p = state_dict_pickle("w", "0", 1000, 0, &[1000], &[1]);
    let m = open_bytes("short.pt", torch_zip(&p, &[("0", &f32s(6))])).unwrap();
    assert_problem(&m, "holds 24 bytes");
    assert!(matches!(torchpeek::stats::tensor_stats(&m, 0), Err(Error::Truncated { .. })));
}

#[test]
fn absurd_shapes_do_not_allocate() {
    let huge = 1u64 << 40;
    let p = state_dict_pickle("w", "0", huge, 0, &[huge, huge], &[huge as i64, 1]);
    let m = open_bytes("absurd.pt", torch_zip(&p, &[("0", &f32s(6))])).unwrap();
    assert!(!m.document.errors.is_empty());
    let e = stats_err(&m);
    assert!(e.contains("more elements than 2^64"), "{e}");
    let mut rank = vec![1u64; 100];
    rank[0] = 2;
    let strides = vec![1i64; 100];
    let p = state_dict_pickle("w", "0", 6, 0, &rank, &strides);
    let m = open_bytes("rank.pt", torch_zip(&p, &[("0", &f32s(6))])).unwrap();
    assert_problem(&m, "rank 100");
}

#[test]
fn deep_nesting_is_bounded() {
    let mut p = vec![0x80, 2];
    p.extend(std::iter::repeat_n(b']', 100_000));
    p.extend(std::iter::repeat_n(b'a', 99_999));
    p.push(b'.');
    let m = open_bytes("deep.pt", torch_zip(&p, &[])).unwrap();
    assert_problem(&m, "nesting deeper");
    let mut p = vec![0x80, 2];
    p.extend(std::iter::repeat_n(b'(', 100_000));
    let e = err("marks.pt", torch_zip(&p, &[]));
    assert!(e.contains("MARK nesting"), "{e}");
}

#[test]
fn huge_declared_lengths_are_refused_before_allocating() {
    let mut p = vec![0x80, 2, 0x8e];
    p.extend_from_slice(&u64::MAX.to_le_bytes());
    let e = err("len.pt", torch_zip(&p, &[]));
    assert!(e.contains("too large") || e.contains("truncated"), "{e}");
    let mut st = (u64::MAX - 1).to_le_bytes().to_vec();
    st.extend_from_slice(b"{}");
    let e = err("st.safetensors", st);
    assert!(!e.is_empty());
}

#[test]
fn overlapping_zip_entries_are_an_error() {
    let p = state_dict_pickle("w", "0", 6, 0, &[6], &[1]);
    let mut z = torch_zip(&p, &[("0", &f32s(6))]);
    // Point the second central-directory entry's local header offset at the first entry.
    let cd = z.windows(4).position(|w| w == b"PK\x01\x02").unwrap();
    let second = cd + 4 + z[cd + 4..].windows(4).position(|w| w == b"PK\x01\x02").unwrap();
    z[second + 42..second + 46].copy_from_slice(&0u32.to_le_bytes());
    let e = err("overlap.pt", z);
    assert!(e.contains("overlap") || e.contains("local header"), "{e}");
}

#[test]
fn not_a_model_says_what_it_saw() {
    let e = err("x.bin", b"hello world, not a model".to_vec());
    assert!(e.contains("first bytes 68 65 6c 6c"), "{e}");
    let e = err("empty.bin", Vec::new());
    assert!(e.contains("first bytes"), "{e}");
}

/// Mutated fixtures: every one must open or fail with an error, never panic.
#[test]
fn mutations_never_panic() {
    let mut seed = 0x9e3779b97f4a7c15u64;
    let mut rand = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for name in ["mlp_checkpoint.pt", "mlp_state_dict_legacy.pth", "mlp_scripted.pt", "quantized.pt", "views.pt", "bert_tiny.safetensors", "mlp_entire_model_legacy.pt", "mlp.onnx"] {
        let base = fixture(name);
        for _ in 0..300 {
            let mut b = base.clone();
            for _ in 0..1 + rand() % 4 {
                let i = (rand() % b.len() as u64) as usize;
                b[i] = rand() as u8;
            }
            if let Ok(m) = open_bytes(name, b) {
                for t in 0..m.document.tensors.len().min(8) {
                    let _ = torchpeek::stats::tensor_stats(&m, t);
                }
            }
        }
    }
}
