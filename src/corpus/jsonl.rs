//! JSON Lines: one record per line, every field kept (languages, documents, sentence
//! indices, byte spans, scores), so a corpus can be traced back to its sources.

use super::{AtomicFile, Record, Sink};
use anyhow::{Context, Result};
use std::io::Write;
use std::path::Path;

pub struct JsonlSink {
    file: AtomicFile,
}

impl JsonlSink {
    pub fn create(path: impl AsRef<Path>) -> Result<Self> {
        Ok(Self {
            file: AtomicFile::create(path)?,
        })
    }
}

impl Sink for JsonlSink {
    fn write(&mut self, record: &Record) -> Result<()> {
        serde_json::to_writer(&mut self.file, record)
            .map_err(std::io::Error::from)
            .and_then(|()| self.file.write_all(b"\n"))
            .with_context(|| format!("{}: write failed", self.file.path().display()))
    }

    fn finish(self: Box<Self>) -> Result<()> {
        self.file.commit()
    }
}

/// Reads back a file written by [`JsonlSink`].
pub fn read_jsonl(path: impl AsRef<Path>) -> Result<Vec<Record>> {
    let path = path.as_ref();
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("{}: cannot read", path.display()))?;
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(n, l)| {
            serde_json::from_str(l)
                .with_context(|| format!("{}:{}: not a bitalign record", path.display(), n + 1))
        })
        .collect()
}

/// One multi-way tuple a line: `{"sentences": [side, …]}`, languages in input order.
#[derive(serde::Serialize)]
struct TupleLine<'a> {
    sentences: &'a [super::Side],
}

/// `multi.jsonl`'s bytes for these tuples (keys sorted within each object).
pub fn tuples_jsonl(tuples: &[Vec<super::Side>]) -> anyhow::Result<Vec<u8>> {
    let mut out = Vec::new();
    for t in tuples {
        let v = serde_json::to_value(TupleLine { sentences: t })?;
        serde_json::to_writer(&mut out, &v)?;
        out.push(b'\n');
    }
    Ok(out)
}
