//! Mining a whole run: sentences pooled by language (several documents in one language
//! form one side), every requested language pair mined and filtered, and the records the
//! writers consume.

use super::{candidates_with_progress, multi, Filter, Filters, Pair, Params};
use crate::corpus::{Record, Side};
use crate::embed::Embeddings;
use crate::progress::Progress;
use crate::segment::{Document, Sentence};
use anyhow::{bail, Result};
use std::collections::BTreeMap;
use std::time::Instant;

/// All sentences of one language, from every document in it, with their embeddings.
#[derive(Clone, Debug)]
pub struct Pool {
    pub lang: String,
    /// Documents (positions in the input) in this language.
    pub docs: Vec<usize>,
    /// Each row: (document position, sentence position within that document).
    pub rows: Vec<(usize, usize)>,
    pub emb: Embeddings,
}

/// Groups sentences by language, languages in order of first appearance. `emb` holds one
/// row per sentence of `docs`, in document then sentence order.
pub fn pools(docs: &[(Document, Vec<Sentence>)], emb: &Embeddings) -> Result<Vec<Pool>> {
    let total: usize = docs.iter().map(|(_, s)| s.len()).sum();
    anyhow::ensure!(
        emb.len() == total,
        "{} embeddings for {total} sentences",
        emb.len()
    );
    let mut order: Vec<String> = Vec::new();
    // Per language: its documents, its (document, sentence) rows, their embedding rows.
    type Group = (Vec<usize>, Vec<(usize, usize)>, Vec<usize>);
    let mut by_lang: BTreeMap<String, Group> = BTreeMap::new();
    let mut row = 0;
    for (d, (doc, sents)) in docs.iter().enumerate() {
        if doc.lang.is_empty() {
            bail!(
                "{}: language unknown; name it with --lang (e.g. --lang en,vi) or in the file name (story.en.txt)",
                doc.name
            );
        }
        if !by_lang.contains_key(&doc.lang) {
            order.push(doc.lang.clone());
        }
        let e = by_lang.entry(doc.lang.clone()).or_default();
        e.0.push(d);
        for s in 0..sents.len() {
            e.1.push((d, s));
            e.2.push(row);
            row += 1;
        }
    }
    Ok(order
        .into_iter()
        .map(|lang| {
            let (docs, rows, emb_rows) = by_lang.remove(&lang).expect("grouped above");
            Pool {
                emb: emb.select(&emb_rows),
                lang,
                docs,
                rows,
            }
        })
        .collect())
}

/// Every pair of languages, in input order (en, vi, id → en-vi, en-id, vi-id).
pub fn all_pairs(n: usize) -> Vec<(usize, usize)> {
    (0..n)
        .flat_map(|a| (a + 1..n).map(move |b| (a, b)))
        .collect()
}

/// Parses `--pairs en-vi,en-id` into indices of `langs`, the languages present.
pub fn parse_pairs(spec: &[String], langs: &[&str]) -> Result<Vec<(usize, usize)>> {
    let find = |l: &str, whole: &str| {
        langs.iter().position(|x| *x == l).ok_or_else(|| {
            anyhow::anyhow!(
                "--pairs {whole}: no input is in `{l}` (the inputs are in {})",
                langs.join(", ")
            )
        })
    };
    let mut out: Vec<(usize, usize)> = Vec::new();
    for s in spec {
        let Some((a, b)) = s.split_once('-') else {
            bail!("--pairs {s}: expected SRC-TGT, e.g. en-vi");
        };
        let (a, b) = (find(a.trim(), s)?, find(b.trim(), s)?);
        if a == b {
            bail!("--pairs {s}: both sides are the same language");
        }
        if !out.contains(&(a, b)) {
            out.push((a, b));
        }
    }
    Ok(out)
}

/// What mining one language pair did.
#[derive(Clone, Debug)]
pub struct PairResult {
    pub src: usize,
    pub tgt: usize,
    /// Every candidate the retrieval mode proposed, best first (for the histogram).
    pub candidates: Vec<Pair>,
    /// The pairs kept: above the threshold and through the filters, best first.
    pub kept: Vec<Pair>,
    pub below_threshold: usize,
    pub filtered: BTreeMap<Filter, usize>,
    pub seconds: f64,
}

fn text<'a>(docs: &'a [(Document, Vec<Sentence>)], pool: &Pool, row: usize) -> &'a str {
    let (d, s) = pool.rows[row];
    &docs[d].1[s].text
}

/// Mines one language pair and applies the filters.
pub fn mine_pair(
    docs: &[(Document, Vec<Sentence>)],
    pools: &[Pool],
    (src, tgt): (usize, usize),
    params: &Params,
    filters: &Filters,
    progress: &Progress,
) -> PairResult {
    let start = Instant::now();
    let (x, y) = (&pools[src], &pools[tgt]);
    let bar = progress.bar(
        super::progress_len(&x.emb, params.score),
        &format!("mining {}-{}", x.lang, y.lang),
    );
    let cands = candidates_with_progress(&x.emb, &y.emb, params.k, params.score, params.mode, &bar);
    bar.finish_and_clear();
    let mut kept = Vec::new();
    let mut below = 0;
    let mut filtered: BTreeMap<Filter, usize> = BTreeMap::new();
    for p in &cands {
        if p.score < params.threshold {
            below += 1;
            continue;
        }
        let rejected = filters.reject(text(docs, x, p.src), &x.lang, text(docs, y, p.tgt), &y.lang);
        match rejected {
            Some(f) => *filtered.entry(f).or_default() += 1,
            None => kept.push(*p),
        }
    }
    PairResult {
        src,
        tgt,
        candidates: cands,
        kept,
        below_threshold: below,
        filtered,
        seconds: start.elapsed().as_secs_f64(),
    }
}

/// The output side for row `row` of a pool.
pub fn side(docs: &[(Document, Vec<Sentence>)], pool: &Pool, row: usize) -> Side {
    let (d, s) = pool.rows[row];
    let (doc, sents) = &docs[d];
    let sent = &sents[s];
    Side {
        lang: pool.lang.clone(),
        doc: doc.name.clone(),
        indices: vec![sent.index],
        text: sent.text.clone(),
        span: Some((sent.span.start, sent.span.end)),
    }
}

/// The record of a kept pair.
pub fn record(
    docs: &[(Document, Vec<Sentence>)],
    pools: &[Pool],
    r: &PairResult,
    p: &Pair,
) -> Record {
    Record {
        src: side(docs, &pools[r.src], p.src),
        tgt: side(docs, &pools[r.tgt], p.tgt),
        cosine: p.cosine,
        score: Some(p.score),
        margin: Some(p.margin),
        cost: None,
    }
}

/// Multi-way tuples from the kept pairs, around pool `pivot`.
pub fn tuples(pools: &[Pool], results: &[PairResult], pivot: usize) -> Vec<multi::Tuple> {
    let links: multi::Links = results
        .iter()
        .map(|r| {
            (
                (r.src, r.tgt),
                r.kept.iter().map(|p| (p.src, p.tgt)).collect(),
            )
        })
        .collect();
    multi::tuples(pools.len(), pivot, &links)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(name: &str, lang: &str, texts: &[&str], d: usize) -> (Document, Vec<Sentence>) {
        let mut off = 0;
        let sents = texts
            .iter()
            .enumerate()
            .map(|(i, t)| {
                let s = Sentence {
                    doc: d,
                    index: i,
                    text: t.to_string(),
                    span: off..off + t.len(),
                };
                off += t.len() + 1;
                s
            })
            .collect();
        (
            Document {
                name: name.into(),
                lang: lang.into(),
                text: texts.join("\n"),
            },
            sents,
        )
    }

    #[test]
    fn same_language_documents_are_pooled_and_pairs_follow_input_order() {
        let docs = vec![
            doc("a.en", "en", &["one", "two"], 0),
            doc("b.vi", "vi", &["một"], 1),
            doc("c.en", "en", &["three"], 2),
            doc("d.id", "id", &["satu"], 3),
        ];
        let emb = Embeddings::new(1, vec![1.0; 5]).unwrap();
        let p = pools(&docs, &emb).unwrap();
        let langs: Vec<&str> = p.iter().map(|p| p.lang.as_str()).collect();
        assert_eq!(langs, ["en", "vi", "id"]);
        assert_eq!(p[0].docs, [0, 2]);
        assert_eq!(p[0].rows, [(0, 0), (0, 1), (2, 0)]);
        assert_eq!(all_pairs(p.len()), [(0, 1), (0, 2), (1, 2)]);
        let spec = |s: &str| s.split(',').map(String::from).collect::<Vec<_>>();
        assert_eq!(
            parse_pairs(&spec("vi-en,en-id"), &langs).unwrap(),
            [(1, 0), (0, 2)]
        );
        let e = parse_pairs(&spec("en-fr"), &langs).unwrap_err().to_string();
        assert!(e.contains("no input is in `fr`"), "{e}");
        assert!(parse_pairs(&spec("en"), &langs).is_err());
        let s = side(&docs, &p[0], 2);
        assert_eq!(
            (s.doc.as_str(), s.indices.as_slice(), s.text.as_str()),
            ("c.en", &[0][..], "three")
        );
    }

    #[test]
    fn a_document_without_language_is_an_error_naming_it() {
        let docs = vec![doc("story.txt", "", &["x"], 0)];
        let e = pools(&docs, &Embeddings::new(1, vec![1.0]).unwrap()).unwrap_err();
        assert!(e.to_string().starts_with("story.txt: language unknown"));
    }
}
