//! LASER's mining output: `score<TAB>source<TAB>target`, one pair per line.

use super::{one_line, AtomicFile, Record, Sink};
use anyhow::{Context, Result};
use std::io::Write;
use std::path::Path;

pub struct TsvSink {
    file: AtomicFile,
    /// Sides whose tabs or line breaks became spaces.
    altered: usize,
}

impl TsvSink {
    pub fn create(path: impl AsRef<Path>) -> Result<Self> {
        Ok(Self {
            file: AtomicFile::create(path)?,
            altered: 0,
        })
    }
}

impl Sink for TsvSink {
    /// The first column is the score that ranked the pair (the cosine for alignment
    /// links, which have none); tabs and line breaks inside a sentence become spaces.
    fn write(&mut self, r: &Record) -> Result<()> {
        let mut clean = |t: &str| {
            if t.contains(['\t', '\n', '\r']) {
                self.altered += 1;
            }
            one_line(t).replace('\t', " ")
        };
        let (src, tgt) = (clean(&r.src.text), clean(&r.tgt.text));
        writeln!(
            self.file,
            "{:.6}\t{src}\t{tgt}",
            r.score.unwrap_or(r.cosine)
        )
        .with_context(|| format!("{}: write failed", self.file.path().display()))
    }

    fn altered(&self) -> Vec<(super::Format, usize)> {
        vec![(super::Format::Tsv, self.altered)]
    }

    fn finish(self: Box<Self>) -> Result<()> {
        self.file.commit()
    }
}
