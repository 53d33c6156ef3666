//! Documents as the pipeline sees them: the text as read, its language and its sentences
//! with byte spans into the original file. [`load`] reads files (or stdin), settles each
//! document's language (given, from the file name, or detected among the run's languages)
//! and splits it; [`Document::from_text`] and [`Document::from_sentences`] build one from
//! memory (the Python package's way in).

use crate::error::{Error, Result};
use crate::lang::{self, LangSource};
use crate::observe::Observer;
use crate::segment::{self, Segmenter};
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

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
    /// The field that holds the text in `.jsonl` inputs (default `text`).
    pub text_field: Option<String>,
}

impl LoadOptions {
    pub fn text_field(&self) -> &str {
        self.text_field.as_deref().unwrap_or("text")
    }
}

/// One document to read: a file as given, a file found in a directory, or one record of a
/// JSONL file.
struct Unit {
    /// The name outputs show: the path, or `path:LINE` for a JSONL record.
    name: String,
    /// Which of the user's inputs it came from.
    input: usize,
    /// `None`: the file holds no text (taken as an empty document with `allow_empty`).
    text: Option<segment::Decoded>,
    /// Language and how it was settled when the input itself did not say (a file in a
    /// directory named after its language, or a JSONL file's language detected once).
    lang: Option<(Language, LangSource)>,
}

/// Whether a file name (compression extension aside) says JSON Lines.
pub fn is_jsonl(name: &str) -> bool {
    let n = segment::strip_compression(name);
    n.ends_with(".jsonl") || n.ends_with(".ndjson")
}

/// Every regular file under `dir`, depth first in name order (hidden files and folders
/// skipped), so a directory reads the same on every machine.
fn files_under(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| Error::input(dir.display(), format!("cannot list ({e})")))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            !p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with('.'))
        })
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            out.extend(files_under(&p)?);
        } else if p.is_file() {
            out.push(p);
        }
    }
    Ok(out)
}

/// The language a file inside the directory `root` gets from its path: its own name
/// (`story.vi.txt`), else the nearest folder named by a language code (`corpus/vi/001.txt`,
/// the root itself included).
fn lang_from_path(root: &Path, file: &Path) -> Option<Language> {
    if let Some(c) = lang::from_file_name(&file.display().to_string()) {
        return Some(Language::from_normalized(c));
    }
    let rel = file.strip_prefix(root).ok()?.parent()?;
    let dirs = std::iter::once(root.file_name()?).chain(rel.iter());
    dirs.filter_map(|d| Language::parse(d.to_str()?))
        .rfind(Language::is_known)
}

/// The documents of one JSONL file: one per record with a non-empty text field. Returns
/// them and how many records had no text.
fn jsonl_records(name: &str, text: &str, field: &str) -> Result<(Vec<(String, String)>, usize)> {
    let mut out = Vec::new();
    let mut empty = 0;
    for (i, line) in text.lines().enumerate() {
        let line = line.trim_start_matches('\u{feff}');
        if line.trim().is_empty() {
            continue;
        }
        let at = format!("{name}:{}", i + 1);
        let record: serde_json::Value = serde_json::from_str(line)
            .map_err(|e| Error::input(&at, format!("not a JSON record ({e})")))?;
        let Some(obj) = record.as_object() else {
            return Err(Error::input(
                &at,
                "not a JSON object (one object per line expected)",
            ));
        };
        match obj.get(field) {
            Some(serde_json::Value::String(t)) if t.trim().is_empty() => empty += 1,
            Some(serde_json::Value::Null) => empty += 1,
            Some(serde_json::Value::String(t)) => out.push((at, t.clone())),
            Some(v) => {
                return Err(Error::input(
                    &at,
                    format!("field \"{field}\" is not a string (found {v:.40})"),
                ))
            }
            None => {
                let fields: Vec<&str> = obj.keys().map(String::as_str).take(8).collect();
                return Err(Error::input(
                    &at,
                    format!(
                        "no \"{field}\" field (it has: {}); name the text field with --text-field",
                        fields.join(", ")
                    ),
                ));
            }
        }
    }
    if out.is_empty() {
        return Err(Error::input(
            name,
            format!("no record with text in field \"{field}\""),
        ));
    }
    Ok((out, empty))
}

/// Reads every input (`-` is stdin), settles its language and splits it into sentences,
/// in input order. An input may be a plain text file (one document), a directory (each
/// file under it, in name order), a `.jsonl` file (one document per record, text in
/// [`LoadOptions::text_field`]), any of them gzip-, xz- or zstd-compressed. Notes which
/// language each document got and why, and anything repaired.
pub fn load(files: &[PathBuf], opts: &LoadOptions, obs: &dyn Observer) -> Result<Vec<Document>> {
    let names: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
    let given = given_langs(&opts.langs, &names)?;
    // The run's languages: whatever was named, plus those with their own rules.
    let mut candidates: Vec<String> = lang::WITH_RULES.iter().map(|s| s.to_string()).collect();
    for (l, _) in given.iter().flatten() {
        if l.is_known() && !candidates.iter().any(|c| c == l.base()) {
            candidates.push(l.base().to_string());
        }
    }
    // Everything is read (and every format error found) before any splitting.
    let mut units = Vec::new();
    let mut skipped = vec![0usize; names.len()];
    for (i, name) in names.iter().enumerate() {
        let path = Path::new(name);
        if name != "-" && path.is_dir() {
            let found = files_under(path)?;
            if found.is_empty() {
                return Err(Error::input(name, "no files in this directory"));
            }
            for f in found {
                let lang = lang_from_path(path, &f).map(|l| (l, LangSource::FileName));
                let f = f.display().to_string();
                skipped[i] += read_unit(
                    &f,
                    i,
                    lang,
                    given[i].is_some(),
                    &candidates,
                    opts,
                    &mut units,
                )?;
            }
        } else {
            skipped[i] += read_unit(
                name,
                i,
                None,
                given[i].is_some(),
                &candidates,
                opts,
                &mut units,
            )?;
        }
    }
    // Inputs that stand for several documents get one summary note instead of one each.
    let expanded: Vec<bool> = names
        .iter()
        .map(|n| is_jsonl(n) || (n != "-" && Path::new(n).is_dir()))
        .collect();
    let mut summary: Vec<(usize, usize, BTreeMap<String, usize>)> =
        vec![Default::default(); names.len()];
    let mut generic_noted: Vec<String> = Vec::new();
    let mut out = Vec::with_capacity(units.len());
    for (k, unit) in units.into_iter().enumerate() {
        let Unit {
            name,
            input,
            text,
            lang,
        } = unit;
        let Some(d) = text else {
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
        let (lang, how) = match given[input].clone().or(lang) {
            Some(l) => l,
            None => {
                let (code, how) = lang::detect(&d.text, &candidates);
                (Language::from_normalized(code), how)
            }
        };
        let (sentences, forced) = segment::split_document(&d, k, lang.base(), opts.presplit);
        if sentences.is_empty() {
            return Err(Error::input(&name, "no sentences (the document is empty)"));
        }
        let n = sentences.len();
        let base = lang.base().to_string();
        if expanded[input] {
            let s = &mut summary[input];
            s.0 += 1;
            s.1 += n;
            *s.2.entry(format!("{lang} ({how})")).or_default() += 1;
        } else {
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
        }
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
    for (i, (docs, sentences, langs)) in summary.into_iter().enumerate() {
        if !expanded[i] {
            continue;
        }
        let langs: Vec<String> = langs.into_iter().map(|(l, n)| format!("{n} {l}")).collect();
        let mut note = format!(
            "{}: {docs} document{}, {sentences} sentences; {}",
            names[i],
            if docs == 1 { "" } else { "s" },
            langs.join(", ")
        );
        if skipped[i] > 0 {
            note.push_str(&format!("; {} records without text skipped", skipped[i]));
        }
        obs.note(&note);
    }
    Ok(out)
}

/// Reads one file into `units`: one unit, or one per record of a JSONL file (whose
/// language, unless `known`, comes from its name or one detection over all its records).
/// Returns how many JSONL records had no text.
fn read_unit(
    name: &str,
    input: usize,
    lang: Option<(Language, LangSource)>,
    known: bool,
    candidates: &[String],
    opts: &LoadOptions,
    units: &mut Vec<Unit>,
) -> Result<usize> {
    let d = match segment::read_input(name, opts.lossy) {
        Ok(d) => d,
        Err(e) if opts.allow_empty && segment::is_empty_input(&e) => {
            units.push(Unit {
                name: name.to_string(),
                input,
                text: None,
                lang,
            });
            return Ok(0);
        }
        Err(e) => return Err(e.into()),
    };
    if !is_jsonl(name) {
        units.push(Unit {
            name: name.to_string(),
            input,
            text: Some(d),
            lang,
        });
        return Ok(0);
    }
    let (records, empty) = jsonl_records(name, &d.text, opts.text_field())?;
    let lang = match lang.or_else(|| {
        lang::from_file_name(name).map(|c| (Language::from_normalized(c), LangSource::FileName))
    }) {
        Some(l) => Some(l),
        None if known => None,
        None => {
            let mut joined = String::new();
            for (_, t) in &records {
                if joined.len() > 20_000 {
                    break;
                }
                joined.push_str(t);
                joined.push('\n');
            }
            let (code, how) = lang::detect(&joined, candidates);
            Some((Language::from_normalized(code), how))
        }
    };
    for (at, text) in records {
        let text = segment::decode(&at, text.into_bytes(), false)?;
        units.push(Unit {
            name: at,
            input,
            text: Some(text),
            lang: lang.clone(),
        });
    }
    Ok(empty)
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

    #[test]
    fn directories_jsonl_and_compression() {
        use crate::segment::Compression;
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("corpus");
        let w = |rel: &str, bytes: &[u8]| {
            let p = root.join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, bytes).unwrap();
        };
        w("vi/002.txt", "Hai câu. Ba câu.".as_bytes());
        w(
            "vi/001.txt.gz",
            &crate::segment::input::tests::compressed(Compression::Gzip, "Một câu.".as_bytes()),
        );
        w("en/a.txt", b"One sentence. Two sentences.");
        w("en/.hidden", b"Never read.");
        let jsonl = concat!(
            "{\"id\": 1, \"text\": \"First record. It has two.\"}\n",
            "\n",
            "{\"id\": 2, \"text\": \"\"}\n",
            "{\"id\": 3, \"text\": \"Third \\\"quoted\\\" record.\"}\n"
        );
        let news = dir.path().join("news.id.jsonl.zst");
        std::fs::write(
            &news,
            crate::segment::input::tests::compressed(Compression::Zstd, jsonl.as_bytes()),
        )
        .unwrap();
        let notes = crate::observe::Notes(Default::default());
        let docs = load(
            &[root.clone(), news.clone()],
            &LoadOptions::default(),
            &notes,
        )
        .unwrap();
        let got: Vec<(String, String, usize)> = docs
            .iter()
            .map(|d| {
                let name = d
                    .name
                    .strip_prefix(&format!("{}/", dir.path().display()))
                    .unwrap_or(&d.name);
                (
                    name.to_string(),
                    d.lang.tag().to_string(),
                    d.sentences.len(),
                )
            })
            .collect();
        let want = [
            ("corpus/en/a.txt", "en", 2),
            ("corpus/vi/001.txt.gz", "vi", 1),
            ("corpus/vi/002.txt", "vi", 2),
            ("news.id.jsonl.zst:1", "id", 2),
            ("news.id.jsonl.zst:4", "id", 1),
        ];
        let want: Vec<(String, String, usize)> = want
            .iter()
            .map(|(a, b, c)| (a.to_string(), b.to_string(), *c))
            .collect();
        assert_eq!(got, want);
        // Sentences number their documents in run order; spans point into each record's text.
        for (k, d) in docs.iter().enumerate() {
            for s in &d.sentences {
                assert_eq!((s.doc, &d.text[s.span.clone()]), (k, s.text.as_str()));
            }
        }
        assert_eq!(docs[4].texts(), ["Third \"quoted\" record."]);
        let notes = notes.0.into_inner().unwrap();
        assert!(notes.iter().any(|n| n.ends_with("corpus: 3 documents, 5 sentences; 1 en (from the file name), 2 vi (from the file name)")), "{notes:?}");
        assert!(
            notes
                .iter()
                .any(|n| n.ends_with("; 1 records without text skipped")),
            "{notes:?}"
        );
        // --lang DIR:LANG covers the directory's files.
        let opts = LoadOptions {
            langs: vec![format!("{}:de", root.display())],
            ..Default::default()
        };
        let docs = load(std::slice::from_ref(&root), &opts, &crate::observe::Silent).unwrap();
        assert!(docs.iter().all(|d| d.lang.tag() == "de"));

        // Errors: one line, naming the file and line.
        let bad = |name: &str, body: &str, field: Option<&str>| {
            let p = dir.path().join(name);
            std::fs::write(&p, body).unwrap();
            let opts = LoadOptions {
                text_field: field.map(str::to_string),
                ..Default::default()
            };
            let e = load(std::slice::from_ref(&p), &opts, &crate::observe::Silent)
                .unwrap_err()
                .to_string();
            assert!(!e.contains('\n'), "{e}");
            e.strip_prefix(&format!("{}", p.display()))
                .unwrap()
                .to_string()
        };
        assert!(bad("a.jsonl", "{\"text\": \"ok.\"}\n{oops\n", None)
            .starts_with(":2: not a JSON record"));
        assert!(bad("b.jsonl", "[1, 2]\n", None).starts_with(":1: not a JSON object"));
        let e = bad("c.jsonl", "{\"content\": \"x.\", \"url\": \"u\"}\n", None);
        assert!(
            e.starts_with(":1: no \"text\" field (it has: content, url)"),
            "{e}"
        );
        assert!(bad("d.jsonl", "{\"content\": 3}\n", Some("content")).contains("is not a string"));
        assert!(bad("e.jsonl", "{\"text\": \"\"}\n", None).starts_with(": no record with text"));
        let empty = dir.path().join("empty");
        std::fs::create_dir(&empty).unwrap();
        let e = load(
            std::slice::from_ref(&empty),
            &LoadOptions::default(),
            &crate::observe::Silent,
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            format!("{}: no files in this directory", empty.display())
        );
    }
}
