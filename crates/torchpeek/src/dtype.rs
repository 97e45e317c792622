//! Element types: torch's names, their sizes, the storage classes and foreign names that map to
//! them, and how one element's bytes become a number.

use serde::Serialize;

/// Every element type torch saves, plus the quantized ones. Serialized as torch's name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DType {
    Float64,
    Float32,
    Float16,
    BFloat16,
    Float8E4m3fn,
    Float8E4m3fnuz,
    Float8E5m2,
    Float8E5m2fnuz,
    Int64,
    Int32,
    Int16,
    Int8,
    UInt64,
    UInt32,
    UInt16,
    UInt8,
    Bool,
    Complex128,
    Complex64,
    Complex32,
    /// Complex numbers of two bfloat16 halves (torch 2.15).
    BComplex32,
    QInt8,
    QUInt8,
    QInt32,
    QUInt4x2,
    QUInt2x4,
}

use DType::*;

/// (dtype, torch name, bytes per element, legacy typed-storage class name)
const TABLE: &[(DType, &str, u64, &str)] = &[
    (Float64, "float64", 8, "DoubleStorage"),
    (Float32, "float32", 4, "FloatStorage"),
    (Float16, "float16", 2, "HalfStorage"),
    (BFloat16, "bfloat16", 2, "BFloat16Storage"),
    (Float8E4m3fn, "float8_e4m3fn", 1, "Float8_e4m3fnStorage"),
    (Float8E4m3fnuz, "float8_e4m3fnuz", 1, "Float8_e4m3fnuzStorage"),
    (Float8E5m2, "float8_e5m2", 1, "Float8_e5m2Storage"),
    (Float8E5m2fnuz, "float8_e5m2fnuz", 1, "Float8_e5m2fnuzStorage"),
    (Int64, "int64", 8, "LongStorage"),
    (Int32, "int32", 4, "IntStorage"),
    (Int16, "int16", 2, "ShortStorage"),
    (Int8, "int8", 1, "CharStorage"),
    (UInt64, "uint64", 8, "UInt64Storage"),
    (UInt32, "uint32", 4, "UInt32Storage"),
    (UInt16, "uint16", 2, "UInt16Storage"),
    (UInt8, "uint8", 1, "ByteStorage"),
    (Bool, "bool", 1, "BoolStorage"),
    (Complex128, "complex128", 16, "ComplexDoubleStorage"),
    (Complex64, "complex64", 8, "ComplexFloatStorage"),
    (Complex32, "complex32", 4, "ComplexHalfStorage"),
    (BComplex32, "bcomplex32", 4, "BComplex32Storage"),
    (QInt8, "qint8", 1, "QInt8Storage"),
    (QUInt8, "quint8", 1, "QUInt8Storage"),
    (QInt32, "qint32", 4, "QInt32Storage"),
    (QUInt4x2, "quint4x2", 1, "QUInt4x2Storage"),
    (QUInt2x4, "quint2x4", 1, "QUInt2x4Storage"),
];

/// Other spellings torch uses for the same dtype (`torch.float` is `torch.float32`, ...).
const ALIASES: &[(&str, DType)] = &[
    ("float", Float32),
    ("double", Float64),
    ("half", Float16),
    ("long", Int64),
    ("int", Int32),
    ("short", Int16),
    ("cfloat", Complex64),
    ("cdouble", Complex128),
    ("chalf", Complex32),
];

/// safetensors' names.
const SAFETENSORS: &[(&str, DType)] = &[
    ("F64", Float64),
    ("F32", Float32),
    ("F16", Float16),
    ("BF16", BFloat16),
    ("F8_E4M3", Float8E4m3fn),
    ("F8_E5M2", Float8E5m2),
    ("I64", Int64),
    ("I32", Int32),
    ("I16", Int16),
    ("I8", Int8),
    ("U64", UInt64),
    ("U32", UInt32),
    ("U16", UInt16),
    ("U8", UInt8),
    ("BOOL", Bool),
    ("C64", Complex64),
];

impl Serialize for DType {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

fn row(d: DType) -> &'static (DType, &'static str, u64, &'static str) {
    TABLE.iter().find(|r| r.0 == d).expect("every dtype has a row")
}

impl DType {
    /// torch's name: `float32`, `bfloat16`, `qint8` ...
    pub fn name(self) -> &'static str {
        row(self).1
    }
    /// Bytes per element.
    pub fn itemsize(self) -> u64 {
        row(self).2
    }
    /// From torch's name or alias (`float32`, `float`, `torch.float32`).
    pub fn from_torch_name(name: &str) -> Option<DType> {
        let name = name.strip_prefix("torch.").unwrap_or(name);
        TABLE.iter().find(|r| r.1 == name).map(|r| r.0).or_else(|| ALIASES.iter().find(|a| a.0 == name).map(|a| a.1))
    }
    /// From a legacy typed-storage class (`FloatStorage`, `torch.cuda.HalfStorage` ...).
    pub fn from_storage_class(name: &str) -> Option<DType> {
        let short = name.rsplit('.').next().unwrap_or(name);
        TABLE.iter().find(|r| r.3 == short).map(|r| r.0)
    }
    /// From safetensors' header name (`F32`, `BF16` ...).
    pub fn from_safetensors(name: &str) -> Option<DType> {
        SAFETENSORS.iter().find(|a| a.0 == name).map(|a| a.1)
    }
    /// safetensors' name for this dtype, if it has one.
    pub fn safetensors_name(self) -> Option<&'static str> {
        SAFETENSORS.iter().find(|a| a.1 == self).map(|a| a.0)
    }
    /// Every dtype, in the table's order.
    pub fn all() -> impl Iterator<Item = DType> {
        TABLE.iter().map(|r| r.0)
    }
    pub fn is_complex(self) -> bool {
        matches!(self, Complex128 | Complex64 | Complex32 | BComplex32)
    }
    pub fn is_quantized(self) -> bool {
        matches!(self, QInt8 | QUInt8 | QInt32 | QUInt4x2 | QUInt2x4)
    }
    /// The plain integers, signed and unsigned (not `bool`, not the quantized dtypes).
    pub fn is_integer(self) -> bool {
        matches!(self, Int64 | Int32 | Int16 | Int8 | UInt64 | UInt32 | UInt16 | UInt8)
    }
    pub fn is_float(self) -> bool {
        matches!(
            self,
            Float64 | Float32 | Float16 | BFloat16 | Float8E4m3fn | Float8E4m3fnuz | Float8E5m2 | Float8E5m2fnuz
        )
    }

    /// One element (or, for complex dtypes, its real part) as f64, from little-endian bytes.
    /// `b` holds at least `itemsize()` bytes. Quantized dtypes give their integer representation.
    pub fn decode(self, b: &[u8]) -> f64 {
        match self {
            Float64 | Complex128 => f64::from_le_bytes(b[..8].try_into().unwrap()),
            Float32 | Complex64 => f32::from_le_bytes(b[..4].try_into().unwrap()) as f64,
            Float16 | Complex32 => half::f16::from_le_bytes([b[0], b[1]]).to_f64(),
            BFloat16 | BComplex32 => half::bf16::from_le_bytes([b[0], b[1]]).to_f64(),
            Float8E4m3fn => fp8_e4m3fn(b[0]),
            Float8E4m3fnuz => fp8_fnuz(b[0], 3, 8),
            Float8E5m2 => half::f16::from_bits((b[0] as u16) << 8).to_f64(),
            Float8E5m2fnuz => fp8_fnuz(b[0], 2, 16),
            Int64 => i64::from_le_bytes(b[..8].try_into().unwrap()) as f64,
            Int32 | QInt32 => i32::from_le_bytes(b[..4].try_into().unwrap()) as f64,
            Int16 => i16::from_le_bytes([b[0], b[1]]) as f64,
            Int8 | QInt8 => b[0] as i8 as f64,
            UInt64 => u64::from_le_bytes(b[..8].try_into().unwrap()) as f64,
            UInt32 => u32::from_le_bytes(b[..4].try_into().unwrap()) as f64,
            UInt16 => u16::from_le_bytes([b[0], b[1]]) as f64,
            UInt8 | QUInt8 | QUInt4x2 | QUInt2x4 => b[0] as f64,
            Bool => (b[0] != 0) as u8 as f64,
        }
    }

    /// The imaginary part of a complex element.
    pub fn decode_imag(self, b: &[u8]) -> f64 {
        match self {
            Complex128 => f64::from_le_bytes(b[8..16].try_into().unwrap()),
            Complex64 => f32::from_le_bytes(b[4..8].try_into().unwrap()) as f64,
            Complex32 => half::f16::from_le_bytes([b[2], b[3]]).to_f64(),
            BComplex32 => half::bf16::from_le_bytes([b[2], b[3]]).to_f64(),
            _ => 0.0,
        }
    }
}

/// float8 e4m3fn: 4 exponent bits (bias 7), 3 mantissa bits, no infinities, S.1111.111 is NaN.
fn fp8_e4m3fn(v: u8) -> f64 {
    let sign = if v & 0x80 != 0 { -1.0 } else { 1.0 };
    let e = ((v >> 3) & 0xf) as i32;
    let m = (v & 7) as f64;
    if e == 0xf && v & 7 == 7 {
        return f64::NAN;
    }
    if e == 0 {
        sign * m / 8.0 * 2f64.powi(-6)
    } else {
        sign * (1.0 + m / 8.0) * 2f64.powi(e - 7)
    }
}

/// The `fnuz` float8 variants: no negative zero (0x80 is NaN), no infinities.
fn fp8_fnuz(v: u8, mant_bits: u32, bias: i32) -> f64 {
    if v == 0x80 {
        return f64::NAN;
    }
    let sign = if v & 0x80 != 0 { -1.0 } else { 1.0 };
    let e = ((v & 0x7f) >> mant_bits) as i32;
    let m = (v & ((1 << mant_bits) - 1)) as f64 / (1u32 << mant_bits) as f64;
    if e == 0 {
        sign * m * 2f64.powi(1 - bias)
    } else {
        sign * (1.0 + m) * 2f64.powi(e - bias)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn float8_values() {
        assert_eq!(fp8_e4m3fn(0x38), 1.0);
        assert_eq!(fp8_e4m3fn(0x7e), 448.0);
        assert!(fp8_e4m3fn(0x7f).is_nan());
        assert_eq!(fp8_e4m3fn(0x01), 2f64.powi(-9));
        assert_eq!(Float8E5m2.decode(&[0x3c]), 1.0);
        assert_eq!(Float8E5m2.decode(&[0x7b]), 57344.0);
        assert_eq!(fp8_fnuz(0x40, 3, 8), 1.0);
        assert!(fp8_fnuz(0x80, 2, 16).is_nan());
    }

    #[test]
    fn names_round_trip() {
        for r in TABLE {
            assert_eq!(DType::from_torch_name(r.1), Some(r.0));
            assert_eq!(DType::from_storage_class(&format!("torch.{}", r.3)), Some(r.0));
        }
        assert_eq!(DType::from_torch_name("torch.float"), Some(Float32));
        assert_eq!(DType::from_safetensors("BF16"), Some(BFloat16));
        // The JSON document uses torch's names (`bfloat16`, not serde's `b_float16`).
        for r in TABLE {
            assert_eq!(serde_json::to_value(r.0).unwrap(), r.1);
        }
    }
}
