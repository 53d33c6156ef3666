//! Monolingual evidence for a candidate link from a translation of the source document:
//! the source side's translation (the translated sentences joined, like any overlap) is
//! compared with the target side in the target language, by the embedding model (cosine
//! minus the same hubness normaliser as the cross-lingual score) and by chrF.
//!
//! The aligner's fine scorer asks [`MtEvidence::features`] for each link it considers
//! and weighs the answer with the cross-lingual similarity (see `AlignParams::mt`).

use super::chrf::Profile;
use crate::align::{hubness, OverlapIndex};
use crate::embed::Embeddings;
use rayon::prelude::*;
use std::sync::atomic::{AtomicU64, Ordering};

/// Memo tables larger than this many links are not kept.
const MEMO_LIMIT: usize = 1 << 24;
const UNSET: u64 = u64::MAX;

/// Evidence for one (translated source, target) document pair.
pub struct MtEvidence<'a> {
    emb: &'a Embeddings,
    /// Translated source overlaps, indexed like the source's (same sentence positions).
    trans: &'a OverlapIndex,
    tgt: &'a OverlapIndex,
    /// Hubness of each translated overlap towards the target's, and the reverse.
    mu_trans: Vec<f32>,
    mu_tgt: Vec<f32>,
    /// chrF profiles of the target's overlaps by matrix row (empty for other rows).
    profiles: Vec<Profile>,
    /// chrF profiles of the translated overlaps, `[(a - 1) * n + s]`, up to the target's
    /// longest side: chrF needs no embedding, so every link size gets it.
    trans_profiles: Vec<Profile>,
    /// `(mono, chrF)` by link, as two f32 in one word; `UNSET` until computed.
    memo: Vec<AtomicU64>,
    /// Longest translated side and longest target side with evidence (chrF; the mono
    /// term only up to the translated overlaps embedded).
    max_a: usize,
    max_b: usize,
    quality: f32,
    /// chrF's β for the links (the quality estimate keeps sacrebleu's 2).
    beta: f64,
}

/// Half-width, in sentences, of the window around the diagonal that [`MtEvidence::quality`]
/// searches for each translated sentence's best match.
const QUALITY_WINDOW: usize = 4;

/// Lead (hubness-corrected cosine) of a source sentence's best target sentence over the
/// runner-up for [`MtEvidence::agreement`] to count it as sure.
const AGREEMENT_LEAD: f32 = 0.05;

/// What the translation says about one link.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Features {
    /// Cosine of the translated source side to the target side, minus their mean cosine
    /// to the other document's same-size overlaps; `None` for a side longer than the
    /// translated overlaps embedded ([`MtWeights::max_overlap`]).
    ///
    /// [`MtWeights::max_overlap`]: super::MtWeights::max_overlap
    pub mono: Option<f32>,
    /// chrF of the translated source side against the target side, in 0..=1; `None` when
    /// not computed (the link's cross-lingual similarity is below [`MtWeights::prune`]).
    ///
    /// [`MtWeights::prune`]: super::MtWeights::prune
    pub chrf: Option<f32>,
}

impl<'a> MtEvidence<'a> {
    /// `texts[r]` is the text of matrix row `r` (the overlap plan's texts).
    pub fn new(
        emb: &'a Embeddings,
        texts: &[String],
        trans: &'a OverlapIndex,
        tgt: &'a OverlapIndex,
    ) -> Self {
        let mut used = vec![false; texts.len()];
        for k in 1..=tgt.max_overlap() {
            for s in 0..tgt.len() {
                if let Some(r) = tgt.row(s, k) {
                    used[r] = true;
                }
            }
        }
        let profiles: Vec<Profile> = texts
            .par_iter()
            .zip(&used)
            .map(|(t, &u)| {
                if u {
                    Profile::new(t)
                } else {
                    Profile::default()
                }
            })
            .collect();
        let n = trans.len();
        let sentence = |i: usize| trans.row(i, 1).map_or("", |r| texts[r].as_str());
        let trans_profiles: Vec<Profile> = (0..tgt.max_overlap() * n)
            .into_par_iter()
            .map(|x| {
                let (a, s) = (x / n + 1, x % n);
                if s + a > n {
                    return Profile::default();
                }
                let joined: Vec<&str> = (s..s + a).map(sentence).collect();
                Profile::new(&joined.join(" "))
            })
            .collect();
        let quality = quality(&profiles, &trans_profiles[..n], tgt);
        Self {
            emb,
            trans,
            tgt,
            mu_trans: hubness(emb, trans, tgt),
            mu_tgt: hubness(emb, tgt, trans),
            profiles,
            trans_profiles,
            memo: Vec::new(),
            max_a: tgt.max_overlap(),
            max_b: tgt.max_overlap(),
            quality,
            beta: super::chrf::BETA,
        }
    }

    /// Scores links by chrF with this β ([`MtWeights::chrf_beta`](super::MtWeights)).
    pub fn with_beta(mut self, beta: f32) -> Self {
        self.beta = beta as f64;
        self
    }

    /// How good the translation looks, without gold: the mean, over translated sentences,
    /// of the best chrF (0..=100) against the target sentences within a few sentences of
    /// the diagonal. On Text+Berg dev: google 34.8, europarlfull 29.5, europarllight 24.4;
    /// unrelated sentences score about 13.
    pub fn quality(&self) -> f32 {
        self.quality
    }

    /// How often the translation agrees with the embeddings where the embeddings are sure,
    /// without gold: over the source sentences whose best target sentence near the
    /// diagonal (cross-lingual cosine minus hubness) leads the runner-up by at least
    /// [`AGREEMENT_LEAD`], the share whose translation also has its best chrF with that
    /// target sentence (0..=1; 0 when no sentence qualifies). A translation that is fluent
    /// but wrong or misaligned scores high on [`Self::quality`] and low here.
    pub fn agreement(&self, src: &OverlapIndex) -> f32 {
        let (n, m) = (src.len().min(self.trans.len()), self.tgt.len());
        if n == 0 || m == 0 {
            return 0.0;
        }
        let mu = hubness(self.emb, self.tgt, src);
        let votes: Vec<Option<bool>> = (0..n)
            .into_par_iter()
            .map(|i| {
                let rx = src.row(i, 1)?;
                let centre = (i * m + m / 2) / n;
                let lo = centre.saturating_sub(QUALITY_WINDOW);
                let hi = (centre + QUALITY_WINDOW + 1).min(m);
                let mut cross: Vec<(f32, usize)> = (lo..hi)
                    .filter_map(|j| {
                        let ry = self.tgt.row(j, 1)?;
                        Some((
                            crate::align::dot(self.emb.row(rx), self.emb.row(ry)) - mu[j],
                            j,
                        ))
                    })
                    .collect();
                cross.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
                if cross.len() < 2 || cross[0].0 - cross[1].0 < AGREEMENT_LEAD {
                    return None;
                }
                let best_chrf = (lo..hi)
                    .filter_map(|j| {
                        Some((
                            self.trans_profiles[i].chrf(&self.profiles[self.tgt.row(j, 1)?]),
                            j,
                        ))
                    })
                    .fold((f64::NEG_INFINITY, 0), |b, x| if x.0 > b.0 { x } else { b });
                Some(best_chrf.1 == cross[0].1)
            })
            .collect();
        let sure = votes.iter().flatten().count();
        let agree = votes.iter().flatten().filter(|&&v| v).count();
        if sure == 0 {
            0.0
        } else {
            agree as f32 / sure as f32
        }
    }

    /// Remembers every link's features once computed (up to 16M links). The DP asks for
    /// each link once per alignment, so this only pays when one evidence object serves
    /// several alignments (tuning the weights).
    pub fn memoized(mut self) -> Self {
        let cells = self.trans.len() * self.tgt.len() * self.max_a * self.max_b;
        if cells <= MEMO_LIMIT {
            self.memo = (0..cells).map(|_| AtomicU64::new(UNSET)).collect();
        }
        self
    }

    /// Evidence for source sentences `s..s+a` (through their translation) and target
    /// sentences `t..t+b`, chrF only `with_chrf`; `None` when the link is longer than the
    /// overlaps indexed. The caller decides `with_chrf` from the link alone, so a memoized
    /// answer never misses a chrF that was asked for.
    pub fn features(
        &self,
        s: usize,
        a: usize,
        t: usize,
        b: usize,
        with_chrf: bool,
    ) -> Option<Features> {
        if a == 0 || b == 0 || a > self.max_a || b > self.max_b || s + a > self.trans.len() {
            return None;
        }
        let slot = (!self.memo.is_empty()).then(|| {
            (((a - 1) * self.max_b + (b - 1)) * self.trans.len() + s) * self.tgt.len() + t
        });
        if let Some(i) = slot {
            let v = self.memo[i].load(Ordering::Relaxed);
            if v != UNSET {
                let (m, c) = (f32::from_bits((v >> 32) as u32), f32::from_bits(v as u32));
                return Some(Features {
                    mono: (!m.is_nan()).then_some(m),
                    chrf: (!c.is_nan()).then_some(c),
                });
            }
        }
        let ry = self.tgt.row(t, b)?;
        let mono = self.trans.row(s, a).map(|rx| {
            let cos = crate::align::dot(self.emb.row(rx), self.emb.row(ry));
            cos - 0.5
                * (self.mu_trans[(a - 1) * self.trans.len() + s]
                    + self.mu_tgt[(b - 1) * self.tgt.len() + t])
        });
        let chrf = with_chrf.then(|| {
            let hyp = &self.trans_profiles[(a - 1) * self.trans.len() + s];
            (hyp.chrf_beta(&self.profiles[ry], self.beta) / 100.0) as f32
        });
        if let Some(i) = slot {
            let (m, c) = (mono.unwrap_or(f32::NAN), chrf.unwrap_or(f32::NAN));
            let v = ((m.to_bits() as u64) << 32) | c.to_bits() as u64;
            self.memo[i].store(v, Ordering::Relaxed);
        }
        Some(Features { mono, chrf })
    }
}

/// See [`MtEvidence::quality`].
/// `trans[i]`: the profile of translated sentence `i`.
fn quality(profiles: &[Profile], trans: &[Profile], tgt: &OverlapIndex) -> f32 {
    let (n, m) = (trans.len(), tgt.len());
    if n == 0 || m == 0 {
        return 0.0;
    }
    let best: Vec<f64> = (0..n)
        .into_par_iter()
        .map(|i| {
            let centre = (i * m + m / 2) / n;
            let lo = centre.saturating_sub(QUALITY_WINDOW);
            let hi = (centre + QUALITY_WINDOW + 1).min(m);
            (lo..hi)
                .filter_map(|j| tgt.row(j, 1))
                .map(|ry| trans[i].chrf(&profiles[ry]))
                .fold(0.0, f64::max)
        })
        .collect();
    (best.iter().sum::<f64>() / n as f64) as f32
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Source, target and translation of `n` sentences, sentence `i` of each the unit
    /// vector `i` (so the embeddings are sure of every 1-1 link), the translation's text
    /// `trans(i)`.
    fn agreement_of(n: usize, trans: impl Fn(usize) -> usize) -> f32 {
        const WORDS: [&str; 10] = [
            "mountain", "glacier", "rope", "summit", "weather", "valley", "storm", "hut", "ridge",
            "snow",
        ];
        let text = |i: usize| format!("the {} above the {}", WORDS[i], WORDS[(i * 3 + 1) % n]);
        let rows: Vec<Vec<f32>> = (0..3 * n)
            .map(|r| (0..n).map(|k| (k == r % n) as u8 as f32).collect())
            .collect();
        let emb = Embeddings::from_rows(n, &rows).unwrap();
        let (src, tgt, tr) = (
            OverlapIndex::stacked(n, 1, 0),
            OverlapIndex::stacked(n, 1, n),
            OverlapIndex::stacked(n, 1, 2 * n),
        );
        let texts: Vec<String> = (0..3 * n)
            .map(|r| match r / n {
                0 => String::new(),
                1 => text(r % n),
                _ => text(trans(r % n)),
            })
            .collect();
        MtEvidence::new(&emb, &texts, &tr, &tgt).agreement(&src)
    }

    #[test]
    fn agreement_tells_a_faithful_translation_from_a_shifted_one() {
        assert_eq!(agreement_of(10, |i| i), 1.0);
        assert!(agreement_of(10, |i| (i + 1) % 10) < 0.2);
    }
}
