//! Translations kept on disk: translating a document again with the same model and
//! decoding parameters (re-running `align --mt-model` with other alignment flags) reads
//! the earlier result instead of running the model. One JSON file per (model, weights,
//! decoding parameters, sentences), named by a hash of all of them; the file holds the
//! sentences too and is used only when they match exactly.

use super::{TranslateOptions, Translated, Translator};
use crate::observe::Observer;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The cache directory: `$BITALIGN_TRANSLATION_CACHE` if set (`off` disables the cache),
/// else `$XDG_CACHE_HOME/bitalign/translations`, else `~/.cache/bitalign/translations`.
pub fn cache_dir() -> Option<PathBuf> {
    if let Some(v) = std::env::var_os("BITALIGN_TRANSLATION_CACHE") {
        return (v != "off" && !v.is_empty()).then(|| PathBuf::from(v));
    }
    Some(crate::cache::home()?.join("translations"))
}

#[derive(Serialize, Deserialize, PartialEq)]
struct Entry {
    key: Key,
    sources: Vec<String>,
    lines: Vec<String>,
}

#[derive(Serialize, Deserialize, PartialEq, Clone)]
struct Key {
    model: String,
    revision: Option<String>,
    weights: String,
    to: Option<String>,
    beams: usize,
    max_length: usize,
    length_penalty: f32,
    batch: usize,
}

/// [`Translator::translate`] through the cache in `dir` (none: no cache). A cache that
/// cannot be read or written is skipped with a note; the translation is the same.
pub fn translate_cached<S: AsRef<str> + Sync>(
    t: &Translator,
    texts: &[S],
    opts: &TranslateOptions,
    dir: Option<&Path>,
    obs: &dyn Observer,
) -> crate::error::Result<Translated> {
    t.check(opts)?;
    let Some(dir) = dir else {
        return t.translate(texts, opts, obs);
    };
    let search = t.search(opts);
    let key = Key {
        model: t.name.clone(),
        revision: t.revision.clone(),
        weights: t.fingerprint.clone(),
        to: opts.to.clone(),
        beams: search.beams,
        max_length: search.max_length,
        length_penalty: search.length_penalty,
        batch: opts.batch_size,
    };
    let sources: Vec<String> = texts.iter().map(|s| s.as_ref().to_string()).collect();
    let key_json = serde_json::to_vec(&key).map_err(anyhow::Error::from)?;
    let parts = std::iter::once(key_json.as_slice()).chain(sources.iter().map(|s| s.as_bytes()));
    let path = dir.join(format!("{}.json", crate::cache::digest(parts)));
    if let Ok(bytes) = std::fs::read(&path) {
        if let Ok(e) = serde_json::from_slice::<Entry>(&bytes) {
            if e.key == key && e.sources == sources && e.lines.len() == sources.len() {
                obs.note(&format!(
                    "translations read from the cache ({})",
                    path.display()
                ));
                return Ok(Translated {
                    lines: e.lines,
                    stats: super::TranslateStats {
                        sentences: sources.len(),
                        cached: true,
                        ..Default::default()
                    },
                });
            }
        }
    }
    let out = t.translate(texts, opts, obs)?;
    let entry = Entry {
        key,
        sources,
        lines: out.lines.clone(),
    };
    let write = || -> anyhow::Result<()> {
        std::fs::create_dir_all(dir)?;
        let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
        serde_json::to_writer(&mut tmp, &entry)?;
        tmp.persist(&path)?;
        Ok(())
    };
    if let Err(e) = write() {
        obs.note(&format!(
            "{}: cannot write the translation cache ({e})",
            dir.display()
        ));
    }
    Ok(out)
}
