//! Machine translation as mining evidence: with a translation of each source sentence into
//! the target language, a candidate pair is also compared in one language, by chrF
//! (translation against the target sentence). It enters the calibrated confidence as
//! [`Features::extra_logit`](super::confidence::Features::extra_logit), the confidence's
//! own weights unchanged: [`MT_WEIGHTS`].
//!
//! The monolingual embedding margin (translation against target, as the aligner uses it)
//! was fitted too and got a weight of 0.0003 next to chrF, with no held-out gain: on
//! these pairs it says what the cross-lingual margin already says, so translations are
//! not embedded (docs/mining-threshold.md). Source sentences without a translation (their
//! document has none) get no extra term.

use crate::mt::chrf::Profile;

/// The extra logit of a pair whose source sentence has a translation: intercept and the
/// weight of chrF (0–1, β = 2, translation against the target sentence). Fitted by
/// `scripts/calibrate-confidence.py fit-mt` with the confidence's weights held fixed, on
/// the training documents of the synthetic Text+Berg set
/// (`tests/data/calibration/textberg.jsonl`, de→fr) with the three Bleualign systems'
/// translations of Text+Berg dev pooled; see docs/mining-threshold.md.
pub const MT_WEIGHTS: [f32; 2] = [-1.2824, 8.0288];

/// Scores pairs of one source side (through its translations into the target language)
/// and one target side.
pub struct MtScorer {
    /// Per source row: its translation, `None` when its document has none.
    texts: Vec<Option<String>>,
    t_prof: Vec<Option<Profile>>,
    y_prof: Vec<Profile>,
}

impl MtScorer {
    /// `texts`: per source row, its translation; `tgt`: the target side's sentences.
    pub fn new(texts: Vec<Option<String>>, tgt: &[&str]) -> Self {
        use rayon::prelude::*;
        let t_prof = texts
            .par_iter()
            .map(|t| t.as_deref().map(Profile::new))
            .collect();
        let y_prof = tgt.par_iter().map(|t| Profile::new(t)).collect();
        Self {
            texts,
            t_prof,
            y_prof,
        }
    }

    /// chrF (0–1) of source row `i`'s translation against target row `j`; `None` when row
    /// `i` has no translation.
    pub fn chrf(&self, i: usize, j: usize) -> Option<f32> {
        let t = self.t_prof.get(i)?.as_ref()?;
        Some(t.chrf(&self.y_prof[j]) as f32 / 100.0)
    }

    /// What the translation adds to the pair's confidence logit (0 without one).
    pub fn extra_logit(&self, i: usize, j: usize) -> f32 {
        self.chrf(i, j)
            .map_or(0.0, |c| MT_WEIGHTS[0] + MT_WEIGHTS[1] * c)
    }

    /// The translation of source row `i`, if any.
    pub fn translation(&self, i: usize) -> Option<&str> {
        self.texts.get(i)?.as_deref()
    }

    /// Every source row's translation.
    pub fn into_texts(self) -> Vec<Option<String>> {
        self.texts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_matching_translation_raises_the_logit_and_an_absent_one_adds_nothing() {
        // Source row 0 is translated as target row 1's text; row 1 has no translation.
        let tgt = [
            "il pleut à Paris",
            "le chat dort sur le tapis",
            "un autre texte",
        ];
        let s = MtScorer::new(vec![Some("le chat dort sur le tapis".into()), None], &tgt);
        assert_eq!(s.chrf(0, 1), Some(1.0));
        assert!(s.extra_logit(0, 1) > s.extra_logit(0, 0) + 4.0);
        assert!(s.extra_logit(0, 1) > s.extra_logit(0, 2) + 4.0);
        assert_eq!(s.chrf(1, 1), None);
        assert_eq!(s.extra_logit(1, 1), 0.0);
        assert_eq!(s.translation(0), Some("le chat dort sur le tapis"));
        assert_eq!(s.translation(1), None);
    }
}
