//! Mining documents in one call: [`mine_documents`] embeds every sentence once (or takes
//! precomputed embeddings, [`mine_embedded`]), pools documents by language, mines every
//! requested language pair, filters, and builds the multi-way tuples. [`Mined`] keeps,
//! per pair, every candidate and what became of it, and turns the kept pairs into the
//! records the writers consume.

use super::pool::{self, Fate, PairResult, Pool};
use super::translated::MtScorer;
use super::{multi, partial, Filters, Mode, Params};
use crate::corpus::{Record, Side};
use crate::document::Document;
use crate::embed::{EmbedStats, Embedder, Embeddings};
use crate::error::{Error, Result};
use crate::observe::Observer;
use crate::score::{Knn, Precision, Score, DEFAULT_K};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

/// What ranks and cuts the mined pairs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum Rank {
    /// The score (margin by default), cut at the threshold.
    Score,
    /// The calibrated confidence (0–1; [`super::confidence`]), cut at the minimum
    /// confidence; the threshold does not apply.
    Confidence,
}

/// How documents are mined. `Default` is the library's choice (the calibrated confidence
/// from the margin over 4 neighbours and the sentences' numbers and names, LASER's `max`
/// mode on it, cut at 0.5, every filter).
#[derive(Clone, Debug)]
pub struct MineConfig {
    /// Neighbours per sentence for the margin.
    pub k: usize,
    pub score: Score,
    pub mode: Mode,
    /// Keep pairs scoring at least this; `None` takes [`default_threshold`] of `score`.
    pub threshold: Option<f32>,
    /// Rank by the calibrated confidence or by the score; `None`: see [`MineConfig::rank`].
    pub rank: Option<Rank>,
    /// With [`Rank::Confidence`]: keep pairs whose confidence is at least this.
    pub min_confidence: f32,
    pub filters: Filters,
    /// Language pairs to mine, source first (`en-vi`); empty: every pair, in input order.
    pub pairs: Vec<String>,
    /// Pivot language of the multi-way tuples; `None`: the first input language.
    pub pivot: Option<String>,
    /// How nearest neighbours are searched (exact by default).
    pub knn: Knn,
    /// The number format of the search (f32 by default).
    pub precision: Precision,
    /// Mark each kept pair `parallel` or `partial` with the clauses that match
    /// ([`super::partial`]; embeds the kept pairs' clauses, so only the functions that
    /// have the model do it). On by default.
    pub partial: bool,
}

impl Default for MineConfig {
    fn default() -> Self {
        Self {
            k: DEFAULT_K,
            score: Score::Margin,
            mode: Mode::Max,
            threshold: None,
            rank: None,
            min_confidence: super::confidence::DEFAULT_MIN_CONFIDENCE,
            filters: Filters::default(),
            pairs: Vec::new(),
            pivot: None,
            knn: Knn::Exact,
            precision: Precision::F32,
            partial: true,
        }
    }
}

/// The threshold used when none is given, on the scale of `score`.
pub fn default_threshold(score: Score) -> f32 {
    match score {
        Score::Margin => super::DEFAULT_THRESHOLD,
        Score::Cosine => super::DEFAULT_COSINE_THRESHOLD,
        Score::Distance => super::DEFAULT_DISTANCE_THRESHOLD,
    }
}

impl MineConfig {
    /// The ranking used: the one asked for, else the confidence, unless something only the
    /// score ranking has was asked for (a threshold, a score other than the margin, a mode
    /// other than `max`, an approximate search): then the score, so that such settings are
    /// never silently ignored.
    pub fn rank(&self) -> Rank {
        let score_only = self.threshold.is_some()
            || self.score != Score::Margin
            || self.mode != Mode::Max
            || self.knn != Knn::Exact
            || self.precision != Precision::F32;
        self.rank.unwrap_or(if score_only {
            Rank::Score
        } else {
            Rank::Confidence
        })
    }

    /// The pair-mining parameters, with the threshold settled.
    pub fn params(&self) -> Params {
        Params {
            k: self.k,
            score: self.score,
            mode: self.mode,
            threshold: self
                .threshold
                .unwrap_or_else(|| default_threshold(self.score)),
            knn: self.knn,
            precision: self.precision,
            min_confidence: (self.rank() == Rank::Confidence).then_some(self.min_confidence),
            // Set by `Mined::mark_partial`, when the pairs are marked.
            partial: false,
        }
    }

    /// Checks the parameters on their own (before anything is read).
    pub fn validate(&self) -> Result<()> {
        if self.k == 0 {
            return Err(Error::config("k", "must be at least 1"));
        }
        if self.threshold.is_some_and(|t| !t.is_finite()) {
            return Err(Error::config("threshold", "must be a finite number"));
        }
        if !(0.0..=1.0).contains(&self.min_confidence) {
            return Err(Error::config("min_confidence", "must be between 0 and 1"));
        }
        let r = self.filters.max_length_ratio;
        if r.is_nan() || r < 1.0 {
            return Err(Error::config("max_length_ratio", "must be at least 1"));
        }
        if self.rank == Some(Rank::Confidence) && self.knn != Knn::Exact {
            return Err(Error::config(
                "knn",
                "the confidence ranking searches exactly (its features read every neighbour \
                 list); drop --knn, or rank by --rank score to search approximately",
            ));
        }
        if self.rank == Some(Rank::Confidence) && self.precision != Precision::F32 {
            return Err(Error::config(
                "knn_precision",
                "the confidence ranking searches in f32 (its features read every neighbour \
                 list); drop --knn-precision, or rank by --rank score",
            ));
        }
        if let Knn::Ivf(p) | Knn::Auto(p) = &self.knn {
            // `lists: 0` means "pick for the sizes"; the others have no such meaning.
            if p.probe == 0 {
                return Err(Error::config("ivf_probe", "must be at least 1"));
            }
            if p.recall.is_some_and(|r| !(r > 0.0 && r <= 1.0)) {
                return Err(Error::config("ivf_recall", "must be above 0 and at most 1"));
            }
            if p.assign == 0 {
                return Err(Error::config("ivf_assign", "must be at least 1"));
            }
            if p.train_per_list == 0 {
                return Err(Error::config("ivf_train_per_list", "must be at least 1"));
            }
        }
        Ok(())
    }

    /// Checks the parameters against the documents (languages, pairs, pivot), so that
    /// a mistake is reported before the model loads. Returns the pairs (indices into the
    /// languages in input order) and the pivot.
    pub fn plan(&self, docs: &[Document]) -> Result<Plan> {
        self.validate()?;
        check_languages(docs)?;
        let langs = languages(docs);
        let names: Vec<&str> = langs.iter().map(String::as_str).collect();
        let pairs = if self.pairs.is_empty() {
            pool::all_pairs(langs.len())
        } else {
            pool::parse_pairs(&self.pairs, &names)?
        };
        let pivot = match &self.pivot {
            None => 0,
            Some(l) => names
                .iter()
                .position(|x| x == l)
                .ok_or_else(|| Error::config_value("pivot", l, "no input is in that language"))?,
        };
        Ok(Plan {
            langs,
            pairs,
            pivot,
        })
    }
}

/// What [`MineConfig::plan`] settled: languages in input order, pairs, pivot.
#[derive(Clone, Debug)]
pub struct Plan {
    pub langs: Vec<String>,
    pub pairs: Vec<(usize, usize)>,
    pub pivot: usize,
}

impl Plan {
    /// (source document, target language) for every planned pair: what translations of
    /// the sources must cover.
    pub fn translation_targets(&self, docs: &[Document]) -> Vec<(usize, String)> {
        self.pairs
            .iter()
            .flat_map(|&(a, b)| {
                let (src, tgt) = (&self.langs[a], &self.langs[b]);
                docs.iter()
                    .enumerate()
                    .filter(move |(_, d)| d.lang.tag() == src)
                    .map(move |(i, _)| (i, tgt.clone()))
            })
            .collect()
    }
}

/// Languages (full tags) in order of first appearance.
pub fn languages(docs: &[Document]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for d in docs {
        let t = d.lang.tag();
        if !out.iter().any(|l| l == t) {
            out.push(t.to_string());
        }
    }
    out
}

/// Mining needs every language known and at least two of them.
pub fn check_languages(docs: &[Document]) -> Result<()> {
    if let Some(d) = docs.iter().find(|d| !d.lang.is_known()) {
        return Err(Error::UnknownLanguage {
            path: d.name.clone(),
        });
    }
    let langs: BTreeSet<&str> = docs.iter().map(|d| d.lang.tag()).collect();
    if langs.len() < 2 {
        let names: Vec<&str> = docs.iter().map(|d| d.name.as_str()).collect();
        let lang = langs.iter().next().copied().unwrap_or("?");
        if docs.len() == 1 {
            return Err(Error::input(
                names[0],
                format!(
                    "only one document (in `{lang}`); mining needs documents in at least two languages"
                ),
            ));
        }
        return Err(Error::input(
            names.join(", "),
            format!(
                "all inputs are in `{lang}`; mining needs documents in at least two languages \
                 (documents in the same language are pooled, not mined against each other)"
            ),
        ));
    }
    Ok(())
}

/// The result of mining: per language pair, every candidate with its fate and the pairs
/// kept; the multi-way tuples; what embedding cost.
#[derive(Clone, Debug)]
pub struct Mined {
    /// One pool per language, in input order.
    pub pools: Vec<Pool>,
    /// One result per mined language pair, in the order asked.
    pub pairs: Vec<PairResult>,
    /// Multi-way tuples (three or more languages), one row per language.
    pub tuples: Vec<multi::Tuple>,
    /// Pool index of the tuples' pivot language.
    pub pivot: usize,
    pub params: Params,
    pub filters: Filters,
    /// Embedding statistics (`None` for precomputed embeddings).
    pub embed_stats: Option<EmbedStats>,
    /// Seconds spent mining (after embedding).
    pub mine_seconds: f64,
    /// Machine translations that re-scored a pair's candidates: by index into
    /// [`Mined::pairs`], each source row's translation into the target language (`None`
    /// for rows whose document had none). Written beside each kept pair.
    pub translations: BTreeMap<usize, Vec<Option<String>>>,
}

impl Mined {
    /// The language tag of pool `i`.
    pub fn lang(&self, i: usize) -> &str {
        &self.pools[i].lang
    }

    /// The kept pairs of `pair` (an index into [`Mined::pairs`]) as output records.
    pub fn records(&self, docs: &[Document], pair: usize) -> Vec<Record> {
        let r = &self.pairs[pair];
        let tr = self.translations.get(&pair);
        r.kept
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let mut rec = pool::record(docs, &self.pools, r, p, r.marks.get(i));
                rec.translation = tr.and_then(|t| t[p.src].clone());
                rec
            })
            .collect()
    }

    /// The kept pairs of every language pair, as records, pair after pair.
    pub fn all_records(&self, docs: &[Document]) -> Vec<Record> {
        (0..self.pairs.len())
            .flat_map(|i| self.records(docs, i))
            .collect()
    }

    /// Each candidate of `pair` with what became of it, best first.
    pub fn candidates(&self, pair: usize) -> impl Iterator<Item = (&super::Pair, Fate)> + '_ {
        let r = &self.pairs[pair];
        r.candidates.iter().zip(r.fates.iter().copied())
    }

    /// The multi-way tuples as lists of sides (languages in input order, absent ones left out).
    pub fn tuple_sides(&self, docs: &[Document]) -> Vec<Vec<Side>> {
        self.tuples
            .iter()
            .map(|t| {
                t.iter()
                    .enumerate()
                    .filter_map(|(l, r)| r.map(|r| pool::side(docs, &self.pools[l], r)))
                    .collect()
            })
            .collect()
    }
}

/// Embeds every sentence of `docs` once and mines them (see [`mine_embedded`]).
pub fn mine_documents(
    docs: &[Document],
    embedder: &Embedder,
    cfg: &MineConfig,
    obs: &dyn Observer,
) -> Result<Mined> {
    let none = crate::align::CorpusTranslations::new();
    mine_documents_translated(docs, embedder, &none, cfg, obs)
}

/// [`mine_documents`] with machine translations as evidence (see
/// [`mine_embedded_translated`]).
pub fn mine_documents_translated(
    docs: &[Document],
    embedder: &Embedder,
    translations: &crate::align::CorpusTranslations,
    cfg: &MineConfig,
    obs: &dyn Observer,
) -> Result<Mined> {
    cfg.plan(docs)?;
    check_translations(docs, translations, cfg)?;
    let texts: Vec<Vec<&str>> = docs.iter().map(Document::texts).collect();
    let (emb, stats) = embedder.embed_documents(&texts, obs)?;
    if stats.truncated > 0 {
        obs.note(&format!(
            "note: {} of {} sentences were longer than {} tokens and were truncated",
            stats.truncated,
            stats.unique,
            embedder.model().max_len
        ));
    }
    let mut mined = mine_embedded_translated(docs, &emb, translations, cfg, obs)?;
    mined.embed_stats = Some(stats);
    if cfg.partial {
        mined.mark_partial(docs, embedder, obs)?;
    }
    Ok(mined)
}

/// The translations fit the documents and the ranking (before anything is embedded).
fn check_translations(
    docs: &[Document],
    translations: &crate::align::CorpusTranslations,
    cfg: &MineConfig,
) -> Result<()> {
    if translations.is_empty() {
        return Ok(());
    }
    if cfg.rank() != Rank::Confidence {
        return Err(Error::config(
            "translations",
            "translations re-score the confidence ranking; they do not apply to the score \
             ranking (drop --rank score, --threshold, --score, --mode and --knn)",
        ));
    }
    for (&(i, _), t) in translations {
        let n = docs.get(i).map(|d| d.sentences.len());
        if n != Some(t.lines.len()) {
            return Err(Error::config(
                "translations",
                format!(
                    "{} lines for document {i}, which has {} sentences",
                    t.lines.len(),
                    n.map_or("no".into(), |n| n.to_string())
                ),
            ));
        }
    }
    Ok(())
}

/// [`mine_embedded`] with machine translations as evidence: `translations[(i, lang)]`
/// translates document `i` into `lang` (one line per sentence). For a language pair,
/// each source sentence whose document has a translation into the target's language is
/// compared with the target sentences in that language too (chrF, [`super::translated`]),
/// which re-scores the confidence of every candidate; each kept pair's translation is
/// kept in [`Mined::translations`]. Needs the confidence ranking.
pub fn mine_embedded_translated(
    docs: &[Document],
    emb: &Embeddings,
    translations: &crate::align::CorpusTranslations,
    cfg: &MineConfig,
    obs: &dyn Observer,
) -> Result<Mined> {
    mine_pools(docs, || pool::pools(docs, emb), translations, cfg, obs)
}

/// Mines the pools `pools` makes (after the parameters and translations are checked).
fn mine_pools(
    docs: &[Document],
    pools: impl FnOnce() -> anyhow::Result<Vec<Pool>>,
    translations: &crate::align::CorpusTranslations,
    cfg: &MineConfig,
    obs: &dyn Observer,
) -> Result<Mined> {
    check_translations(docs, translations, cfg)?;
    let plan = cfg.plan(docs)?;
    let params = cfg.params();
    let pools = pools()?;
    let start = Instant::now();
    let mut side_tr = BTreeMap::new();
    let pairs: Vec<PairResult> = plan
        .pairs
        .iter()
        .enumerate()
        .map(|(n, &(a, b))| {
            // The source documents' translations into the target language, if any.
            let lang = &plan.langs[b];
            let of_doc: BTreeMap<usize, &crate::mt::Translations> = translations
                .iter()
                .filter(|((d, l), _)| l == lang && pools[a].docs.contains(d))
                .map(|(&(d, _), t)| (d, t))
                .collect();
            if of_doc.is_empty() {
                return pool::mine_pair(docs, &pools, (a, b), &params, &cfg.filters, obs);
            }
            let texts: Vec<Option<String>> = pools[a]
                .rows
                .iter()
                .map(|&(d, s)| of_doc.get(&d).map(|t| t.lines[s].clone()))
                .collect();
            let y = &pools[b];
            let tgt: Vec<&str> = y
                .rows
                .iter()
                .map(|&(d, s)| docs[d].sentences[s].text.as_str())
                .collect();
            let mt = MtScorer::new(texts, &tgt);
            let r = pool::mine_pair_translated(
                docs,
                &pools,
                (a, b),
                &params,
                &cfg.filters,
                Some(&mt),
                obs,
            );
            side_tr.insert(n, mt.into_texts());
            r
        })
        .collect();
    let mut mined = Mined::assemble(pools, pairs, &plan, cfg, start);
    mined.translations = side_tr;
    Ok(mined)
}

/// Mines `docs` whose sentences are embedded in `emb` (one row per sentence, documents
/// then sentences in order): every requested language pair, filtered, plus multi-way
/// tuples when there are three languages or more.
pub fn mine_embedded(
    docs: &[Document],
    emb: &Embeddings,
    cfg: &MineConfig,
    obs: &dyn Observer,
) -> Result<Mined> {
    let none = crate::align::CorpusTranslations::new();
    mine_embedded_translated(docs, emb, &none, cfg, obs)
}

/// [`mine_embedded_translated`] with each document's rows apart (as
/// [`crate::embed::read_embedding_parts`] reads them): a language with one document
/// searches its rows where they are (memory-mapped files stay mapped), others are joined.
pub fn mine_embedded_parts(
    docs: &[Document],
    parts: &[Embeddings],
    translations: &crate::align::CorpusTranslations,
    cfg: &MineConfig,
    obs: &dyn Observer,
) -> Result<Mined> {
    mine_pools(
        docs,
        || pool::pools_of_parts(docs, parts),
        translations,
        cfg,
        obs,
    )
}

impl Mined {
    /// Marks every kept pair `parallel` or `partial` ([`super::partial`]), embedding the
    /// clauses of the kept pairs' sentences (all pairs' at once) with `embedder`.
    pub fn mark_partial(
        &mut self,
        docs: &[Document],
        embedder: &Embedder,
        obs: &dyn Observer,
    ) -> Result<()> {
        self.mark_partial_with(
            docs,
            embedder,
            |pools, p, r| Ok(pools[p].emb.row(r).to_vec()),
            obs,
        )
    }

    /// [`Mined::mark_partial`] for pools that do not hold their vectors (a sharded run's
    /// are in its shard files): `vector(pools, pool, row)` gives a sentence's embedding.
    pub fn mark_partial_with(
        &mut self,
        docs: &[Document],
        embedder: &Embedder,
        vector: impl Fn(&[Pool], usize, usize) -> Result<Vec<f32>>,
        obs: &dyn Observer,
    ) -> Result<()> {
        let pools = &self.pools;
        let text = |pool: usize, row: usize| {
            let (d, s) = pools[pool].rows[row];
            docs[d].sentences[s].text.as_str()
        };
        // Only the kept pairs' vectors, copied: few next to the pools.
        let vecs: Vec<(Vec<f32>, Vec<f32>)> = self
            .pairs
            .iter()
            .flat_map(|r| {
                r.kept
                    .iter()
                    .map(|p| Ok((vector(pools, r.src, p.src)?, vector(pools, r.tgt, p.tgt)?)))
            })
            .collect::<Result<_>>()?;
        let cands: Vec<partial::Candidate> = self
            .pairs
            .iter()
            .flat_map(|r| r.kept.iter().map(move |p| (r, p)))
            .zip(&vecs)
            .map(|((r, p), (sv, tv))| partial::Candidate {
                src: text(r.src, p.src),
                tgt: text(r.tgt, p.tgt),
                src_vec: sv,
                tgt_vec: tv,
            })
            .collect();
        let marks = partial::mark(&cands, |texts| embedder.embed(texts, obs))?;
        drop(cands);
        let mut marks = marks.into_iter();
        for r in &mut self.pairs {
            r.marks = marks.by_ref().take(r.kept.len()).collect();
        }
        self.params.partial = true;
        Ok(())
    }

    /// The result of mining `plan`'s pairs (in its order) with `cfg`, begun at `start`:
    /// the multi-way tuples added when there are three languages or more.
    pub fn assemble(
        pools: Vec<Pool>,
        pairs: Vec<PairResult>,
        plan: &Plan,
        cfg: &MineConfig,
        start: Instant,
    ) -> Self {
        let tuples = if pools.len() >= 3 {
            pool::tuples(&pools, &pairs, plan.pivot)
        } else {
            Vec::new()
        };
        Mined {
            pools,
            pairs,
            tuples,
            pivot: plan.pivot,
            params: cfg.params(),
            filters: cfg.filters.clone(),
            embed_stats: None,
            mine_seconds: start.elapsed().as_secs_f64(),
            translations: BTreeMap::new(),
        }
    }
}
