//! Pair selection for comparable documents (bitext mining), the way LASER's miner,
//! WikiMatrix and NLLB's stopes do it: score every cross-lingual pair, take each
//! sentence's best partner, keep the pairs above a margin threshold, then apply the
//! filters users of mined corpora expect.

pub mod confidence;
mod documents;
pub mod evidence;
pub mod filter;
pub mod multi;
pub mod partial;
pub mod pool;
pub mod translated;

pub use documents::{
    check_languages, default_threshold, languages, mine_documents, mine_documents_translated,
    mine_embedded, mine_embedded_parts, mine_embedded_translated, MineConfig, Mined, Plan, Rank,
};
pub use filter::{Filter, Filters};
pub use pool::{Fate, PairResult, Pool};

use crate::embed::Embeddings;
use crate::observe::{NoStage, Stage};
use crate::score::{Hit, Knn, Precision, Score, Scorer};
use std::collections::HashSet;

/// Default ratio-margin threshold. A margin of 1.02 means the pair is 2 % more similar
/// than its two sentences are, on average, to their k nearest neighbours. e5 models put
/// nearly all cosines between 0.75 and 0.95, so their margins are compressed (LASER's
/// usual 1.04–1.06 keeps under half the true pairs here). Chosen with the offline
/// multilingual-e5-small on Tatoeba vie/ind-eng made comparable (only part of each side
/// has a translation) and on the demo articles; `docs/mining-threshold.md` has the data
/// and how to pick another for another model or corpus.
pub const DEFAULT_THRESHOLD: f32 = 1.02;
/// Default threshold for `--score cosine` (same data; cosine separates worse).
pub const DEFAULT_COSINE_THRESHOLD: f32 = 0.90;
/// Default threshold for `--score distance` (cosine minus the neighbourhood average).
pub const DEFAULT_DISTANCE_THRESHOLD: f32 = 0.02;

/// Which candidates compete (LASER's `--mode`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Every source sentence with its best target (targets may repeat).
    Forward,
    /// Every target sentence with its best source (sources may repeat).
    Backward,
    /// Only pairs that are each other's best partner.
    Intersect,
    /// Forward and backward candidates together, best first, each sentence used at most
    /// once (default: the most pairs without reusing a sentence).
    Max,
}

/// How pairs are mined between two sides.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Params {
    /// Neighbourhood size of the margin.
    pub k: usize,
    pub score: Score,
    pub mode: Mode,
    /// Pairs whose score is below this are dropped (same scale as `score`).
    #[serde(serialize_with = "crate::corpus::serialize_decimal")]
    pub threshold: f32,
    /// How the nearest neighbours and best partners are searched.
    pub knn: Knn,
    /// The number format the search compares in (kept pairs' scores are f32 either way).
    pub precision: Precision,
    /// Rank by the calibrated confidence ([`confidence`]) and keep pairs at or above this
    /// instead of `score`/`threshold` (needs the sentences' texts: [`pool::mine_pair`]).
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "crate::corpus::serialize_decimal_opt"
    )]
    pub min_confidence: Option<f32>,
    /// Kept pairs marked `parallel` / `partial` ([`partial`]); recorded only when on.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub partial: bool,
}

impl Default for Params {
    fn default() -> Self {
        Self {
            k: crate::score::DEFAULT_K,
            score: Score::Margin,
            mode: Mode::Max,
            threshold: DEFAULT_THRESHOLD,
            knn: Knn::Exact,
            precision: Precision::F32,
            min_confidence: None,
            partial: false,
        }
    }
}

impl Params {
    /// The name of what ranks the pairs and the cut applied to it (for reports).
    pub fn cut(&self) -> (String, f32) {
        match self.min_confidence {
            Some(c) => ("confidence".into(), c),
            None => (format!("{:?}", self.score).to_lowercase(), self.threshold),
        }
    }
}

impl Params {
    /// Checks the parameters before any work: `k` at least 1, a finite threshold (NaN
    /// would keep or drop everything silently).
    pub fn validate(&self) -> crate::error::Result<()> {
        use crate::error::Error;
        if self.k == 0 {
            return Err(Error::config("k", "must be at least 1"));
        }
        if !self.threshold.is_finite() {
            return Err(Error::config_value(
                "threshold",
                self.threshold.to_string(),
                "must be a finite number",
            ));
        }
        Ok(())
    }
}

/// A candidate pair: row `src` of the source side with row `tgt` of the target side.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Pair {
    pub src: usize,
    pub tgt: usize,
    /// The score that ranked it (`Params::score`).
    pub score: f32,
    pub cosine: f32,
    /// Ratio margin, reported whatever the ranking score.
    pub margin: f32,
    /// Calibrated probability that the pair corresponds, when ranked by confidence.
    pub confidence: Option<f32>,
}

/// Best first; equal scores by source then target index, so the order is total.
pub(crate) fn rank(a: &Pair, b: &Pair) -> std::cmp::Ordering {
    b.score
        .total_cmp(&a.score)
        .then(a.src.cmp(&b.src))
        .then(a.tgt.cmp(&b.tgt))
}

/// All candidates the retrieval mode proposes, best first, before the threshold.
pub fn candidates(x: &Embeddings, y: &Embeddings, k: usize, score: Score, mode: Mode) -> Vec<Pair> {
    candidates_with_progress(x, y, k, score, mode, &Knn::Exact, Precision::F32, &NoStage)
}

/// Units the bar of [`candidates_with_progress`] counts: one pass over the similarity
/// matrix for the neighbours, a second for a margin's best partners.
pub fn progress_len(x: &Embeddings, y: &Embeddings, score: Score, knn: &Knn) -> u64 {
    knn.pass_len(x.len(), y.len()) * if score == Score::Cosine { 1 } else { 2 }
}

/// [`candidates`] with the neighbours found by `knn` in `precision`, advancing `bar` (see
/// [`progress_len`]).
#[allow(clippy::too_many_arguments)]
pub fn candidates_with_progress(
    x: &Embeddings,
    y: &Embeddings,
    k: usize,
    score: Score,
    mode: Mode,
    knn: &Knn,
    precision: Precision,
    bar: &dyn Stage,
) -> Vec<Pair> {
    candidates_searched(x, y, k, score, mode, knn, precision, bar).0
}

/// [`candidates_with_progress`], and the search as it ran (`auto` decided, an inverted
/// file's list count and probe settled): what `run.json` records.
#[allow(clippy::too_many_arguments)]
pub fn candidates_searched(
    x: &Embeddings,
    y: &Embeddings,
    k: usize,
    score: Score,
    mode: Mode,
    knn: &Knn,
    precision: Precision,
    bar: &dyn Stage,
) -> (Vec<Pair>, Knn) {
    if x.is_empty() || y.is_empty() {
        return (Vec::new(), knn.resolve(x.len(), y.len()));
    }
    let scorer = Scorer::searched(x, y, k, score, knn, precision, bar);
    let (fwd, bwd) = scorer.best_with_progress(x, y, bar);
    let pairs = select(&fwd, &bwd, &scorer.x_mean, &scorer.y_mean, mode);
    (pairs, scorer.search())
}

/// The candidates `mode` proposes from each row's best partner both ways (`fwd[i]`: x row
/// i's best y row; `bwd[j]`: y row j's best x row) and the neighbourhood averages (for the
/// margin every pair reports), best first. Shared by the single-process run and the merge
/// of a sharded one, so both choose the same pairs.
pub fn select(
    fwd: &[Option<Hit>],
    bwd: &[Option<Hit>],
    x_mean: &[f32],
    y_mean: &[f32],
    mode: Mode,
) -> Vec<Pair> {
    let pair = |src: usize, tgt: usize, score: f32, cos: f32| Pair {
        src,
        tgt,
        score,
        cosine: cos,
        margin: Score::Margin.apply(cos, x_mean[src], y_mean[tgt]),
        confidence: None,
    };
    let forward = || {
        fwd.iter()
            .enumerate()
            .filter_map(|(i, h)| h.map(|h| pair(i, h.idx, h.score, h.cos)))
    };
    let backward = || {
        bwd.iter()
            .enumerate()
            .filter_map(|(j, h)| h.map(|h| pair(h.idx, j, h.score, h.cos)))
    };
    let mut out: Vec<Pair> = match mode {
        Mode::Forward => forward().collect(),
        Mode::Backward => backward().collect(),
        Mode::Intersect => forward()
            .filter(|p| bwd[p.tgt].is_some_and(|h| h.idx == p.src))
            .collect(),
        Mode::Max => {
            let mut all: Vec<Pair> = forward().chain(backward()).collect();
            all.sort_by(rank);
            let (mut seen_src, mut seen_tgt) = (HashSet::new(), HashSet::new());
            all.into_iter()
                .filter(|p| {
                    let fresh = !seen_src.contains(&p.src) && !seen_tgt.contains(&p.tgt);
                    if fresh {
                        seen_src.insert(p.src);
                        seen_tgt.insert(p.tgt);
                    }
                    fresh
                })
                .collect()
        }
    };
    out.sort_by(rank);
    out
}

/// The pairs of `x` and `y` the parameters keep (no filters), best first.
pub fn mine(x: &Embeddings, y: &Embeddings, params: &Params) -> Vec<Pair> {
    let mut c = candidates_with_progress(
        x,
        y,
        params.k,
        params.score,
        params.mode,
        &params.knn,
        params.precision,
        &NoStage,
    );
    c.retain(|p| p.score >= params.threshold);
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(rows: &[[f32; 3]]) -> Embeddings {
        let rows: Vec<Vec<f32>> = rows
            .iter()
            .map(|r| {
                let n = r.iter().map(|v| v * v).sum::<f32>().sqrt();
                r.iter().map(|v| v / n).collect()
            })
            .collect();
        Embeddings::from_rows(3, &rows).unwrap()
    }

    fn idx(p: &[Pair]) -> Vec<(usize, usize)> {
        p.iter().map(|p| (p.src, p.tgt)).collect()
    }

    /// x0 and x1 both prefer y0; y1 prefers x1; x2 is unrelated to everything.
    fn contested() -> (Embeddings, Embeddings) {
        let x = unit(&[[1.0, 0.0, 0.0], [0.9, 0.5, 0.0], [0.0, 0.0, 1.0]]);
        let y = unit(&[[1.0, 0.1, 0.0], [0.5, 1.0, 0.0]]);
        (x, y)
    }

    #[test]
    fn retrieval_modes_follow_laser() {
        let (x, y) = contested();
        // Cosine keeps the example readable: cos(x0,y0)=.995 cos(x1,y0)=.918
        // cos(x1,y1)=.826; x2 is orthogonal to both, so its tie goes to y0.
        let c = |m| idx(&candidates(&x, &y, 1, Score::Cosine, m));
        assert_eq!(c(Mode::Forward), vec![(0, 0), (1, 0), (2, 0)]);
        assert_eq!(c(Mode::Backward), vec![(0, 0), (1, 1)]);
        assert_eq!(c(Mode::Intersect), vec![(0, 0)]);
        // Max: (0,0) first, then x1's forward choice y0 is taken, its backward pair (1,1) fits.
        assert_eq!(c(Mode::Max), vec![(0, 0), (1, 1)]);
    }

    #[test]
    fn max_uses_each_sentence_once_and_threshold_cuts() {
        let (x, y) = contested();
        let p = Params {
            k: 2,
            ..Params::default()
        };
        let all = candidates(&x, &y, p.k, p.score, p.mode);
        let mut s: Vec<usize> = all.iter().map(|p| p.src).collect();
        let mut t: Vec<usize> = all.iter().map(|p| p.tgt).collect();
        s.sort();
        s.dedup();
        t.sort();
        t.dedup();
        assert_eq!((s.len(), t.len()), (all.len(), all.len()));
        assert!(all.windows(2).all(|w| w[0].score >= w[1].score));
        let cut = all[0].score;
        let kept = mine(
            &x,
            &y,
            &Params {
                threshold: cut,
                ..p.clone()
            },
        );
        assert_eq!(idx(&kept), idx(&all[..1]));
        for q in &all {
            assert!(
                (q.margin - q.score).abs() < 1e-6,
                "score is the margin by default"
            );
        }
    }

    #[test]
    fn empty_side_mines_nothing() {
        let (x, _) = contested();
        let y = Embeddings::new(3, vec![]).unwrap();
        assert!(mine(&x, &y, &Params::default()).is_empty());
        assert!(mine(&y, &x, &Params::default()).is_empty());
    }
}
