//! Bitext retrieval accuracy on line-aligned translations (the Tatoeba / xsim protocol):
//! line i of one file is the translation of line i of the other; a sentence counts as
//! found when its best-scoring partner among all lines of the other file is its own
//! translation. Reported both ways, by cosine and by ratio margin.

use crate::embed::Embeddings;
use crate::score::{Score, Scorer};
use anyhow::{ensure, Result};
use serde::Serialize;

/// Accuracy in percent, source→target and target→source.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Accuracy {
    pub src_to_tgt: f64,
    pub tgt_to_src: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MiningAccuracy {
    /// Sentences on each side.
    pub n: usize,
    /// Neighbourhood size of the margin.
    pub k: usize,
    pub cosine: Accuracy,
    pub margin: Accuracy,
}

/// Accuracy of `x[i]` ↔ `y[i]` retrieval by cosine and by ratio margin over `k` neighbours.
/// The margin's best partner is searched among all rows, not only the cosine's k nearest
/// (as the reference figures were measured).
pub fn accuracy(x: &Embeddings, y: &Embeddings, k: usize) -> Result<MiningAccuracy> {
    ensure!(
        x.len() == y.len(),
        "the two sides have {} and {} sentences; line-aligned files need the same number",
        x.len(),
        y.len()
    );
    ensure!(!x.is_empty(), "no sentences to evaluate");
    let n = x.len();
    let pct = |hits: usize| 100.0 * hits as f64 / n as f64;
    let score = |s: Score| {
        let scorer = Scorer::new(x, y, k, s);
        let (fwd, bwd) = scorer.best(x, y);
        let right = |v: &[Option<crate::score::Hit>]| {
            v.iter()
                .enumerate()
                .filter(|(i, h)| h.is_some_and(|h| h.idx == *i))
                .count()
        };
        Accuracy {
            src_to_tgt: pct(right(&fwd)),
            tgt_to_src: pct(right(&bwd)),
        }
    };
    Ok(MiningAccuracy {
        n,
        k,
        cosine: score(Score::Cosine),
        margin: score(Score::Margin),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_own_translation_as_found() {
        // y1 is closer to x0 than y0 is: x0 misses by cosine, the rest are found.
        let x = Embeddings::from_rows(2, &[[1.0, 0.0], [0.0, 1.0], [0.6, -0.8]]).unwrap();
        let y = Embeddings::from_rows(2, &[[0.8, 0.6], [0.96, 0.28], [0.6, -0.8]]).unwrap();
        let a = accuracy(&x, &y, 1).unwrap();
        assert_eq!(a.n, 3);
        // x0→y1 (wrong), x1→y0 (wrong: 0.6 > 0.28), x2→y2.
        assert!((a.cosine.src_to_tgt - 100.0 / 3.0).abs() < 1e-9);
        assert!(accuracy(&x, &Embeddings::new(2, vec![0.0, 1.0]).unwrap(), 4).is_err());
    }
}
