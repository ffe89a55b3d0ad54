//! Writing results: to stdout, or atomically to a file (temp file + rename, so a failed run
//! never leaves a half-written output). Output paths are checked before any work, so a bad
//! name costs nothing and a user's existing file is never replaced without `--force`.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

/// A file a command will write, checked when the command starts.
#[derive(Debug, Clone)]
pub struct OutFile(PathBuf);

impl OutFile {
    /// `path` must name a file in an existing folder, and be new unless `force`.
    pub fn new(path: &Path, force: bool) -> Result<OutFile> {
        let out = OutFile::resumable(path)?;
        if path.exists() && !force {
            bail!(
                "{}: the file exists and would be replaced; fix: pass --force to replace it, or choose another file name",
                path.display()
            );
        }
        Ok(out)
    }

    /// Like `new`, for a file the command itself reads back and extends (a resumable sweep):
    /// whether an existing file may be replaced is the command's decision.
    pub fn resumable(path: &Path) -> Result<OutFile> {
        let text = path.to_string_lossy();
        if path.is_dir() || text.ends_with('/') || text.ends_with(std::path::MAIN_SEPARATOR) {
            bail!(
                "{}: is a folder; fix: give a file name, e.g. {}",
                path.display(),
                Path::new(text.trim_end_matches(['/', std::path::MAIN_SEPARATOR]))
                    .join("result.csv")
                    .display()
            );
        }
        let folder = folder_of(path);
        if !folder.is_dir() {
            bail!(
                "{}: the folder {} does not exist; fix: create it, or choose a path in an existing folder",
                path.display(),
                folder.display()
            );
        }
        Ok(OutFile(path.to_path_buf()))
    }

    /// An SVG plot: the plotter writes SVG only, so any other extension is refused (a `.png`
    /// holding SVG text would open as a broken image).
    pub fn svg(path: &Path, force: bool) -> Result<OutFile> {
        let is_svg = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("svg"));
        if !is_svg {
            bail!(
                "{}: plots are written as SVG only; fix: name the file {} (convert it afterwards, e.g. `rsvg-convert -o plot.png plot.svg`, for another format)",
                path.display(),
                path.with_extension("svg").display()
            );
        }
        OutFile::new(path, force)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    /// Write `bytes` atomically.
    pub fn write(&self, bytes: &[u8]) -> Result<()> {
        write_atomic(&self.0, bytes)
    }
}

/// `--out FILE`, checked: `None` means stdout.
pub fn out_file(path: Option<&Path>, force: bool) -> Result<Option<OutFile>> {
    path.map(|p| OutFile::new(p, force)).transpose()
}

/// `--plot FILE.svg`, checked.
pub fn plot_file(path: Option<&Path>, force: bool) -> Result<Option<OutFile>> {
    path.map(|p| OutFile::svg(p, force)).transpose()
}

/// The folder a file lands in (`.` for a bare name).
fn folder_of(path: &Path) -> &Path {
    path.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// Write `bytes` to `path` atomically.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = folder_of(path);
    let name = path.file_name().context("output path has no file name")?;
    let tmp = dir.join(format!(
        ".{}.{}.tmp",
        name.to_string_lossy(),
        std::process::id()
    ));
    let write = || -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    };
    write().map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        anyhow::anyhow!(
            "{}: cannot write output: {e}; fix: check that the folder exists and is writable",
            path.display()
        )
    })
}

/// Print to stdout, or write atomically to `out`.
pub fn emit(out: Option<&OutFile>, text: &str) -> Result<()> {
    match out {
        Some(f) => f.write(text.as_bytes()),
        None => {
            let mut stdout = std::io::stdout().lock();
            // A closed pipe (`| head`) is not an error worth a message.
            let _ = stdout.write_all(text.as_bytes());
            Ok(())
        }
    }
}
