//! LASER's mining output: `score<TAB>source<TAB>target`, one pair per line.

use super::{one_line, AtomicFile, Record, Sink};
use anyhow::{Context, Result};
use std::io::Write;
use std::path::Path;

pub struct TsvSink {
    file: AtomicFile,
}

impl TsvSink {
    pub fn create(path: impl AsRef<Path>) -> Result<Self> {
        Ok(Self {
            file: AtomicFile::create(path)?,
        })
    }
}

impl Sink for TsvSink {
    /// The first column is the confidence of pairs mined by confidence, else the margin (the
    /// cosine for alignment links, which have neither).
    fn write(&mut self, r: &Record) -> Result<()> {
        writeln!(
            self.file,
            "{:.6}\t{}\t{}",
            r.confidence.or(r.margin).unwrap_or(r.cosine),
            one_line(&r.src.text).replace('\t', " "),
            one_line(&r.tgt.text).replace('\t', " ")
        )
        .with_context(|| format!("{}: write failed", self.file.path().display()))
    }

    fn finish(self: Box<Self>) -> Result<()> {
        self.file.commit()
    }
}
