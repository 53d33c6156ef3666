//! The two link scorers: [`FineScorer`] on overlap embeddings for the final pass, and
//! [`CoarseScorer`] on averaged sentence vectors for the coarse passes that place the band.

use super::dp::{dot, LinkScorer};
use super::features::{deletion_features, f, text_features, Features, SentenceFacts, Weights, NF};
use super::overlaps::OverlapIndex;
use super::AlignParams;
use crate::embed::Embeddings;
use crate::mt::{MtEvidence, MtWeights};
use std::ops::Range;

/// A link as its source and target sentence ranges.
pub type Span = (Range<usize>, Range<usize>);

/// One document as the fine scorer sees it.
struct Doc<'a> {
    index: &'a OverlapIndex,
    /// `mu[(k - 1) * n + start]`: mean cosine of that overlap to the other document's
    /// overlaps of the same size (its "hubness"; vecalign's normaliser).
    mu: Vec<f32>,
    /// `means[k - 1]`: mean of the other document's size-`k` overlap vectors (the
    /// normaliser of this side's summed view, [`FineScorer::sum_similarity`]).
    means: Vec<Vec<f32>>,
    facts: &'a SentenceFacts,
}

impl<'a> Doc<'a> {
    fn new(
        emb: &Embeddings,
        index: &'a OverlapIndex,
        other: &OverlapIndex,
        facts: &'a SentenceFacts,
    ) -> Self {
        let means = mean_vectors(emb, index, other);
        Doc {
            index,
            mu: hubness_of(emb, index, &means),
            means,
            facts,
        }
    }

    fn mu(&self, start: usize, k: usize) -> f32 {
        self.mu[(k - 1) * self.index.len() + start]
    }
}

/// Mean of the overlap vectors of size `k` (falling back to the largest size there is when
/// the document is shorter than `k` or has no overlaps that long: a translation's), summed
/// in a fixed order.
pub(super) fn mean_vector(emb: &Embeddings, index: &OverlapIndex, k: usize) -> Vec<f32> {
    let k = k.min(index.len()).min(index.max_overlap()).max(1);
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
    hubness_of(emb, this, &mean_vectors(emb, this, other))
}

/// `means[k - 1]`: the mean of `other`'s size-`k` overlap vectors, for every size `this` has.
fn mean_vectors(emb: &Embeddings, this: &OverlapIndex, other: &OverlapIndex) -> Vec<Vec<f32>> {
    (1..=this.max_overlap())
        .map(|k| mean_vector(emb, other, k))
        .collect()
}

/// [`hubness`] from the other document's mean vectors ([`mean_vectors`]).
fn hubness_of(emb: &Embeddings, this: &OverlapIndex, means: &[Vec<f32>]) -> Vec<f32> {
    let n = this.len();
    let max = this.max_overlap();
    let mut mu = vec![0f32; n * max];
    for (k, mean) in (1..=max).zip(means) {
        for start in 0..n {
            if let Some(r) = this.row(start, k) {
                mu[(k - 1) * n + start] = dot(emb.row(r), mean);
            }
        }
    }
    mu
}

/// Length smoothing (characters) so that very short sentences do not dominate the ratio.
const LEN_SMOOTH: f32 = 10.0;

/// Scores every link type up to `max_size` sentences from the overlap embeddings and the
/// sentences' text, as `weights · features` (see [`super::features`]).
pub struct FineScorer<'a> {
    emb: &'a Embeddings,
    src: Doc<'a>,
    tgt: Doc<'a>,
    types: Vec<(usize, usize)>,
    weights: Weights,
    /// ln(source chars / target chars) over the whole documents.
    log_ratio: f32,
    /// Source bytes / target bytes over the whole documents (bertalign's length ratio).
    byte_ratio: f32,
    /// Evidence from a translation of the source, and how it weighs in.
    mt: Option<&'a MtEvidence<'a>>,
    mt_weights: MtWeights,
    /// Trust in the translation (0..=1, [`MtWeights::trust`] of its quality).
    mt_trust: f32,
    /// Fill in the features that the weights leave at 0 as well (for learning weights);
    /// otherwise LOCAL, MARGIN and SUM_SIM, which cost as much as the rest together, are
    /// computed only when weighed.
    all_features: bool,
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
        src_facts: &'a SentenceFacts,
        tgt_facts: &'a SentenceFacts,
        p: &AlignParams,
    ) -> Self {
        let max_overlap = src.max_overlap().min(tgt.max_overlap()).min(p.max_overlap);
        let log_ratio = ((src_facts.total_chars() as f32 + LEN_SMOOTH)
            / (tgt_facts.total_chars() as f32 + LEN_SMOOTH))
            .ln();
        Self {
            emb,
            src: Doc::new(emb, src, tgt, src_facts),
            tgt: Doc::new(emb, tgt, src, tgt_facts),
            types: link_types(p.max_size, max_overlap),
            weights: p.weights(),
            log_ratio,
            byte_ratio: src_facts.total_bytes() as f32 / tgt_facts.total_bytes().max(1) as f32,
            mt: None,
            mt_weights: p.mt.clone(),
            mt_trust: 0.0,
            all_features: false,
        }
    }

    /// Makes every link cost `delta` more (the link price, `threshold`, moved by `delta`).
    pub fn raise_price(&mut self, delta: f32) {
        self.weights.0[super::features::f::BIAS] -= delta;
    }

    /// Computes every feature, weighed or not (see [`Self::features`]).
    pub fn with_all_features(mut self) -> Self {
        self.all_features = true;
        self
    }

    fn wants(&self, k: usize) -> bool {
        self.all_features || self.weights.0[k] != 0.0
    }

    /// Adds a translation's evidence to every link's similarity.
    pub fn with_mt(mut self, mt: Option<&'a MtEvidence<'a>>) -> Self {
        self.mt = mt;
        self.mt_trust = mt.map_or(0.0, |e| self.mt_weights.trust(e.quality()));
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
        let mu = 0.5 * (self.src.mu(s, a) + self.tgt.mu(t, b));
        let sim = cos - mu;
        // No translation, or one not trusted at all: the embeddings alone.
        if self.mt.is_none() || (self.mt_trust == 0.0 && self.mt_weights.cross == 1.0) {
            return (cos, sim);
        }
        let with_chrf = sim >= self.mt_weights.prune;
        match self.mt.and_then(|e| e.features(s, a, t, b, with_chrf)) {
            Some(f) => (cos, self.mt_weights.combine(sim, f, self.mt_trust)),
            None => (cos, sim),
        }
    }

    /// Lowest similarity of a member sentence of a merged side to the whole other side.
    fn member_similarity(&self, s: usize, a: usize, t: usize, b: usize) -> f32 {
        let mut low = f32::INFINITY;
        let mut side =
            |this: &Doc, start: usize, k: usize, other: &Doc, ostart: usize, ok: usize| {
                if k < 2 {
                    return;
                }
                let Some(ro) = other.index.row(ostart, ok) else {
                    return;
                };
                let (vo, mo) = (self.emb.row(ro), other.mu(ostart, ok));
                for i in start..start + k {
                    if let Some(r) = this.index.row(i, 1) {
                        let sim = dot(self.emb.row(r), vo) - 0.5 * (this.mu(i, 1) + mo);
                        low = low.min(sim);
                    }
                }
            };
        side(&self.src, s, a, &self.tgt, t, b);
        side(&self.tgt, t, b, &self.src, s, a);
        low
    }

    /// The normalised sum of the sentence vectors of `start..start + k` of `this` and its
    /// hubness (mean cosine to the other document's size-`k` overlaps).
    fn summed(&self, this: &Doc, start: usize, k: usize) -> Option<(Vec<f32>, f32)> {
        let mut v = self.emb.row(this.index.row(start, 1)?).to_vec();
        for i in start + 1..start + k {
            for (s, x) in v.iter_mut().zip(self.emb.row(this.index.row(i, 1)?)) {
                *s += x;
            }
        }
        let norm = dot(&v, &v).sqrt();
        if norm > 0.0 {
            v.iter_mut().for_each(|x| *x /= norm);
        }
        let mu = dot(&v, &this.means[(k - 1).min(this.means.len() - 1)]);
        Some((v, mu))
    }

    /// Hubness-corrected similarity of the link's summed view ([`f::SUM_SIM`]); `sim` (the
    /// concatenation's) for 1-1, where the two views are the same vector.
    fn sum_similarity(&self, s: usize, a: usize, t: usize, b: usize, sim: f32) -> f32 {
        if a == 1 && b == 1 {
            return sim;
        }
        match (self.summed(&self.src, s, a), self.summed(&self.tgt, t, b)) {
            (Some((x, mx)), Some((y, my))) => dot(&x, &y) - 0.5 * (mx + my),
            _ => sim,
        }
    }

    /// Bertalign's link score (its local margin and length factor), and the margin alone.
    fn local_score(&self, s: usize, a: usize, t: usize, b: usize) -> (f32, f32) {
        let (Some(rx), Some(ry)) = (self.src.index.row(s, a), self.tgt.index.row(t, b)) else {
            return (0.0, 0.0);
        };
        let (x, y) = (self.emb.row(rx), self.emb.row(ry));
        let around = |v: &[f32], other: &Doc, start: usize, end: usize| {
            let row = |j: usize| other.index.row(j, 1).map(|r| dot(v, self.emb.row(r)));
            let left = start.checked_sub(1).and_then(row);
            let right = (end < other.index.len()).then(|| row(end)).flatten();
            match (left, right) {
                (Some(l), Some(r)) => (l + r) / 2.0,
                (l, r) => l.unwrap_or(0.0) + r.unwrap_or(0.0),
            }
        };
        let margin = (around(x, &self.tgt, t, t + b) + around(y, &self.src, s, s + a)) / 2.0;
        let lx = self.src.facts.bytes(s, a);
        let ly = self.tgt.facts.bytes(t, b) * self.byte_ratio;
        let (lo, hi) = (lx.min(ly), lx.max(ly));
        let m = dot(x, y) - margin;
        (m * (1.0 + lo / hi.max(1.0)).log2(), m)
    }

    /// Best similarity of sentence `i` of `this`, left unaligned where the path passes
    /// `at` on `other`, to the sentences `at − 1` and `at` of `other` (0 at the edges of an
    /// empty document).
    fn near_similarity(&self, this: &Doc, i: usize, other: &Doc, at: usize) -> f32 {
        let Some(r) = this.index.row(i, 1) else {
            return 0.0;
        };
        let v = self.emb.row(r);
        let best = (at.saturating_sub(1)..(at + 1).min(other.index.len()))
            .filter_map(|j| {
                let ro = other.index.row(j, 1)?;
                Some(dot(v, self.emb.row(ro)) - 0.5 * (this.mu(i, 1) + other.mu(j, 1)))
            })
            .fold(f32::NEG_INFINITY, f32::max);
        if best.is_finite() {
            best
        } else {
            0.0
        }
    }

    /// The feature vector of the link `s..s+a` × `t..t+b` (either side may be empty: an
    /// unaligned sentence). LOCAL, MARGIN and SUM_SIM stay 0 unless weighed or
    /// [`Self::with_all_features`].
    pub fn features(&self, s: usize, a: usize, t: usize, b: usize) -> Features {
        let mut v = [0f32; NF];
        match (a, b) {
            (0, 0) => {}
            (_, 0) => {
                deletion_features(self.src.facts, s, &mut v);
                v[f::DEL_NEAR] = self.near_similarity(&self.src, s, &self.tgt, t);
            }
            (0, _) => {
                deletion_features(self.tgt.facts, t, &mut v);
                v[f::DEL_NEAR] = self.near_similarity(&self.tgt, t, &self.src, s);
            }
            _ => {
                let (_, sim) = self.similarity(s, a, t, b);
                v[f::SIM] = sim;
                if a > 1 || b > 1 {
                    v[f::MEMBER] = self.member_similarity(s, a, t, b) - sim;
                }
                if self.wants(f::LOCAL) || self.wants(f::MARGIN) {
                    (v[f::LOCAL], v[f::MARGIN]) = self.local_score(s, a, t, b);
                }
                if self.wants(f::SUM_SIM) {
                    v[f::SUM_SIM] = self.sum_similarity(s, a, t, b, sim);
                }
                text_features(
                    (self.src.facts, s, a),
                    (self.tgt.facts, t, b),
                    self.log_ratio,
                    &mut v,
                );
            }
        }
        v
    }

    /// Value of a link (higher is better): the weighted sum of its features.
    pub fn link_value(&self, s: usize, a: usize, t: usize, b: usize) -> f32 {
        if a > 0
            && b > 0
            && (self.src.index.row(s, a).is_none() || self.tgt.index.row(t, b).is_none())
        {
            return f32::NEG_INFINITY;
        }
        self.weights.value(&self.features(s, a, t, b))
    }

    /// Second pass over a path: each unaligned sentence (not junk) joins the neighbouring
    /// link on its side when that link's similarity drops by at most `tolerance` (the
    /// smaller drop of the link before and the link after wins). The DP leaves such a
    /// sentence out when merging it worsens the link's length match, but a translation
    /// that condenses two sentences into one is more common than a sentence with no
    /// counterpart; real insertions (captions, notes, OCR debris) lower the similarity of
    /// whatever link they join.
    pub fn absorb(&self, links: &mut Vec<Span>, tolerance: f32, member: f32) {
        let mut gone = vec![false; links.len()];
        for k in 0..links.len() {
            let Some((src_side, x)) = self.lone(&links[k]) else {
                continue;
            };
            let side = |l: &Span| {
                if src_side {
                    l.0.clone()
                } else {
                    l.1.clone()
                }
            };
            let linked = |l: &Span| !l.0.is_empty() && !l.1.is_empty();
            let before = (0..k)
                .rev()
                .find(|&q| !gone[q] && linked(&links[q]))
                .filter(|&q| side(&links[q]).end == x);
            let after = (k + 1..links.len())
                .find(|&q| !gone[q] && linked(&links[q]))
                .filter(|&q| side(&links[q]).start == x + 1);
            let mut best: Option<(f32, usize, Span)> = None;
            for q in before.into_iter().chain(after) {
                let (s, t) = links[q].clone();
                let grown = match (src_side, q < k) {
                    (true, true) => (s.start..x + 1, t.clone()),
                    (true, false) => (x..s.end, t.clone()),
                    (false, true) => (s.clone(), t.start..x + 1),
                    (false, false) => (s.clone(), x..t.end),
                };
                if !self.types.contains(&(grown.0.len(), grown.1.len())) {
                    continue;
                }
                let old = self.similarity(s.start, s.len(), t.start, t.len()).1;
                let new = self
                    .similarity(grown.0.start, grown.0.len(), grown.1.start, grown.1.len())
                    .1;
                let drop = old - new;
                // The sentence itself must match the link's other side.
                let alone = if src_side {
                    self.similarity(x, 1, t.start, t.len()).1
                } else {
                    self.similarity(s.start, s.len(), x, 1).1
                };
                if drop <= tolerance && alone >= member && best.as_ref().is_none_or(|b| drop < b.0)
                {
                    best = Some((drop, q, grown));
                }
            }
            if let Some((_, q, grown)) = best {
                links[q] = grown;
                gone[k] = true;
            }
        }
        let mut keep = gone.iter().map(|g| !g);
        links.retain(|_| keep.next().unwrap());
    }

    /// Pass after the DP (and [`Self::absorb`]): a link with at least two sentences a side
    /// whose sentences match crosswise — its first part on one side with its last part on
    /// the other, and the rest with the rest — becomes those two crossing links when they
    /// are worth more than the link by `margin`. A monotone DP cannot express a swap of
    /// two sentences (the gold's `[455]:[541]`, `[456]:[540]`), so it merges them.
    pub fn uncross(&self, links: &mut Vec<Span>, margin: f32) {
        let mut out = Vec::with_capacity(links.len());
        for (s, t) in links.drain(..) {
            let (a, b) = (s.len(), t.len());
            let mut best: Option<(f32, usize, usize)> = None;
            if a >= 2 && b >= 2 {
                let whole = self.link_value(s.start, a, t.start, b);
                for p in 1..a {
                    for q in 1..b {
                        let crossed = self.link_value(s.start, p, t.start + q, b - q)
                            + self.link_value(s.start + p, a - p, t.start, q);
                        if crossed > whole + margin && best.is_none_or(|x| crossed > x.0) {
                            best = Some((crossed, p, q));
                        }
                    }
                }
            }
            match best {
                Some((_, p, q)) => {
                    out.push((s.start..s.start + p, t.start + q..t.end));
                    out.push((s.start + p..s.end, t.start..t.start + q));
                }
                None => out.push((s, t)),
            }
        }
        *links = out;
    }

    /// `(on the source side, sentence)` of an unaligned sentence that is not junk: the
    /// passes after the DP leave junk (OCR debris, one or two characters) unaligned.
    fn lone(&self, (s, t): &Span) -> Option<(bool, usize)> {
        let (src, x) = match (s.len(), t.len()) {
            (1, 0) => (true, s.start),
            (0, 1) => (false, t.start),
            _ => return None,
        };
        let facts = if src { self.src.facts } else { self.tgt.facts };
        (!facts.is_junk(x)).then_some((src, x))
    }

    /// Pass after [`Self::uncross`]: an unaligned sentence and a sentence of the other
    /// side at most `window` sentences from each other's place on the path become a 1-1
    /// link when it is worth more, by the DP's own link values, than what they were in by
    /// `margin` (best gain first, each link changed once). The other sentence is unaligned
    /// too, or (with `ends`) the first or last sentence of a side of two or more, which
    /// then leaves that link. A block moved a few links away (test1's `[17]:[10]`,
    /// `[18]:[11]`) is out of a monotone DP's reach: it leaves both ends unaligned, or
    /// merges one end into a neighbouring link. The new link takes the source sentence's
    /// place, so the output stays in source order.
    pub fn pair_moved(&self, links: &mut Vec<Span>, window: usize, margin: f32, ends: bool) {
        // What a sentence is in: alone, or at one end of a link's side of two or more.
        #[derive(Clone, Copy, PartialEq)]
        enum In {
            Alone,
            First,
            Last,
        }
        // (link, sentence, its place on the other side, what it is in), for one side.
        let items = |src: bool| -> Vec<(usize, usize, usize, In)> {
            let mut out = Vec::new();
            for (k, l) in links.iter().enumerate() {
                let (this, other) = if src { (&l.0, &l.1) } else { (&l.1, &l.0) };
                if self.lone(l).is_some_and(|(on_src, _)| on_src == src) {
                    out.push((k, this.start, other.start, In::Alone));
                } else if ends && this.len() >= 2 && !other.is_empty() {
                    out.push((k, this.start, other.start, In::First));
                    out.push((k, this.end - 1, other.end, In::Last));
                }
            }
            out.sort_by_key(|&(_, x, _, _)| x);
            out
        };
        let (sources, targets) = (items(true), items(false));
        let value = |s: &Range<usize>, t: &Range<usize>| {
            self.link_value(s.start, s.len(), t.start, t.len())
        };
        // Value of the link `k` without its sentence `x` on one side, minus its value.
        let loss = |k: usize, x: usize, on_src: bool| {
            let (s, t) = &links[k];
            if s.is_empty() || t.is_empty() {
                return -value(s, t); // alone: the unaligned sentence's value goes
            }
            let (s2, t2) = if on_src {
                (shrink(s, x), t.clone())
            } else {
                (s.clone(), shrink(t, x))
            };
            value(&s2, &t2) - value(s, t)
        };
        let mut gains = Vec::new();
        for &(ks, x, at_t, is) in &sources {
            // Only the targets within the window are seen: O(n·window) after the sort.
            let from = targets.partition_point(|&(_, y, _, _)| y.saturating_add(window) < at_t);
            let near = targets[from..]
                .iter()
                .take_while(|t| t.1 <= at_t.saturating_add(window));
            for &(kt, y, at_s, it) in near {
                if x.abs_diff(at_s) > window || (is != In::Alone && it != In::Alone) {
                    continue;
                }
                let gain = value(&(x..x + 1), &(y..y + 1)) + loss(ks, x, true) + loss(kt, y, false);
                if gain > margin {
                    gains.push((gain, ks, kt, x, y, is));
                }
            }
        }
        gains.sort_by(|a, b| b.0.total_cmp(&a.0).then((a.1, a.2).cmp(&(b.1, b.2))));
        let mut out: Vec<Vec<Span>> = links.iter().map(|l| vec![l.clone()]).collect();
        let mut used = vec![false; links.len()];
        for (_, ks, kt, x, y, is) in gains {
            if used[ks] || used[kt] {
                continue;
            }
            used[ks] = true;
            used[kt] = true;
            let pair = (x..x + 1, y..y + 1);
            let (s, t) = links[kt].clone();
            out[kt] = if t.len() == 1 {
                vec![] // the target was alone
            } else {
                vec![(s, shrink(&t, y))]
            };
            let (s, t) = links[ks].clone();
            out[ks] = match is {
                In::Alone => vec![pair],
                In::First => vec![pair, (shrink(&s, x), t)],
                In::Last => vec![(shrink(&s, x), t), pair],
            };
        }
        *links = out.into_iter().flatten().collect();
    }

    /// Trust in the translation's evidence (0 without one).
    pub fn mt_trust(&self) -> f32 {
        self.mt_trust
    }

    pub fn weights(&self) -> &Weights {
        &self.weights
    }
}

impl LinkScorer for FineScorer<'_> {
    fn types(&self) -> &[(usize, usize)] {
        &self.types
    }

    fn value(&self, t: usize, i: usize, j: usize) -> f32 {
        let (a, b) = self.types[t];
        self.link_value(i - a, a, j - b, b)
    }
}

/// `r` without `x`, one of its ends.
fn shrink(r: &Range<usize>, x: usize) -> Range<usize> {
    debug_assert!(x == r.start || x + 1 == r.end, "{x} is not an end of {r:?}");
    if x == r.start {
        r.start + 1..r.end
    } else {
        r.start..r.end - 1
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
