//! Reading documents and splitting them into sentences that remember where they came from.

use anyhow::{bail, Context, Result};
use std::ops::Range;
use std::path::Path;

/// A document as read from disk (or stdin), decoded but otherwise untouched, so that
/// sentence spans are byte offsets into the original file.
#[derive(Clone, Debug)]
pub struct Document {
    /// The name the user gave (`-` for stdin).
    pub name: String,
    /// ISO 639-1 code where one exists (`en`, `vi`, `id`).
    pub lang: String,
    pub text: String,
}

/// A sentence with its place in its document.
#[derive(Clone, Debug, PartialEq)]
pub struct Sentence {
    /// Index of the document in the run.
    pub doc: usize,
    /// Index of the sentence within its document.
    pub index: usize,
    pub text: String,
    /// Byte range in the original file.
    pub span: Range<usize>,
}

/// Reads a UTF-8 document. `-` reads stdin.
pub fn read_text(name: &str) -> Result<String> {
    let bytes = if name == "-" {
        let mut b = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut b).context("stdin: cannot read")?;
        b
    } else {
        let p = Path::new(name);
        if p.is_dir() {
            bail!("{name}: is a directory, expected a text file");
        }
        std::fs::read(p).with_context(|| format!("{name}: cannot read"))?
    };
    match String::from_utf8(bytes) {
        Ok(s) => Ok(s),
        Err(e) => bail!(
            "{name}: not valid UTF-8 (first bad byte at offset {})",
            e.utf8_error().valid_up_to()
        ),
    }
}

/// One sentence per non-empty line (`--presplit`), spans excluding the line break.
pub fn split_lines(text: &str, doc: usize) -> Vec<Sentence> {
    let mut out = Vec::new();
    let mut start = 0;
    for line in text.split_inclusive('\n') {
        let body = line.trim_end_matches(['\n', '\r']);
        let lead = body.len() - body.trim_start().len();
        let trimmed = body.trim();
        if !trimmed.is_empty() {
            let s = start + lead;
            out.push(Sentence {
                doc,
                index: out.len(),
                text: trimmed.to_string(),
                span: s..s + trimmed.len(),
            });
        }
        start += line.len();
    }
    out
}
