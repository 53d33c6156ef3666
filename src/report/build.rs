//! [`RunData`] from the pipeline's own types: the mined pools and pair results, or the
//! links of aligned documents.

use super::{
    AlignedDoc, Candidate, Fate, Input, LinkData, MinedPair, RunData, SentenceRef, DATA_VERSION,
};
use crate::align::Link;
use crate::embed::Embeddings;
use crate::lang::LangSource;
use crate::mine::pool::{verdict, PairResult, Pool, Verdict};
use crate::mine::{Filters, Params};
use crate::segment::{Document, Sentence};

/// The run-level facts; `mined` and `aligned` are filled by the caller.
pub fn run_data(
    command: &str,
    inputs: &[(&Document, usize, &LangSource)],
    model: &serde_json::Value,
    params: &serde_json::Value,
) -> RunData {
    RunData {
        version: DATA_VERSION,
        command: command.to_string(),
        bitalign: env!("CARGO_PKG_VERSION").to_string(),
        inputs: inputs
            .iter()
            .map(|(d, n, how)| Input {
                file: d.name.clone(),
                lang: d.lang.clone(),
                lang_source: how.to_string(),
                sentences: *n,
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
pub fn mined(
    docs: &[(Document, Vec<Sentence>)],
    pools: &[Pool],
    results: &[PairResult],
    params: &Params,
    filters: &Filters,
) -> Vec<MinedPair> {
    let sref = |pool: &Pool, row: usize| {
        let (d, s) = pool.rows[row];
        SentenceRef {
            doc: d,
            index: docs[d].1[s].index,
            text: docs[d].1[s].text.clone(),
        }
    };
    results
        .iter()
        .map(|r| {
            let (x, y) = (&pools[r.src], &pools[r.tgt]);
            MinedPair {
                src: x.lang.clone(),
                tgt: y.lang.clone(),
                score: format!("{:?}", params.score).to_lowercase(),
                threshold: params.threshold,
                candidates: r
                    .candidates
                    .iter()
                    .map(|p| Candidate {
                        src: sref(x, p.src),
                        tgt: sref(y, p.tgt),
                        cosine: p.cosine,
                        margin: p.margin,
                        score: p.score,
                        fate: match verdict(docs, (x, y), p, params, filters) {
                            Verdict::Kept => Fate::Kept,
                            Verdict::BelowThreshold => Fate::BelowThreshold,
                            Verdict::Filtered(f) => Fate::Filtered(f.name().to_string()),
                        },
                    })
                    .collect(),
            }
        })
        .collect()
}

/// One aligned document pair; `sentence_vectors` are both documents' sentence embeddings
/// (source then target rows), if at hand, for the dot plot.
pub fn aligned_doc(
    (src_doc, src): (usize, &[Sentence]),
    (tgt_doc, tgt): (usize, &[Sentence]),
    links: &[Link],
    sentence_vectors: Option<(&Embeddings, &Embeddings)>,
) -> AlignedDoc {
    let texts = |s: &[Sentence]| s.iter().map(|x| x.text.clone()).collect();
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
