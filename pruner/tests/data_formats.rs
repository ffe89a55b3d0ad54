//! The data formats users have: image folders (torchvision's ImageFolder),
//! NumPy arrays (.npz, .npy) and IDX, read into the same splits, with the
//! preprocessing asked for and clear errors for what cannot be read.

use std::path::Path;

use ember_pruner::data::{Dataset, Preprocess, DEFAULT_VAL_FRACTION};
use ember_pruner::model::InputShape;
use image::{GrayImage, Luma, Rgb, RgbImage};
use ndarray::{Array1, Array3, Array4};
use ndarray_npy::NpzWriter;

const GRAY: InputShape = InputShape {
    channels: 1,
    height: 4,
    width: 4,
};

/// `root/split/class/i.png`: 4x4 grey images whose every pixel is `value`.
fn folder(root: &Path, split: &str, class: &str, values: &[u8]) {
    let d = root.join(split).join(class);
    std::fs::create_dir_all(&d).unwrap();
    for (i, &v) in values.iter().enumerate() {
        GrayImage::from_pixel(4, 4, Luma([v]))
            .save(d.join(format!("{i}.png")))
            .unwrap();
    }
}

#[test]
fn image_folder_labels_classes_in_name_order_and_scales_pixels() {
    let tmp = tempfile::tempdir().unwrap();
    let r = tmp.path();
    folder(r, "train", "b_cat", &[255, 255]);
    folder(r, "train", "a_dog", &[0, 51, 102]);
    folder(r, "test", "a_dog", &[51]);
    folder(r, "test", "b_cat", &[255]);
    folder(r, "val", "a_dog", &[0]);
    folder(r, "val", "b_cat", &[255]);
    let d = Dataset::open(r, &GRAY, &Preprocess::default(), 0.5).unwrap();
    // Sorted class names: a_dog = 0, b_cat = 1; the val/ folder is used as is.
    assert_eq!(d.train.len() + d.val.len() + d.test.len(), 9);
    assert_eq!(d.val.labels, vec![0, 1]);
    assert_eq!(d.test.labels, vec![0, 1]);
    assert!((d.test.images[[0, 2, 3, 0]] - 0.2).abs() < 1e-6, "51 / 255");
    assert_eq!(d.train.images.dim(), (5, 4, 4, 1));
    // Normalisation: (x - 0.5) / 0.25.
    let pre = Preprocess {
        mean: vec![0.5],
        std: vec![0.25],
        ..Preprocess::default()
    };
    let d = Dataset::open(r, &GRAY, &pre, 0.5).unwrap();
    assert!((d.test.images[[1, 0, 0, 0]] - 2.0).abs() < 1e-6);
}

#[test]
fn colour_images_convert_and_resize() {
    let tmp = tempfile::tempdir().unwrap();
    let r = tmp.path();
    for (split, class) in [("train", "x"), ("train", "y"), ("test", "x"), ("test", "y")] {
        let d = r.join(split).join(class);
        std::fs::create_dir_all(&d).unwrap();
        RgbImage::from_pixel(8, 8, Rgb([255, 0, 0]))
            .save(d.join("a.png"))
            .unwrap();
    }
    // A 1-channel model: luma 0.299 * 255 (ITU-R 601, PIL's convert("L")).
    let err = Dataset::open(r, &GRAY, &Preprocess::default(), 0.0)
        .unwrap_err()
        .to_string();
    assert!(err.contains("8x8") && err.contains("--resize 4x4"), "{err}");
    let pre = Preprocess {
        resize: Some((4, 4)),
        ..Preprocess::default()
    };
    let d = Dataset::open(r, &GRAY, &pre, 0.0).unwrap();
    assert!((d.test.images[[0, 1, 1, 0]] - 76.0 / 255.0).abs() < 1e-6);
    // A 3-channel model, BGR order.
    let rgb = InputShape {
        channels: 3,
        ..GRAY
    };
    let pre = Preprocess {
        resize: Some((4, 4)),
        bgr: true,
        ..Preprocess::default()
    };
    let d = Dataset::open(r, &rgb, &pre, 0.0).unwrap();
    assert_eq!(
        [d.test.images[[0, 0, 0, 0]], d.test.images[[0, 0, 0, 2]]],
        [0.0, 1.0]
    );
}

#[test]
fn bad_folders_are_errors_naming_the_place() {
    let tmp = tempfile::tempdir().unwrap();
    let r = tmp.path();
    folder(r, "train", "a", &[1]);
    std::fs::create_dir_all(r.join("train/b")).unwrap();
    folder(r, "test", "a", &[1]);
    folder(r, "test", "b", &[1]);
    let err = Dataset::open(r, &GRAY, &Preprocess::default(), 0.0)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("train/b") && err.contains("empty class folder"),
        "{err}"
    );
    folder(r, "train", "b", &[1]);
    std::fs::write(r.join("test/b/9.png"), b"not a png").unwrap();
    let err = Dataset::open(r, &GRAY, &Preprocess::default(), 0.0)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("9.png") && err.contains("cannot decode"),
        "{err}"
    );
    let err = Dataset::open(&r.join("nowhere"), &GRAY, &Preprocess::default(), 0.0)
        .unwrap_err()
        .to_string();
    assert!(err.contains("nowhere"), "{err}");
    let empty = tempfile::tempdir().unwrap();
    let err = Dataset::open(empty.path(), &GRAY, &Preprocess::default(), 0.0)
        .unwrap_err()
        .to_string();
    assert!(err.contains("holds no data set"), "{err}");
}

#[test]
fn npz_arrays_in_either_layout() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("d.npz");
    let mut z = NpzWriter::new(std::fs::File::create(&p).unwrap());
    // uint8 [N, H, W] (scaled by 1/255) and float NCHW [N, 1, H, W] (as is).
    let x = Array3::<u8>::from_shape_fn((6, 4, 4), |(n, _, _)| (n * 40) as u8);
    z.add_array("x_train", &x).unwrap();
    z.add_array("y_train", &Array1::<i64>::from(vec![0, 1, 0, 1, 0, 1]))
        .unwrap();
    let xt =
        Array4::<f32>::from_shape_fn((2, 1, 4, 4), |(n, _, h, w)| (n + h * 4 + w) as f32 / 100.0);
    z.add_array("x_test", &xt).unwrap();
    z.add_array("y_test", &Array1::<u8>::from(vec![1, 0]))
        .unwrap();
    z.finish().unwrap();
    let d = Dataset::open(&p, &GRAY, &Preprocess::default(), 0.5).unwrap();
    assert_eq!((d.train.len(), d.val.len(), d.test.len()), (3, 3, 2));
    assert_eq!(d.test.labels, vec![1, 0]);
    assert!((d.test.images[[1, 2, 3, 0]] - (1 + 8 + 3) as f32 / 100.0).abs() < 1e-6);
    // The held-out third is a shuffle of the training rows, not the last ones.
    let mut all: Vec<f32> = d
        .train
        .images
        .iter()
        .step_by(16)
        .chain(d.val.images.iter().step_by(16))
        .copied()
        .collect();
    all.sort_by(f32::total_cmp);
    let want: Vec<f32> = (0..6).map(|n| (n * 40) as f32 / 255.0).collect();
    assert_eq!(all, want);
    // A label out of range and a mismatched count are errors.
    let mut z = NpzWriter::new(std::fs::File::create(&p).unwrap());
    z.add_array("x_train", &x).unwrap();
    z.add_array("y_train", &Array1::<i64>::from(vec![0, 1, 0, 1, 0]))
        .unwrap();
    z.add_array("x_test", &xt).unwrap();
    z.add_array("y_test", &Array1::<i64>::from(vec![1, 300]))
        .unwrap();
    z.finish().unwrap();
    let err = Dataset::open(&p, &GRAY, &Preprocess::default(), 0.5)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("d.npz") && (err.contains("6 images but y_train 5") || err.contains("300")),
        "{err}"
    );
}

#[test]
fn idx_folder_is_unchanged_by_the_default_preprocessing() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fashion-mnist-small");
    let input = InputShape {
        channels: 1,
        height: 28,
        width: 28,
    };
    let a = Dataset::load(&dir, DEFAULT_VAL_FRACTION).unwrap();
    let b = Dataset::open(&dir, &input, &Preprocess::default(), DEFAULT_VAL_FRACTION).unwrap();
    assert_eq!(a.train.images, b.train.images);
    assert_eq!(a.test.labels, b.test.labels);
}
