//! Resumable state of a pruning run: after every finished layer and every
//! fine-tune, the model goes into a fresh directory and `state.json` is
//! replaced atomically (the commit point), so a killed run resumes where it
//! stopped and gives the same result as an uninterrupted one.

use std::fs;
use std::path::PathBuf;

use crate::atomic::write_atomic;
use crate::error::{PrunerError, Result};
use crate::model::{load_model, save_model};
use crate::nn::Network;

use super::State;

const STATE_FILE: &str = "state.json";

pub(crate) struct Checkpointer {
    pub dir: PathBuf,
}

impl Checkpointer {
    pub fn load(&self, fingerprint: &str) -> Result<Option<(State, Network, Network)>> {
        let path = self.dir.join(STATE_FILE);
        let text = match fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(PrunerError::io(&path, e)),
        };
        let bad = |reason: String| PrunerError::Checkpoint {
            path: path.clone(),
            reason,
        };
        let state: State = serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
        if state.fingerprint != fingerprint {
            return Err(bad(
                "it was written by a run with other settings or another model; \
                 use another --out or delete the checkpoint"
                    .into(),
            ));
        }
        let current = load_model(&self.dir.join(&state.current))?;
        let round_start = load_model(&self.dir.join(&state.round_start))?;
        Ok(Some((state, current, round_start)))
    }

    /// Writes the model into a fresh directory, then the state file
    /// atomically (the commit point), then drops directories no longer
    /// referenced. `new_round`: the current model also becomes the round start.
    pub fn save(&self, state: &mut State, current: &Network, new_round: bool) -> Result<()> {
        fs::create_dir_all(&self.dir).map_err(|e| PrunerError::io(&self.dir, e))?;
        state.seq += 1;
        let name = format!("model-{:05}", state.seq);
        let tmp = self.dir.join(format!(".{name}.tmp"));
        let _ = fs::remove_dir_all(&tmp);
        save_model(current, &tmp)?;
        let dst = self.dir.join(&name);
        // A run killed between this rename and the state file leaves an
        // unreferenced directory of the same name behind.
        let _ = fs::remove_dir_all(&dst);
        fs::rename(&tmp, &dst).map_err(|e| PrunerError::io(&dst, e))?;
        state.current = name.clone();
        if new_round {
            state.round_start = name.clone();
        }
        let json = serde_json::to_string_pretty(state).expect("state serialises");
        write_atomic(&self.dir.join(STATE_FILE), json.as_bytes())?;
        if let Ok(entries) = fs::read_dir(&self.dir) {
            for e in entries.flatten() {
                let n = e.file_name().to_string_lossy().into_owned();
                if n.starts_with("model-") && n != state.current && n != state.round_start {
                    let _ = fs::remove_dir_all(e.path());
                }
            }
        }
        Ok(())
    }

    /// Saves the model a run starts from (once, before the first layer).
    pub fn save_start(&self, net: &Network) -> Result<()> {
        fs::create_dir_all(&self.dir).map_err(|e| PrunerError::io(&self.dir, e))?;
        let start = self.dir.join("model-start");
        if start.exists() {
            return Ok(());
        }
        let tmp = self.dir.join(".model-start.tmp");
        let _ = fs::remove_dir_all(&tmp);
        save_model(net, &tmp)?;
        fs::rename(&tmp, &start).map_err(|e| PrunerError::io(&start, e))
    }
}
