//! What the importer needs from a stored tensor: its shape, its integer values when it is small
//! (shape arguments of Reshape and friends) and the fraction of its elements that are non-zero
//! (the weight density of a pruned layer).

use crate::proto::{data_type as dt, TensorProto};

/// Largest single dimension accepted anywhere.
pub(crate) const MAX_DIM: usize = 1 << 31;
/// Largest element count of one tensor.
pub(crate) const MAX_ELEMS: u128 = 1 << 40;
/// Integer tensors up to this many elements keep their values (shape arithmetic).
pub(crate) const MAX_INTS: usize = 4096;

pub(crate) struct TensorInfo {
    pub shape: Vec<usize>,
    pub ints: Option<Vec<i64>>,
    /// Non-zero fraction, when the data is stored in the file.
    pub density: Option<f64>,
    /// Where the data went when `density` is `None` although the tensor has elements.
    pub missing: Option<&'static str>,
}

/// Checked element count of a shape.
pub(crate) fn numel(shape: &[usize]) -> Result<usize, String> {
    let mut n: u128 = 1;
    for &d in shape {
        if d > MAX_DIM {
            return Err(format!("dimension {d} exceeds {MAX_DIM}"));
        }
        n *= d as u128;
        if n > MAX_ELEMS {
            return Err(format!(
                "shape {shape:?} has more than {MAX_ELEMS} elements"
            ));
        }
    }
    Ok(n as usize)
}

/// One ONNX dimension as a size.
pub(crate) fn to_dim(v: i64) -> Result<usize, String> {
    if v < 0 || v as u64 > MAX_DIM as u64 {
        return Err(format!(
            "dimension {v} is negative or larger than {MAX_DIM}"
        ));
    }
    Ok(v as usize)
}

/// Bytes per element in `raw_data`, and the mask of the bits that make an element non-zero
/// (the sign bit is left out for floating-point types, so -0.0 counts as zero).
fn raw_layout(data_type: i32) -> Option<(usize, u64)> {
    Some(match data_type {
        dt::FLOAT => (4, 0x7fff_ffff),
        dt::DOUBLE => (8, 0x7fff_ffff_ffff_ffff),
        dt::FLOAT16 | dt::BFLOAT16 => (2, 0x7fff),
        dt::INT8 | dt::UINT8 | dt::BOOL => (1, 0xff),
        dt::INT16 | dt::UINT16 => (2, 0xffff),
        dt::INT32 | dt::UINT32 => (4, 0xffff_ffff),
        dt::INT64 | dt::UINT64 => (8, u64::MAX),
        _ => return None,
    })
}

fn le_word(bytes: &[u8]) -> u64 {
    bytes
        .iter()
        .rev()
        .fold(0u64, |acc, &b| (acc << 8) | u64::from(b))
}

fn sign_extend(v: u64, size: usize) -> i64 {
    let shift = 64 - 8 * size as u32;
    ((v << shift) as i64) >> shift
}

/// What a tensor's stored data gives: its values when it holds few integers, and how many of
/// its elements are non-zero; or (`Err`) why its zeros cannot be counted.
type Data = Result<(Option<Vec<i64>>, usize), &'static str>;

pub(crate) fn tensor_info(t: &TensorProto) -> Result<TensorInfo, String> {
    let shape = t
        .dims
        .iter()
        .map(|&d| to_dim(d))
        .collect::<Result<Vec<_>, _>>()?;
    let n = numel(&shape)?;
    let mut info = TensorInfo {
        shape,
        ints: None,
        density: None,
        missing: None,
    };
    if t.data_location == 1 || !t.external_data.is_empty() {
        info.missing = Some("stored in an external data file");
        return Ok(info);
    }
    if n == 0 {
        return Ok(info);
    }
    let data = if !t.raw_data.is_empty() {
        raw_data(t, n, &info.shape)?
    } else {
        typed_data(t, n, &info.shape)?
    };
    match data {
        Ok((ints, nonzero)) => {
            info.ints = ints;
            info.density = Some(nonzero as f64 / n as f64);
        }
        Err(why) => info.missing = Some(why),
    }
    Ok(info)
}

fn is_int(data_type: i32) -> bool {
    matches!(
        data_type,
        dt::INT8
            | dt::UINT8
            | dt::INT16
            | dt::UINT16
            | dt::INT32
            | dt::UINT32
            | dt::INT64
            | dt::UINT64
            | dt::BOOL
    )
}

/// A data field whose length is not the shape's element count.
fn mismatch(field: &str, len: usize, shape: &[usize], n: usize) -> String {
    format!("{field} holds {len} elements but the shape {shape:?} needs {n}")
}

/// `raw_data`: little-endian words of the data type's size.
fn raw_data(t: &TensorProto, n: usize, shape: &[usize]) -> Result<Data, String> {
    let Some((size, mask)) = raw_layout(t.data_type) else {
        return Ok(Err("of a data type whose zeros are not counted"));
    };
    if t.raw_data.len() != n * size {
        return Err(mismatch("raw_data", t.raw_data.len() / size, shape, n));
    }
    let words = t.raw_data.chunks_exact(size).map(le_word);
    let mut ints = None;
    if is_int(t.data_type) && n <= MAX_INTS {
        let signed = matches!(t.data_type, dt::INT8 | dt::INT16 | dt::INT32 | dt::INT64);
        let vals: Vec<i64> = words
            .clone()
            .map(|w| {
                if signed {
                    sign_extend(w, size)
                } else {
                    w as i64
                }
            })
            .collect();
        ints = Some(vals);
    }
    Ok(Ok((ints, words.filter(|w| w & mask != 0).count())))
}

/// The typed data fields (`float_data`, `int64_data`, ...): the first one set holds the data.
fn typed_data(t: &TensorProto, n: usize, shape: &[usize]) -> Result<Data, String> {
    let check = |field: &str, len: usize| {
        if len == n {
            Ok(())
        } else {
            Err(mismatch(field, len, shape, n))
        }
    };
    let small = n <= MAX_INTS;
    Ok(Ok(if !t.float_data.is_empty() {
        check("float_data", t.float_data.len())?;
        (None, t.float_data.iter().filter(|v| **v != 0.0).count())
    } else if !t.double_data.is_empty() {
        check("double_data", t.double_data.len())?;
        (None, t.double_data.iter().filter(|v| **v != 0.0).count())
    } else if !t.int64_data.is_empty() {
        check("int64_data", t.int64_data.len())?;
        let ints = small.then(|| t.int64_data.clone());
        (ints, t.int64_data.iter().filter(|v| **v != 0).count())
    } else if !t.int32_data.is_empty() {
        check("int32_data", t.int32_data.len())?;
        let ints = (is_int(t.data_type) && small)
            .then(|| t.int32_data.iter().map(|&v| i64::from(v)).collect());
        // FLOAT16/BFLOAT16 keep their 16 bits here: -0.0 is 0x8000.
        let mask = if matches!(t.data_type, dt::FLOAT16 | dt::BFLOAT16) {
            0x7fff
        } else {
            -1
        };
        (
            ints,
            t.int32_data.iter().filter(|v| **v & mask != 0).count(),
        )
    } else if !t.uint64_data.is_empty() {
        check("uint64_data", t.uint64_data.len())?;
        let ints = small.then(|| t.uint64_data.iter().map(|&v| v as i64).collect());
        (ints, t.uint64_data.iter().filter(|v| **v != 0).count())
    } else {
        return Ok(Err("not stored in the model (no data field is set)"));
    }))
}
