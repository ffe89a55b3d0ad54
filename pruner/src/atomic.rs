//! Crash-safe file replacement.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{PrunerError, Result};

/// Temp file in the same directory, fsync, rename: rename is atomic only
/// within one file system.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    let tmp: PathBuf = dir.join(format!(".{file_name}.tmp{}", std::process::id()));
    let result = (|| {
        let mut f = fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        fs::rename(&tmp, path)
    })();
    result.map_err(|e| {
        let _ = fs::remove_file(&tmp);
        PrunerError::io(path, e)
    })
}
