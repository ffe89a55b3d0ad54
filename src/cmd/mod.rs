//! One module per subcommand: load, map, simulate, estimate, report.

pub mod compare;
pub mod data;
pub mod eval;
pub mod export;
pub mod import;
pub mod masks;
pub mod net;
pub mod prune;
pub mod sim;
pub mod sweep;
pub mod train;
pub mod validate;

use std::path::Path;

use indicatif::{ProgressBar, ProgressStyle};

/// A progress bar of `len` steps drawn with `template` (indicatif syntax).
pub fn progress_bar(len: u64, template: &str) -> ProgressBar {
    let bar = ProgressBar::new(len);
    bar.set_style(
        ProgressStyle::with_template(template)
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar
}

/// A line above the progress bar, or plainly on stderr when the bar is hidden (not a terminal).
pub fn say(bar: &ProgressBar, line: String) {
    if bar.is_hidden() {
        eprintln!("{line}");
    } else {
        bar.println(line);
    }
}

/// Load a model directory written by `ember train` or `ember prune`, or an ONNX model.
pub fn load_any(path: &Path) -> anyhow::Result<ember_pruner::model::Loaded> {
    ember_pruner::model::load_any(path).map_err(|e| match e {
        // The ONNX reader's messages name the file and the rule already.
        e @ ember_pruner::PrunerError::Onnx { .. } => anyhow::Error::new(e),
        e => anyhow::anyhow!(
            "loading the model {}: {e}; fix: give a directory written by `ember train` or \
             `ember prune`, or an .onnx file",
            path.display()
        ),
    })
}

/// Load a model directory written by `ember train` or `ember prune`.
pub fn load_trained(dir: &Path) -> anyhow::Result<ember_pruner::Network> {
    ember_pruner::load_model(dir).map_err(|e| {
        anyhow::anyhow!(
            "loading the model in {}: {e}; fix: give a directory written by `ember train` or `ember prune`",
            dir.display()
        )
    })
}
