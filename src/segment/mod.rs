//! Reading documents and splitting them into sentences that remember where they came from.
//!
//! Every sentence keeps its byte span in the original file so that any output pair can be
//! traced back to its source; that is why the text is kept as read (BOM, CRLF and all)
//! and the segmenter skips what is not text instead of normalising it away.

mod input;
pub mod rules;
mod splitter;

pub use input::{decode, is_empty_input, read_input, Decoded};
pub use splitter::{is_line_break, is_space, push_capped, Segmenter, Spans, MAX_SENTENCE_BYTES};

use anyhow::Result;
use std::ops::Range;

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

/// Reads a UTF-8 document strictly (no `--lossy`). `-` reads stdin.
pub fn read_text(name: &str) -> Result<String> {
    Ok(read_input(name, false)?.text)
}

/// Spans of the non-blank lines of `text`, trimmed; `\n`, `\r\n`, `\r` (and the
/// Unicode line separators, as for the segmenter) all end a line.
pub fn line_spans(text: &str) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut push = |r: Range<usize>| {
        let s = &text[r.clone()];
        let t = s.trim_start_matches(is_space);
        let lead = s.len() - t.len();
        let t = t.trim_end_matches(is_space);
        if !t.is_empty() {
            out.push(r.start + lead..r.start + lead + t.len());
        }
    };
    for (i, c) in text.char_indices() {
        if is_line_break(c) {
            push(start..i);
            start = i + c.len_utf8();
        }
    }
    push(start..text.len());
    out
}

/// One sentence per non-empty line (`--presplit`), spans excluding the line break.
pub fn split_lines(text: &str, doc: usize) -> Vec<Sentence> {
    to_sentences(text, &line_spans(text), doc, |o| o)
}

/// Builds sentences from spans into `text`; `file_offset` maps text offsets to file offsets.
pub fn to_sentences(
    text: &str,
    spans: &[Range<usize>],
    doc: usize,
    file_offset: impl Fn(usize) -> usize,
) -> Vec<Sentence> {
    spans
        .iter()
        .enumerate()
        .map(|(index, r)| Sentence {
            doc,
            index,
            text: text[r.clone()].to_string(),
            span: file_offset(r.start)..file_offset(r.end),
        })
        .collect()
}

/// Splits a decoded document into sentences: one per line when `presplit`, else with the
/// language's segmenter. Also returns how many cuts were made in over-long sentences
/// (longer than [`MAX_SENTENCE_BYTES`]), in both modes.
pub fn split_document(
    decoded: &Decoded,
    doc: usize,
    lang: &str,
    presplit: bool,
) -> (Vec<Sentence>, usize) {
    let spans = if presplit {
        // The user's lines are kept, except runaway ones, cut like any sentence.
        let mut out = Spans::default();
        for line in line_spans(&decoded.text) {
            push_capped(&decoded.text, line, MAX_SENTENCE_BYTES, &mut out);
        }
        out
    } else {
        Segmenter::new(lang).spans(&decoded.text)
    };
    let sentences = to_sentences(&decoded.text, &spans.spans, doc, |o| decoded.file_offset(o));
    (sentences, spans.forced)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presplit_lines() {
        let text = "\u{feff}one\r\n\r\n  two  \rthree\n";
        let s = split_lines(text, 3);
        let got: Vec<&str> = s.iter().map(|s| s.text.as_str()).collect();
        assert_eq!(got, ["one", "two", "three"]);
        for s in &s {
            assert_eq!(&text[s.span.clone()], s.text);
            assert_eq!(s.doc, 3);
        }
    }

    #[test]
    fn presplit_caps_runaway_lines() {
        let text = format!("short\n{}\n", "x".repeat(MAX_SENTENCE_BYTES * 2 + 10));
        let d = decode("x", text.into_bytes(), false).unwrap();
        let (s, forced) = split_document(&d, 0, "en", true);
        assert_eq!(forced, 2);
        assert_eq!(s.len(), 4);
        assert!(s.iter().all(|s| s.text.len() <= MAX_SENTENCE_BYTES));
    }

    #[test]
    fn lossy_spans_point_into_the_file() {
        let bytes = b"Bad \xff byte here. Next one.".to_vec();
        let d = decode("x", bytes.clone(), true).unwrap();
        let (s, _) = split_document(&d, 0, "en", false);
        assert_eq!(s.len(), 2);
        assert_eq!(&bytes[s[1].span.clone()], b"Next one.");
        assert_eq!(&bytes[s[0].span.clone()], b"Bad \xff byte here.");
    }
}
