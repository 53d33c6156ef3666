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
pub use translations::Translations;

/// A link's similarity with a translation: `cross · s_x + mono · s_m + chrf · (c − chrf_base)`
/// where `s_x` is the cross-lingual similarity, `s_m` the same for the translated source
/// side against the target side, and `c` their chrF in 0..=1. Chosen on Text+Berg dev
/// (docs/align.md).
#[derive(Clone, Debug, PartialEq)]
pub struct MtWeights {
    pub cross: f32,
    pub mono: f32,
    pub chrf: f32,
    /// chrF of unrelated texts in one language is not 0 (shared letters and short words);
    /// a link gains from chrF only above this.
    pub chrf_base: f32,
}

impl Default for MtWeights {
    fn default() -> Self {
        Self {
            cross: 0.5,
            mono: 0.5,
            chrf: 0.1,
            chrf_base: 0.2,
        }
    }
}

impl MtWeights {
    /// The combined similarity of one link.
    pub fn combine(&self, cross: f32, f: Features) -> f32 {
        self.cross * cross + self.mono * f.mono + self.chrf * (f.chrf - self.chrf_base)
    }
}
