//! NumPy arrays of images and labels: a `.npz` archive or a folder of
//! `.npy` files named `x_train`, `y_train`, `x_test`, `y_test` (optionally
//! `x_val`, `y_val`), Keras' convention. Images are `[N, H, W]`,
//! `[N, H, W, C]` or `[N, C, H, W]`; `uint8` pixels are scaled to `[0, 1]`,
//! float pixels are taken as already scaled; labels are integers.

use std::fs::File;
use std::path::Path;

use image::{imageops, ImageBuffer, Luma, Rgb};
use ndarray::{Array4, ArrayD, Axis, Ix4};
use ndarray_npy::{NpzReader, ReadNpyExt, ReadableElement};

use super::dataset::Split;
use super::prep::Preprocess;
use crate::error::{PrunerError, Result};
use crate::model::InputShape;

fn bad(path: &Path, reason: String) -> PrunerError {
    PrunerError::Dataset {
        path: path.to_path_buf(),
        reason,
    }
}

/// Where the arrays are.
pub enum Source<'a> {
    Npz(&'a Path),
    Dir(&'a Path),
}

impl Source<'_> {
    fn path(&self) -> &Path {
        match self {
            Source::Npz(p) | Source::Dir(p) => p,
        }
    }

    fn read<T: ReadableElement>(&self, name: &str) -> Result<Option<ArrayD<T>>> {
        match self {
            Source::Npz(p) => {
                let f = File::open(p).map_err(|e| PrunerError::io(*p, e))?;
                let mut z =
                    NpzReader::new(f).map_err(|e| bad(p, format!("not a .npz archive: {e}")))?;
                let names = z.names().map_err(|e| bad(p, e.to_string()))?;
                let key = [name.to_string(), format!("{name}.npy")]
                    .into_iter()
                    .find(|k| names.contains(k));
                match key {
                    None => Ok(None),
                    Some(k) => z
                        .by_name(&k)
                        .map(Some)
                        .map_err(|e| bad(p, format!("{name}: {e}"))),
                }
            }
            Source::Dir(d) => {
                let p = d.join(format!("{name}.npy"));
                if !p.is_file() {
                    return Ok(None);
                }
                let f = File::open(&p).map_err(|e| PrunerError::io(&p, e))?;
                ArrayD::<T>::read_npy(f)
                    .map(Some)
                    .map_err(|e| bad(&p, e.to_string()))
            }
        }
    }

    /// An array as f32 scaled to `[0, 1]` (uint8 / 255; floats as stored).
    fn pixels(&self, name: &str) -> Result<Option<ArrayD<f32>>> {
        if let Ok(Some(a)) = self.read::<u8>(name) {
            return Ok(Some(a.mapv(|v| f32::from(v) / 255.0)));
        }
        if let Ok(Some(a)) = self.read::<f32>(name) {
            return Ok(Some(a));
        }
        match self.read::<f64>(name)? {
            Some(a) => Ok(Some(a.mapv(|v| v as f32))),
            None => Ok(None),
        }
    }

    fn labels(&self, name: &str) -> Result<Option<Vec<u8>>> {
        let v: Option<Vec<i64>> = if let Ok(Some(a)) = self.read::<u8>(name) {
            Some(a.iter().map(|&x| i64::from(x)).collect())
        } else if let Ok(Some(a)) = self.read::<i32>(name) {
            Some(a.iter().map(|&x| i64::from(x)).collect())
        } else {
            self.read::<i64>(name)?.map(|a| a.iter().copied().collect())
        };
        let Some(v) = v else { return Ok(None) };
        v.into_iter()
            .map(|x| {
                u8::try_from(x)
                    .map_err(|_| bad(self.path(), format!("{name}: label {x} is not in 0..256")))
            })
            .collect::<Result<_>>()
            .map(Some)
    }

    /// The split `x_{split}`/`y_{split}`, or `None` when absent.
    pub fn split(
        &self,
        split: &str,
        pre: &Preprocess,
        input: &InputShape,
    ) -> Result<Option<Split>> {
        let (xn, yn) = (format!("x_{split}"), format!("y_{split}"));
        let (Some(x), Some(y)) = (self.pixels(&xn)?, self.labels(&yn)?) else {
            return Ok(None);
        };
        let images = nhwc(x, input).map_err(|e| bad(self.path(), format!("{xn}: {e}")))?;
        let images =
            prepare(images, pre, input).map_err(|e| bad(self.path(), format!("{xn}: {e}")))?;
        if images.len_of(Axis(0)) != y.len() {
            return Err(bad(
                self.path(),
                format!(
                    "{xn} has {} images but {yn} {} labels",
                    images.len_of(Axis(0)),
                    y.len()
                ),
            ));
        }
        Ok(Some(Split { images, labels: y }))
    }
}

/// `x` as NHWC for a model of `input.channels` channels.
fn nhwc(x: ArrayD<f32>, input: &InputShape) -> std::result::Result<Array4<f32>, String> {
    let c = input.channels;
    let x = match *x.shape() {
        [_, _, _] => x.insert_axis(Axis(3)),
        [_, a, _, d] if a == c && d != c => x.permuted_axes(vec![0, 2, 3, 1]),
        [_, _, _, _] => x,
        ref s => {
            return Err(format!(
                "shape {s:?}: images must be [N, H, W], [N, H, W, C] or [N, C, H, W]"
            ))
        }
    };
    let x = x
        .into_dimensionality::<Ix4>()
        .expect("4-D")
        .as_standard_layout()
        .into_owned();
    let have = x.shape()[3];
    if have != c {
        return Err(format!(
            "images have {have} channel(s), the model takes {c}"
        ));
    }
    Ok(x)
}

/// Resizes (bilinear) when asked, checks the size, normalises.
pub(crate) fn prepare(
    x: Array4<f32>,
    pre: &Preprocess,
    input: &InputShape,
) -> std::result::Result<Array4<f32>, String> {
    let (_, h, w, _) = x.dim();
    let x = match pre.resize {
        Some((th, tw)) if (th, tw) != (h, w) => resize(&x, th, tw)?,
        _ => x,
    };
    let (_, h, w, _) = x.dim();
    if (h, w) != (input.height, input.width) {
        return Err(format!(
            "images are {h}x{w} but the model takes {}x{}; fix: --resize {}x{}",
            input.height, input.width, input.height, input.width
        ));
    }
    let mut x = x;
    for mut px in x.rows_mut() {
        for (ch, v) in px.iter_mut().enumerate() {
            *v = pre.normalise(*v, ch);
        }
    }
    Ok(x)
}

fn resize(x: &Array4<f32>, th: usize, tw: usize) -> std::result::Result<Array4<f32>, String> {
    let (n, h, w, c) = x.dim();
    let mut out = Vec::with_capacity(n * th * tw * c);
    for img in x.outer_iter() {
        let data: Vec<f32> = img.iter().copied().collect();
        let (w32, h32, tw32, th32) = (w as u32, h as u32, tw as u32, th as u32);
        match c {
            1 => {
                let b: ImageBuffer<Luma<f32>, _> =
                    ImageBuffer::from_raw(w32, h32, data).ok_or("size")?;
                out.extend(
                    imageops::resize(&b, tw32, th32, imageops::FilterType::Triangle).into_raw(),
                );
            }
            3 => {
                let b: ImageBuffer<Rgb<f32>, _> =
                    ImageBuffer::from_raw(w32, h32, data).ok_or("size")?;
                out.extend(
                    imageops::resize(&b, tw32, th32, imageops::FilterType::Triangle).into_raw(),
                );
            }
            _ => return Err(format!("cannot resize {c}-channel images")),
        }
    }
    Array4::from_shape_vec((n, th, tw, c), out).map_err(|e| e.to_string())
}
