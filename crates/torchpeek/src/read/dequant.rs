//! Quantized elements to real values: per-tensor and per-channel affine schemes.

use crate::document::{Quantization, Tensor};
use crate::error::{Error, Location, Result};

/// Maps a quantized element's integer representation to its real value.
pub struct Dequant {
    scales: Vec<f64>,
    zero_points: Vec<f64>,
    /// Elements per step along the channel axis, and the channel count.
    inner: u64,
    channels: u64,
}

impl Dequant {
    pub fn new(t: &Tensor) -> Result<Option<Dequant>> {
        Ok(match &t.quantization {
            None => None,
            Some(Quantization::PerTensor { scale, zero_point, .. }) => {
                Some(Dequant { scales: vec![*scale], zero_points: vec![*zero_point as f64], inner: 1, channels: 1 })
            }
            Some(Quantization::PerChannel { scales, zero_points, axis, .. }) => {
                let axis = usize::try_from(*axis).ok().filter(|&a| a < t.shape.len()).ok_or_else(|| {
                    Error::corrupt(Location::member(t.path.join(".")), format!("quantization axis {axis} outside the shape"))
                })?;
                let channels = t.shape[axis];
                if scales.len() as u64 != channels || zero_points.len() as u64 != channels {
                    return Err(Error::corrupt(
                        Location::member(t.path.join(".")),
                        format!("{} scales for {channels} channels", scales.len()),
                    ));
                }
                Some(Dequant {
                    scales: scales.clone(),
                    zero_points: zero_points.iter().map(|&z| z as f64).collect(),
                    inner: t.shape[axis + 1..].iter().product(),
                    channels,
                })
            }
        })
    }

    pub fn apply(&self, q: f64, index: u64) -> f64 {
        let c = ((index / self.inner) % self.channels) as usize;
        (q - self.zero_points[c]) * self.scales[c]
    }
}
