//! Documents as the pipeline sees them: the text as read, its language and its sentences
//! with byte spans into the original file. [`load`] reads files (or stdin), settles each
//! document's language (given, from the file name, or detected among the run's languages)
//! and splits it; [`Document::from_text`] and [`Document::from_sentences`] build one from
//! memory (the Python package's way in).

use crate::error::{Error, Result};
use crate::lang::{self, LangSource};
use crate::observe::Observer;
use crate::segment::{self, Segmenter};
use std::fmt;
use std::path::PathBuf;

pub use crate::segment::Sentence;

/// A document's language: a BCP-47 tag as given (`pt-BR` stays `pt-BR`), or explicitly
/// unknown. Outputs and pairing use the full tag; segmentation rules, detection and the
/// language filter use the base language ([`Language::base`]).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Language(Option<String>);

impl Language {
    /// The language nobody could tell.
    pub fn unknown() -> Self {
        Self(None)
    }

    /// A BCP-47 tag as users type it (`en`, `vie`, `pt_br`), normalised (`pt-BR`); `None`
    /// if it is not shaped like a tag or its language is not ISO 639. `und` is unknown.
    pub fn parse(code: &str) -> Option<Self> {
        let code = lang::normalize_tag(code)?;
        Some(Self::from_normalized(code))
    }

    /// A code already normalised by [`lang`] (`und` is unknown).
    pub(crate) fn from_normalized(code: String) -> Self {
        if code == lang::UNDETERMINED || code.is_empty() {
            Self(None)
        } else {
            Self(Some(code))
        }
    }

    pub fn is_known(&self) -> bool {
        self.0.is_some()
    }

    /// The full tag, `und` when unknown (what outputs write).
    pub fn tag(&self) -> &str {
        self.0.as_deref().unwrap_or(lang::UNDETERMINED)
    }

    /// The primary language subtag (`pt` for `pt-BR`): what rules and detection use.
    pub fn base(&self) -> &str {
        let t = self.tag();
        t.split(['-', '_']).next().unwrap_or(t)
    }
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.tag())
    }
}

/// A document: its name, language, text as read, and sentences.
#[derive(Clone, Debug)]
pub struct Document {
    /// The name the user gave (a path, `-` for stdin, or any label for text in memory).
    pub name: String,
    pub lang: Language,
    /// The decoded text (BOM and CRs kept, so sentence spans are file offsets).
    pub text: String,
    pub sentences: Vec<Sentence>,
    /// How the language was settled (given, file name, detection and its confidence).
    pub lang_source: LangSource,
}

impl Document {
    /// A document from text in memory, split with `lang`'s rules (one sentence per line
    /// when `presplit`). `index` is its position in the run (sentences carry it).
    pub fn from_text(
        name: impl Into<String>,
        text: impl Into<String>,
        lang: Language,
        presplit: bool,
        index: usize,
    ) -> Result<Self> {
        let name = name.into();
        let decoded = segment::decode(&name, text.into().into_bytes(), false)?;
        let (sentences, _) = segment::split_document(&decoded, index, lang.base(), presplit);
        Ok(Self {
            name,
            lang,
            text: decoded.text,
            sentences,
            lang_source: LangSource::Flag,
        })
    }

    /// A document already split into sentences (each kept as one, whatever it holds). The
    /// text is the sentences joined by newlines; spans point into it.
    pub fn from_sentences<S: AsRef<str>>(
        name: impl Into<String>,
        sentences: &[S],
        lang: Language,
        index: usize,
    ) -> Self {
        let mut text = String::new();
        let mut out = Vec::with_capacity(sentences.len());
        for (i, s) in sentences.iter().enumerate() {
            if i > 0 {
                text.push('\n');
            }
            let start = text.len();
            text.push_str(s.as_ref());
            out.push(Sentence {
                doc: index,
                index: i,
                text: s.as_ref().to_string(),
                span: start..text.len(),
            });
        }
        Self {
            name: name.into(),
            lang,
            text,
            sentences: out,
            lang_source: LangSource::Flag,
        }
    }

    /// Sentence texts, in order.
    pub fn texts(&self) -> Vec<&str> {
        self.sentences.iter().map(|s| s.text.as_str()).collect()
    }
}

/// Splits `text` into sentences with the rules of `lang` (a code such as `en` or `pt-BR`;
/// unknown codes get the generic rules). Spans are byte offsets into `text`.
pub fn split(text: &str, lang: &str) -> Vec<Sentence> {
    let base = Language::parse(lang).map(|l| l.base().to_string());
    let spans = Segmenter::new(base.as_deref().unwrap_or(lang)).spans(text);
    segment::to_sentences(text, &spans.spans, 0, |o| o)
}

/// How [`load`] reads its inputs.
#[derive(Clone, Debug, Default)]
pub struct LoadOptions {
    /// Languages of the inputs: one code for all, one per input in order, or `FILE:LANG`
    /// for some of them. Without one, the file name decides (`story.vi.txt`), else
    /// detection among the run's languages.
    pub langs: Vec<String>,
    /// Inputs are already one sentence per line.
    pub presplit: bool,
    /// Replace invalid UTF-8 with U+FFFD instead of failing.
    pub lossy: bool,
    /// An input with no text is an empty document (no sentences) instead of an error.
    pub allow_empty: bool,
}

/// Reads every input (`-` is stdin), settles its language and splits it into sentences,
/// in input order. Notes which language each document got and why, and anything repaired.
pub fn load(files: &[PathBuf], opts: &LoadOptions, obs: &dyn Observer) -> Result<Vec<Document>> {
    let names: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
    let given = given_langs(&opts.langs, &names)?;
    let mut decoded = Vec::with_capacity(names.len());
    for name in &names {
        match segment::read_input(name, opts.lossy) {
            Ok(d) => decoded.push(Some(d)),
            Err(e) if opts.allow_empty && segment::is_empty_input(&e) => decoded.push(None),
            Err(e) => return Err(e.into()),
        }
    }
    // The run's languages: whatever was named, plus those with their own rules.
    let mut candidates: Vec<String> = lang::WITH_RULES.iter().map(|s| s.to_string()).collect();
    for (l, _) in given.iter().flatten() {
        if l.is_known() && !candidates.iter().any(|c| c == l.base()) {
            candidates.push(l.base().to_string());
        }
    }
    let mut generic_noted: Vec<String> = Vec::new();
    let mut out = Vec::with_capacity(names.len());
    for (i, (name, d)) in names.into_iter().zip(decoded).enumerate() {
        let Some(d) = d else {
            obs.note(&format!(
                "{name}: empty; all sentences of the other side stay unaligned"
            ));
            out.push(Document {
                name,
                lang: Language::unknown(),
                text: String::new(),
                sentences: Vec::new(),
                lang_source: LangSource::Unknown,
            });
            continue;
        };
        let (lang, how) = match &given[i] {
            Some((l, how)) => (l.clone(), how.clone()),
            None => {
                let (code, how) = lang::detect(&d.text, &candidates);
                (Language::from_normalized(code), how)
            }
        };
        let (sentences, forced) = segment::split_document(&d, i, lang.base(), opts.presplit);
        if sentences.is_empty() {
            return Err(Error::input(&name, "no sentences (the document is empty)"));
        }
        let n = sentences.len();
        let plural = if n == 1 { "" } else { "s" };
        let mut note = format!("{name}: {lang} ({how}), {n} sentence{plural}");
        if opts.presplit {
            note.push_str(" (one per line)");
        }
        if d.replaced > 0 {
            note.push_str(&format!(
                "; {} invalid UTF-8 sequence{} replaced",
                d.replaced,
                if d.replaced == 1 { "" } else { "s" }
            ));
        }
        if forced > 0 && opts.presplit {
            note.push_str(&format!(
                "; {forced} line{} over {} bytes kept whole (the model reads their start)",
                if forced == 1 { "" } else { "s" },
                segment::MAX_SENTENCE_BYTES
            ));
        } else if forced > 0 {
            note.push_str(&format!(
                "; {forced} over-long stretch{} without a stop cut at {} bytes",
                if forced == 1 { "" } else { "es" },
                segment::MAX_SENTENCE_BYTES
            ));
        }
        obs.note(&note);
        if !opts.presplit {
            if let Some(lines) = segment::looks_line_split(&d.text, n) {
                obs.note(&format!(
                    "warning: {name} looks like one sentence per line ({lines} lines) but \
                     was split into {n} sentences, so sentence numbers no longer match \
                     line numbers; add --presplit to keep each line as one sentence"
                ));
            }
        }
        let base = lang.base().to_string();
        if !opts.presplit
            && lang.is_known()
            && !Segmenter::new(&base).has_own_rules()
            && !generic_noted.contains(&base)
        {
            obs.note(&format!(
                "note: no sentence rules for '{base}'; using the generic rules \
                 (stops, initials, numbers, common abbreviations)"
            ));
            generic_noted.push(base);
        }
        out.push(Document {
            name,
            lang,
            text: d.text,
            sentences,
            lang_source: how,
        });
    }
    Ok(out)
}

/// Languages given in `langs` or by file name, per input (`None`: detect).
fn given_langs(langs: &[String], names: &[String]) -> Result<Vec<Option<(Language, LangSource)>>> {
    let mut by_flag: Vec<Option<Language>> = vec![None; names.len()];
    let mut plain = Vec::new();
    for v in langs {
        let v = v.trim();
        if v.is_empty() {
            continue;
        }
        // FILE:LANG, split at the last colon so that paths with colons still work.
        if let Some((file, code)) = v.rsplit_once(':') {
            let code = parse_lang(code)?;
            let hits: Vec<usize> = names
                .iter()
                .enumerate()
                .filter(|(_, n)| same_file(n, file))
                .map(|(i, _)| i)
                .collect();
            if hits.is_empty() {
                return Err(Error::config_value(
                    "lang",
                    v,
                    format!("'{file}' is not one of the input files"),
                ));
            }
            for i in hits {
                by_flag[i] = Some(code.clone());
            }
        } else {
            plain.push(parse_lang(v)?);
        }
    }
    match plain.len() {
        0 => {}
        1 => {
            for slot in by_flag.iter_mut().filter(|s| s.is_none()) {
                *slot = Some(plain[0].clone());
            }
        }
        n if n == names.len() => {
            for (slot, code) in by_flag.iter_mut().zip(plain) {
                slot.get_or_insert(code);
            }
        }
        n => {
            return Err(Error::config(
                "lang",
                format!(
                    "{n} languages for {} files; give one for all, one per file, or FILE:LANG",
                    names.len()
                ),
            ))
        }
    }
    Ok(by_flag
        .into_iter()
        .zip(names)
        .map(|(flag, name)| match flag {
            Some(code) => Some((code, LangSource::Flag)),
            None => lang::from_file_name(name)
                .map(|c| (Language::from_normalized(c), LangSource::FileName)),
        })
        .collect())
}

/// A language code, or a one-line error.
fn parse_lang(v: &str) -> Result<Language> {
    Language::parse(v).ok_or_else(|| {
        Error::config_value(
            "lang",
            v,
            "not a language code (use ISO 639 like en, vi, id, with region or script subtags if \
             needed: pt-BR, zh-Hant)",
        )
    })
}

/// Whether the FILE of a FILE:LANG names this input: the same path as typed, or the same
/// file name when the user gave only that.
fn same_file(input: &str, file: &str) -> bool {
    input == file
        || std::path::Path::new(input)
            .file_name()
            .is_some_and(|n| n.to_str() == Some(file))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolved(files: &[&str], langs: &[&str]) -> Vec<Option<String>> {
        let names: Vec<String> = files.iter().map(|s| s.to_string()).collect();
        let langs: Vec<String> = langs.iter().map(|s| s.to_string()).collect();
        given_langs(&langs, &names)
            .unwrap()
            .into_iter()
            .map(|o| o.map(|(c, _)| c.tag().to_string()))
            .collect()
    }

    #[test]
    fn lang_flags() {
        let s = |v: &str| Some(v.to_string());
        assert_eq!(resolved(&["a.txt", "b.vi.txt"], &[]), [None, s("vi")]);
        assert_eq!(
            resolved(&["a.txt", "b.vi.txt"], &["id"]),
            [s("id"), s("id")]
        );
        assert_eq!(
            resolved(&["a.txt", "b.txt"], &["en", "vie"]),
            [s("en"), s("vi")]
        );
        assert_eq!(
            resolved(&["d/a.txt", "b.txt"], &["a.txt:id"]),
            [s("id"), None]
        );
        assert_eq!(
            resolved(&["a.txt", "b.en.txt", "c.txt"], &["c.txt:vi"]),
            [None, s("en"), s("vi")]
        );
        let names = vec!["a".to_string(), "b".to_string(), "c".to_string()];
        let e = |langs: &[&str]| {
            let langs: Vec<String> = langs.iter().map(|s| s.to_string()).collect();
            given_langs(&langs, &names).unwrap_err().to_string()
        };
        assert!(e(&["en", "vi"]).contains("2 languages for 3 files"));
        assert!(e(&["english"]).contains("not a language code"));
        assert!(e(&["x.txt:en"]).contains("not one of the input files"));
    }

    #[test]
    fn unknown_is_explicit() {
        assert!(!Language::parse("und").unwrap().is_known());
        assert_eq!(Language::unknown().tag(), "und");
        assert_eq!(Language::parse("vie").unwrap().tag(), "vi");
        let br = Language::parse("pt_br").unwrap();
        assert_eq!((br.tag(), br.base()), ("pt-BR", "pt"));
        assert!(Language::parse("zz").is_none());
    }

    #[test]
    fn documents_from_memory_keep_spans() {
        let d = Document::from_sentences("mem", &["One.", "", "Two."], Language::unknown(), 2);
        assert_eq!(d.sentences.len(), 3);
        for s in &d.sentences {
            assert_eq!(&d.text[s.span.clone()], s.text);
            assert_eq!(s.doc, 2);
        }
        let t = Document::from_text(
            "t",
            "First one. Second one.",
            Language::parse("en").unwrap(),
            false,
            0,
        )
        .unwrap();
        assert_eq!(t.texts(), ["First one.", "Second one."]);
        let s = split("Ông Putin nói. Tôi đi.", "vi");
        assert_eq!(s.len(), 2);
        assert!(split("", "en").is_empty());
    }
}
