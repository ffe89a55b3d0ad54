//! The data flags `train`, `prune`, `masks` and `eval` share: where the images are and how they
//! become the model's input.

use std::path::PathBuf;

use anyhow::{bail, Result};
use clap::Args;

use ember_pruner::data::{Dataset, Preprocess, DEFAULT_DATA_DIR, DEFAULT_VAL_FRACTION};
use ember_pruner::Network;

#[derive(Args, Debug, Clone)]
pub struct DataArgs {
    /// The data: a folder of MNIST-style IDX files (Fashion-MNIST), an image folder (train/,
    /// test/, optional val/, one sub-folder of PNG/JPEG images per class, torchvision's
    /// ImageFolder layout), or NumPy arrays x_train, y_train, x_test, y_test (optional x_val,
    /// y_val) in a .npz file or as .npy files in a folder.
    #[arg(long, value_name = "PATH", default_value = DEFAULT_DATA_DIR)]
    pub data: PathBuf,
    /// Resize every image to HxW (bilinear) before anything else; default: none (an image of
    /// another size than the model's input is an error).
    #[arg(long, value_name = "HxW")]
    pub resize: Option<String>,
    /// Per-channel mean subtracted from pixels scaled to [0, 1] (one value or one per channel,
    /// e.g. 0.485,0.456,0.406); default 0.
    #[arg(long, value_name = "LIST", value_delimiter = ',', default_value = "0")]
    pub mean: Vec<f32>,
    /// Per-channel standard deviation divided by after the mean; default 1.
    #[arg(long, value_name = "LIST", value_delimiter = ',', default_value = "1")]
    pub std: Vec<f32>,
    /// Colour images in BGR channel order (OpenCV's) instead of RGB.
    #[arg(long)]
    pub bgr: bool,
    /// Training images held out for validation when the data has no validation split (the last
    /// fraction: Fashion-MNIST's last 10,000 of 60,000 by default).
    #[arg(long, value_name = "F", default_value_t = DEFAULT_VAL_FRACTION)]
    pub val_fraction: f64,
}

impl DataArgs {
    pub fn preprocess(&self) -> Result<Preprocess> {
        let resize = match &self.resize {
            None => None,
            Some(s) => {
                let dims: Vec<usize> = s
                    .split(['x', 'X'])
                    .map(|p| p.trim().parse().ok().filter(|&v: &usize| v > 0))
                    .collect::<Option<_>>()
                    .unwrap_or_default();
                let [h, w] = dims[..] else {
                    bail!("--resize {s}: fix: give the size as HxW, e.g. --resize 28x28");
                };
                Some((h, w))
            }
        };
        Ok(Preprocess {
            resize,
            mean: self.mean.clone(),
            std: self.std.clone(),
            bgr: self.bgr,
        })
    }

    /// The data set shaped for `net`'s input; labels must be classes of `net`.
    pub fn load_for(&self, net: &Network) -> Result<Dataset> {
        let arch = net.arch();
        let data = Dataset::open(
            &self.data,
            &arch.input,
            &self.preprocess()?,
            self.val_fraction,
        )?;
        let classes = arch.num_classes;
        for (name, split) in [
            ("train", &data.train),
            ("val", &data.val),
            ("test", &data.test),
        ] {
            if let Some(&bad) = split.labels.iter().find(|&&l| usize::from(l) >= classes) {
                bail!(
                    "{}: the {name} split has label {bad}, but the model has {classes} classes; \
                     fix: give data whose labels are 0..{classes}",
                    self.data.display()
                );
            }
        }
        Ok(data)
    }
}
