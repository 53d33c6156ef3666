//! Machine translation as alignment evidence: a translation of the source document into
//! the target language lets a link be compared in one language (chrF, and the embedding
//! model on two texts in the same language), next to the cross-lingual embedding cosine.
//!
//! - [`chrf`]: the string score (sacrebleu's chrF, checked against its numbers).
//! - [`MtEvidence`]: per-link monolingual features, asked for by the aligner's scorer.
//! - [`MtWeights`]: how the features combine with the cross-lingual similarity.
//! - [`Translations`]: a translation file, validated against the source document.

pub mod chrf;
mod evidence;
mod translations;

pub use evidence::{Features, MtEvidence};
pub use translations::{check_one_direction, translate_sources, Translations};

/// How a translation's evidence enters a link's similarity:
///
/// `sim = w_x · cross + clamp(r · (mono · (s_m − cross) + chrf · (c − chrf_base)), ±cap)`
/// for a link with `cross ≥ gate`, and `w_x · cross` below it:
///
/// where `cross` is the cross-lingual similarity, `s_m` the same for the translated source
/// side against the target side, `c` their chrF in 0..=1, and `r` in 0..=1 the trust in
/// this translation, estimated without gold from how well its sentences match the target
/// near the diagonal ([`MtEvidence::quality`]): `r = (q − trust_from) / (trust_to −
/// trust_from)`, clamped. A weak system gets less say, and `r = 0` is the embeddings alone.
/// A link whose chrF was not computed (pruned) gets none from it, and one whose translated
/// side is longer than the overlaps embedded ([`MtWeights::max_overlap`]) no mono term.
/// Chosen on Text+Berg dev with the three systems (docs/align.md). The gate and the cap
/// make the translation a re-ranker among links the embeddings find plausible (cross ≥
/// 0.1) and close (within 0.01): without them it overturned clear embedding decisions and
/// cost up to 3.5 points on a test document with a good translation.
///
/// [`MtEvidence::quality`]: evidence::MtEvidence::quality
#[derive(Clone, Debug, PartialEq)]
pub struct MtWeights {
    /// `w_x`: 1, except for a translation-only baseline (0: Bleualign-style, no embeddings).
    pub cross: f32,
    /// Share of the monolingual embedding similarity (0: cross-lingual only; 1: mono only).
    pub mono: f32,
    pub chrf: f32,
    /// chrF of unrelated texts in one language is not 0 (shared letters and short words);
    /// a link gains from chrF only above this.
    pub chrf_base: f32,
    /// chrF is computed only for links whose cross-lingual similarity reaches this (the
    /// others never win; chrF of every candidate link is most of the cost).
    pub prune: f32,
    /// Longest translated side with evidence (its overlaps are embedded): links with a
    /// longer source side are scored by the embeddings alone. Links that long are rare, and
    /// each size is one more embedding pass over the translation.
    pub max_overlap: usize,
    /// Translation quality (mean best chrF near the diagonal, 0..=100) at which the trust
    /// starts to rise above 0, and where it reaches 1.
    pub trust_from: f32,
    pub trust_to: f32,
    /// chrF's β for links (sacrebleu's 2 favours a larger translated side; 1 is symmetric).
    pub chrf_beta: f32,
    /// The translation only re-scores links whose embedding similarity reaches this (the
    /// links the embeddings find plausible); the others keep the embeddings' score.
    pub gate: f32,
    /// Largest change the translation may make to a link's similarity, either way: it
    /// re-ranks links the embeddings score within about this of each other, and cannot
    /// overturn a clear embedding decision.
    pub cap: f32,
}

impl Default for MtWeights {
    fn default() -> Self {
        Self {
            cross: 1.0,
            mono: 0.75,
            chrf: 0.05,
            chrf_base: 0.2,
            prune: -0.05,
            max_overlap: 2,
            trust_from: 21.0,
            trust_to: 24.0,
            chrf_beta: 2.0,
            gate: 0.1,
            cap: 0.01,
        }
    }
}

impl MtWeights {
    /// Trust in a translation of quality `q` ([`MtEvidence::quality`]), in 0..=1.
    pub fn trust(&self, q: f32) -> f32 {
        if self.trust_to <= self.trust_from {
            return if q >= self.trust_to { 1.0 } else { 0.0 };
        }
        ((q - self.trust_from) / (self.trust_to - self.trust_from)).clamp(0.0, 1.0)
    }

    /// The combined similarity of one link, at trust `r`.
    pub fn combine(&self, cross: f32, f: Features, r: f32) -> f32 {
        let chrf = f.chrf.map_or(0.0, |c| c - self.chrf_base);
        let mono = f.mono.map_or(0.0, |m| m - cross);
        if cross < self.gate {
            return self.cross * cross;
        }
        let delta = (r * (self.mono * mono + self.chrf * chrf)).clamp(-self.cap, self.cap);
        self.cross * cross + delta
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trust_rises_between_the_two_qualities() {
        let w = MtWeights::default();
        assert_eq!(w.trust(w.trust_from - 1.0), 0.0);
        assert_eq!(w.trust(w.trust_to + 1.0), 1.0);
        let mid = w.trust(0.5 * (w.trust_from + w.trust_to));
        assert!((mid - 0.5).abs() < 1e-6, "{mid}");
    }

    #[test]
    fn an_untrusted_or_silent_translation_leaves_the_similarity_alone() {
        let w = MtWeights::default();
        let f = Features {
            mono: Some(0.3),
            chrf: Some(0.6),
        };
        assert_eq!(w.combine(0.1, f, 0.0), 0.1);
        let none = Features {
            mono: None,
            chrf: None,
        };
        assert_eq!(w.combine(0.1, none, 1.0), 0.1);
        // Trusted: the mono share and chrF above its base move the similarity up.
        let open = MtWeights {
            gate: f32::NEG_INFINITY,
            cap: f32::INFINITY,
            ..w.clone()
        };
        let full = open.combine(0.1, f, 1.0);
        let want = 0.1 + w.mono * (0.3 - 0.1) + w.chrf * (0.6 - w.chrf_base);
        assert!((full - want).abs() < 1e-6, "{full} {want}");
    }

    #[test]
    fn the_translation_only_reranks_plausible_links_by_a_bounded_amount() {
        let w = MtWeights::default();
        let f = Features {
            mono: Some(0.9),
            chrf: Some(0.9),
        };
        // Below the gate: the embeddings alone.
        assert_eq!(w.combine(w.gate - 0.01, f, 1.0), w.gate - 0.01);
        // Above it: moved by at most the cap, either way.
        assert!((w.combine(0.2, f, 1.0) - (0.2 + w.cap)).abs() < 1e-6);
        let against = Features {
            mono: Some(-0.5),
            chrf: Some(0.0),
        };
        assert!((w.combine(0.2, against, 1.0) - (0.2 - w.cap)).abs() < 1e-6);
    }
}
