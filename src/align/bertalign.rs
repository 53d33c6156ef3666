//! Bertalign's method (Liu & Zhu 2022, github.com/bfsujason/bertalign, default parameters)
//! inside our code, so that the two can be compared link by link on the same embeddings.
//!
//! - First pass: each source sentence's 3 nearest target sentences (cosine); a DP over
//!   1-1/1-0/0-1 links within a window around the diagonal (the larger of 250 sentences and
//!   6 % of the longer side) scores a 1-1 link by its cosine when the target is among the
//!   source's 3 nearest and 0 otherwise; its 1-1 links are the anchors.
//! - Second pass: every link with at most 5 sentences (a side at most 4) in a band of 5
//!   sentences around the anchors; a link's score is the cosine of the overlap embeddings
//!   minus the mean cosine of each side with the sentences just before and after the other
//!   side (a local margin), times `log2(1 + min/max)` of the byte lengths (target scaled by
//!   the documents' byte ratio); an unaligned sentence scores −0.1.

use super::band::Band;
use super::dp::{best_path, dot, LinkScorer};
use super::features::SentenceFacts;
use super::overlaps::OverlapIndex;
use crate::embed::Embeddings;

pub const TOP_K: usize = 3;
pub const WINDOW: usize = 5;
pub const MAX_ALIGN: usize = 5;
pub const SKIP: f32 = -0.1;

const FIRST_TYPES: [(usize, usize); 3] = [(0, 1), (1, 0), (1, 1)];

/// Link types of the second pass, in bertalign's order (earlier wins ties).
fn second_types(max_overlap: usize) -> Vec<(usize, usize)> {
    let mut t = vec![(0, 1), (1, 0)];
    for a in 1..MAX_ALIGN {
        for b in 1..MAX_ALIGN {
            if a + b <= MAX_ALIGN && a <= max_overlap && b <= max_overlap {
                t.push((a, b));
            }
        }
    }
    t
}

struct FirstPass {
    /// Per source sentence, its nearest target sentences and their cosines.
    top: Vec<Vec<(usize, f32)>>,
}

impl LinkScorer for FirstPass {
    fn types(&self) -> &[(usize, usize)] {
        &FIRST_TYPES
    }

    fn value(&self, t: usize, i: usize, j: usize) -> f32 {
        if t != 2 {
            return 0.0;
        }
        self.top[i - 1]
            .iter()
            .find(|&&(k, _)| k == j - 1)
            .map_or(0.0, |&(_, c)| c)
    }
}

fn sentence_row<'e>(emb: &'e Embeddings, index: &OverlapIndex, i: usize) -> &'e [f32] {
    emb.row(index.row(i, 1).expect("every sentence is indexed"))
}

/// Bertalign's first pass: its anchor points (the ends of its 1-1 links).
fn anchors(emb: &Embeddings, src: &OverlapIndex, tgt: &OverlapIndex) -> Vec<(usize, usize)> {
    let (n, m) = (src.len(), tgt.len());
    let top = (0..n)
        .map(|i| {
            let x = sentence_row(emb, src, i);
            let mut c: Vec<(usize, f32)> = (0..m)
                .map(|j| (j, dot(x, sentence_row(emb, tgt, j))))
                .collect();
            c.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
            c.truncate(TOP_K);
            c
        })
        .collect();
    let win = 250usize.max((n.max(m) as f64 * 0.06) as usize);
    let ratio = m as f64 / n as f64;
    let (lo, hi): (Vec<usize>, Vec<usize>) = (0..=n)
        .map(|i| {
            let c = (ratio * i as f64) as usize;
            (c.saturating_sub(win), (c + win).min(m))
        })
        .unzip();
    let mut lo = lo;
    let mut hi = hi;
    lo[0] = 0;
    hi[n] = m;
    let band = Band::from_rows(lo, hi);
    let (points, steps) = best_path(&FirstPass { top }, &band, m).expect("deletions connect");
    points[1..]
        .iter()
        .zip(&steps)
        .filter(|(_, &t)| t == 2)
        .map(|(&p, _)| p)
        .collect()
}

/// Bertalign's second-pass search band around the anchors.
fn second_band(mut anchors: Vec<(usize, usize)>, n: usize, m: usize) -> Band {
    match anchors.last() {
        Some(&(s, t)) if s == n && t == m => {}
        Some(&(s, t)) if s == n || t == m => {
            anchors.pop();
            anchors.push((n, m));
        }
        _ => anchors.push((n, m)),
    }
    let (mut lo, mut hi) = (vec![0; n + 1], vec![m; n + 1]);
    let (mut ps, mut pt) = (0usize, 0usize);
    for (s, t) in anchors {
        for i in ps + 1..=s {
            lo[i] = pt.saturating_sub(WINDOW);
            hi[i] = (t + WINDOW).min(m);
        }
        (ps, pt) = (s, t);
    }
    // Row 0 takes row 1's window, as in bertalign.
    lo[0] = 0;
    hi[0] = hi.get(1).copied().unwrap_or(m);
    Band::from_rows(lo, hi)
}

/// Bertalign's second-pass scorer.
pub struct BertalignScorer<'a> {
    emb: &'a Embeddings,
    src: &'a OverlapIndex,
    tgt: &'a OverlapIndex,
    src_facts: &'a SentenceFacts,
    tgt_facts: &'a SentenceFacts,
    types: Vec<(usize, usize)>,
    /// Source bytes / target bytes over the documents.
    ratio: f32,
}

impl<'a> BertalignScorer<'a> {
    pub fn new(
        emb: &'a Embeddings,
        src: (&'a OverlapIndex, &'a SentenceFacts),
        tgt: (&'a OverlapIndex, &'a SentenceFacts),
    ) -> Self {
        let max_overlap = src.0.max_overlap().min(tgt.0.max_overlap());
        Self {
            emb,
            src: src.0,
            tgt: tgt.0,
            src_facts: src.1,
            tgt_facts: tgt.1,
            types: second_types(max_overlap),
            ratio: src.1.total_bytes() as f32 / tgt.1.total_bytes().max(1) as f32,
        }
    }

    /// The band bertalign's first pass places around its anchors.
    pub fn band(&self) -> Band {
        let (n, m) = (self.src.len(), self.tgt.len());
        second_band(anchors(self.emb, self.src, self.tgt), n, m)
    }

    /// Mean cosine of `v` with the sentences just before `start` and at `end` of `index`
    /// (bertalign sums them when one is missing at a document edge).
    fn neighbours(&self, v: &[f32], index: &OverlapIndex, start: usize, end: usize) -> f32 {
        let left = (start > 0).then(|| dot(v, sentence_row(self.emb, index, start - 1)));
        let right = (end < index.len()).then(|| dot(v, sentence_row(self.emb, index, end)));
        match (left, right) {
            (Some(l), Some(r)) => (l + r) / 2.0,
            (l, r) => l.unwrap_or(0.0) + r.unwrap_or(0.0),
        }
    }

    pub fn cosine(&self, s: usize, a: usize, t: usize, b: usize) -> f32 {
        match (self.src.row(s, a), self.tgt.row(t, b)) {
            (Some(x), Some(y)) => dot(self.emb.row(x), self.emb.row(y)),
            _ => 0.0,
        }
    }
}

impl LinkScorer for BertalignScorer<'_> {
    fn types(&self) -> &[(usize, usize)] {
        &self.types
    }

    fn value(&self, k: usize, i: usize, j: usize) -> f32 {
        let (a, b) = self.types[k];
        if a == 0 || b == 0 {
            return SKIP;
        }
        let (s, t) = (i - a, j - b);
        let (Some(rx), Some(ry)) = (self.src.row(s, a), self.tgt.row(t, b)) else {
            return f32::NEG_INFINITY;
        };
        let (x, y) = (self.emb.row(rx), self.emb.row(ry));
        let margin =
            (self.neighbours(x, self.tgt, t, j) + self.neighbours(y, self.src, s, i)) / 2.0;
        let sim = dot(x, y) - margin;
        let lx = self.src_facts.bytes(s, a);
        let ly = self.tgt_facts.bytes(t, b) * self.ratio;
        let (lo, hi) = (lx.min(ly), lx.max(ly));
        sim * (1.0 + lo / hi.max(1.0)).log2()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_band_follows_the_anchors() {
        // Anchors on the diagonal of a 20 × 20 grid, the last one short of the end.
        let b = second_band(vec![(5, 5), (10, 10), (15, 15)], 20, 20);
        assert_eq!(b.rows(), 21);
        // Rows 1..=5 lie between (0, 0) and the first anchor: 0 − 5 .. 5 + 5.
        assert_eq!(b.window(0), (0, 10));
        assert_eq!(b.window(3), (0, 10));
        // Rows 6..=10: 5 − 5 .. 10 + 5.
        assert_eq!(b.window(8), (0, 15));
        // The end is joined to the last anchor.
        assert_eq!(b.window(20), (10, 20));
        // An anchor on the last row but not the last column is replaced by the end.
        let b = second_band(vec![(5, 5), (20, 12)], 20, 20);
        assert_eq!(b.window(20), (0, 20));
    }
}
