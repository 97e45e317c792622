//! Reading tensor data: a view's elements as bytes for any element range (`view`), quantized
//! elements as real values (`dequant`), and values decoded to f64 (`values`). Statistics, health
//! checks, diffs, exports and the faces all read tensor data through here.

mod dequant;
mod values;
mod view;

pub use dequant::Dequant;
pub use values::{decode_run, BLOCK, float_blocks, for_each_value, tensor_bytes, tensor_values, values_of, values_range, visit, Progress};
pub use view::{buffer_for, check_view, is_contiguous, read_elements};
