//! Alignment of a document with its translation: every sentence in exactly one link, links
//! in source order and in target order but for two neighbouring links that swap (the
//! crossing pass) and sentences moved a few places (the moved-block pass), each joining
//! 0..n source to 0..m target sentences.
//!
//! Method (our choices, after vecalign and bertalign):
//! - **Overlap embeddings.** A side of a link is scored by the embedding of its sentences
//!   joined by a space (vecalign's "overlaps"), up to [`AlignParams::max_overlap`] sentences
//!   a side (default 4; vecalign embeds up to 10; 5 gains Text+Berg dev's three
//!   five-sentence links but embeds 1.5× the tokens, docs/align.md), and at most
//!   [`AlignParams::max_size`] on both sides together.
//! - **Similarity, not cost.** A link's similarity is its cosine minus the mean cosine of
//!   each side to every same-size overlap of the other document (vecalign's normaliser for
//!   hubness, computed exactly as one dot product with the mean vector instead of sampled,
//!   so there is no randomness at all). The DP *maximises* the sum over links of
//!   `sim − threshold − γ·|length mismatch| − λ·(a + b − 2)`, and an insertion/deletion is
//!   worth `−deletion` a sentence. The value is per link, not per sentence: the metric counts
//!   links, and weighting by sentences let a strong link swallow a weak neighbour (a 2-2 in
//!   place of a good and a poor 1-1). `threshold` is the price of one more link, so it sets
//!   the balance between splitting and merging; λ is vecalign's size penalty; the length
//!   mismatch is bertalign's length penalty, `|ln(chars_x / chars_y) − ln(ratio of the
//!   documents)|` — on Text+Berg dev it was worth 4 points of strict F1, more than any
//!   other knob (a local margin like bertalign's and per-sentence weighting gave nothing).
//! - **Linear time and memory (coarse-to-fine).** While a side is longer than
//!   [`AlignParams::coarse_size`], it is halved by averaging neighbouring sentence vectors;
//!   the coarsest grid is solved whole with 1-1/1-2/2-1/insert/delete links, and each finer
//!   level (and finally the full link set on overlaps) searches only a band of
//!   [`AlignParams::band`] sentences around the path found one level up. The coarse
//!   passes only place the band: they delete a block only when it is less similar than an
//!   average pair (threshold 0), since averaged blocks are rarely all noise and a wrong
//!   deletion high up pulls the band off the true path. Bertalign's 1-1
//!   anchors fail on repeated text (they pick copies from the wrong place); averaged
//!   blocks are not fooled by a single repeated line.
//! - **Absorb pass.** After the DP, an unaligned sentence joins the neighbouring link when
//!   that barely lowers the link's similarity and the sentence alone resembles the link's
//!   other side ([`Absorb`], [`FineScorer::absorb`]): the length penalty makes the DP leave
//!   out the second sentence of a condensed translation, which the gold merges.
//! - **Crossing pass.** Then a link of two or more sentences a side whose parts match
//!   crosswise becomes the two crossing links when they are worth more
//!   ([`AlignParams::uncross`], [`FineScorer::uncross`]): the DP can only merge a swap.
//! - **Moved-block pass.** Then an unaligned sentence and an unaligned sentence of the
//!   other side near its place become a 1-1 link when that is worth more
//!   ([`AlignParams::moved`], [`FineScorer::pair_moved`]): the DP leaves a moved sentence
//!   out (or merges it into a neighbour: [`Moved::ends`], not the default).
//! - **Per-document link price.** A first pass counts the share of 1-1 links; the final
//!   pass lowers the link price for documents with more of them than dev had (a translation
//!   that keeps sentence boundaries) and raises it for fewer ([`AlignParams::adapt`]).
//! - **Deterministic.** Link values are computed in parallel but each independently, sums
//!   run in a fixed order, and ties go to the earlier link type (1-1 first).

mod band;
pub mod bertalign;
mod documents;
mod dp;
pub mod features;
mod overlaps;
mod scorer;

pub use band::Band;
pub use bertalign::BertalignScorer;
pub use documents::{
    align_cached, align_corpus, align_corpus_cached, align_corpus_translated, align_documents,
    align_translated_documents, plan_corpus, AlignConfig, AlignedCorpus, AlignedPair, Alignment,
    CorpusPlan, CorpusTranslations,
};
pub use dp::{best_path, dot, LinkScorer};
pub use features::{Calibration, SentenceFacts, Weights};
pub use overlaps::{OverlapIndex, OverlapPlan};
pub(crate) use scorer::hubness;
pub use scorer::{link_types, CoarseScorer, FineScorer, Level};

use crate::embed::Embeddings;
use crate::mt::{MtEvidence, MtWeights};
use scorer::Span;
use std::ops::Range;

/// How the final pass values a link.
#[derive(Clone, Debug, PartialEq, Default)]
pub enum Scorer {
    /// Weights over the features of [`features`] chosen on Text+Berg dev; of the knobs
    /// below, only `threshold` applies (as a shift of the link price from its default).
    #[default]
    Tuned,
    /// The hand-set formula of [`AlignParams`]' knobs (`threshold`, `merge_penalty`,
    /// `deletion`, `length_penalty`): cosine and length only.
    Hand,
    /// Any weight vector over [`features::FEATURE_NAMES`].
    Weights(Weights),
    /// Bertalign's own method (its two passes and link score; see [`bertalign`]), for
    /// comparison; ignores every other knob but `max_overlap`.
    Bertalign,
}

impl Scorer {
    /// The scorer `--scorer NAME` (and Python's `scorer=`) picks: `tuned`, `hand` or
    /// `bertalign`.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "tuned" => Some(Scorer::Tuned),
            "hand" => Some(Scorer::Hand),
            "bertalign" => Some(Scorer::Bertalign),
            _ => None,
        }
    }

    /// The name `--scorer` takes (`weights` for a custom vector).
    pub fn name(&self) -> &'static str {
        match self {
            Scorer::Tuned => "tuned",
            Scorer::Hand => "hand",
            Scorer::Weights(_) => "weights",
            Scorer::Bertalign => "bertalign",
        }
    }
}

/// Tunable knobs; the defaults were chosen on Text+Berg's dev document only.
#[derive(Clone, Debug, PartialEq)]
pub struct AlignParams {
    /// The link scorer of the final pass.
    pub scorer: Scorer,
    /// Most sentences in one link, both sides together.
    pub max_size: usize,
    /// Most sentences on one side of a link (the longest overlap embedded).
    pub max_overlap: usize,
    /// Price of one link in similarity units: a 1-1 link beats leaving both sentences
    /// unaligned when its similarity exceeds `threshold − 2·deletion`; higher values merge
    /// more, lower values split more.
    pub threshold: f32,
    /// Penalty per sentence beyond two in a link.
    pub merge_penalty: f32,
    /// Price of leaving one sentence unaligned.
    pub deletion: f32,

    /// Weight of the length-ratio mismatch (γ).
    pub length_penalty: f32,
    /// Sides longer than this are aligned coarse-to-fine.
    pub coarse_size: usize,
    /// Half-width, in sentences, of the band searched around the coarser path.
    pub band: usize,
    /// How a translation of the source, when given, weighs in.
    pub mt: MtWeights,
    /// The pass after the DP that joins unaligned sentences to a neighbouring link
    /// ([`FineScorer::absorb`]); `None` leaves the DP's path as it is.
    pub absorb: Option<Absorb>,
    /// The pass after that which splits a link into two crossing ones
    /// ([`FineScorer::uncross`]), by this margin; `None` (with `moved` `None` too) keeps the
    /// output monotone.
    pub uncross: Option<f32>,
    /// The pass after that which pairs unaligned sentences of a moved block
    /// ([`FineScorer::pair_moved`]); `None` leaves them unaligned.
    pub moved: Option<Moved>,
    /// Per-document link price: a first pass measures the document's share of 1-1 links
    /// and the final pass aligns with `threshold − adapt · (share − ONE_TO_ONE_SHARE)`
    /// (0 = one pass). A translation that keeps sentence boundaries gets a lower price
    /// (more, smaller links), one that joins and splits a higher one.
    pub adapt: f32,
}

/// The first pass's share of 1-1 links on Text+Berg dev, the document the link price was
/// chosen on: there [`AlignParams::adapt`] changes nothing.
pub const ONE_TO_ONE_SHARE: f32 = 0.589;

/// When an unaligned sentence joins a neighbouring link after the DP. Chosen on Text+Berg
/// dev and its synthetic variants (`scripts/synthetic-textberg.py`), keeping the synthetic
/// en-vi/en-id figures (docs/align.md).
#[derive(Clone, Debug, PartialEq)]
pub struct Absorb {
    /// Largest drop in the link's similarity.
    pub tolerance: f32,
    /// Least similarity of the sentence alone to the link's other side (an unrelated
    /// sentence is a real insertion, however little it moves the link).
    pub member: f32,
}

/// When an unaligned source and an unaligned target sentence become a link after the DP
/// ([`FineScorer::pair_moved`]).
#[derive(Clone, Debug, PartialEq)]
pub struct Moved {
    /// Farthest, in sentences, each may be from the other's place on the path.
    pub window: usize,
    /// How much more the link must be worth than what its sentences were in.
    pub margin: f32,
    /// The other sentence may also be the first or last of a link's side of two or more
    /// (not only unaligned). Off by default: it wins on the tuning documents but makes the
    /// links' cost rank right and wrong links worse on Text+Berg test (docs/align.md).
    pub ends: bool,
}

impl Default for Moved {
    fn default() -> Self {
        Self {
            window: 20,
            margin: 0.05,
            ends: false,
        }
    }
}

/// `WINDOW:MARGIN[:ends]`, the CLI's spelling (`20:0.05`).
impl std::str::FromStr for Moved {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("'{s}' is not WINDOW:MARGIN[:ends] (e.g. 20:0.05) or 'off'");
        let parts: Vec<&str> = s.split(':').map(str::trim).collect();
        let (w, m, ends) = match parts[..] {
            [w, m] => (w, m, false),
            [w, m, "ends"] => (w, m, true),
            _ => return Err(bad()),
        };
        let window = w
            .parse::<usize>()
            .map_err(|_| format!("'{w}' is not a window in sentences (a whole number)"))?;
        let margin = match m.parse::<f32>() {
            Ok(v) if v.is_finite() => v,
            Ok(_) => return Err(format!("'{m}' is not a finite number")),
            Err(_) => return Err(format!("'{m}' is not a number")),
        };
        Ok(Self {
            window,
            margin,
            ends,
        })
    }
}

impl std::fmt::Display for Moved {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.window, self.margin)?;
        if self.ends {
            f.write_str(":ends")?;
        }
        Ok(())
    }
}

impl Default for Absorb {
    fn default() -> Self {
        Self {
            tolerance: 0.01,
            member: 0.05,
        }
    }
}

impl Default for AlignParams {
    fn default() -> Self {
        Self {
            scorer: Scorer::default(),
            max_size: 8,
            max_overlap: 4,
            threshold: 0.04,
            merge_penalty: 0.01,
            deletion: 0.03,

            length_penalty: 0.1,
            coarse_size: 512,
            band: 8,
            mt: MtWeights::default(),
            absorb: Some(Absorb::default()),
            uncross: Some(0.0),
            moved: Some(Moved::default()),
            adapt: 0.05,
        }
    }
}

impl AlignParams {
    /// The weights the fine scorer combines link features with.
    pub fn weights(&self) -> Weights {
        match &self.scorer {
            Scorer::Tuned => {
                // `threshold` keeps its meaning (the price of one more link) as an offset
                // from the default.
                let mut w = Weights::tuned();
                w.0[features::f::BIAS] -= self.threshold - Self::default().threshold;
                w
            }
            Scorer::Weights(w) => w.clone(),
            Scorer::Hand | Scorer::Bertalign => Weights::hand(
                self.threshold,
                self.merge_penalty,
                self.deletion,
                self.length_penalty,
            ),
        }
    }
}

/// Bounds of [`AlignParams::validate`]: beyond them the link types no longer fit the
/// DP's byte-sized back-pointers, or the overlaps to embed and the band's memory grow
/// past anything useful (vecalign embeds overlaps of up to 10 sentences).
pub const MAX_OVERLAP: usize = 10;
/// Most sentences in one link, both sides together (see [`MAX_OVERLAP`]).
pub const MAX_LINK_SIZE: usize = 20;
/// Widest band half-width searched around a coarse path.
pub const MAX_BAND: usize = 1000;

/// One link: source and target sentence ranges (either may be empty).
#[derive(Clone, Debug, PartialEq)]
pub struct Link {
    pub src: Range<usize>,
    pub tgt: Range<usize>,
    /// Cosine of the two sides' embeddings (0 for an insertion/deletion).
    pub cosine: f32,
    /// `1 − p`, where `p` is the estimated probability that this link (or this unaligned
    /// sentence) is exactly right, calibrated on Text+Berg dev ([`features::Calibration`]):
    /// lower is better, and dropping links above a cost trades recall for precision.
    pub cost: f32,
}

/// One document: its overlaps' rows in the shared matrix and what the link features need
/// to know about its sentences.
#[derive(Clone, Copy)]
pub struct DocView<'a> {
    pub index: &'a OverlapIndex,
    pub facts: &'a SentenceFacts,
}

/// Aligns two documents whose overlaps are embedded in `emb`.
pub fn align(
    emb: &Embeddings,
    src: DocView<'_>,
    tgt: DocView<'_>,
    p: &AlignParams,
) -> anyhow::Result<Vec<Link>> {
    align_with(emb, src, tgt, None, p)
}

/// As [`align`], with evidence from a translation of the source (weighed by `p.mt`) in
/// the final pass; the coarse passes that place the band use the embeddings alone.
pub fn align_with(
    emb: &Embeddings,
    src: DocView<'_>,
    tgt: DocView<'_>,
    mt: Option<&MtEvidence<'_>>,
    p: &AlignParams,
) -> anyhow::Result<Vec<Link>> {
    let (n, m) = (src.index.len(), tgt.index.len());
    anyhow::ensure!(src.facts.len() == n && tgt.facts.len() == m);
    p.validate()?;
    let mut fine = FineScorer::new(emb, src.index, tgt.index, src.facts, tgt.facts, p).with_mt(mt);
    if n == 0 || m == 0 {
        return Ok((0..n)
            .map(|i| (i..i + 1, m..m))
            .chain((0..m).map(|j| (n..n, j..j + 1)))
            .map(|(s, t)| link(&fine, s, t))
            .collect());
    }
    let spans_of =
        |points: &[(usize, usize)], steps: &[u8], types: &[(usize, usize)]| -> Vec<Span> {
            points
                .iter()
                .zip(steps)
                .map(|(&(i, j), &t)| {
                    let (a, b) = types[t as usize];
                    (i..i + a, j..j + b)
                })
                .collect()
        };
    if p.scorer == Scorer::Bertalign {
        // Its method has no place for a translation's evidence (nor for the passes below).
        anyhow::ensure!(
            mt.is_none(),
            crate::Error::config_value("scorer", "bertalign", "does not use a translation")
        );
        let scorer = BertalignScorer::new(emb, (src.index, src.facts), (tgt.index, tgt.facts));
        let (points, steps) = best_path(&scorer, &scorer.band(), m)
            .ok_or_else(|| anyhow::anyhow!("no alignment path found"))?;
        let spans = spans_of(&points, &steps, scorer.types());
        return Ok(spans.into_iter().map(|(s, t)| link(&fine, s, t)).collect());
    }
    // The coarse path places the band from the embeddings alone, whatever the link price.
    let band = if n.max(m) > p.coarse_size {
        let path = coarse_path(emb, src.index, tgt.index, p);
        Band::around(&path, n, m, p.band)
    } else {
        Band::full(n, m)
    };
    let solve = |fine: &FineScorer| -> anyhow::Result<Vec<Span>> {
        let (points, steps) =
            best_path(fine, &band, m).ok_or_else(|| anyhow::anyhow!("no alignment path found"))?;
        let mut spans = spans_of(&points, &steps, fine.types());
        if let Some(ab) = &p.absorb {
            fine.absorb(&mut spans, ab.tolerance, ab.member);
        }
        if let Some(margin) = p.uncross {
            fine.uncross(&mut spans, margin);
        }
        if let Some(mv) = &p.moved {
            fine.pair_moved(&mut spans, mv.window, mv.margin, mv.ends);
        }
        Ok(spans)
    };
    let mut spans = solve(&fine)?;
    if p.adapt != 0.0 {
        // The per-document price: the same scorer and band, the link price moved.
        let ones = spans
            .iter()
            .filter(|(s, t)| s.len() == 1 && t.len() == 1)
            .count();
        let share = ones as f32 / spans.len() as f32;
        fine.raise_price(-p.adapt * (share - ONE_TO_ONE_SHARE));
        spans = solve(&fine)?;
    }
    Ok(spans.into_iter().map(|(s, t)| link(&fine, s, t)).collect())
}

/// A link with its cosine and cost (1 − calibrated confidence).
fn link(fine: &FineScorer, src: Range<usize>, tgt: Range<usize>) -> Link {
    let (s, a, t, b) = (src.start, src.len(), tgt.start, tgt.len());
    let cosine = if a == 0 || b == 0 {
        0.0
    } else {
        fine.similarity(s, a, t, b).0
    };
    let x = fine.features(s, a, t, b);
    let value = fine.weights().value(&x);
    Link {
        src,
        tgt,
        cosine,
        cost: 1.0 - Calibration::fitted().probability(&x, value),
    }
}

/// Aligns two documents' sentences: plans their overlaps, embeds all of them (both
/// documents, deduplicated) in one call to `embed`, and aligns. `embed` must return one
/// L2-normalised row per text, in order.
pub fn align_sentences<S: AsRef<str>>(
    src: &[S],
    tgt: &[S],
    embed: impl FnOnce(&[String]) -> anyhow::Result<Embeddings>,
    p: &AlignParams,
) -> anyhow::Result<Vec<Link>> {
    align_translated(src, tgt, None, embed, p)
}

/// As [`align_sentences`], with `translation` (one line per source sentence, in the
/// target's language) as evidence: its overlaps are embedded in the same call.
pub fn align_translated<S: AsRef<str>>(
    src: &[S],
    tgt: &[S],
    translation: Option<&[S]>,
    embed: impl FnOnce(&[String]) -> anyhow::Result<Embeddings>,
    p: &AlignParams,
) -> anyhow::Result<Vec<Link>> {
    p.validate()?;
    if let Some(t) = translation {
        anyhow::ensure!(
            t.len() == src.len(),
            "the translation has {} lines for {} source sentences",
            t.len(),
            src.len()
        );
    }
    let mut plan = OverlapPlan::new(src, tgt, p.max_overlap.min(p.max_size - 1));
    let trans = translation.map(|t| plan.add(t, p.mt.max_overlap));
    let emb = if plan.texts.is_empty() {
        Embeddings::default()
    } else {
        embed(&plan.texts)?
    };
    anyhow::ensure!(
        emb.len() == plan.texts.len(),
        "the embedder returned {} rows for {} texts",
        emb.len(),
        plan.texts.len()
    );
    let evidence = trans
        .as_ref()
        .map(|t| MtEvidence::new(&emb, &plan.texts, t, &plan.tgt).with_beta(p.mt.chrf_beta));
    let (sf, tf) = (SentenceFacts::new(src), SentenceFacts::new(tgt));
    align_with(
        &emb,
        DocView {
            index: &plan.src,
            facts: &sf,
        },
        DocView {
            index: &plan.tgt,
            facts: &tf,
        },
        evidence.as_ref(),
        p,
    )
}

/// Sentence vectors of one document (its 1-sentence overlaps), in order, halved when
/// `halve` (so that the full-resolution copy of a long document is never made).
fn first_level(emb: &Embeddings, index: &OverlapIndex, halve: bool) -> Level {
    let rows =
        (0..index.len()).map(|i| emb.row(index.row(i, 1).expect("every sentence is indexed")));
    if halve {
        Level::halved(emb.dim(), rows, index.len())
    } else {
        let mut v = Vec::with_capacity(index.len() * emb.dim());
        rows.for_each(|r| v.extend_from_slice(r));
        Level::new(emb.dim(), v)
    }
}

/// The path on the sentence grid found by the coarse passes, for the final band.
fn coarse_path(
    emb: &Embeddings,
    src: &OverlapIndex,
    tgt: &OverlapIndex,
    p: &AlignParams,
) -> Vec<(usize, usize)> {
    use std::rc::Rc;
    let limit = p.coarse_size.max(2);
    let factor = |len: usize| if len > limit { 2 } else { 1 };
    // Level l > 0 halves the sides still longer than `limit` at level l - 1; `sizes[l]` is
    // the sides' lengths, `factors[l]` how level l maps onto level l - 1.
    let mut sizes = vec![(src.len(), tgt.len())];
    let mut factors = vec![(1, 1)];
    let mut levels: Vec<(Rc<Level>, Rc<Level>)> = Vec::new();
    while sizes.last().is_some_and(|&(n, m)| n.max(m) > limit) {
        let (n, m) = *sizes.last().unwrap();
        let (fx, fy) = (factor(n), factor(m));
        let (x, y) = match levels.last() {
            None => (
                Rc::new(first_level(emb, src, fx == 2)),
                Rc::new(first_level(emb, tgt, fy == 2)),
            ),
            Some((x, y)) => (
                if fx == 2 {
                    Rc::new(x.halve())
                } else {
                    Rc::clone(x)
                },
                if fy == 2 {
                    Rc::new(y.halve())
                } else {
                    Rc::clone(y)
                },
            ),
        };
        sizes.push((x.len(), y.len()));
        factors.push((fx, fy));
        levels.push((x, y));
    }
    let mut path: Option<Vec<(usize, usize)>> = None;
    // Solve from the coarsest level down to level 1; level 0 is the fine pass's job.
    for l in (1..sizes.len()).rev() {
        let (x, y) = &levels[l - 1];
        let band = match &path {
            None => Band::full(x.len(), y.len()),
            Some(pp) => Band::around(pp, x.len(), y.len(), p.band),
        };
        let scorer = CoarseScorer::new(x, y, 0.0);
        let (points, _) = best_path(&scorer, &band, y.len()).expect("deletions always connect");
        // Project onto the next finer level.
        let ((fx, fy), (fnx, fny)) = (factors[l], sizes[l - 1]);
        path = Some(
            points
                .into_iter()
                .map(|(i, j)| ((i * fx).min(fnx), (j * fy).min(fny)))
                .collect(),
        );
    }
    path.unwrap_or_else(|| vec![(0, 0), (src.len(), tgt.len())])
}

#[cfg(test)]
mod tests;
