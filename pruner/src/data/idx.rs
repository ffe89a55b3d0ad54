//! MNIST-format (IDX) files of unsigned bytes, plain or gzipped.
//!
//! Layout: magic `00 00 08 NDIM`, NDIM big-endian u32 dimensions, then the
//! bytes. Gzip is recognised by content (`1f 8b`), not by file name.

use std::fs;
use std::io::{Read, Write};
use std::path::Path;

use flate2::{read::GzDecoder, write::GzEncoder, Compression};

use crate::atomic::write_atomic;
use crate::error::{PrunerError, Result};

/// Type code for unsigned bytes, the only one MNIST-style sets use.
const UBYTE: u8 = 0x08;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdxArray {
    pub dims: Vec<usize>,
    pub data: Vec<u8>,
}

pub fn read_idx(path: &Path) -> Result<IdxArray> {
    let bad = |reason: String| PrunerError::Idx {
        path: path.to_path_buf(),
        reason,
    };
    let raw = fs::read(path).map_err(|e| PrunerError::io(path, e))?;
    let bytes = if raw.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        GzDecoder::new(&raw[..])
            .read_to_end(&mut out)
            .map_err(|e| bad(format!("gzip stream: {e}")))?;
        out
    } else {
        raw
    };
    if bytes.len() < 4 {
        return Err(bad(format!(
            "{} bytes, too short for a header",
            bytes.len()
        )));
    }
    if bytes[0] != 0 || bytes[1] != 0 || bytes[2] != UBYTE {
        return Err(bad(format!(
            "wrong magic {:02x} {:02x} {:02x} {:02x} (expected 00 00 08 NDIM)",
            bytes[0], bytes[1], bytes[2], bytes[3]
        )));
    }
    let ndim = bytes[3] as usize;
    if ndim == 0 {
        return Err(bad("zero dimensions".into()));
    }
    let header = 4 + 4 * ndim;
    if bytes.len() < header {
        return Err(bad(format!(
            "truncated header: {} bytes, need {header}",
            bytes.len()
        )));
    }
    let dims: Vec<usize> = bytes[4..header]
        .chunks_exact(4)
        .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize)
        .collect();
    let expected = dims
        .iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .ok_or_else(|| bad(format!("dimensions {dims:?} overflow")))?;
    let got = bytes.len() - header;
    if got != expected {
        let what = if got < expected {
            "truncated"
        } else {
            "trailing bytes"
        };
        return Err(bad(format!(
            "{what}: dims {dims:?} need {expected} data bytes, file has {got}"
        )));
    }
    Ok(IdxArray {
        dims,
        data: bytes[header..].to_vec(),
    })
}

/// Writes a gzipped IDX file (atomically).
pub fn write_idx_gz(path: &Path, arr: &IdxArray) -> Result<()> {
    let expected: usize = arr.dims.iter().product();
    if expected != arr.data.len() || arr.dims.is_empty() || arr.dims.len() > 255 {
        return Err(PrunerError::Idx {
            path: path.to_path_buf(),
            reason: format!("dims {:?} do not match {} bytes", arr.dims, arr.data.len()),
        });
    }
    let mut raw = vec![0, 0, UBYTE, arr.dims.len() as u8];
    for &d in &arr.dims {
        let d = u32::try_from(d).map_err(|_| PrunerError::Idx {
            path: path.to_path_buf(),
            reason: format!("dimension {d} does not fit in u32"),
        })?;
        raw.extend_from_slice(&d.to_be_bytes());
    }
    raw.extend_from_slice(&arr.data);
    let mut gz = GzEncoder::new(Vec::new(), Compression::best());
    let packed = gz
        .write_all(&raw)
        .and_then(|_| gz.finish())
        .map_err(|e| PrunerError::io(path, e))?;
    write_atomic(path, &packed)
}
