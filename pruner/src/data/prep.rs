//! Turning user images into the network's input: channel conversion,
//! resizing, scaling and normalisation, as torchvision's usual
//! `Resize -> ToTensor -> Normalize` does.

use image::{imageops::FilterType, DynamicImage};
use serde::{Deserialize, Serialize};

use crate::model::InputShape;

/// How images become input tensors. Defaults: no resizing (an image of
/// another size is an error), pixels scaled to `[0, 1]`, mean 0, std 1 (no
/// normalisation), RGB channel order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Preprocess {
    /// Resize every image to `(height, width)` (bilinear, torchvision's
    /// default) before anything else.
    pub resize: Option<(usize, usize)>,
    /// Per-channel mean subtracted after scaling to `[0, 1]` (one value
    /// applies to every channel).
    pub mean: Vec<f32>,
    /// Per-channel standard deviation divided by, after the mean.
    pub std: Vec<f32>,
    /// Colour images in BGR order (OpenCV's) instead of RGB.
    pub bgr: bool,
}

impl Default for Preprocess {
    fn default() -> Self {
        Preprocess {
            resize: None,
            mean: vec![0.0],
            std: vec![1.0],
            bgr: false,
        }
    }
}

impl Preprocess {
    /// Checks the mean and std against `channels`.
    pub fn check(&self, channels: usize) -> Result<(), String> {
        for (what, v) in [("mean", &self.mean), ("std", &self.std)] {
            if v.len() != 1 && v.len() != channels {
                return Err(format!(
                    "--{what} has {} values; the model takes {channels} channel(s): give 1 or {channels}",
                    v.len()
                ));
            }
        }
        if self.std.iter().any(|&s| s.is_nan() || s <= 0.0) {
            return Err("--std values must be positive".into());
        }
        Ok(())
    }

    /// Normalises one pixel value of channel `c` already scaled to `[0, 1]`.
    pub fn normalise(&self, v: f32, c: usize) -> f32 {
        let pick = |x: &[f32]| x.get(c).copied().unwrap_or(x[0]);
        (v - pick(&self.mean)) / pick(&self.std)
    }

    /// A decoded image as NHWC values for `input`: converted to the model's
    /// channels (grey by ITU-R 601 luma, as PIL's `convert("L")`; grey to
    /// colour by repetition), resized when asked, scaled and normalised.
    /// Errors when the size does not match and no resize was asked.
    pub fn image(&self, img: DynamicImage, input: &InputShape) -> Result<Vec<f32>, String> {
        let img = match self.resize {
            Some((h, w)) => img.resize_exact(w as u32, h as u32, FilterType::Triangle),
            None => img,
        };
        let (w, h) = (img.width() as usize, img.height() as usize);
        if (h, w) != (input.height, input.width) {
            return Err(format!(
                "the image is {h}x{w} but the model takes {}x{}; fix: --resize {}x{}",
                input.height, input.width, input.height, input.width
            ));
        }
        let c = input.channels;
        let mut out = Vec::with_capacity(h * w * c);
        match c {
            1 => {
                // PIL's convert("L"): ITU-R 601 weights in 16-bit fixed
                // point (the image crate's own luma uses Rec. 709).
                for p in img.to_rgb8().pixels() {
                    let [r, g, b] = p.0.map(u32::from);
                    let l = (r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16;
                    out.push(self.normalise(l as f32 / 255.0, 0));
                }
            }
            3 => {
                for p in img.to_rgb8().pixels() {
                    let px = if self.bgr {
                        [p.0[2], p.0[1], p.0[0]]
                    } else {
                        p.0
                    };
                    for (ch, &v) in px.iter().enumerate() {
                        out.push(self.normalise(f32::from(v) / 255.0, ch));
                    }
                }
            }
            _ => return Err(format!("images feed 1 or 3 channels, the model takes {c}")),
        }
        Ok(out)
    }
}
