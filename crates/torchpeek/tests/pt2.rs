//! torch.export archives (`.pt2`): weights read from their payload members with torch.export's
//! tensor metadata, and the torch.save files stored inside scanned for safety.

mod common;

use common::*;
use serde_json::json;
use torchpeek::safety::{self, Verdict};
use torchpeek::{dtype::DType, Format, MemSource};

fn meta(path: &str, dtype: i64, sizes: &[i64], strides: &[i64], offset: i64, is_param: bool) -> serde_json::Value {
    let sym = |v: &[i64]| v.iter().map(|&x| json!({"as_int": x})).collect::<Vec<_>>();
    json!({"path_name": path, "is_param": is_param, "use_pickle": false, "tensor_meta": {
        "dtype": dtype, "sizes": sym(sizes), "strides": sym(strides), "storage_offset": {"as_int": offset},
        "requires_grad": is_param, "device": {"type": "cpu"}, "layout": 7}})
}

fn pt2(extra: &[(&str, &[u8])]) -> Vec<u8> {
    let weights = json!({"config": {
        "fc.weight": meta("weight_0", 7, &[2, 3], &[3, 1], 0, true),
        "fc.weight_t": meta("weight_0", 7, &[3, 2], &[1, 3], 0, false),
        "fc.bias": meta("weight_1", 13, &[2], &[1], 0, true),
    }})
    .to_string();
    let constants = json!({"config": {"scale": meta("tensor_0", 5, &[], &[], 0, false)}}).to_string();
    let w0: Vec<u8> = (0..6).flat_map(|i| (i as f32).to_le_bytes()).collect();
    let w1: Vec<u8> = [1.5f32, -2.0].iter().flat_map(|v| half::bf16::from_f32(*v).to_le_bytes()).collect();
    let scale = 7i64.to_le_bytes();
    let mut members: Vec<(&str, &[u8])> = vec![
        ("model/archive_format", b"pt2"),
        ("model/byteorder", b"little"),
        ("model/models/model.json", br#"{"graph_module": {"graph": {}, "signature": {"input_specs": [], "output_specs": []}}}"#),
        ("model/data/weights/model_weights_config.json", weights.as_bytes()),
        ("model/data/weights/weight_0", &w0),
        ("model/data/weights/weight_1", &w1),
        ("model/data/constants/model_constants_config.json", constants.as_bytes()),
        ("model/data/constants/tensor_0", &scale),
    ];
    members.extend_from_slice(extra);
    zip_of(&members)
}

#[test]
fn weights_and_constants_are_read_with_their_views() {
    let m = open_bytes("model.pt2", pt2(&[])).unwrap();
    let doc = &m.document;
    assert_eq!(doc.format, Format::TorchExport);
    assert!(doc.errors.is_empty(), "{:?}", doc.errors);
    let index = |k: &str| doc.state_dict.iter().find(|e| e.key == k).unwrap().tensor;
    let w = &doc.tensors[index("fc.weight")];
    assert_eq!((w.dtype, w.shape.clone(), w.is_parameter), (DType::Float32, vec![2, 3], true));
    assert_eq!(torchpeek::read::tensor_values(&m, index("fc.weight_t"), 6).unwrap(), vec![0.0, 3.0, 1.0, 4.0, 2.0, 5.0]);
    assert_eq!(doc.tensors[index("fc.weight_t")].storage_index, w.storage_index, "one payload, one storage");
    assert_eq!(torchpeek::read::tensor_values(&m, index("fc.bias"), 2).unwrap(), vec![1.5, -2.0]);
    assert_eq!(torchpeek::read::tensor_values(&m, index("scale"), 1).unwrap(), vec![7.0]);
    // Nothing in it runs code, but it is not a torch.load file: an error (exit status 1), never `safe`.
    assert!(doc.safety.findings.is_empty(), "{:?}", doc.safety.findings);
    assert_eq!(doc.safety.verdict, Verdict::UnsafeButKnown);
    assert!(doc.safety.is_error() && doc.safety.refusal.as_ref().unwrap().reason.contains("torch.export"), "{:?}", doc.safety.refusal);
}

#[test]
fn torch_save_files_stored_inside_are_scanned() {
    let evil = torch_zip(b"\x80\x02cos\nsystem\nX\x02\x00\x00\x00id\x85R.", &[]);
    let bytes = pt2(&[("model/data/sample_inputs/model.pt", &evil)]);
    let s = safety::check_one(&MemSource::new("model.pt2", bytes));
    assert_eq!(s.verdict, Verdict::Dangerous);
    assert!(s.findings.iter().any(|f| f.global == "os.system" && f.member.contains("sample_inputs/model.pt")), "{:#?}", s.findings);
}
