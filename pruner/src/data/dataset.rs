//! Fashion-MNIST as train / validation / test splits.
//!
//! The validation split is carved off the end of the training file, so model
//! selection and pruning decisions can be made without ever looking at the
//! test split; [`crate::train::train`] reads only `train` and `val`.

use std::path::{Path, PathBuf};

use ndarray::{Array4, Axis};

use rand::{seq::SliceRandom, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::arrays::{prepare, Source};
use super::folder;
use super::idx::{read_idx, IdxArray};
use super::prep::Preprocess;
use crate::error::{PrunerError, Result};
use crate::model::InputShape;

/// Where Debian's `dataset-fashion-mnist` installs the files.
pub const DEFAULT_DATA_DIR: &str = "/usr/share/datasets/fashion-mnist";

/// The last 10,000 of Fashion-MNIST's 60,000 training images. Pruning
/// judges its budget on this split; the standard error of a paired accuracy
/// change shrinks as 1/sqrt(n) (about 0.19 points at 10,000 images for a
/// one-point change, against 0.26 at 5,000), and the margin the budget
/// keeps is proportional to it.
pub const DEFAULT_VAL_FRACTION: f64 = 10_000.0 / 60_000.0;

pub const CLASS_NAMES: [&str; 10] = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
];

/// Images as NHWC `[N, H, W, 1]` scaled to `[0, 1]`, labels `0..10`.
#[derive(Debug, Clone)]
pub struct Split {
    pub images: Array4<f32>,
    pub labels: Vec<u8>,
}

impl Split {
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Copies the samples at `idx`, in that order (a training batch).
    pub fn gather(&self, idx: &[usize]) -> (Array4<f32>, Vec<u8>) {
        let images = self.images.select(Axis(0), idx);
        let labels = idx.iter().map(|&i| self.labels[i]).collect();
        (images, labels)
    }

    /// The first `n` samples (all when `n >= len`).
    pub fn head(&self, n: usize) -> Split {
        let idx: Vec<usize> = (0..n.min(self.len())).collect();
        let (images, labels) = self.gather(&idx);
        Split { images, labels }
    }

    /// Only the samples whose label is in `classes`, in their order.
    pub fn filter_classes(&self, classes: &[u8]) -> Split {
        let idx: Vec<usize> = (0..self.len())
            .filter(|&i| classes.contains(&self.labels[i]))
            .collect();
        let (images, labels) = self.gather(&idx);
        Split { images, labels }
    }

    pub(crate) fn split_off_end(mut self, n_tail: usize) -> (Split, Split) {
        let keep = self.len() - n_tail;
        let tail_images = self.images.slice_axis(Axis(0), (keep..).into()).to_owned();
        let tail_labels = self.labels.split_off(keep);
        let head_images = self.images.slice_axis(Axis(0), (..keep).into()).to_owned();
        (
            Split {
                images: head_images,
                labels: self.labels,
            },
            Split {
                images: tail_images,
                labels: tail_labels,
            },
        )
    }
}

#[derive(Debug, Clone)]
pub struct Dataset {
    pub train: Split,
    pub val: Split,
    pub test: Split,
}

/// The four files of an MNIST-style set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataFiles {
    pub train_images: PathBuf,
    pub train_labels: PathBuf,
    pub test_images: PathBuf,
    pub test_labels: PathBuf,
}

const STEMS: [&str; 4] = [
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
];

impl DataFiles {
    /// Finds the files in `dir` under their usual names, gzipped or not.
    pub fn find(dir: &Path) -> Result<Self> {
        let mut found = Vec::new();
        let mut missing = Vec::new();
        for stem in STEMS {
            let hit = [format!("{stem}.gz"), stem.to_string()]
                .into_iter()
                .map(|n| dir.join(n))
                .find(|p| p.is_file());
            match hit {
                Some(p) => found.push(p),
                None => missing.push(format!("{stem}[.gz]")),
            }
        }
        if !missing.is_empty() {
            return Err(PrunerError::DatasetNotFound {
                dir: dir.to_path_buf(),
                missing: format!("looked for {}", missing.join(", ")),
            });
        }
        let mut it = found.into_iter();
        let mut next = || it.next().expect("four files found");
        Ok(DataFiles {
            train_images: next(),
            train_labels: next(),
            test_images: next(),
            test_labels: next(),
        })
    }
}

impl Dataset {
    /// The data set at `path`, shaped for a model whose input is `input`:
    /// a folder of MNIST-style IDX files (Fashion-MNIST), an image folder
    /// (`train/`, `test/` and optionally `val/`, each with one sub-folder
    /// per class), or NumPy arrays (`x_train`, `y_train`, `x_test`,
    /// `y_test`, optionally `x_val`, `y_val`, in a `.npz` file or as `.npy`
    /// files in a folder). Without a validation split, the last
    /// `val_fraction` of the training images is held out: in file order for
    /// IDX (Fashion-MNIST is shuffled already), after a fixed shuffle for
    /// folders and arrays (which are often sorted by class).
    pub fn open(
        path: &Path,
        input: &InputShape,
        pre: &Preprocess,
        val_fraction: f64,
    ) -> Result<Self> {
        if !(0.0..1.0).contains(&val_fraction) {
            return Err(PrunerError::Config(format!(
                "validation fraction {val_fraction} must be in [0, 1)"
            )));
        }
        pre.check(input.channels).map_err(PrunerError::Config)?;
        let bad = |reason: String| PrunerError::Dataset {
            path: path.to_path_buf(),
            reason,
        };
        if path.extension().is_some_and(|e| e == "npz") {
            return Self::from_arrays(Source::Npz(path), input, pre, val_fraction);
        }
        if !path.is_dir() {
            return Err(PrunerError::DatasetNotFound {
                dir: path.to_path_buf(),
                missing: "no such folder or .npz file".into(),
            });
        }
        if DataFiles::find(path).is_ok() {
            let mut d = Dataset::load(path, val_fraction)?;
            for s in [&mut d.train, &mut d.val, &mut d.test] {
                let images = std::mem::take(&mut s.images);
                s.images = prepare(images, pre, input).map_err(&bad)?;
            }
            return Ok(d);
        }
        if path.join("train").is_dir() {
            let classes = folder::classes(&path.join("train"))?;
            let split = |name: &str| folder::load(&path.join(name), &classes, pre, input);
            if !path.join("test").is_dir() {
                return Err(bad("an image folder needs test/ beside train/".into()));
            }
            let (train, test) = (split("train")?, split("test")?);
            let val = path
                .join("val")
                .is_dir()
                .then(|| split("val"))
                .transpose()?;
            return Ok(Self::with_val(train, val, test, val_fraction));
        }
        if path.join("x_train.npy").is_file() {
            return Self::from_arrays(Source::Dir(path), input, pre, val_fraction);
        }
        Err(bad(
            "holds no data set Ember reads: the four Fashion-MNIST/MNIST IDX files, an image \
             folder (train/ and test/ with one sub-folder per class) or NumPy arrays (x_train, \
             y_train, x_test, y_test as .npy files, or a .npz file)"
                .into(),
        ))
    }

    fn from_arrays(
        src: Source<'_>,
        input: &InputShape,
        pre: &Preprocess,
        frac: f64,
    ) -> Result<Self> {
        let need = |s: Option<Split>, name: &str| {
            s.ok_or_else(|| PrunerError::Dataset {
                path: PathBuf::from(match &src {
                    Source::Npz(p) | Source::Dir(p) => *p,
                }),
                reason: format!("missing x_{name} or y_{name}"),
            })
        };
        let train = need(src.split("train", pre, input)?, "train")?;
        let test = need(src.split("test", pre, input)?, "test")?;
        let val = src.split("val", pre, input)?;
        Ok(Self::with_val(train, val, test, frac))
    }

    /// `val`, or the last `frac` of `train` after a fixed shuffle.
    fn with_val(train: Split, val: Option<Split>, test: Split, frac: f64) -> Self {
        if let Some(val) = val {
            return Dataset { train, val, test };
        }
        let mut idx: Vec<usize> = (0..train.len()).collect();
        idx.shuffle(&mut ChaCha8Rng::seed_from_u64(0));
        let (images, labels) = train.gather(&idx);
        let n_val = (labels.len() as f64 * frac).round() as usize;
        let (train, val) = Split { images, labels }.split_off_end(n_val);
        Dataset { train, val, test }
    }

    /// Every split restricted to `classes` (labels keep their values, so a
    /// 10-way model still scores them).
    pub fn filter_classes(&self, classes: &[u8]) -> Dataset {
        Dataset {
            train: self.train.filter_classes(classes),
            val: self.val.filter_classes(classes),
            test: self.test.filter_classes(classes),
        }
    }

    /// Loads the set in `dir`, holding out the last `val_fraction` of the
    /// training images (rounded) as the validation split.
    pub fn load(dir: &Path, val_fraction: f64) -> Result<Self> {
        if !(0.0..1.0).contains(&val_fraction) {
            return Err(PrunerError::Config(format!(
                "validation fraction {val_fraction} must be in [0, 1)"
            )));
        }
        let files = DataFiles::find(dir)?;
        let train = load_split(&files.train_images, &files.train_labels)?;
        let test = load_split(&files.test_images, &files.test_labels)?;
        let n_val = (train.len() as f64 * val_fraction).round() as usize;
        if n_val >= train.len() {
            return Err(PrunerError::Dataset {
                path: files.train_images,
                reason: format!("{} images leave none for training", train.len()),
            });
        }
        let (train, val) = train.split_off_end(n_val);
        Ok(Dataset { train, val, test })
    }
}

/// Reads one images/labels pair into a [`Split`].
pub fn load_split(images: &Path, labels: &Path) -> Result<Split> {
    let img = read_idx(images)?;
    let lab = read_idx(labels)?;
    let bad = |path: &Path, reason: String| PrunerError::Dataset {
        path: path.to_path_buf(),
        reason,
    };
    let IdxArray { dims, data } = img;
    let [n, h, w] = dims[..] else {
        return Err(bad(
            images,
            format!("expected 3 dimensions (N, H, W), got {dims:?}"),
        ));
    };
    if lab.dims.len() != 1 || lab.dims[0] != n {
        return Err(bad(labels, format!("{:?} labels for {n} images", lab.dims)));
    }
    if let Some(&l) = lab.data.iter().find(|&&l| l >= 10) {
        return Err(bad(labels, format!("label {l} outside 0..10")));
    }
    let pixels: Vec<f32> = data.iter().map(|&b| f32::from(b) / 255.0).collect();
    let images = Array4::from_shape_vec((n, h, w, 1), pixels).expect("length checked by read_idx");
    Ok(Split {
        images,
        labels: lab.data,
    })
}
