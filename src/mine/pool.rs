//! Mining a whole run: sentences pooled by language (several documents in one language
//! form one side), every requested language pair mined and filtered, and the records the
//! writers consume.

use super::translated::MtScorer;
use super::{candidates_searched, multi, Filter, Filters, Pair, Params};
use crate::corpus::{Record, Side};
use crate::document::Document;
use crate::embed::Embeddings;
use crate::error::Error;
use crate::observe::{Observer, Unit};
use anyhow::Result;
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
pub fn pools(docs: &[Document], emb: &Embeddings) -> Result<Vec<Pool>> {
    let total: usize = docs.iter().map(|d| d.sentences.len()).sum();
    anyhow::ensure!(
        emb.len() == total,
        "{} embeddings for {total} sentences",
        emb.len()
    );
    // Row of the embedding matrix where each document starts.
    let starts: Vec<usize> = docs
        .iter()
        .scan(0, |row, d| {
            let at = *row;
            *row += d.sentences.len();
            Some(at)
        })
        .collect();
    let mut out = group(docs)?;
    for p in &mut out {
        let rows: Vec<usize> = p.rows.iter().map(|&(d, s)| starts[d] + s).collect();
        // A language's documents one after the other (the usual order of inputs): a view of
        // the same rows, not a copy, so memory-mapped embeddings stay mapped.
        let contiguous = rows.windows(2).all(|w| w[1] == w[0] + 1);
        p.emb = match (contiguous, rows.first()) {
            (true, Some(&at)) => emb.slice(at..at + rows.len()),
            _ => {
                let mut sink = crate::embed::sink::RowSink::new(emb.dim(), rows.len())?;
                for &r in &rows {
                    sink.push(emb.row(r))?;
                }
                sink.finish()?
            }
        };
    }
    Ok(out)
}

/// [`pools`] from each document's rows apart (`parts[d]`: document `d`'s): a language
/// of one document takes its part as it is, others get their parts joined.
pub fn pools_of_parts(docs: &[Document], parts: &[Embeddings]) -> Result<Vec<Pool>> {
    anyhow::ensure!(
        parts.len() == docs.len(),
        "{} embedding parts for {} documents",
        parts.len(),
        docs.len()
    );
    for (d, p) in docs.iter().zip(parts) {
        anyhow::ensure!(
            p.len() == d.sentences.len(),
            "{} embeddings for the {} sentences of {}",
            p.len(),
            d.sentences.len(),
            d.name
        );
    }
    let mut out = group(docs)?;
    for p in &mut out {
        p.emb = match p.docs[..] {
            [d] => parts[d].clone(),
            _ => {
                crate::embed::concat(&p.docs.iter().map(|&d| parts[d].clone()).collect::<Vec<_>>())?
            }
        };
    }
    Ok(out)
}

/// [`pools`] without embeddings (`emb` left empty): which sentences form each language's
/// side, in order. What a sharded run's stages agree on.
pub fn group(docs: &[Document]) -> Result<Vec<Pool>> {
    let mut out: Vec<Pool> = Vec::new();
    for (d, doc) in docs.iter().enumerate() {
        if !doc.lang.is_known() {
            return Err(Error::UnknownLanguage {
                path: doc.name.clone(),
            }
            .into());
        }
        let lang = doc.lang.tag();
        let at = match out.iter().position(|p| p.lang == lang) {
            Some(i) => i,
            None => {
                out.push(Pool {
                    lang: lang.to_string(),
                    docs: Vec::new(),
                    rows: Vec::new(),
                    emb: Embeddings::default(),
                });
                out.len() - 1
            }
        };
        let p = &mut out[at];
        p.docs.push(d);
        p.rows.extend((0..doc.sentences.len()).map(|s| (d, s)));
    }
    Ok(out)
}

/// Every pair of languages, in input order (en, vi, id → en-vi, en-id, vi-id).
pub fn all_pairs(n: usize) -> Vec<(usize, usize)> {
    (0..n)
        .flat_map(|a| (a + 1..n).map(move |b| (a, b)))
        .collect()
}

/// Parses language pairs (`en-vi`, `en-id`) into indices of `langs`, the languages
/// present. A tag with a region (`pt-BR-pt-PT`) is split where both halves are languages
/// present.
pub fn parse_pairs(spec: &[String], langs: &[&str]) -> Result<Vec<(usize, usize)>> {
    let bad = |s: &str, m: String| Error::config_value("pairs", s, m);
    let find = |l: &str, whole: &str| {
        langs.iter().position(|x| *x == l).ok_or_else(|| {
            bad(
                whole,
                format!(
                    "no input is in `{l}` (the inputs are in {})",
                    langs.join(", ")
                ),
            )
        })
    };
    let mut out: Vec<(usize, usize)> = Vec::new();
    for s in spec {
        let s = s.trim();
        // The split point: the one where both sides are present languages, else the first.
        let cuts: Vec<usize> = s.match_indices('-').map(|(i, _)| i).collect();
        let Some(&first) = cuts.first() else {
            return Err(bad(s, "expected SRC-TGT, e.g. en-vi".into()).into());
        };
        let at = cuts
            .iter()
            .copied()
            .find(|&i| langs.contains(&s[..i].trim()) && langs.contains(&s[i + 1..].trim()))
            .unwrap_or(first);
        let (a, b) = (&s[..at], &s[at + 1..]);
        let (a, b) = (find(a.trim(), s)?, find(b.trim(), s)?);
        if a == b {
            return Err(bad(s, "both sides are the same language".into()).into());
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
    /// What became of each candidate (same order as `candidates`).
    pub fates: Vec<Fate>,
    pub below_threshold: usize,
    pub filtered: BTreeMap<Filter, usize>,
    pub seconds: f64,
    /// The search used (`auto` decided for this pair's sizes).
    pub knn: crate::score::Knn,
    /// `parallel` / `partial` for each kept pair (same order), when marked
    /// ([`super::partial`]); empty otherwise.
    pub marks: Vec<super::partial::Mark>,
}

/// What became of a candidate pair.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fate {
    Kept,
    BelowThreshold,
    /// Above the threshold, removed by this filter.
    Filtered(Filter),
}

fn text<'a>(docs: &'a [Document], pool: &Pool, row: usize) -> &'a str {
    let (d, s) = pool.rows[row];
    &docs[d].sentences[s].text
}

/// Mines one language pair and applies the filters.
pub fn mine_pair(
    docs: &[Document],
    pools: &[Pool],
    pair: (usize, usize),
    params: &Params,
    filters: &Filters,
    obs: &dyn Observer,
) -> PairResult {
    mine_pair_translated(docs, pools, pair, params, filters, None, obs)
}

/// [`mine_pair`] with the source side's translations into the target language (`mt`,
/// built for this pair's target side) re-scoring the confidence of every candidate
/// ([`super::translated`]; the score ranking ignores them, so callers refuse that
/// combination).
pub fn mine_pair_translated(
    docs: &[Document],
    pools: &[Pool],
    (src, tgt): (usize, usize),
    params: &Params,
    filters: &Filters,
    mt: Option<&MtScorer>,
    obs: &dyn Observer,
) -> PairResult {
    let start = Instant::now();
    let (x, y) = (&pools[src], &pools[tgt]);
    let bar = obs.stage(
        &format!("mining {}-{}", x.lang, y.lang),
        Some(super::progress_len(
            &x.emb,
            &y.emb,
            params.score,
            &params.knn,
        )),
        Unit::Items,
    );
    let mut search = params.knn.resolve(x.emb.len(), y.emb.len());
    let cands = match params.min_confidence {
        Some(_) => {
            let texts = |pool: &Pool| -> Vec<&str> {
                (0..pool.rows.len()).map(|r| text(docs, pool, r)).collect()
            };
            let (xt, yt) = (texts(x), texts(y));
            let c = match mt {
                Some(s) => {
                    let extra = |i, j| s.extra_logit(i, j);
                    super::confidence::candidates_with(&x.emb, &y.emb, &xt, &yt, params.k, &extra)
                }
                None => super::confidence::candidates(&x.emb, &y.emb, &xt, &yt, params.k),
            };
            bar.advance(super::progress_len(
                &x.emb,
                &y.emb,
                params.score,
                &params.knn,
            ));
            c
        }
        None => {
            let (c, ran) = candidates_searched(
                &x.emb,
                &y.emb,
                params.k,
                params.score,
                params.mode,
                &search,
                params.precision,
                &*bar,
            );
            search = ran;
            c
        }
    };
    drop(bar);
    judge(
        docs,
        pools,
        (src, tgt),
        cands,
        params,
        filters,
        search,
        start,
    )
}

/// The threshold and the filters applied to the candidates of one language pair (best
/// first): what was kept and why the others were not. `start`: when mining the pair began.
#[allow(clippy::too_many_arguments)]
pub fn judge(
    docs: &[Document],
    pools: &[Pool],
    (src, tgt): (usize, usize),
    cands: Vec<Pair>,
    params: &Params,
    filters: &Filters,
    search: crate::score::Knn,
    start: Instant,
) -> PairResult {
    let (x, y) = (&pools[src], &pools[tgt]);
    let threshold = params.min_confidence.unwrap_or(params.threshold);
    let base = |l: &str| l.split(['-', '_']).next().unwrap_or(l).to_string();
    let (xl, yl) = (base(&x.lang), base(&y.lang));
    let mut kept = Vec::new();
    let mut fates = Vec::with_capacity(cands.len());
    let mut below = 0;
    let mut filtered: BTreeMap<Filter, usize> = BTreeMap::new();
    for p in &cands {
        if p.score < threshold {
            below += 1;
            fates.push(Fate::BelowThreshold);
            continue;
        }
        let rejected = filters.reject(text(docs, x, p.src), &xl, text(docs, y, p.tgt), &yl);
        match rejected {
            Some(f) => {
                *filtered.entry(f).or_default() += 1;
                fates.push(Fate::Filtered(f));
            }
            None => {
                kept.push(*p);
                fates.push(Fate::Kept);
            }
        }
    }
    PairResult {
        src,
        tgt,
        candidates: cands,
        kept,
        fates,
        below_threshold: below,
        filtered,
        seconds: start.elapsed().as_secs_f64(),
        knn: search,
        marks: Vec::new(),
    }
}

/// The output side for row `row` of a pool.
pub fn side(docs: &[Document], pool: &Pool, row: usize) -> Side {
    let (d, s) = pool.rows[row];
    let doc = &docs[d];
    let sent = &doc.sentences[s];
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
    docs: &[Document],
    pools: &[Pool],
    r: &PairResult,
    p: &Pair,
    mark: Option<&super::partial::Mark>,
) -> Record {
    Record {
        src: side(docs, &pools[r.src], p.src),
        tgt: side(docs, &pools[r.tgt], p.tgt),
        cosine: p.cosine,
        score: Some(p.score),
        margin: Some(p.margin),
        confidence: p.confidence,
        cost: None,
        translation: None,
        correspondence: mark.cloned(),
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

    use crate::document::{Language, Sentence};

    fn doc(name: &str, lang: &str, texts: &[&str], d: usize) -> Document {
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
        Document {
            name: name.into(),
            lang: Language::parse(lang).unwrap_or_default(),
            text: texts.join("\n"),
            sentences: sents,
            lang_source: crate::lang::LangSource::Flag,
        }
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
