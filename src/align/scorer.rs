//! The two link scorers: [`FineScorer`] on overlap embeddings for the final pass, and
//! [`CoarseScorer`] on averaged sentence vectors for the coarse passes that place the band.

use super::dp::{dot, LinkScorer};
use super::overlaps::OverlapIndex;
use super::AlignParams;
use crate::embed::Embeddings;
use crate::mt::{MtEvidence, MtWeights};

/// One document as the fine scorer sees it.
struct Doc<'a> {
    index: &'a OverlapIndex,
    /// `mu[(k - 1) * n + start]`: mean cosine of that overlap to the other document's
    /// overlaps of the same size (its "hubness"; vecalign's normaliser).
    mu: Vec<f32>,
    /// Prefix sums of sentence lengths in characters.
    chars: Vec<usize>,
}

impl Doc<'_> {
    fn chars(&self, start: usize, k: usize) -> f32 {
        (self.chars[start + k] - self.chars[start] + k.saturating_sub(1)) as f32
    }
}

/// Mean of the overlap vectors of size `k` (falling back to smaller sizes when the
/// document is shorter than `k`), summed in a fixed order.
fn mean_vector(emb: &Embeddings, index: &OverlapIndex, k: usize) -> Vec<f32> {
    let k = k.min(index.len()).max(1);
    let mut sum = vec![0f64; emb.dim()];
    let mut count = 0usize;
    for start in 0..index.len() {
        if let Some(r) = index.row(start, k) {
            for (s, v) in sum.iter_mut().zip(emb.row(r)) {
                *s += *v as f64;
            }
            count += 1;
        }
    }
    sum.iter()
        .map(|s| (s / count.max(1) as f64) as f32)
        .collect()
}

/// `x · mean(Y_k)` equals the mean cosine of `x` to every size-`k` overlap of the other
/// document: vecalign's sampled normaliser, computed exactly in one dot product.
pub(crate) fn hubness(emb: &Embeddings, this: &OverlapIndex, other: &OverlapIndex) -> Vec<f32> {
    let n = this.len();
    let max = this.max_overlap();
    let mut mu = vec![0f32; n * max];
    for k in 1..=max {
        let mean = mean_vector(emb, other, k);
        for start in 0..n {
            if let Some(r) = this.row(start, k) {
                mu[(k - 1) * n + start] = dot(emb.row(r), &mean);
            }
        }
    }
    mu
}

fn prefix(lens: &[usize]) -> Vec<usize> {
    let mut p = Vec::with_capacity(lens.len() + 1);
    p.push(0);
    for l in lens {
        p.push(p.last().unwrap() + l);
    }
    p
}

/// Length smoothing (characters) so that very short sentences do not dominate the ratio.
const LEN_SMOOTH: f32 = 10.0;

/// Scores every link type up to `max_size` sentences from the overlap embeddings.
pub struct FineScorer<'a> {
    emb: &'a Embeddings,
    src: Doc<'a>,
    tgt: Doc<'a>,
    types: Vec<(usize, usize)>,
    threshold: f32,
    merge_penalty: f32,
    deletion: f32,

    length_penalty: f32,
    /// ln(source chars / target chars) over the whole documents.
    log_ratio: f32,
    /// Evidence from a translation of the source, and how it weighs in.
    mt: Option<&'a MtEvidence<'a>>,
    weights: MtWeights,
}

/// Link types: 1-1 first (it wins ties), then insertion/deletion, then merges by size.
pub fn link_types(max_size: usize, max_overlap: usize) -> Vec<(usize, usize)> {
    let mut t = vec![(1, 1), (1, 0), (0, 1)];
    let mut merges = Vec::new();
    for a in 1..=max_overlap {
        for b in 1..=max_overlap {
            if a + b <= max_size && (a, b) != (1, 1) {
                merges.push((a, b));
            }
        }
    }
    merges.sort_by_key(|&(a, b)| (a + b, a.abs_diff(b), a));
    t.extend(merges);
    t
}

impl<'a> FineScorer<'a> {
    pub fn new(
        emb: &'a Embeddings,
        src: &'a OverlapIndex,
        tgt: &'a OverlapIndex,
        src_chars: &[usize],
        tgt_chars: &[usize],
        p: &AlignParams,
    ) -> Self {
        let max_overlap = src.max_overlap().min(tgt.max_overlap()).min(p.max_overlap);
        let (sc, tc) = (prefix(src_chars), prefix(tgt_chars));
        let log_ratio = ((*sc.last().unwrap() as f32 + LEN_SMOOTH)
            / (*tc.last().unwrap() as f32 + LEN_SMOOTH))
            .ln();
        Self {
            emb,
            src: Doc {
                index: src,
                mu: hubness(emb, src, tgt),
                chars: sc,
            },
            tgt: Doc {
                index: tgt,
                mu: hubness(emb, tgt, src),
                chars: tc,
            },
            types: link_types(p.max_size, max_overlap),
            threshold: p.threshold,
            merge_penalty: p.merge_penalty,
            deletion: p.deletion,

            length_penalty: p.length_penalty,
            log_ratio,
            mt: None,
            weights: p.mt.clone(),
        }
    }

    /// Adds a translation's evidence to every link's similarity.
    pub fn with_mt(mut self, mt: Option<&'a MtEvidence<'a>>) -> Self {
        self.mt = mt;
        self
    }

    /// Raw cosine and hubness-corrected similarity of source `s..s+a` and target `t..t+b`
    /// (combined with the translation's evidence when there is one).
    pub fn similarity(&self, s: usize, a: usize, t: usize, b: usize) -> (f32, f32) {
        let (rx, ry) = match (self.src.index.row(s, a), self.tgt.index.row(t, b)) {
            (Some(x), Some(y)) => (x, y),
            _ => return (0.0, f32::NEG_INFINITY),
        };
        let cos = dot(self.emb.row(rx), self.emb.row(ry));
        let mu = 0.5
            * (self.src.mu[(a - 1) * self.src.index.len() + s]
                + self.tgt.mu[(b - 1) * self.tgt.index.len() + t]);
        let sim = cos - mu;
        match self.mt.and_then(|e| e.features(s, a, t, b)) {
            Some(f) => (cos, self.weights.combine(sim, f)),
            None => (cos, sim),
        }
    }

    /// Deviation of the link's length ratio from the documents' ratio (bertalign's idea).
    fn length_mismatch(&self, s: usize, a: usize, t: usize, b: usize) -> f32 {
        let lx = self.src.chars(s, a) + LEN_SMOOTH;
        let ly = self.tgt.chars(t, b) + LEN_SMOOTH;
        ((lx / ly).ln() - self.log_ratio).abs()
    }

    /// Per-sentence value of a link given its similarity.
    pub fn link_value(&self, s: usize, a: usize, t: usize, b: usize) -> f32 {
        let (_, sim) = self.similarity(s, a, t, b);
        let lp = if self.length_penalty > 0.0 {
            self.length_penalty * self.length_mismatch(s, a, t, b)
        } else {
            0.0
        };
        let size = (a + b) as f32;
        sim - self.threshold - lp - self.merge_penalty * (size - 2.0)
    }

    pub fn threshold(&self) -> f32 {
        self.threshold
    }
}

impl LinkScorer for FineScorer<'_> {
    fn types(&self) -> &[(usize, usize)] {
        &self.types
    }

    fn value(&self, t: usize, i: usize, j: usize) -> f32 {
        let (a, b) = self.types[t];
        if a == 0 || b == 0 {
            return -self.deletion;
        }
        self.link_value(i - a, a, j - b, b)
    }
}

/// Unit vectors of one side at one resolution.
pub struct Level {
    dim: usize,
    vecs: Vec<f32>,
    /// `adj[i]`: cosine of elements `i` and `i + 1` (for 2-element merges).
    adj: Vec<f32>,
}

fn normalise(v: &mut [f32]) {
    let n = dot(v, v).sqrt();
    if n > 0.0 {
        v.iter_mut().for_each(|x| *x /= n);
    }
}

impl Level {
    pub fn new(dim: usize, vecs: Vec<f32>) -> Self {
        let len = vecs.len() / dim;
        let adj = (0..len.saturating_sub(1))
            .map(|i| {
                dot(
                    &vecs[i * dim..(i + 1) * dim],
                    &vecs[(i + 1) * dim..(i + 2) * dim],
                )
            })
            .collect();
        Self { dim, vecs, adj }
    }

    pub fn len(&self) -> usize {
        self.vecs.len() / self.dim
    }

    pub fn is_empty(&self) -> bool {
        self.vecs.is_empty()
    }

    fn row(&self, i: usize) -> &[f32] {
        &self.vecs[i * self.dim..(i + 1) * self.dim]
    }

    /// Neighbouring pairs averaged (the last element alone when the length is odd).
    pub fn halve(&self) -> Self {
        Self::halved(self.dim, (0..self.len()).map(|i| self.row(i)), self.len())
    }

    /// `len` rows, neighbouring pairs averaged and normalised.
    pub fn halved<'r>(dim: usize, mut rows: impl Iterator<Item = &'r [f32]>, len: usize) -> Self {
        let mut out = Vec::with_capacity(len.div_ceil(2) * dim);
        while let Some(first) = rows.next() {
            let start = out.len();
            out.extend_from_slice(first);
            if let Some(second) = rows.next() {
                for (o, v) in out[start..].iter_mut().zip(second) {
                    *o += v;
                }
            }
            normalise(&mut out[start..]);
        }
        Self::new(dim, out)
    }

    fn mean(&self) -> Vec<f32> {
        let mut sum = vec![0f64; self.dim];
        for i in 0..self.len() {
            for (s, v) in sum.iter_mut().zip(self.row(i)) {
                *s += *v as f64;
            }
        }
        sum.iter()
            .map(|s| (s / self.len().max(1) as f64) as f32)
            .collect()
    }
}

/// 1-1, 1-0, 0-1, 1-2 and 2-1 links between averaged vectors: enough to place the band.
pub struct CoarseScorer<'a> {
    x: &'a Level,
    y: &'a Level,
    /// Mean cosine between the two sides (the same normaliser as the fine scorer's).
    base: f32,
    threshold: f32,
}

const COARSE_TYPES: [(usize, usize); 5] = [(1, 1), (1, 0), (0, 1), (1, 2), (2, 1)];

impl<'a> CoarseScorer<'a> {
    pub fn new(x: &'a Level, y: &'a Level, threshold: f32) -> Self {
        let base = dot(&x.mean(), &y.mean());
        Self {
            x,
            y,
            base,
            threshold,
        }
    }
}

impl LinkScorer for CoarseScorer<'_> {
    fn types(&self) -> &[(usize, usize)] {
        &COARSE_TYPES
    }

    fn value(&self, t: usize, i: usize, j: usize) -> f32 {
        let (a, b) = COARSE_TYPES[t];
        let cos = match (a, b) {
            (1, 1) => dot(self.x.row(i - 1), self.y.row(j - 1)),
            (2, 1) => {
                let y = self.y.row(j - 1);
                (dot(self.x.row(i - 2), y) + dot(self.x.row(i - 1), y))
                    / (2.0 + 2.0 * self.x.adj[i - 2]).sqrt()
            }
            (1, 2) => {
                let x = self.x.row(i - 1);
                (dot(x, self.y.row(j - 2)) + dot(x, self.y.row(j - 1)))
                    / (2.0 + 2.0 * self.y.adj[j - 2]).sqrt()
            }
            _ => return 0.0,
        };
        (a + b) as f32 * (cos - self.base - self.threshold)
    }
}
