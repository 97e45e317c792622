//! torchpeek's inference engine: ONNX models run with tract, natively and in wasm, on arrays of
//! torchpeek's dtypes.
//!
//! - `io`: the API's types (inputs and outputs as declared, tensors as `NamedArray`s) and the checks
//!   every load makes before tract (the file's size, operators it cannot run);
//! - `session`: loading a model (operators checked first, external data resolved by the core's
//!   reader), plans per input shape, runs;
//! - `kernels`: our own typed ops for convolutions (depthwise too), max-pools and products by a
//!   weight matrix, plugged into tract's graph before it declutters; each kernel's inner loops
//!   have a wasm SIMD path and a portable one (`kernels::lanes`);
//! - `rewrite`: graph rewrites before tract optimises (`x^3` as products, shared constants
//!   unshared so that a tied weight is packed once, not on every run);
//! - `declutter`: constants folded, our kernels swapped in, then tract's declutter passes less the
//!   one that was most of a load;
//! - `pt2`: a `.pt2`'s exported program translated into an ONNX model of ATen's counterparts, so
//!   `Session::load` runs torch.export archives too;
//! - `compare`: one model's outputs against another's (max |a−b|, relative error, cosine, a
//!   verdict against a tolerance), and seeded random inputs;
//! - `npy`: `.npy` arrays in and out of the engine, over the core's `.npy` codec.

pub mod compare;
mod declutter;
mod io;
pub mod kernels;
pub mod npy;
pub mod pt2;
pub mod rewrite;
mod session;

pub use io::{Dim, IoInfo, NamedArray};
pub use session::{input_tensor, Session, Tensor};
