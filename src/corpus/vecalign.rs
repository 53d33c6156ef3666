//! vecalign's alignment format, `[i, j]:[k]:cost` one link a line, so that its `score.py`,
//! bertalign's tools and our `eval align` read our output unchanged.

use super::{Record, Sink};
use anyhow::{Context, Result};
use std::io::Write;

/// Writes links in vecalign's format; the cost is printed with six decimals as vecalign
/// does (0 when a record carries none).
pub struct VecalignSink<W: Write> {
    out: W,
    commit: Option<Box<dyn FnOnce(W) -> Result<()>>>,
}

impl<W: Write> VecalignSink<W> {
    /// `commit` finishes the writer (e.g. `AtomicFile::commit`); `None` just flushes.
    pub fn new(out: W, commit: Option<Box<dyn FnOnce(W) -> Result<()>>>) -> Self {
        Self { out, commit }
    }
}

/// `[0, 1]` as Python prints a list.
fn list(ix: &[usize]) -> String {
    let parts: Vec<String> = ix.iter().map(usize::to_string).collect();
    format!("[{}]", parts.join(", "))
}

/// One line, without the newline.
pub fn format_link(record: &Record) -> String {
    format!(
        "{}:{}:{:.6}",
        list(&record.src.indices),
        list(&record.tgt.indices),
        record.cost.unwrap_or(0.0)
    )
}

impl<W: Write> Sink for VecalignSink<W> {
    fn write(&mut self, record: &Record) -> Result<()> {
        writeln!(self.out, "{}", format_link(record)).context("cannot write the alignment")
    }

    fn finish(self: Box<Self>) -> Result<()> {
        let Self { mut out, commit } = *self;
        out.flush().context("cannot write the alignment")?;
        match commit {
            Some(c) => c(out),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::corpus::Side;

    fn side(ix: Vec<usize>) -> Side {
        Side {
            lang: "de".into(),
            doc: "a".into(),
            indices: ix,
            text: String::new(),
            span: None,
        }
    }

    #[test]
    fn python_list_format() {
        let r = Record {
            src: side(vec![3, 4]),
            tgt: side(vec![]),
            cosine: 0.0,
            score: None,
            margin: None,
            confidence: None,
            cost: Some(0.25),
            translation: None,
            correspondence: None,
        };
        assert_eq!(format_link(&r), "[3, 4]:[]:0.250000");
        let mut buf = Vec::new();
        let mut s = Box::new(VecalignSink::new(&mut buf, None));
        s.write(&r).unwrap();
        s.finish().unwrap();
        assert_eq!(String::from_utf8(buf).unwrap(), "[3, 4]:[]:0.250000\n");
        let back = crate::eval::align::parse_links("[3, 4]:[]:0.250000\n").unwrap();
        assert_eq!(back, vec![(vec![3, 4], vec![])]);
    }
}
