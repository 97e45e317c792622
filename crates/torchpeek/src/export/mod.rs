//! Writers that stream: one tensor as `.npy`, the state_dict as `.safetensors`. Each gives its bytes
//! as a header and then slices of at most `limits::STREAM_CHUNK` bytes of tensor data (read through
//! the view's strides, never a whole storage in memory), so a face can write them anywhere: the
//! CLI to a file, the worker to a `FileSystemWritableFileStream` or a `Blob`.

pub mod npy;
pub mod safetensors;

use crate::error::Result;
use crate::limits;
use crate::model::Model;
use crate::read::tensor_bytes;

/// Elements per slice for a tensor whose written elements take `itemsize` bytes.
pub fn chunk_elements(itemsize: u64) -> u64 {
    (limits::STREAM_CHUNK as u64 / itemsize.max(1)).max(1)
}

/// Tensor `index` as a `.npy` file, in slices: the header, then the elements.
pub fn npy_slices(model: &Model, index: usize) -> Result<impl Iterator<Item = Result<Vec<u8>>> + '_> {
    let t = model.tensor(index)?;
    let form = npy::NpyForm::of(t)?;
    let header = form.header(&t.shape);
    let data = ranges(t.numel, form.step(t)).map(move |(first, n)| npy::chunk(model, t, first, n));
    Ok(std::iter::once(Ok(header)).chain(data))
}

/// The state_dict as a `.safetensors` file, in slices: the header, then each tensor's elements.
pub fn safetensors_slices(model: &Model) -> (safetensors::Plan, impl Iterator<Item = Result<Vec<u8>>> + '_) {
    let plan = safetensors::Plan::new(&model.document);
    let header = plan.header.clone();
    let tensors: Vec<(usize, u64)> = plan.entries.iter().map(|e| (e.tensor, e.step)).collect();
    let data = tensors.into_iter().flat_map(move |(i, step)| {
        let t = &model.document.tensors[i];
        ranges(t.numel, step).map(move |(first, n)| tensor_bytes(model, t, first, n))
    });
    (plan, std::iter::once(Ok(header)).chain(data))
}

/// `(first, count)` slices of `step` elements covering `0..numel`.
fn ranges(numel: u64, step: u64) -> impl Iterator<Item = (u64, u64)> {
    (0..numel.div_ceil(step)).map(move |k| (k * step, step.min(numel - k * step)))
}
