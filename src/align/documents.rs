//! Aligning documents in one call: [`align_documents`] for a document and its translation,
//! [`align_corpus`] for many documents in several languages (the i-th document of each
//! language is the translation of the i-th of every other). Links become the records the
//! writers consume.

use super::{align_translated, AlignParams, Link, MAX_BAND, MAX_LINK_SIZE, MAX_OVERLAP};
use crate::corpus::{Record, Side};
use crate::document::Document;
use crate::embed::{CachedEmbedder, Embedder};
use crate::error::{Error, Result};
use crate::mine::pool;
use crate::mt::Translations;
use crate::observe::Observer;
use anyhow::Context;
use std::ops::Range;

/// The aligner's parameters, under the name the other stages use.
pub type AlignConfig = AlignParams;

impl AlignParams {
    /// Checks every knob before anything is embedded: sizes within bounds, numbers finite.
    /// The message names the parameter as the library calls it.
    pub fn validate(&self) -> Result<()> {
        let range = |what: &str, v: usize, lo: usize, hi: usize| {
            if (lo..=hi).contains(&v) {
                Ok(())
            } else {
                Err(Error::config_value(
                    what,
                    v.to_string(),
                    format!("out of range ({lo}..={hi})"),
                ))
            }
        };
        range("max_size", self.max_size, 2, MAX_LINK_SIZE)?;
        range("max_overlap", self.max_overlap, 1, MAX_OVERLAP)?;
        let absorb = self.absorb.as_ref();
        for (name, v) in [
            ("threshold", Some(self.threshold)),
            ("merge_penalty", Some(self.merge_penalty)),
            ("deletion", Some(self.deletion)),
            ("length_penalty", Some(self.length_penalty)),
            ("absorb", absorb.map(|a| a.tolerance)),
            ("absorb_member", absorb.map(|a| a.member)),
            ("uncross", self.uncross),
            ("moved_margin", self.moved.as_ref().map(|m| m.margin)),
            ("adapt", Some(self.adapt)),
        ] {
            if let Some(v) = v.filter(|v| !v.is_finite()) {
                return Err(Error::config_value(
                    name,
                    v.to_string(),
                    "must be a finite number",
                ));
            }
        }
        range("coarse_size", self.coarse_size, 8, usize::MAX)?;
        range("band", self.band, 1, MAX_BAND)?;
        Ok(())
    }
}

/// The links between two documents, in source order; every sentence is in exactly one.
#[derive(Clone, Debug, Default)]
pub struct Alignment {
    pub links: Vec<Link>,
    /// The translation of the source that was evidence, one line per source sentence
    /// (records carry each link's part of it).
    pub translation: Option<Vec<String>>,
}

impl Alignment {
    /// Links as output records: sentence texts joined by a space, byte spans into the
    /// documents; insertions and deletions have an empty side.
    pub fn records(&self, src: &Document, tgt: &Document) -> Vec<Record> {
        self.links
            .iter()
            .map(|l| Record {
                src: side(src, &l.src),
                tgt: side(tgt, &l.tgt),
                cosine: l.cosine,
                score: None,
                margin: None,
                confidence: None,
                cost: Some(l.cost),
                translation: self
                    .translation
                    .as_ref()
                    .filter(|_| !l.src.is_empty())
                    .map(|t| t[l.src.clone()].join(" ")),
                correspondence: None,
            })
            .collect()
    }

    /// Links with sentences on both sides.
    pub fn aligned(&self) -> usize {
        self.links
            .iter()
            .filter(|l| !l.src.is_empty() && !l.tgt.is_empty())
            .count()
    }

    /// Sentences left unaligned on the source and on the target side.
    pub fn unaligned(&self) -> (usize, usize) {
        let src = self
            .links
            .iter()
            .filter(|l| l.tgt.is_empty())
            .map(|l| l.src.len())
            .sum();
        let tgt = self
            .links
            .iter()
            .filter(|l| l.src.is_empty())
            .map(|l| l.tgt.len())
            .sum();
        (src, tgt)
    }
}

fn side(doc: &Document, r: &Range<usize>) -> Side {
    let s = &doc.sentences[r.clone()];
    Side {
        lang: doc.lang.tag().to_string(),
        doc: doc.name.clone(),
        indices: r.clone().collect(),
        text: s
            .iter()
            .map(|x| x.text.as_str())
            .collect::<Vec<_>>()
            .join(" "),
        span: s
            .first()
            .zip(s.last())
            .map(|(a, b)| (a.span.start, b.span.end)),
    }
}

/// Aligns a document with its translation: their overlaps embedded once (both documents
/// together, deduplicated), then the monotonic DP.
pub fn align_documents(
    src: &Document,
    tgt: &Document,
    embedder: &Embedder,
    cfg: &AlignConfig,
    obs: &dyn Observer,
) -> Result<Alignment> {
    align_translated_documents(src, tgt, None, embedder, cfg, obs)
}

/// As [`align_documents`], with a machine translation of `src` into `tgt`'s language
/// (loaded with [`Translations::load`], which checks its line count against `src`) as
/// evidence: each link is also scored in the target language (chrF, and the embedding
/// similarity of the translated side to the target side), weighed by `cfg.mt`.
pub fn align_translated_documents(
    src: &Document,
    tgt: &Document,
    translation: Option<&Translations>,
    embedder: &Embedder,
    cfg: &AlignConfig,
    obs: &dyn Observer,
) -> Result<Alignment> {
    align_cached(
        src,
        tgt,
        translation,
        &CachedEmbedder::new(embedder),
        cfg,
        obs,
    )
}

/// [`align_translated_documents`] through a cache shared with other calls.
pub fn align_cached(
    src: &Document,
    tgt: &Document,
    translation: Option<&Translations>,
    embedder: &CachedEmbedder,
    cfg: &AlignConfig,
    obs: &dyn Observer,
) -> Result<Alignment> {
    cfg.validate()?;
    if let Some(t) = translation {
        if t.lines.len() != src.sentences.len() {
            return Err(Error::config(
                "translation",
                format!(
                    "{} lines for the {} sentences of {}",
                    t.lines.len(),
                    src.sentences.len(),
                    src.name
                ),
            ));
        }
    }
    let lines: Option<Vec<&str>> =
        translation.map(|t| t.lines.iter().map(String::as_str).collect());
    let links = align_translated(
        &src.texts(),
        &tgt.texts(),
        lines.as_deref(),
        |overlaps| embedder.embed(overlaps, obs),
        cfg,
    )
    .with_context(|| format!("aligning {} with {}", src.name, tgt.name))?;
    Ok(Alignment {
        links,
        translation: translation.map(|t| t.lines.clone()),
    })
}

/// What aligning one language pair of a corpus gave.
#[derive(Clone, Debug)]
pub struct AlignedPair {
    pub src: String,
    pub tgt: String,
    /// Document pairs aligned.
    pub documents: usize,
    pub links: usize,
    pub unaligned_src: usize,
    pub unaligned_tgt: usize,
    /// Links with sentences on both sides, as records: what corpus files hold.
    pub records: Vec<Record>,
    /// Each document pair's alignment: (source, target) input positions and the links
    /// (for reports).
    pub alignments: Vec<((usize, usize), Alignment)>,
}

/// Many documents aligned pairwise across languages.
#[derive(Clone, Debug)]
pub struct AlignedCorpus {
    pub pairs: Vec<AlignedPair>,
    /// Distinct overlaps embedded, and the seconds it took.
    pub embedded: usize,
    pub embed_seconds: f64,
}

/// Which documents [`align_corpus`] aligns with which.
#[derive(Clone, Debug)]
pub struct CorpusPlan {
    /// Languages in input order, each with its documents in input order.
    pub langs: Vec<(String, Vec<usize>)>,
    /// Language pairs (indices into `langs`), source first.
    pub pairs: Vec<(usize, usize)>,
}

/// Groups documents by language (every language must have the same number of them) and
/// settles the pairs; `pairs` as in [`crate::mine::MineConfig::pairs`].
pub fn plan_corpus(docs: &[Document], pairs: &[String]) -> Result<CorpusPlan> {
    crate::mine::check_languages(docs)?;
    let mut langs: Vec<(String, Vec<usize>)> = Vec::new();
    for (i, d) in docs.iter().enumerate() {
        match langs.iter_mut().find(|(l, _)| l == d.lang.tag()) {
            Some((_, v)) => v.push(i),
            None => langs.push((d.lang.tag().to_string(), vec![i])),
        }
    }
    let n = langs[0].1.len();
    if let Some((l, v)) = langs.iter().find(|(_, v)| v.len() != n) {
        return Err(Error::Input {
            path: docs
                .iter()
                .map(|d| d.name.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            message: format!(
                "aligning pairs the i-th document of each language with the i-th of the others, \
                 but `{}` has {n} document(s) and `{l}` has {}",
                langs[0].0,
                v.len()
            ),
        });
    }
    let names: Vec<&str> = langs.iter().map(|(l, _)| l.as_str()).collect();
    let pairs = if pairs.is_empty() {
        pool::all_pairs(names.len())
    } else {
        pool::parse_pairs(pairs, &names)?
    };
    Ok(CorpusPlan { langs, pairs })
}

/// Aligns the i-th document of each language with the i-th of every other, for every
/// language pair asked (all by default). Each document's overlaps are embedded once,
/// however many pairs it is in.
pub fn align_corpus(
    docs: &[Document],
    embedder: &Embedder,
    pairs: &[String],
    cfg: &AlignConfig,
    obs: &dyn Observer,
) -> Result<AlignedCorpus> {
    align_corpus_cached(docs, &CachedEmbedder::new(embedder), pairs, cfg, obs)
}

/// [`align_corpus`] through a cache the caller keeps (whose rows then hold every
/// sentence's vector: a sentence is a one-sentence overlap).
pub fn align_corpus_cached(
    docs: &[Document],
    cache: &CachedEmbedder,
    pairs: &[String],
    cfg: &AlignConfig,
    obs: &dyn Observer,
) -> Result<AlignedCorpus> {
    align_corpus_translated(docs, cache, pairs, &CorpusTranslations::new(), cfg, obs)
}

/// Machine translations for a corpus: `(i, lang)` → document `i` translated into `lang`
/// (each checked against document `i` by [`Translations::load`]).
pub type CorpusTranslations = std::collections::BTreeMap<(usize, String), Translations>;

/// [`align_corpus_cached`] with machine translations as evidence: a document pair uses the
/// translation of its source document into its target's language, when there is one.
pub fn align_corpus_translated(
    docs: &[Document],
    cache: &CachedEmbedder,
    pairs: &[String],
    translations: &CorpusTranslations,
    cfg: &AlignConfig,
    obs: &dyn Observer,
) -> Result<AlignedCorpus> {
    cfg.validate()?;
    let CorpusPlan { langs, pairs } = plan_corpus(docs, pairs)?;
    let n = langs[0].1.len();
    let mut out = Vec::new();
    for &(a, b) in &pairs {
        let mut st = AlignedPair {
            src: langs[a].0.clone(),
            tgt: langs[b].0.clone(),
            documents: n,
            links: 0,
            unaligned_src: 0,
            unaligned_tgt: 0,
            records: Vec::new(),
            alignments: Vec::new(),
        };
        for k in 0..n {
            let (si, ti) = (langs[a].1[k], langs[b].1[k]);
            let (src, tgt) = (&docs[si], &docs[ti]);
            let mt = translations.get(&(si, tgt.lang.tag().to_string()));
            let al = align_cached(src, tgt, mt, cache, cfg, obs)?;
            st.links += al.links.len();
            let (us, ut) = al.unaligned();
            st.unaligned_src += us;
            st.unaligned_tgt += ut;
            st.records.extend(
                al.records(src, tgt)
                    .into_iter()
                    .filter(|r| !r.src.indices.is_empty() && !r.tgt.indices.is_empty()),
            );
            st.alignments.push(((si, ti), al));
        }
        out.push(st);
    }
    Ok(AlignedCorpus {
        pairs: out,
        embedded: cache.len(),
        embed_seconds: cache.seconds(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::Language;

    #[test]
    fn records_carry_texts_spans_and_empty_sides() {
        let sd = Document::from_text(
            "a.de",
            "Eins.\nZwei.\nDrei.\n",
            Language::parse("de").unwrap(),
            true,
            0,
        )
        .unwrap();
        let td = Document::from_text(
            "b.fr",
            "Un et deux.\n",
            Language::parse("fr").unwrap(),
            true,
            1,
        )
        .unwrap();
        let al = Alignment {
            links: vec![
                Link {
                    src: 0..2,
                    tgt: 0..1,
                    cosine: 0.9,
                    cost: 0.1,
                },
                Link {
                    src: 2..3,
                    tgt: 1..1,
                    cosine: 0.0,
                    cost: 0.96,
                },
            ],
            translation: None,
        };
        let r = al.records(&sd, &td);
        assert_eq!(r[0].src.text, "Eins. Zwei.");
        assert_eq!(r[0].src.span, Some((0, 11)));
        assert_eq!(r[0].src.indices, vec![0, 1]);
        assert_eq!(r[0].tgt.text, "Un et deux.");
        assert_eq!(r[0].cost, Some(0.1));
        assert_eq!(r[1].src.indices, vec![2]);
        assert!(r[1].tgt.indices.is_empty());
        assert_eq!(r[1].tgt.span, None);
        assert_eq!(r[1].tgt.text, "");
        assert_eq!(r[1].tgt.lang, "fr");
        assert_eq!(al.unaligned(), (1, 0));
    }
}
