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
    /// chrF profiles by matrix row (empty for rows neither document uses).
    profiles: Vec<Profile>,
    /// `(mono, chrF)` by link, as two f32 in one word; `UNSET` until computed.
    memo: Vec<AtomicU64>,
    max: usize,
}

/// What the translation says about one link.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Features {
    /// Cosine of the translated source side to the target side, minus their mean cosine
    /// to the other document's same-size overlaps.
    pub mono: f32,
    /// chrF of the translated source side against the target side, in 0..=1.
    pub chrf: f32,
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
        for ix in [trans, tgt] {
            for k in 1..=ix.max_overlap() {
                for s in 0..ix.len() {
                    if let Some(r) = ix.row(s, k) {
                        used[r] = true;
                    }
                }
            }
        }
        let profiles = texts
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
        let max = trans.max_overlap().min(tgt.max_overlap());
        Self {
            emb,
            trans,
            tgt,
            mu_trans: hubness(emb, trans, tgt),
            mu_tgt: hubness(emb, tgt, trans),
            profiles,
            memo: Vec::new(),
            max,
        }
    }

    /// Remembers every link's features once computed (up to 16M links). The DP asks for
    /// each link once per alignment, so this only pays when one evidence object serves
    /// several alignments (tuning the weights).
    pub fn memoized(mut self) -> Self {
        let cells = self.trans.len() * self.tgt.len() * self.max * self.max;
        if cells <= MEMO_LIMIT {
            self.memo = (0..cells).map(|_| AtomicU64::new(UNSET)).collect();
        }
        self
    }

    /// Evidence for source sentences `s..s+a` (through their translation) and target
    /// sentences `t..t+b`; `None` when the link is longer than the overlaps indexed.
    pub fn features(&self, s: usize, a: usize, t: usize, b: usize) -> Option<Features> {
        if a == 0 || b == 0 || a > self.max || b > self.max {
            return None;
        }
        let slot = (!self.memo.is_empty())
            .then(|| (((a - 1) * self.max + (b - 1)) * self.trans.len() + s) * self.tgt.len() + t);
        if let Some(i) = slot {
            let v = self.memo[i].load(Ordering::Relaxed);
            if v != UNSET {
                return Some(Features {
                    mono: f32::from_bits((v >> 32) as u32),
                    chrf: f32::from_bits(v as u32),
                });
            }
        }
        let (rx, ry) = (self.trans.row(s, a)?, self.tgt.row(t, b)?);
        let cos = crate::align::dot(self.emb.row(rx), self.emb.row(ry));
        let mu = 0.5
            * (self.mu_trans[(a - 1) * self.trans.len() + s]
                + self.mu_tgt[(b - 1) * self.tgt.len() + t]);
        let f = Features {
            mono: cos - mu,
            chrf: (self.profiles[rx].chrf(&self.profiles[ry]) / 100.0) as f32,
        };
        if let Some(i) = slot {
            let v = ((f.mono.to_bits() as u64) << 32) | f.chrf.to_bits() as u64;
            self.memo[i].store(v, Ordering::Relaxed);
        }
        Some(f)
    }
}
