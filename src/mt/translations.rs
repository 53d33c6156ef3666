//! A translation of the source document by any MT system (Bleualign's `--srctotarget`):
//! one line per source sentence, in order.

use crate::document::{Document, Sentence};
use crate::error::Error;
use anyhow::{bail, Result};
use std::path::Path;

/// One translation per source sentence, in the source's order.
#[derive(Clone, Debug, PartialEq)]
pub struct Translations {
    pub lines: Vec<String>,
    /// Source sentences whose translation line was empty (the source sentence stands in:
    /// names and numbers still match).
    pub empty: usize,
}

impl Translations {
    /// Reads `path` for the source document `source` (its name, text and sentences).
    /// Accepted layouts: one line per sentence, or (for a source with one sentence per
    /// line) one line per line of the source file, blank lines included, as MT systems
    /// output it for a presplit input. A wrong line count is an [`Error::Input`] naming
    /// `path`, raised before anything is embedded.
    pub fn load(path: &Path, source: &Document) -> crate::error::Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            Error::input(path.display(), format!("cannot read the translation ({e})"))
        })?;
        Self::parse(&text, &source.name, &source.text, &source.sentences)
            .map_err(|e| Error::input(path.display(), format!("{e:#}")))
    }

    /// As [`Translations::load`], from the translation's text.
    pub fn parse(
        text: &str,
        source_name: &str,
        source_text: &str,
        sentences: &[Sentence],
    ) -> Result<Self> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let lines: Vec<&str> = text.lines().map(|l| l.trim_end_matches('\r')).collect();
        let picked: Vec<&str> = if lines.len() == sentences.len() {
            lines
        } else {
            let src_lines: Vec<usize> = sentences
                .iter()
                .map(|s| line_of(source_text, s.span.start))
                .collect();
            let one_per_line = src_lines.windows(2).all(|w| w[0] < w[1]);
            let file_lines = source_text.lines().count();
            if one_per_line && lines.len() == file_lines && !sentences.is_empty() {
                src_lines.iter().map(|&l| lines[l]).collect()
            } else {
                bail!(
                    "{} lines, but the source {source_name} has {} sentences{}: a translation \
                     needs one line per source sentence, in order",
                    lines.len(),
                    sentences.len(),
                    if one_per_line && file_lines != sentences.len() {
                        format!(" on {file_lines} lines")
                    } else {
                        String::new()
                    }
                );
            }
        };
        Ok(Self::stand_in(&picked, sentences))
    }

    /// A translation given as lines (one per sentence of `source`, as the library's callers
    /// and the Python package pass it); a wrong count is an [`Error::Config`].
    pub fn from_lines<S: AsRef<str>>(lines: &[S], source: &Document) -> crate::error::Result<Self> {
        if lines.len() != source.sentences.len() {
            return Err(Error::config(
                "translation",
                format!(
                    "{} lines, but the source {} has {} sentences: a translation needs one line \
                     per source sentence, in order",
                    lines.len(),
                    source.name,
                    source.sentences.len()
                ),
            ));
        }
        Ok(Self::stand_in(lines, &source.sentences))
    }

    /// Lines trimmed, an empty one replaced by its source sentence.
    fn stand_in<S: AsRef<str>>(lines: &[S], sentences: &[Sentence]) -> Self {
        let mut empty = 0;
        let lines = lines
            .iter()
            .zip(sentences)
            .map(|(t, s)| {
                let t = t.as_ref().trim();
                if t.is_empty() {
                    empty += 1;
                    s.text.clone()
                } else {
                    t.to_string()
                }
            })
            .collect();
        Self { lines, empty }
    }
}

/// 0-based line of byte offset `at`.
fn line_of(text: &str, at: usize) -> usize {
    text.as_bytes()[..at.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
}

/// Checks that one MT model can serve `wanted` (source document, target language): a model
/// translates one direction, so all of them must share one source and one target language.
/// Cheap, so callers run it before loading anything.
pub fn check_one_direction(docs: &[Document], wanted: &[(usize, String)]) -> crate::Result<()> {
    let dirs: std::collections::BTreeSet<(&str, &str)> = wanted
        .iter()
        .map(|(i, l)| (docs[*i].lang.tag(), l.as_str()))
        .collect();
    if dirs.len() > 1 {
        let list: Vec<String> = dirs.iter().map(|(a, b)| format!("{a}-{b}")).collect();
        return Err(Error::config(
            "mt_model",
            format!(
                "translates one direction, but the run has {} language pairs ({}): choose one (--pairs, or pairs= in Python)",
                dirs.len(),
                list.join(", ")
            ),
        ));
    }
    Ok(())
}

/// Every source document of `wanted` translated by one model (`translate` returns a
/// document's sentences in the target language), keyed as the miner and aligner look
/// translations up.
pub fn translate_sources(
    docs: &[Document],
    wanted: &[(usize, String)],
    mut translate: impl FnMut(&Document) -> crate::Result<Vec<String>>,
) -> crate::Result<crate::align::CorpusTranslations> {
    check_one_direction(docs, wanted)?;
    let mut out = crate::align::CorpusTranslations::new();
    for (i, lang) in wanted {
        let doc = &docs[*i];
        let lines = translate(doc)?;
        out.insert((*i, lang.clone()), Translations::from_lines(&lines, doc)?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sents(text: &str) -> Vec<Sentence> {
        crate::segment::split_lines(text, 0)
    }

    #[test]
    fn one_line_per_sentence() {
        let src = "Eins.\nZwei.\n";
        let t = Translations::parse("Un.\n\n", "a.de", src, &sents(src)).unwrap();
        assert_eq!(t.lines, ["Un.", "Zwei."]);
        assert_eq!(t.empty, 1);
    }

    #[test]
    fn blank_source_lines_may_be_kept() {
        let src = "Eins.\n\nZwei.\n";
        // --presplit keeps the blank line as an (empty) sentence: line for line.
        let t = Translations::parse("Un.\n\nDeux.\n", "a.de", src, &sents(src)).unwrap();
        assert_eq!(t.lines, ["Un.", "", "Deux."]);
        // A segmenter drops it: the translation's lines are matched to the source's lines.
        let segmented: Vec<Sentence> = sents(src)
            .into_iter()
            .filter(|s| !s.text.is_empty())
            .collect();
        assert_eq!(segmented.len(), 2);
        let t = Translations::parse("Un.\n\nDeux.\n", "a.de", src, &segmented).unwrap();
        assert_eq!(t.lines, ["Un.", "Deux."]);
    }

    #[test]
    fn wrong_count_is_one_clear_error() {
        let src = "Eins.\nZwei.\nDrei.\n";
        let e = Translations::parse("Un.\nDeux.\n", "a.de", src, &sents(src)).unwrap_err();
        assert_eq!(
            e.to_string(),
            "2 lines, but the source a.de has 3 sentences: a translation needs one line per \
             source sentence, in order"
        );
    }
}
