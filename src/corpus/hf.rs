//! Hugging Face `datasets` translation layout: `hf/SRC-TGT/train.jsonl`, one row per pair,
//! `{"translation": {"en": …, "vi": …}, "score": …, "cosine": …, …}`, the schema of the
//! hub's translation datasets (wmt, opus) plus score columns, identical for mined pairs
//! and aligned links. One directory per language pair, so `load_dataset("OUT/hf/en-vi")`
//! reads it with nothing else beside it; a pair with no rows writes no file (an empty
//! JSON Lines file makes `datasets` fail).

use super::{AtomicFile, Record, Sink};
use anyhow::{Context, Result};
use serde::Serialize;
use std::io::Write;
use std::path::{Path, PathBuf};

pub struct HfSink {
    file: AtomicFile,
    keys: (String, String),
    rows: usize,
}

/// One row; the same columns whatever made the pair.
#[derive(Serialize)]
struct Row<'a> {
    translation: std::collections::BTreeMap<&'a str, &'a str>,
    /// The score the pair was kept on: the mining score (margin by default), or for an
    /// aligned link its similarity, `1 − cost`. Higher is better in both.
    score: f32,
    cosine: f32,
    src_doc: &'a str,
    tgt_doc: &'a str,
    src_indices: &'a [usize],
    tgt_indices: &'a [usize],
    /// `parallel` or `partial` (mining with --partial; every row has it or none does).
    #[serde(skip_serializing_if = "Option::is_none")]
    kind: Option<crate::mine::partial::Kind>,
    /// The clauses of one side that match the other side whole (partial pairs; "" otherwise).
    #[serde(skip_serializing_if = "Option::is_none")]
    partial: Option<&'a str>,
}

impl HfSink {
    /// The file for a language pair in `dir`.
    pub fn path(dir: &Path, src_lang: &str, tgt_lang: &str) -> PathBuf {
        dir.join("hf")
            .join(format!("{src_lang}-{tgt_lang}"))
            .join("train.jsonl")
    }

    pub fn create(dir: &Path, src_lang: &str, tgt_lang: &str) -> Result<Self> {
        let path = Self::path(dir, src_lang, tgt_lang);
        let parent = path.parent().expect("a pair directory");
        std::fs::create_dir_all(parent)
            .with_context(|| format!("{}: cannot create the directory", parent.display()))?;
        // The translation dict is keyed by language; a same-language pair needs two keys.
        let keys = if src_lang == tgt_lang {
            (format!("{src_lang}_src"), format!("{tgt_lang}_tgt"))
        } else {
            (src_lang.to_string(), tgt_lang.to_string())
        };
        Ok(Self {
            file: AtomicFile::create(&path)?,
            keys,
            rows: 0,
        })
    }
}

impl Sink for HfSink {
    /// Links with an empty side (unaligned sentences) are not translations: left out.
    fn write(&mut self, r: &Record) -> Result<()> {
        if r.src.indices.is_empty() || r.tgt.indices.is_empty() {
            return Ok(());
        }
        let row = Row {
            translation: [
                (self.keys.0.as_str(), r.src.text.as_str()),
                (self.keys.1.as_str(), r.tgt.text.as_str()),
            ]
            .into(),
            score: r.score.or(r.cost.map(|c| 1.0 - c)).unwrap_or(r.cosine),
            cosine: r.cosine,
            src_doc: &r.src.doc,
            tgt_doc: &r.tgt.doc,
            src_indices: &r.src.indices,
            tgt_indices: &r.tgt.indices,
            kind: r.correspondence.as_ref().map(|m| m.kind),
            partial: r
                .correspondence
                .as_ref()
                .map(|m| m.part.as_ref().map_or("", |p| p.text.as_str())),
        };
        self.rows += 1;
        serde_json::to_writer(&mut self.file, &row)
            .map_err(std::io::Error::from)
            .and_then(|()| self.file.write_all(b"\n"))
            .with_context(|| format!("{}: write failed", self.file.path().display()))
    }

    fn finish(self: Box<Self>) -> Result<()> {
        if self.rows == 0 {
            // Nothing to load: no file, and no empty directory either.
            let dir = self.file.path().parent().map(Path::to_path_buf);
            drop(self.file);
            if let Some(d) = dir {
                let _ = std::fs::remove_dir(&d);
                if let Some(hf) = d.parent() {
                    let _ = std::fs::remove_dir(hf);
                }
            }
            return Ok(());
        }
        self.file.commit()
    }
}
