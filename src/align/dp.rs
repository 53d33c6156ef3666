//! Best monotone path through a band: dynamic programming over grid points `(i, j)`
//! (first `i` source and `j` target sentences aligned), one step per link.

use super::band::Band;
use rayon::prelude::*;

/// Scores candidate links. Shared by the coarse passes (averaged vectors, few link types)
/// and the final pass (overlap embeddings, every link type), so both run the same DP.
pub trait LinkScorer: Sync {
    /// Link types `(a, b)`: `a` source and `b` target sentences. Earlier types win ties.
    fn types(&self) -> &[(usize, usize)];

    /// Value (higher is better) of the link of type `t` ending at grid point `(i, j)`,
    /// i.e. covering source `i - a..i` and target `j - b..j`. Only called when `a <= i`
    /// and `b <= j`.
    fn value(&self, t: usize, i: usize, j: usize) -> f32;
}

/// Rows whose link values are computed together in parallel before the sequential DP
/// consumes them; bounds the extra memory to a few rows of the band.
const ROWS_PER_BLOCK: usize = 64;

/// A best path: its grid points from `(0, 0)` to `(n, m)`, and for each point after the
/// first the index of the link type that ends there.
pub type Path = (Vec<(usize, usize)>, Vec<u8>);

/// The best path through `band`, or `None` when the band holds no path.
pub fn best_path<S: LinkScorer>(scorer: &S, band: &Band, m: usize) -> Option<Path> {
    let types = scorer.types();
    assert!(types.len() < u8::MAX as usize);
    let nt = types.len();
    let n = band.rows() - 1;
    let mut score = vec![f32::NEG_INFINITY; band.cells()];
    let mut back = vec![u8::MAX; band.cells()];
    score[band.cell(0, 0)?] = 0.0;

    let mut r0 = 0;
    while r0 <= n {
        let r1 = (r0 + ROWS_PER_BLOCK).min(n + 1);
        // Link values for this block of rows, in parallel; each value depends only on the
        // embeddings, so the result does not depend on the thread count.
        let values: Vec<Vec<f32>> = (r0..r1)
            .into_par_iter()
            .map(|i| {
                let (lo, hi) = band.window(i);
                let mut v = vec![f32::NEG_INFINITY; (hi - lo + 1) * nt];
                for j in lo..=hi {
                    for (t, &(a, b)) in types.iter().enumerate() {
                        if a <= i && b <= j && band.cell(i - a, j - b).is_some() {
                            v[(j - lo) * nt + t] = scorer.value(t, i, j);
                        }
                    }
                }
                v
            })
            .collect();
        for i in r0..r1 {
            let (lo, hi) = band.window(i);
            let vals = &values[i - r0];
            for j in lo..=hi {
                if i == 0 && j == 0 {
                    continue;
                }
                let mut best = f32::NEG_INFINITY;
                let mut arg = u8::MAX;
                for (t, &(a, b)) in types.iter().enumerate() {
                    if a > i || b > j {
                        continue;
                    }
                    let Some(c) = band.cell(i - a, j - b) else {
                        continue;
                    };
                    let s = score[c] + vals[(j - lo) * nt + t];
                    if s > best {
                        best = s;
                        arg = t as u8;
                    }
                }
                let c = band.row_offset(i) + j - lo;
                score[c] = best;
                back[c] = arg;
            }
        }
        r0 = r1;
    }

    let end = band.cell(n, m)?;
    if !score[end].is_finite() {
        return None;
    }
    let mut points = vec![(n, m)];
    let mut steps = Vec::new();
    let (mut i, mut j) = (n, m);
    while (i, j) != (0, 0) {
        let t = back[band.cell(i, j)?];
        let (a, b) = types[t as usize];
        steps.push(t);
        i -= a;
        j -= b;
        points.push((i, j));
    }
    points.reverse();
    steps.reverse();
    Some((points, steps))
}

#[inline]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    let ca = a.chunks_exact(8);
    let cb = b.chunks_exact(8);
    let tail: f32 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in ca.zip(cb) {
        for k in 0..8 {
            acc[k] += x[k] * y[k];
        }
    }
    acc.iter().sum::<f32>() + tail
}
