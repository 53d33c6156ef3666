//! Reading documents and splitting them into sentences that remember where they came from.
//!
//! Every sentence keeps its byte span in the original file so that any output pair can be
//! traced back to its source; that is why the text is kept as read (BOM, CRLF and all)
//! and the segmenter skips what is not text instead of normalising it away.

pub(crate) mod input;
pub mod rules;
mod splitter;

pub use input::{
    decode, is_blank, is_empty_input, read_input, strip_compression, Compression, Decoded,
};
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

/// Spans of the lines of `text` as vecalign, LASER and gold files count them: split on
/// `\n` only (a `\r` before it goes with the break), one span per line, trimmed, an
/// empty line an empty span, no line after a final `\n`. Other breaks (`\r` alone, VT,
/// FF, U+0085, U+2028, U+2029) stay inside their line, so line i is always span i.
pub fn line_spans(text: &str) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut push = |r: Range<usize>| {
        let s = &text[r.clone()];
        let t = s.trim_start_matches(is_space);
        let lead = s.len() - t.len();
        let t = t.trim_end_matches(is_space);
        let at = if t.is_empty() {
            r.start
        } else {
            r.start + lead
        };
        out.push(at..at + t.len());
    };
    for (i, b) in text.bytes().enumerate() {
        if b == b'\n' {
            push(start..i);
            start = i + 1;
        }
    }
    if start < text.len() {
        push(start..text.len());
    }
    out
}

/// Whether a document the segmenter split into `sentences` looks like it was already one
/// sentence per line: at least 10 non-blank lines, and the segmenter kept nearly all of
/// them whole (at most 10 % more sentences than lines) but not all. Paragraph-per-line
/// prose gives many more sentences than lines; an already split file gives a few more,
/// and then its sentence indices no longer match the lines (gold files, vecalign).
/// Returns the number of non-blank lines when it looks so.
pub fn looks_line_split(text: &str, sentences: usize) -> Option<usize> {
    let lines = line_spans(text).iter().filter(|r| !r.is_empty()).count();
    (lines >= 10 && sentences > lines && sentences * 10 <= lines * 11).then_some(lines)
}

/// One sentence per line (`--presplit`, see [`line_spans`]), spans excluding the break.
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

/// Splits a decoded document into sentences: one per line when `presplit` (line i is
/// sentence i, however long or empty), else with the language's segmenter. Also returns
/// how many sentences are longer than [`MAX_SENTENCE_BYTES`]: cut there by the segmenter,
/// kept whole (the tokenizer truncates) when presplit.
pub fn split_document(
    decoded: &Decoded,
    doc: usize,
    lang: &str,
    presplit: bool,
) -> (Vec<Sentence>, usize) {
    let spans = if presplit {
        let spans = line_spans(&decoded.text);
        let long = spans
            .iter()
            .filter(|r| r.len() > MAX_SENTENCE_BYTES)
            .count();
        Spans {
            spans,
            forced: long,
        }
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
        assert_eq!(got, ["one", "", "two  \rthree"]);
        for s in &s {
            assert_eq!(&text[s.span.clone()], s.text);
            assert_eq!(s.doc, 3);
        }
    }

    /// Issue 10 #5: line i is sentence i whatever the line holds.
    #[test]
    fn presplit_keeps_one_sentence_per_line() {
        let long = "x".repeat(MAX_SENTENCE_BYTES * 2 + 10);
        let text = format!("a\n\nb\u{0b}c\u{0c}d\n e\u{85}f\u{2028}g\u{2029}h \n{long}\nlast");
        let d = decode("x", text.clone().into_bytes(), false).unwrap();
        let (s, long_lines) = split_document(&d, 0, "en", true);
        assert_eq!(s.len(), text.split('\n').count());
        assert_eq!(s.len(), 6);
        assert_eq!(s[1].text, "");
        assert_eq!(s[2].text, "b\u{0b}c\u{0c}d");
        assert_eq!(s[4].text, long);
        assert_eq!(long_lines, 1);
        assert_eq!(s[5].text, "last");
        // A final newline does not add a line; CRLF counts as one break.
        assert_eq!(split_lines("a\r\nb\r\n", 0).len(), 2);
        assert_eq!(split_lines("a\n\n", 0).len(), 2);
    }

    /// Issue 10 #6: a one-sentence-per-line file re-segmented into a few more sentences is
    /// recognised; paragraph-per-line prose is not.
    #[test]
    fn line_split_input_is_recognised() {
        let mut lines: Vec<String> = (0..20)
            .map(|i| format!("Line number {i} ends here."))
            .collect();
        lines[3] = "Dr. Smith came. He sat.".into();
        let text = lines.join("\n");
        let d = decode("x", text.clone().into_bytes(), false).unwrap();
        let (s, _) = split_document(&d, 0, "en", false);
        assert_eq!(looks_line_split(&text, s.len()), Some(20));
        let prose = (0..12)
            .map(|_| "One. Two. Three.")
            .collect::<Vec<_>>()
            .join("\n");
        let d = decode("x", prose.clone().into_bytes(), false).unwrap();
        let (s, _) = split_document(&d, 0, "en", false);
        assert_eq!(looks_line_split(&prose, s.len()), None);
        assert_eq!(looks_line_split(&text, 20), None);
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
