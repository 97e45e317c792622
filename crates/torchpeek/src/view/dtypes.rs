//! The dtype table as the JS faces read it (`dtypes()` of the core's wasm): every `DType` of
//! `crate::dtype` with the facts the page and the npm package need, so no JS file keeps a copy.

use crate::container::onnx::schema::elem_type_name_of;
use crate::dtype::DType;
use serde::Serialize;

/// One dtype's facts, serialized as `{name, itemsize, is_float, is_complex, is_integer,
/// is_quantized, onnx}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DTypeFacts {
    /// torch's name: `float32`, `bfloat16`, `qint8` ...
    pub name: &'static str,
    /// Bytes per element.
    pub itemsize: u64,
    pub is_float: bool,
    pub is_complex: bool,
    /// The plain integers (`int8` ... `uint64`; not `bool`, not quantized).
    pub is_integer: bool,
    pub is_quantized: bool,
    /// ONNX's element type name (`FLOAT`, `INT64` ...), where ONNX has one.
    pub onnx: Option<&'static str>,
}

/// Every dtype's facts, in `dtype`'s table order.
pub fn table() -> Vec<DTypeFacts> {
    DType::all()
        .map(|d| DTypeFacts {
            name: d.name(),
            itemsize: d.itemsize(),
            is_float: d.is_float(),
            is_complex: d.is_complex(),
            is_integer: d.is_integer(),
            is_quantized: d.is_quantized(),
            onnx: elem_type_name_of(d),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_dtype_once_with_its_facts() {
        let t = table();
        assert_eq!(t.len(), 26);
        let f = |name: &str| t.iter().find(|d| d.name == name).unwrap_or_else(|| panic!("{name}"));
        let json = serde_json::to_value(f("bfloat16")).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"name": "bfloat16", "itemsize": 2, "is_float": true, "is_complex": false, "is_integer": false, "is_quantized": false, "onnx": "BFLOAT16"})
        );
        assert_eq!((f("float32").onnx, f("int64").onnx, f("bool").onnx, f("qint8").onnx), (Some("FLOAT"), Some("INT64"), Some("BOOL"), None));
        assert_eq!((f("complex128").itemsize, f("float8_e5m2").itemsize), (16, 1));
        assert!(f("uint16").is_integer && !f("bool").is_integer && !f("quint8").is_integer && f("quint8").is_quantized);
    }
}
