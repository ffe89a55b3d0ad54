//! Image folders in torchvision's `ImageFolder` layout: one sub-folder per
//! class, classes labelled in the sorted order of their names.

use std::path::{Path, PathBuf};

use ndarray::Array4;
use rayon::prelude::*;

use super::dataset::Split;
use super::prep::Preprocess;
use crate::error::{PrunerError, Result};
use crate::model::InputShape;

const EXTENSIONS: [&str; 3] = ["png", "jpg", "jpeg"];

fn bad(path: &Path, reason: String) -> PrunerError {
    PrunerError::Dataset {
        path: path.to_path_buf(),
        reason,
    }
}

fn sorted_entries(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| PrunerError::io(dir, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    v.sort();
    Ok(v)
}

/// The class names of an image folder: its sub-folders, sorted.
pub fn classes(dir: &Path) -> Result<Vec<String>> {
    let names: Vec<String> = sorted_entries(dir)?
        .into_iter()
        .filter(|p| p.is_dir())
        .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .collect();
    if names.is_empty() {
        return Err(bad(
            dir,
            "no class folders; fix: put each class's images in a sub-folder (DIR/CLASS/*.png)"
                .into(),
        ));
    }
    if names.len() > 256 {
        return Err(bad(
            dir,
            format!("{} classes; Ember handles at most 256", names.len()),
        ));
    }
    Ok(names)
}

/// The images of `dir/CLASS/*` for the given `classes` (label = index),
/// decoded in parallel and preprocessed for `input`.
pub fn load(dir: &Path, classes: &[String], pre: &Preprocess, input: &InputShape) -> Result<Split> {
    let mut files: Vec<(PathBuf, u8)> = Vec::new();
    for (label, class) in classes.iter().enumerate() {
        let cdir = dir.join(class);
        if !cdir.is_dir() {
            return Err(bad(
                &cdir,
                format!(
                    "missing: every split needs the same class folders as train/ ({classes:?})"
                ),
            ));
        }
        let before = files.len();
        for p in sorted_entries(&cdir)? {
            let ext = p.extension().map(|e| e.to_string_lossy().to_lowercase());
            if ext.is_some_and(|e| EXTENSIONS.contains(&e.as_str())) {
                files.push((p, label as u8));
            }
        }
        if files.len() == before {
            return Err(bad(
                &cdir,
                "an empty class folder: no PNG or JPEG images".into(),
            ));
        }
    }
    let pixels: Vec<Vec<f32>> = files
        .par_iter()
        .map(|(p, _)| {
            let img =
                image::open(p).map_err(|e| bad(p, format!("cannot decode the image: {e}")))?;
            pre.image(img, input).map_err(|e| bad(p, e))
        })
        .collect::<Result<_>>()?;
    let (h, w, c) = (input.height, input.width, input.channels);
    let flat: Vec<f32> = pixels.into_iter().flatten().collect();
    let images = Array4::from_shape_vec((files.len(), h, w, c), flat).expect("one image each");
    Ok(Split {
        images,
        labels: files.into_iter().map(|(_, l)| l).collect(),
    })
}
