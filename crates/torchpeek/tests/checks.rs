//! Health checks and diffs, on files built with known faults and known differences, and on
//! fixtures with known answers.

mod common;

use common::*;
use torchpeek::diff::{diff, Change};
use torchpeek::health::{self, Status};

fn no_progress() -> impl FnMut(u64, u64) -> bool {
    |_, _| true
}

fn health_of(bytes: Vec<u8>) -> health::Health {
    let m = open_bytes("h.safetensors", bytes).unwrap();
    health::check(&m, &mut no_progress()).unwrap()
}

fn check<'a>(h: &'a health::Health, id: &str) -> &'a health::Check {
    h.checks.iter().find(|c| c.id == id).unwrap_or_else(|| panic!("no check {id}"))
}

#[test]
fn health_finds_each_fault_in_the_tensor_that_has_it() {
    let h = health_of(safetensors_f32(&[
        ("fine", &[4], &[0.1, -0.2, 0.3, 0.05]),
        ("has_nan", &[3], &[1.0, f32::NAN, 2.0]),
        ("has_inf", &[2], &[f32::INFINITY, 1.0]),
        ("zeros", &[3], &[0.0, 0.0, 0.0]),
        ("ones", &[3], &[1.0, 1.0, 1.0]),
        ("huge", &[2], &[3e5, 1.0]),
        ("tiny", &[2], &[1e-40, 1.0]),
    ]));
    let expect = [("nan", "has_nan"), ("inf", "has_inf"), ("all_zero", "zeros"), ("constant", "ones"), ("extreme", "huge"), ("denormal", "tiny")];
    for (id, name) in expect {
        let c = check(&h, id);
        assert_eq!(c.tensors, vec![name.to_string()], "{id}: {c:?}");
        assert_ne!(c.status, Status::Ok, "{id}");
    }
    assert_eq!(h.status, Status::Fail);
    assert_eq!(h.dtypes["float32"], 19);

    let clean = health_of(safetensors_f32(&[("w", &[2, 2], &[0.5, -0.25, 0.125, 2.0])]));
    assert_eq!(clean.status, Status::Ok, "{:#?}", clean.checks);
}

#[test]
fn health_counts_storage_no_view_uses_and_shared_keys() {
    // A 4-element view of a 10-element storage: 24 bytes saved for nothing.
    let p = state_dict_pickle("w", "0", 10, 2, &[4], &[1]);
    let floats: Vec<u8> = (0..10).flat_map(|i| (i as f32).to_le_bytes()).collect();
    let m = open_bytes("slice.pt", torch_zip(&p, &[("0", &floats)])).unwrap();
    let h = health::check(&m, &mut no_progress()).unwrap();
    assert_eq!(h.unused_storage_bytes, 24);
    assert_eq!(check(&h, "unused_storage").status, Status::Warn);

    let m = open_bytes("views.pt", fixture("views.pt")).unwrap();
    let h = health::check(&m, &mut no_progress()).unwrap();
    let shared = check(&h, "shared_storage");
    assert!(shared.tensors.iter().any(|g| g == "tied_a = tied_b"), "{shared:?}");
}

#[test]
fn health_maps_optimizer_state_to_parameters() {
    let m = open_bytes("cnn.pt", fixture("cnn_checkpoint_adam.pt")).unwrap();
    let h = health::check(&m, &mut no_progress()).unwrap();
    let c = check(&h, "optimizer");
    assert_eq!(c.status, Status::Ok, "{c:?}");
    assert!(c.detail.starts_with("10 parameters"), "{}", c.detail);
}

#[test]
fn health_can_be_cancelled() {
    let m = open_bytes("bert.bin", fixture("bert_tiny_pytorch_model.bin")).unwrap();
    let e = health::check(&m, &mut |done, _| done < 100_000).unwrap_err();
    assert!(matches!(e, torchpeek::Error::Cancelled), "{e}");
}

#[test]
fn diff_reports_each_kind_of_change_with_exact_numbers() {
    let a = open_bytes("a.safetensors", safetensors_f32(&[
        ("same", &[2], &[1.0, 2.0]),
        ("moved", &[4], &[1.0, 2.0, 3.0, 4.0]),
        ("reshaped", &[2], &[1.0, 2.0]),
        ("gone", &[1], &[1.0]),
    ]))
    .unwrap();
    let b = open_bytes("b.safetensors", safetensors_f32(&[
        ("same", &[2], &[1.0, 2.0]),
        ("moved", &[4], &[1.0, 2.0, 3.0, 6.0]),
        ("reshaped", &[1, 2], &[1.0, 2.0]),
        ("new", &[1], &[1.0]),
    ]))
    .unwrap();
    let d = diff(&a, &b, &mut no_progress()).unwrap();
    let get = |k: &str| d.entries.iter().find(|e| e.key == k).unwrap();
    assert_eq!(get("same").change, Change::Same);
    assert_eq!(get("same").max_abs_diff, Some(0.0));
    let moved = get("moved");
    assert_eq!(moved.change, Change::Changed);
    assert_eq!(moved.max_abs_diff, Some(2.0));
    assert!((moved.relative_change.unwrap() - 2.0 / 30f64.sqrt()).abs() < 1e-12);
    assert!((moved.cosine.unwrap() - 38.0 / (30f64.sqrt() * 50f64.sqrt())).abs() < 1e-12);
    assert_eq!(get("reshaped").change, Change::Shape);
    assert_eq!(get("gone").change, Change::OnlyA);
    assert_eq!(get("new").change, Change::OnlyB);
    // Most changed first.
    assert_ne!(d.entries[0].change, Change::Same);
    assert_eq!(d.entries.last().unwrap().change, Change::Same);
}

#[test]
fn diff_of_the_bert_bin_and_its_safetensors_is_identical() {
    let a = open_bytes("bert.bin", fixture("bert_tiny_pytorch_model.bin")).unwrap();
    let b = open_bytes("bert.safetensors", fixture("bert_tiny.safetensors")).unwrap();
    let d = diff(&a, &b, &mut no_progress()).unwrap();
    assert_eq!(d.entries.len(), 39);
    assert!(d.entries.iter().all(|e| e.change == Change::Same && e.cosine == Some(1.0)), "{:#?}", d.entries);
}

#[test]
fn diff_lines_up_an_onnx_export_by_its_key_prefix() {
    let a = open_bytes("bert.bin", fixture("bert_tiny_pytorch_model.bin")).unwrap();
    let b = open_bytes("bert.onnx", fixture("bert_tiny.onnx")).unwrap();
    let d = diff(&a, &b, &mut no_progress()).unwrap();
    assert_eq!(d.prefix_b, "m.");
    // 6 initializers keep their names; 12 MatMul weights are renamed and transposed, found by value.
    let same: Vec<_> = d.entries.iter().filter(|e| e.change == Change::Same).collect();
    assert_eq!(same.len(), 18, "{:#?}", d.counts);
    let q = d.entries.iter().find(|e| e.key == "encoder.layer.0.attention.self.query.weight").unwrap();
    assert!(q.key_b.as_deref().is_some_and(|k| k.starts_with("onnx::MatMul_")), "{q:?}");
    assert!(q.transposed && q.max_abs_diff == Some(0.0), "{q:?}");
    let inter = d.entries.iter().find(|e| e.key == "encoder.layer.0.intermediate.dense.weight").unwrap();
    assert_eq!(inter.b.as_ref().unwrap().shape, vec![64, 128], "the [128, 64] Linear weight, stored transposed");
    assert!(d.entries.iter().all(|e| e.change != Change::OnlyB), "every initializer has its tensor");
}
