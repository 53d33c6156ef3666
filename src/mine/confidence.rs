//! A per-pair confidence in [0, 1]: the probability, under a logistic model fitted on
//! labelled synthetic comparable documents (`scripts/calibrate-confidence.py`; never on the
//! demo articles), that a candidate pair states the same fact fully or partly. It combines
//! the ratio margin with evidence the embedding cannot see (numbers, rare shared names) and
//! with whether the two sentences are each other's best partner.

use super::evidence::{Evidence, Numbers};
use super::{rank, Pair};
use crate::embed::Embeddings;
#[cfg(doc)]
use crate::score::cosine;
use crate::score::{knn, Hit, Neighbours, Score, Scorer};
use std::collections::{BTreeMap, HashSet};

/// Default cut: pairs more likely than not to correspond (on the calibration data).
pub const DEFAULT_MIN_CONFIDENCE: f32 = 0.5;

/// Candidate partners per sentence, by cosine, that get a confidence. Small documents
/// (fewer sentences than this) are scored completely.
pub const CANDIDATES: usize = 16;

/// What the confidence is computed from.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Features {
    /// Ratio margin of the pair (k nearest neighbours within the two sides).
    pub margin: f32,
    /// Shared rare names ([`Evidence::names`]).
    pub names: f32,
    pub numbers: Numbers,
    /// Each is the other's best partner by margin.
    pub mutual: bool,
    /// Extra evidence on the logit scale from another scorer (e.g. machine translation of
    /// one side compared with the other); 0 when there is none. The weights below were
    /// fitted without it.
    pub extra_logit: f32,
}

/// Logistic weights: intercept, (margin − 1) × 100, names, numbers agree, numbers
/// conflict, mutual best. Fitted by `scripts/calibrate-confidence.py` on the synthetic
/// sets of `tests/data/calibration/` (training documents only).
pub const WEIGHTS: [f32; 6] = [-3.4817, 0.5927, 0.1695, 1.6719, -0.3717, 1.1726];

/// The calibrated probability that the pair corresponds.
pub fn confidence(f: &Features) -> f32 {
    let w = WEIGHTS;
    let z = w[0]
        + w[1] * (f.margin - 1.0) * 100.0
        + w[2] * f.names
        + w[3] * f32::from(u8::from(f.numbers == Numbers::Agree))
        + w[4] * f32::from(u8::from(f.numbers == Numbers::Conflict))
        + w[5] * f32::from(u8::from(f.mutual))
        + f.extra_logit;
    1.0 / (1.0 + (-z).exp())
}

/// Candidates ranked by confidence, LASER's `max` mode on that ranking: every sentence's
/// most confident partner, best first, each sentence used at most once. `k` is the margin's
/// neighbourhood; `src`/`tgt` are the sentences' texts (rows of `x`/`y`).
pub fn candidates(
    x: &Embeddings,
    y: &Embeddings,
    src: &[&str],
    tgt: &[&str],
    k: usize,
) -> Vec<Pair> {
    candidates_with(x, y, src, tgt, k, &|_, _| 0.0)
}

/// [`candidates`] with `extra(i, j)` added to each pair's logit
/// ([`Features::extra_logit`]: e.g. what a machine translation of row `i` says).
pub fn candidates_with(
    x: &Embeddings,
    y: &Embeddings,
    src: &[&str],
    tgt: &[&str],
    k: usize,
    extra: &(dyn Fn(usize, usize) -> f32 + Sync),
) -> Vec<Pair> {
    if x.is_empty() || y.is_empty() {
        return Vec::new();
    }
    let scorer = Scorer::new(x, y, k, Score::Margin);
    let (fwd, bwd) = scorer.best(x, y);
    let (nx, ny) = knn(x, y, CANDIDATES);
    let found = Found {
        x_mean: &scorer.x_mean,
        y_mean: &scorer.y_mean,
        fwd: &fwd,
        bwd: &bwd,
        nx: &nx,
        ny: &ny,
    };
    rank_found_with(&found, &Evidence::new(src, tgt), extra)
}

/// What the confidence needs from the search between two sides, whole-side facts every
/// pair's features depend on: found by one process ([`candidates`]) or gathered from the
/// files of a sharded run's shards.
pub struct Found<'a> {
    /// Each row's mean cosine to its k nearest rows of the other side (the margin's).
    pub x_mean: &'a [f32],
    pub y_mean: &'a [f32],
    /// Each row's best partner by margin in the other whole side (for `mutual`).
    pub fwd: &'a [Option<Hit>],
    pub bwd: &'a [Option<Hit>],
    /// Each row's [`CANDIDATES`] nearest rows of the other side by cosine.
    pub nx: &'a Neighbours,
    pub ny: &'a Neighbours,
}

/// [`candidates`] from what the search found: the pairs worth scoring (each side's nearest
/// sentences by cosine, and the margin's best), each with its confidence, then `max` mode.
/// The cosines are those the search computed (the same kernel as [`cosine`]).
pub fn rank_found(found: &Found<'_>, evidence: &Evidence) -> Vec<Pair> {
    rank_found_with(found, evidence, &|_, _| 0.0)
}

/// [`rank_found`] with `extra(i, j)` added to each pair's logit.
pub fn rank_found_with(
    found: &Found<'_>,
    evidence: &Evidence,
    extra: &(dyn Fn(usize, usize) -> f32 + Sync),
) -> Vec<Pair> {
    let Found {
        x_mean,
        y_mean,
        fwd,
        bwd,
        nx,
        ny,
    } = *found;
    let (lx, ly) = (x_mean.len(), y_mean.len());
    if lx == 0 || ly == 0 {
        return Vec::new();
    }
    let mut pool: BTreeMap<(usize, usize), f32> = BTreeMap::new();
    for (i, best) in fwd.iter().enumerate() {
        pool.extend(nx.of(i).map(|(j, c)| ((i, j), c)));
        pool.extend(best.map(|h| ((i, h.idx), h.cos)));
    }
    for (j, best) in bwd.iter().enumerate() {
        pool.extend(ny.of(j).map(|(i, c)| ((i, j), c)));
        pool.extend(best.map(|h| ((h.idx, j), h.cos)));
    }
    let scored: Vec<Pair> = pool
        .into_iter()
        .map(|((i, j), cos)| {
            let margin = Score::Margin.apply(cos, x_mean[i], y_mean[j]);
            let mutual = fwd[i].is_some_and(|h| h.idx == j) && bwd[j].is_some_and(|h| h.idx == i);
            let c = confidence(&Features {
                margin,
                names: evidence.names(i, j),
                numbers: evidence.numbers(i, j),
                mutual,
                extra_logit: extra(i, j),
            });
            Pair {
                src: i,
                tgt: j,
                score: c,
                cosine: cos,
                margin,
                confidence: Some(c),
            }
        })
        .collect();
    // Every sentence's most confident partner, in both directions, then max mode.
    let mut best_src: Vec<Option<Pair>> = vec![None; lx];
    let mut best_tgt: Vec<Option<Pair>> = vec![None; ly];
    for p in &scored {
        for slot in [&mut best_src[p.src], &mut best_tgt[p.tgt]] {
            if slot.is_none_or(|b| rank(p, &b).is_lt()) {
                *slot = Some(*p);
            }
        }
    }
    let mut all: Vec<Pair> = best_src.into_iter().chain(best_tgt).flatten().collect();
    all.sort_by(rank);
    let (mut seen_src, mut seen_tgt) = (HashSet::new(), HashSet::new());
    all.retain(|p| {
        let fresh = !seen_src.contains(&p.src) && !seen_tgt.contains(&p.tgt);
        if fresh {
            seen_src.insert(p.src);
            seen_tgt.insert(p.tgt);
        }
        fresh
    });
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(margin: f32, numbers: Numbers, mutual: bool) -> Features {
        Features {
            margin,
            names: 0.0,
            numbers,
            mutual,
            extra_logit: 0.0,
        }
    }

    #[test]
    fn confidence_grows_with_margin_and_evidence() {
        let base = confidence(&f(1.02, Numbers::Absent, false));
        assert!((0.0..1.0).contains(&base));
        assert!(confidence(&f(1.05, Numbers::Absent, false)) > base);
        assert!(confidence(&f(1.02, Numbers::Agree, false)) > base);
        assert!(confidence(&f(1.02, Numbers::Conflict, false)) < base);
        assert!(confidence(&f(1.02, Numbers::Absent, true)) > base);
        // A clear translation is near certain, an unrelated pair near zero.
        assert!(confidence(&f(1.12, Numbers::Absent, true)) > 0.95);
        assert!(confidence(&f(0.95, Numbers::Absent, false)) < 0.01);
    }
}
