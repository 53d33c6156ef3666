//! The output side: one record type for mined pairs and aligned links, one writer
//! ("sink") per format, atomic file output shared by all of them, a directory writer that
//! commits a run's files all together ([`CorpusWriter`]) and the run's manifest.

mod atomic;
mod hf;
mod jsonl;
mod manifest;
pub(crate) use manifest::{serialize_decimal, serialize_decimal_opt};
mod moses;
mod tmx;
mod tsv;
pub mod vecalign;
mod writer;

pub use atomic::{remove_pending, AtomicFile};
pub use hf::HfSink;
pub use jsonl::{read_jsonl, tuples_jsonl, JsonlSink};
pub use manifest::{
    EmbedFileRecord, EmbedManifest, InputRecord, Manifest, ModelRecord, PairRecord, ParamsRecord,
    TranslationRecord,
};
pub use moses::MosesSink;
pub use tmx::{xml_escape, TmxSink};
pub use tsv::TsvSink;
pub use writer::CorpusWriter;

use anyhow::Result;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// One side of a record: 0..n consecutive sentences of one document.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Side {
    pub lang: String,
    /// The document as the user named it (path, or `-` for stdin).
    pub doc: String,
    /// Sentence indices within the document, ascending; empty for an insertion/deletion.
    pub indices: Vec<usize>,
    /// The sentences joined by a space.
    pub text: String,
    /// Byte span in the original file, from the first sentence's start to the last one's end.
    pub span: Option<(usize, usize)>,
}

/// A mined pair or an aligned link, with its scores.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Record {
    pub src: Side,
    pub tgt: Side,
    pub cosine: f32,
    /// The score that ranked a mined pair and that the cut was applied to (margin, cosine,
    /// distance or confidence, as the run's `tsv_score` says); absent for alignment links.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<f32>,
    /// Ratio margin (mining); absent for alignment links.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub margin: Option<f32>,
    /// Calibrated probability that the pair corresponds (mining by confidence).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confidence: Option<f32>,
    /// Alignment cost of the link (lower is better); absent for mined pairs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost: Option<f32>,
    /// The machine translation of the source side that scored the link, when one was
    /// used (so a reader can see why a link was made).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub translation: Option<String>,
    /// Whether a mined pair is `parallel` or `partial`, and the clauses that match (mining
    /// with `--partial`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correspondence: Option<crate::mine::partial::Mark>,
}

/// An output format. Records arrive in output order; `finish` flushes and commits.
pub trait Sink {
    fn write(&mut self, record: &Record) -> anyhow::Result<()>;
    fn finish(self: Box<Self>) -> anyhow::Result<()>;
    /// Sentence sides whose text this format had to change to hold it, per format (TSV:
    /// tabs and line breaks became spaces; Moses: line breaks; TMX: characters XML
    /// forbids were dropped), so the run can report it instead of changing text silently.
    fn altered(&self) -> Vec<(Format, usize)> {
        Vec::new()
    }
}

/// The output formats; `--format` takes one or several.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// One JSON object per pair with languages, documents, indices, spans and scores.
    Jsonl,
    /// `score<TAB>source<TAB>target` (LASER's layout): the score that ranked the pairs
    /// (run.json's `tsv_score`), or the cosine for alignment links.
    Tsv,
    /// Two plain files, `corpus.SRC-TGT.SRC` and `corpus.SRC-TGT.TGT`, line by line.
    Moses,
    /// TMX 1.4b translation memory.
    Tmx,
    /// Hugging Face `datasets` translation layout, `hf/SRC-TGT/train.jsonl`
    /// (`{"translation": {…}, "score": …}`); a pair with no rows writes no file.
    Hf,
}

impl Format {
    /// The files this format writes for a language pair in `dir`.
    pub fn paths(self, dir: &Path, src_lang: &str, tgt_lang: &str) -> Vec<PathBuf> {
        let pair = format!("{src_lang}-{tgt_lang}");
        match self {
            Format::Jsonl => vec![dir.join(format!("{pair}.jsonl"))],
            Format::Tsv => vec![dir.join(format!("{pair}.tsv"))],
            Format::Tmx => vec![dir.join(format!("{pair}.tmx"))],
            Format::Hf => vec![HfSink::path(dir, src_lang, tgt_lang)],
            Format::Moses => {
                let (s, t) = MosesSink::paths(dir, src_lang, tgt_lang);
                vec![s, t]
            }
        }
    }

    /// Opens this format's writer for a language pair in `dir`.
    pub fn open(self, dir: &Path, src_lang: &str, tgt_lang: &str) -> Result<Box<dyn Sink>> {
        let path = || self.paths(dir, src_lang, tgt_lang).remove(0);
        Ok(match self {
            Format::Jsonl => Box::new(JsonlSink::create(path())?),
            Format::Tsv => Box::new(TsvSink::create(path())?),
            Format::Tmx => Box::new(TmxSink::create(path(), src_lang)?),
            Format::Moses => Box::new(MosesSink::create(dir, src_lang, tgt_lang)?),
            Format::Hf => Box::new(HfSink::create(dir, src_lang, tgt_lang)?),
        })
    }
}

/// Several sinks fed the same records (`--format jsonl,tsv`). Nothing is committed
/// unless every sink finishes.
pub struct MultiSink(pub Vec<Box<dyn Sink>>);

impl MultiSink {
    /// Opens every format in `formats` for one language pair.
    pub fn open(formats: &[Format], dir: &Path, src_lang: &str, tgt_lang: &str) -> Result<Self> {
        let sinks = formats
            .iter()
            .map(|f| f.open(dir, src_lang, tgt_lang))
            .collect::<Result<_>>()?;
        Ok(Self(sinks))
    }
}

impl Sink for MultiSink {
    fn write(&mut self, record: &Record) -> Result<()> {
        self.0.iter_mut().try_for_each(|s| s.write(record))
    }

    fn finish(self: Box<Self>) -> Result<()> {
        self.0.into_iter().try_for_each(|s| s.finish())
    }

    fn altered(&self) -> Vec<(Format, usize)> {
        self.0.iter().flat_map(|s| s.altered()).collect()
    }
}

/// Line-based formats hold one sentence per line: line breaks inside become spaces.
pub(crate) fn one_line(text: &str) -> std::borrow::Cow<'_, str> {
    if text.contains(['\n', '\r']) {
        text.replace("\r\n", " ").replace(['\n', '\r'], " ").into()
    } else {
        text.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn side(lang: &str, text: &str, i: usize) -> Side {
        Side {
            lang: lang.into(),
            doc: format!("doc.{lang}.txt"),
            indices: vec![i],
            text: text.into(),
            span: Some((10 * i, 10 * i + text.len())),
        }
    }

    fn records() -> Vec<Record> {
        vec![
            Record {
                src: side("en", "Tom & \"Mary\" <said> 'hi'\tthen\nleft.", 0),
                tgt: side("vi", "Tom & Mary nói \u{1} chào.", 3),
                cosine: 0.875,
                score: Some(1.25),
                margin: Some(1.25),
                confidence: Some(0.875),
                cost: None,
                translation: None,
                correspondence: None,
            },
            Record {
                src: side("en", "Some 30,000 lives.", 2),
                tgt: side("vi", "30.000 người chết.", 5),
                cosine: 0.8,
                score: Some(1.1),
                margin: Some(1.1),
                confidence: None,
                cost: None,
                translation: None,
                correspondence: None,
            },
        ]
    }

    fn write_all(f: &[Format], dir: &Path) {
        let mut s = Box::new(MultiSink::open(f, dir, "en", "vi").unwrap());
        for r in records() {
            s.write(&r).unwrap();
        }
        s.finish().unwrap();
    }

    #[test]
    fn jsonl_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        write_all(&[Format::Jsonl], dir.path());
        let back = read_jsonl(dir.path().join("en-vi.jsonl")).unwrap();
        assert_eq!(back, records());
        let text = std::fs::read_to_string(dir.path().join("en-vi.jsonl")).unwrap();
        assert_eq!(text.lines().count(), 2, "one object per line");
        assert!(!text.contains("cost"), "absent scores are left out");
    }

    #[test]
    fn tsv_and_moses_keep_one_pair_per_line() {
        let dir = tempfile::tempdir().unwrap();
        write_all(&[Format::Tsv, Format::Moses], dir.path());
        let tsv = std::fs::read_to_string(dir.path().join("en-vi.tsv")).unwrap();
        assert_eq!(
            tsv,
            "1.250000\tTom & \"Mary\" <said> 'hi' then left.\tTom & Mary nói \u{1} chào.\n\
             1.100000\tSome 30,000 lives.\t30.000 người chết.\n"
        );
        let en = std::fs::read_to_string(dir.path().join("corpus.en-vi.en")).unwrap();
        let vi = std::fs::read_to_string(dir.path().join("corpus.en-vi.vi")).unwrap();
        assert_eq!(
            en,
            "Tom & \"Mary\" <said> 'hi'\tthen left.\nSome 30,000 lives.\n"
        );
        assert_eq!(vi, "Tom & Mary nói \u{1} chào.\n30.000 người chết.\n");
    }

    /// Issue 10 #19 and #25: TSV's first column is the ranking score, and every format
    /// counts the sides it had to change.
    #[test]
    fn tsv_writes_the_ranking_score_and_formats_count_changes() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Box::new(
            MultiSink::open(
                &[Format::Jsonl, Format::Tsv, Format::Moses, Format::Tmx],
                dir.path(),
                "en",
                "vi",
            )
            .unwrap(),
        );
        let mut r = records();
        r[1].score = Some(0.031); // --score distance: neither the cosine nor the margin
        for r in &r {
            s.write(r).unwrap();
        }
        let altered = s.altered();
        assert_eq!(
            altered,
            [(Format::Tsv, 1), (Format::Moses, 1), (Format::Tmx, 1)],
            "tsv: the tab and newline side; moses: the newline; tmx: U+0001"
        );
        s.finish().unwrap();
        let tsv = std::fs::read_to_string(dir.path().join("en-vi.tsv")).unwrap();
        assert!(
            tsv.lines().nth(1).unwrap().starts_with("0.031000\t"),
            "{tsv}"
        );
    }

    #[test]
    fn tmx_escapes_and_drops_forbidden_characters() {
        let dir = tempfile::tempdir().unwrap();
        write_all(&[Format::Tmx], dir.path());
        let tmx = std::fs::read_to_string(dir.path().join("en-vi.tmx")).unwrap();
        assert!(
            tmx.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<tmx version=\"1.4\">")
        );
        assert!(tmx.contains(
            "<tuv xml:lang=\"en\"><seg>Tom &amp; &quot;Mary&quot; &lt;said&gt; &apos;hi&apos;\tthen\nleft.</seg></tuv>"
        ));
        assert!(tmx.contains("<tuv xml:lang=\"vi\"><seg>Tom &amp; Mary nói  chào.</seg></tuv>"));
        assert!(tmx.contains("<prop type=\"x-margin\">1.250000</prop>"));
        assert_eq!(tmx.matches("<tu>").count(), 2);
        assert!(tmx.trim_end().ends_with("</body>\n</tmx>"));
        assert!(!tmx.contains('\u{1}'));
    }

    #[test]
    fn nothing_is_written_if_a_sink_is_dropped_unfinished() {
        let dir = tempfile::tempdir().unwrap();
        {
            let mut s = MultiSink::open(
                &[Format::Jsonl, Format::Moses, Format::Tmx],
                dir.path(),
                "en",
                "vi",
            )
            .unwrap();
            s.write(&records()[0]).unwrap();
        }
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn an_empty_corpus_is_empty_files() {
        let dir = tempfile::tempdir().unwrap();
        let s = Box::new(
            MultiSink::open(&[Format::Jsonl, Format::Moses], dir.path(), "en", "id").unwrap(),
        );
        s.finish().unwrap();
        for f in ["en-id.jsonl", "corpus.en-id.en", "corpus.en-id.id"] {
            assert_eq!(std::fs::read(dir.path().join(f)).unwrap(), b"", "{f}");
        }
    }

    #[test]
    fn same_language_moses_files_do_not_collide() {
        let (a, b) = MosesSink::paths(Path::new("d"), "en", "en");
        assert_ne!(a, b);
    }
}
