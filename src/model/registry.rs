//! Known models and what the hub's files do not say: the input prefix, the licence.
//! The list lives in `models/registry.json` (compiled in); `BITALIGN_REGISTRY=FILE`
//! adds entries or overrides built-in ones without rebuilding.

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
pub struct Entry {
    /// Hugging Face repo id.
    pub id: String,
    /// Text put before every sentence when embedding documents.
    #[serde(default)]
    pub prefix: String,
    /// Pooling as the model's sentence-transformers files define it (informational;
    /// used only when a model directory has no `modules.json`).
    pub pooling: String,
    pub dim: usize,
    pub licence: String,
    #[serde(default)]
    pub notes: String,
}

const BUILT_IN: &str = include_str!("../../models/registry.json");

/// All entries: built-in first, then `BITALIGN_REGISTRY`'s, later ids replacing earlier ones.
pub fn entries() -> Result<Vec<Entry>> {
    let mut all: Vec<Entry> =
        serde_json::from_str(BUILT_IN).context("models/registry.json (built in): not valid")?;
    if let Ok(path) = std::env::var("BITALIGN_REGISTRY") {
        let extra: Vec<Entry> = super::hub::read_json(std::path::Path::new(&path))
            .with_context(|| "BITALIGN_REGISTRY".to_string())?;
        for e in extra {
            all.retain(|x| x.id != e.id);
            all.push(e);
        }
    }
    Ok(all)
}

/// The entry for a repo id, if known.
pub fn lookup(id: &str) -> Result<Option<Entry>> {
    Ok(entries()?.into_iter().find(|e| e.id == id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_registry_parses_and_knows_e5() {
        let e = lookup(crate::model::DEFAULT_MODEL)
            .unwrap()
            .expect("default model registered");
        assert_eq!(e.prefix, "passage: ");
        assert_eq!(e.dim, 384);
        let all = entries().unwrap();
        let mut ids: Vec<_> = all.iter().map(|e| &e.id).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(
            ids.len(),
            all.len(),
            "duplicate ids in models/registry.json"
        );
    }
}
