//! Moses-style plain parallel text: `corpus.en-vi.en` and `corpus.en-vi.vi`, line n of one
//! the translation of line n of the other (what Moses, fairseq and OpenNMT read).

use super::{one_line, AtomicFile, Record, Sink};
use anyhow::{Context, Result};
use std::io::Write;
use std::path::{Path, PathBuf};

pub struct MosesSink {
    src: AtomicFile,
    tgt: AtomicFile,
    /// Sides whose line breaks became spaces.
    altered: usize,
}

impl MosesSink {
    /// The two file names for a language pair in `dir`. When both sides share a language
    /// the suffixes are `.src` and `.tgt`, so neither file overwrites the other.
    pub fn paths(dir: &Path, src_lang: &str, tgt_lang: &str) -> (PathBuf, PathBuf) {
        let stem = format!("corpus.{src_lang}-{tgt_lang}");
        if src_lang == tgt_lang {
            (
                dir.join(format!("{stem}.src")),
                dir.join(format!("{stem}.tgt")),
            )
        } else {
            (
                dir.join(format!("{stem}.{src_lang}")),
                dir.join(format!("{stem}.{tgt_lang}")),
            )
        }
    }

    pub fn create(dir: &Path, src_lang: &str, tgt_lang: &str) -> Result<Self> {
        let (s, t) = Self::paths(dir, src_lang, tgt_lang);
        Ok(Self {
            src: AtomicFile::create(s)?,
            tgt: AtomicFile::create(t)?,
            altered: 0,
        })
    }
}

impl Sink for MosesSink {
    fn write(&mut self, r: &Record) -> Result<()> {
        self.altered += [&r.src.text, &r.tgt.text]
            .iter()
            .filter(|t| t.contains(['\n', '\r']))
            .count();
        writeln!(self.src, "{}", one_line(&r.src.text))
            .with_context(|| format!("{}: write failed", self.src.path().display()))?;
        writeln!(self.tgt, "{}", one_line(&r.tgt.text))
            .with_context(|| format!("{}: write failed", self.tgt.path().display()))
    }

    fn finish(self: Box<Self>) -> Result<()> {
        self.src.commit()?;
        self.tgt.commit()
    }

    fn altered(&self) -> Vec<(super::Format, usize)> {
        vec![(super::Format::Moses, self.altered)]
    }
}
