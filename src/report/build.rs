//! [`RunData`] from the library's own results: the documents, [`Mined`] (every candidate
//! with its fate) or the alignments of aligned documents.

use super::{
    AlignedDoc, AlignedPair, Candidate, Fate, Input, LinkData, MinedPair, RunData, SentenceRef,
    DATA_VERSION,
};
use crate::align::{AlignedCorpus, Link};
use crate::document::Document;
use crate::embed::{CachedEmbedder, Embeddings};
use crate::error::Result;
use crate::mine::{pool, Mined, Pool};
use crate::observe::Observer;

/// The run-level facts; `mined` and `aligned` are filled by the caller.
pub fn run_data(
    command: &str,
    docs: &[Document],
    model: &serde_json::Value,
    params: &serde_json::Value,
) -> RunData {
    RunData {
        version: DATA_VERSION,
        command: command.to_string(),
        bitalign: env!("CARGO_PKG_VERSION").to_string(),
        inputs: docs
            .iter()
            .map(|d| Input {
                file: d.name.clone(),
                lang: d.lang.tag().to_string(),
                lang_source: d.lang_source.to_string(),
                sentences: d.sentences.len(),
            })
            .collect(),
        model: fields(model),
        params: fields(params),
        mined: Vec::new(),
        aligned: Vec::new(),
    }
}

/// A JSON object as (key, value) text pairs, nested objects flattened as `outer.inner`.
pub fn fields(v: &serde_json::Value) -> Vec<(String, String)> {
    fn walk(prefix: &str, v: &serde_json::Value, out: &mut Vec<(String, String)>) {
        match v {
            serde_json::Value::Object(m) => {
                for (k, v) in m {
                    let key = if prefix.is_empty() {
                        k.clone()
                    } else {
                        format!("{prefix}.{k}")
                    };
                    walk(&key, v, out);
                }
            }
            // Quoted only where spaces at the ends matter (a prefix like "passage: ").
            serde_json::Value::String(s) if s.is_empty() || s.trim() != s => {
                out.push((prefix.to_string(), format!("{s:?}")))
            }
            serde_json::Value::String(s) => out.push((prefix.to_string(), s.clone())),
            serde_json::Value::Null => out.push((prefix.to_string(), "–".into())),
            // Parameters are f32: print them as such, not as their f64 widening.
            serde_json::Value::Number(n) if n.is_f64() => out.push((
                prefix.to_string(),
                (n.as_f64().unwrap_or(0.0) as f32).to_string(),
            )),
            serde_json::Value::Array(a) => out.push((
                prefix.to_string(),
                a.iter()
                    .map(|x| x.as_str().map_or_else(|| x.to_string(), str::to_string))
                    .collect::<Vec<_>>()
                    .join(", "),
            )),
            other => out.push((prefix.to_string(), other.to_string())),
        }
    }
    let mut out = Vec::new();
    walk("", v, &mut out);
    out
}

/// Every candidate of every mined pair, with its fate.
pub fn mined(docs: &[Document], mined: &Mined) -> Vec<MinedPair> {
    let sref = |pool: &Pool, row: usize| {
        let (d, s) = pool.rows[row];
        SentenceRef {
            doc: d,
            index: docs[d].sentences[s].index,
            text: docs[d].sentences[s].text.clone(),
        }
    };
    let (score, threshold) = mined.params.cut();
    mined
        .pairs
        .iter()
        .map(|r| {
            let (x, y) = (&mined.pools[r.src], &mined.pools[r.tgt]);
            MinedPair {
                src: x.lang.clone(),
                tgt: y.lang.clone(),
                score: score.clone(),
                threshold,
                candidates: r
                    .candidates
                    .iter()
                    .zip(&r.fates)
                    .map(|(p, fate)| Candidate {
                        src: sref(x, p.src),
                        tgt: sref(y, p.tgt),
                        cosine: p.cosine,
                        margin: p.margin,
                        score: p.score,
                        fate: match fate {
                            pool::Fate::Kept => Fate::Kept,
                            pool::Fate::BelowThreshold => Fate::BelowThreshold,
                            pool::Fate::Filtered(f) => Fate::Filtered(f.name().to_string()),
                        },
                    })
                    .collect(),
            }
        })
        .collect()
}

/// Every document pair of an aligned corpus, with its dot plot. `cache` is the one the
/// corpus was aligned through: it holds every sentence's vector already.
pub fn aligned_corpus(
    docs: &[Document],
    corpus: &AlignedCorpus,
    cache: &CachedEmbedder,
    obs: &dyn Observer,
) -> Result<Vec<AlignedPair>> {
    let mut out = Vec::new();
    for p in &corpus.pairs {
        let mut pair_docs = Vec::new();
        for (docs_ix, al) in &p.alignments {
            pair_docs.push(aligned_cached(docs, *docs_ix, &al.links, cache, obs)?);
        }
        out.push(AlignedPair {
            src: p.src.clone(),
            tgt: p.tgt.clone(),
            docs: pair_docs,
        });
    }
    Ok(out)
}

/// Documents `si` and `ti` of `docs` aligned by `links` through `cache`, which holds
/// their sentences' vectors (a sentence is a one-sentence overlap) unless a side is empty.
pub fn aligned_cached(
    docs: &[Document],
    (si, ti): (usize, usize),
    links: &[Link],
    cache: &CachedEmbedder,
    obs: &dyn Observer,
) -> Result<AlignedDoc> {
    let (src, tgt) = (&docs[si], &docs[ti]);
    let vectors = if src.sentences.is_empty() || tgt.sentences.is_empty() {
        None
    } else {
        Some((
            cache.embed(&src.texts(), obs)?,
            cache.embed(&tgt.texts(), obs)?,
        ))
    };
    Ok(aligned_doc(
        (si, src),
        (ti, tgt),
        links,
        vectors.as_ref().map(|(x, y)| (x, y)),
    ))
}

/// One aligned document pair; `sentence_vectors` are both documents' sentence embeddings
/// (source then target rows), if at hand, for the dot plot.
pub fn aligned_doc(
    (src_doc, src): (usize, &Document),
    (tgt_doc, tgt): (usize, &Document),
    links: &[Link],
    sentence_vectors: Option<(&Embeddings, &Embeddings)>,
) -> AlignedDoc {
    let texts = |d: &Document| d.sentences.iter().map(|x| x.text.clone()).collect();
    AlignedDoc {
        src_doc,
        tgt_doc,
        src_sentences: texts(src),
        tgt_sentences: texts(tgt),
        links: links
            .iter()
            .map(|l| LinkData {
                src: [l.src.start, l.src.end],
                tgt: [l.tgt.start, l.tgt.end],
                cosine: l.cosine,
                cost: l.cost,
            })
            .collect(),
        similarity: sentence_vectors.and_then(|(a, b)| super::similarity(a, b, super::MAX_CELLS)),
    }
}
