//! IDX reading/writing and the Fashion-MNIST loader, on the committed fixture.

use std::path::{Path, PathBuf};

use ember_pruner::data::{read_idx, write_idx_gz, DataFiles, Dataset, IdxArray};
use ember_pruner::PrunerError;

pub fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fashion-mnist-small")
}

fn sample() -> IdxArray {
    IdxArray {
        dims: vec![3, 2, 4],
        data: (0..24).map(|i| (i * 11) as u8).collect(),
    }
}

#[test]
fn idx_round_trip_gzip_and_plain() {
    let dir = tempfile::tempdir().unwrap();
    let gz = dir.path().join("a.gz");
    write_idx_gz(&gz, &sample()).unwrap();
    assert_eq!(read_idx(&gz).unwrap(), sample());

    // The same bytes uncompressed, recognised by content rather than name.
    let mut raw = vec![0, 0, 8, 3, 0, 0, 0, 3, 0, 0, 0, 2, 0, 0, 0, 4];
    raw.extend_from_slice(&sample().data);
    let plain = dir.path().join("a.gz.but-not-really");
    std::fs::write(&plain, &raw).unwrap();
    assert_eq!(read_idx(&plain).unwrap(), sample());
}

fn idx_reason(path: &Path) -> String {
    match read_idx(path) {
        Err(PrunerError::Idx { path: p, reason }) => {
            assert_eq!(p, path);
            reason
        }
        other => panic!("expected an IDX error, got {other:?}"),
    }
}

#[test]
fn truncated_and_malformed_files_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let mut raw = vec![0, 0, 8, 3, 0, 0, 0, 3, 0, 0, 0, 2, 0, 0, 0, 4];
    raw.extend_from_slice(&sample().data);

    let cut = dir.path().join("truncated");
    std::fs::write(&cut, &raw[..raw.len() - 5]).unwrap();
    assert!(idx_reason(&cut).contains("truncated"));

    let header = dir.path().join("short-header");
    std::fs::write(&header, &raw[..10]).unwrap();
    assert!(idx_reason(&header).contains("truncated header"));

    let magic = dir.path().join("magic");
    let mut bad = raw.clone();
    bad[2] = 0x0d; // float data: not an MNIST ubyte file
    std::fs::write(&magic, &bad).unwrap();
    assert!(idx_reason(&magic).contains("magic"));

    let gz = dir.path().join("cut.gz");
    write_idx_gz(&gz, &sample()).unwrap();
    let bytes = std::fs::read(&gz).unwrap();
    std::fs::write(&gz, &bytes[..bytes.len() / 2]).unwrap();
    let msg = read_idx(&gz).unwrap_err().to_string();
    assert!(msg.contains("cut.gz"), "{msg}");
}

#[test]
fn missing_dataset_names_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let err = DataFiles::find(dir.path()).unwrap_err();
    assert!(matches!(err, PrunerError::DatasetNotFound { .. }));
    let msg = err.to_string();
    assert!(
        msg.contains("apt-get install dataset-fashion-mnist") && msg.contains("--data"),
        "{msg}"
    );
}

#[test]
fn fixture_loads_with_a_validation_split() {
    let data = Dataset::load(&fixture_dir(), 5000.0 / 60000.0).unwrap();
    // 2,000 training images; 1/12 of them (167) held out from the end.
    assert_eq!(
        (data.train.len(), data.val.len(), data.test.len()),
        (1833, 167, 1000)
    );
    assert_eq!(data.train.images.shape(), &[1833, 28, 28, 1]);
    assert!(data.train.images.iter().all(|&v| (0.0..=1.0).contains(&v)));
    // First Fashion-MNIST training label is 9 (ankle boot), first test label 9 too.
    assert_eq!(data.train.labels[0], 9);
    assert_eq!(data.test.labels[0], 9);
    let mut seen = [false; 10];
    data.train
        .labels
        .iter()
        .for_each(|&l| seen[l as usize] = true);
    assert!(seen.iter().all(|&s| s), "all ten classes present");
}
