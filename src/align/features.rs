//! The evidence a link is scored on, as a feature vector per candidate link, and the
//! weights that combine it into the link's value (the DP maximises the sum of values).
//!
//! Every candidate link — `a` source and `b` target sentences, or one unaligned sentence —
//! gets a vector of [`NF`] features; its value is the dot product with [`Weights`]. The
//! hand-set scorer is one weight vector ([`Weights::hand`]); the default ([`Weights::tuned`])
//! adds the number features, each weight chosen on Text+Berg dev. `examples/align_npy.rs
//! --learn` fits all weights at once (coordinate ascent on strict F1, or an averaged
//! structured perceptron), cross-validated on dev; on dev so far both lose to the hand-set
//! weights under cross-validation (docs/align.md), so they are a tool, not the default.
//!
//! **Adding evidence** (e.g. machine translation of the source into the target language,
//! scored against the target side): append a feature index below, fill it in
//! `FineScorer::features` (src/align/scorer.rs) from whatever the new evidence is (an extra
//! similarity per overlap pair, held next to the embeddings), list its name in
//! [`FEATURE_NAMES`], and choose its weight on dev (`align_npy --feature NAME --values …`,
//! or `--learn`); a feature left at 0 with weight 0 changes nothing, so the old weights
//! stay valid until re-tuned.

/// Index of each feature in the vector.
pub mod f {
    /// 1 for every link with both sides (the price of a link: `−threshold`).
    pub const BIAS: usize = 0;
    /// Cosine of the two sides' overlap embeddings minus their hubness (vecalign's).
    pub const SIM: usize = 1;
    /// Lowest similarity of one member sentence of a merged side to the whole other side,
    /// minus SIM (0 for 1-1): a 2-1 link should explain both of its source sentences.
    pub const MEMBER: usize = 2;
    /// `|ln(chars ratio of the link) − ln(chars ratio of the documents)|` (bertalign's).
    pub const LEN: usize = 3;
    /// Gale-Church's length statistic |δ| (capped at 6).
    pub const GALE_CHURCH: usize = 4;
    /// Sentences beyond two in the link.
    pub const SIZE: usize = 5;
    /// 1 for 1-2 and 2-1 links.
    pub const T12: usize = 6;
    /// 1 for 2-2 links.
    pub const T22: usize = 7;
    /// 1 when one side holds three or more sentences.
    pub const TBIG: usize = 8;
    /// Numbers found on both sides (multiset intersection, capped at 4).
    pub const NUM_MATCH: usize = 9;
    /// Numbers on one side only (capped at 4).
    pub const NUM_MISS: usize = 10;
    /// Capitalised words (≥ 3 letters, e.g. names) written identically on both sides (capped at 4).
    pub const NAME_MATCH: usize = 11;
    /// Differences in counts of `? ! : ; ( "` between the sides (capped at 4).
    pub const PUNCT: usize = 12;
    /// Junk sentences (fewer than 3 letters and digits: OCR debris) inside the link.
    pub const JUNK: usize = 13;
    /// 1 for an unaligned sentence (the price of a deletion: `−deletion`).
    pub const DEL: usize = 14;
    /// 1 for an unaligned junk sentence.
    pub const DEL_JUNK: usize = 15;
    /// `ln(1 + chars)` of an unaligned sentence.
    pub const DEL_LEN: usize = 16;
    /// How well an unaligned sentence matches the other side right where the path passes
    /// (the better of the two sentences around that point, hubness-corrected similarity):
    /// a real insertion (caption, advert, OCR debris) matches nothing there, while a
    /// sentence whose content the neighbouring link's translation holds does.
    pub const DEL_NEAR: usize = 17;
    /// Bertalign's link score: cosine minus the mean cosine of each side with the other
    /// side's neighbouring sentences (a local margin), times `log2(1 + min/max)` of the
    /// sides' byte lengths (see [`super::bertalign`]).
    pub const LOCAL: usize = 18;
    /// A second embedding view of the link: the cosine of the normalised sums of each
    /// side's member sentence vectors, minus their hubness (each normalised sum's mean
    /// cosine to the other document's overlaps of the same size). Equal to SIM for 1-1. The
    /// concatenation's embedding can be dominated by one long member; the sum weighs every
    /// member sentence's own match.
    pub const SUM_SIM: usize = 19;
    /// The concatenation's cosine minus bertalign's local margin (the mean cosine of each
    /// side with the sentences just before and after the other side), with no length
    /// factor: a local normaliser beside vecalign's global one (SIM).
    pub const MARGIN: usize = 20;
}

/// Features per candidate link.
pub const NF: usize = 21;

/// Names of the features, in index order (for the learning output and docs).
pub const FEATURE_NAMES: [&str; NF] = [
    "bias",
    "sim",
    "member",
    "len",
    "gale_church",
    "size",
    "t12",
    "t22",
    "tbig",
    "num_match",
    "num_miss",
    "name_match",
    "punct",
    "junk",
    "del",
    "del_junk",
    "del_len",
    "del_near",
    "local",
    "sum_sim",
    "margin",
];

/// A link's features.
pub type Features = [f32; NF];

/// Weights combining [`Features`] into a link value.
#[derive(Clone, Debug, PartialEq)]
pub struct Weights(pub Features);

impl Weights {
    /// The hand-set scorer: `sim − threshold − γ·len − λ·(size)`, `−deletion` a sentence.
    pub fn hand(threshold: f32, merge_penalty: f32, deletion: f32, length_penalty: f32) -> Self {
        let mut w = [0f32; NF];
        w[f::BIAS] = -threshold;
        w[f::SIM] = 1.0;
        w[f::LEN] = -length_penalty;
        w[f::SIZE] = -merge_penalty;
        w[f::DEL] = -deletion;
        Self(w)
    }

    /// The default weights, chosen on Text+Berg dev (see [`TUNED`]).
    pub fn tuned() -> Self {
        Self(TUNED)
    }

    pub fn value(&self, x: &Features) -> f32 {
        self.0.iter().zip(x).map(|(w, v)| w * v).sum()
    }
}

/// The hand-set weights plus the two number features, each weight chosen by a 1-D search
/// on Text+Berg dev (docs/align.md, "Ablation"); the learned combinations lost under
/// cross-validation on dev, so they are not the default.
const TUNED: Features = [
    -0.04,
    1.0,
    0.0,
    -0.1,
    0.0,
    -0.01,
    0.0,
    0.0,
    0.0,
    NUM_MATCH_W,
    NUM_MISS_W,
    0.0,
    0.0,
    0.0,
    -0.03,
    0.0,
    0.0,
    0.0,
    0.0,
    0.0,
    0.0,
];
const NUM_MATCH_W: f32 = 0.02;
const NUM_MISS_W: f32 = -0.02;

/// Inputs of the link confidence: what the DP knew about the link.
pub const NC: usize = 8;

/// Names of the confidence inputs, in order.
pub const CONFIDENCE_NAMES: [&str; NC] = [
    "bias", "value", "sim", "member", "len", "deletion", "merge", "junk",
];

/// The confidence inputs of a link with features `x` and value `value`.
pub fn confidence_inputs(x: &Features, value: f32) -> [f32; NC] {
    let deletion = x[f::DEL];
    [
        1.0,
        value,
        x[f::SIM],
        x[f::MEMBER],
        x[f::LEN],
        deletion,
        (x[f::SIZE] > 0.0) as u8 as f32,
        x[f::JUNK] + x[f::DEL_JUNK],
    ]
}

/// A calibrated link confidence: the probability that a link output by the aligner is
/// exactly a gold link (strict), from a logistic regression over [`confidence_inputs`]
/// fitted on the aligner's output on Text+Berg dev (`examples/align_npy.rs --learn`).
#[derive(Clone, Debug, PartialEq)]
pub struct Calibration(pub [f32; NC]);

impl Calibration {
    pub fn fitted() -> Self {
        Self(CALIBRATION)
    }

    pub fn probability(&self, x: &Features, value: f32) -> f32 {
        self.probability_of(&confidence_inputs(x, value))
    }

    /// The probability from the inputs themselves.
    pub fn probability_of(&self, inputs: &[f32; NC]) -> f32 {
        let z: f32 = self.0.iter().zip(inputs).map(|(w, v)| w * v).sum();
        1.0 / (1.0 + (-z).exp())
    }
}

/// Output of `examples/align_npy.rs --calibrate 1 --docs dev` (default weights).
const CALIBRATION: [f32; NC] = [
    3.6321, 6.3192, -6.4565, 5.2836, -3.6336, -1.4387, -0.9076, -1.2425,
];

/// Punctuation classes compared across a link.
const PUNCT_CLASSES: usize = 6;

fn punct_class(c: char) -> Option<usize> {
    Some(match c {
        '?' | '¿' => 0,
        '!' | '¡' => 1,
        ':' => 2,
        ';' => 3,
        '(' | '[' => 4,
        '"' | '«' | '»' | '“' | '”' | '„' => 5,
        _ => return None,
    })
}

fn hash(s: &str) -> u64 {
    // FNV-1a: stable across runs and platforms.
    let mut h = 0xcbf2_9ce4_8422_2325u64;
    for b in s.bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// What the features need to know about each sentence of one document.
#[derive(Clone, Debug, Default)]
pub struct SentenceFacts {
    /// Prefix sums of lengths in characters and in UTF-8 bytes.
    chars: Vec<usize>,
    bytes: Vec<usize>,
    /// Numbers (runs of digits) and capitalised words, hashed and sorted, per sentence.
    numbers: Vec<Vec<u64>>,
    names: Vec<Vec<u64>>,
    punct: Vec<[u8; PUNCT_CLASSES]>,
    junk: Vec<bool>,
}

impl SentenceFacts {
    pub fn new<S: AsRef<str>>(sents: &[S]) -> Self {
        let mut x = Self {
            chars: vec![0],
            bytes: vec![0],
            ..Self::default()
        };
        for s in sents {
            let s = s.as_ref();
            x.chars.push(x.chars.last().unwrap() + s.chars().count());
            x.bytes.push(x.bytes.last().unwrap() + s.len());
            let mut nums: Vec<u64> = s
                .split(|c: char| !c.is_ascii_digit())
                .filter(|t| !t.is_empty())
                .map(hash)
                .collect();
            nums.sort_unstable();
            let mut names: Vec<u64> = s
                .split(|c: char| !c.is_alphabetic())
                .filter(|t| {
                    t.chars().count() >= 3 && t.chars().next().is_some_and(char::is_uppercase)
                })
                .map(hash)
                .collect();
            names.sort_unstable();
            names.dedup();
            let mut p = [0u8; PUNCT_CLASSES];
            for c in s.chars() {
                if let Some(k) = punct_class(c) {
                    p[k] = p[k].saturating_add(1);
                }
            }
            x.numbers.push(nums);
            x.names.push(names);
            x.punct.push(p);
            x.junk
                .push(s.chars().filter(|c| c.is_alphanumeric()).count() < 3);
        }
        x
    }

    /// Facts from lengths alone (no text at hand): numbers, names, punctuation and junk
    /// are all empty, so only the embedding and length features speak.
    pub fn from_lengths(chars: &[usize]) -> Self {
        let n = chars.len();
        let mut x = Self {
            chars: vec![0],
            bytes: vec![0],
            numbers: vec![Vec::new(); n],
            names: vec![Vec::new(); n],
            punct: vec![[0; PUNCT_CLASSES]; n],
            junk: vec![false; n],
        };
        for &c in chars {
            x.chars.push(x.chars.last().unwrap() + c);
            x.bytes.push(x.bytes.last().unwrap() + c);
        }
        x
    }

    pub fn len(&self) -> usize {
        self.chars.len() - 1
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Characters of sentences `start..start + k` joined by spaces.
    pub fn chars(&self, start: usize, k: usize) -> f32 {
        (self.chars[start + k] - self.chars[start] + k.saturating_sub(1)) as f32
    }

    /// UTF-8 bytes of sentences `start..start + k` joined by spaces.
    pub fn bytes(&self, start: usize, k: usize) -> f32 {
        (self.bytes[start + k] - self.bytes[start] + k.saturating_sub(1)) as f32
    }

    pub fn total_chars(&self) -> usize {
        *self.chars.last().unwrap()
    }

    pub fn total_bytes(&self) -> usize {
        *self.bytes.last().unwrap()
    }

    pub fn is_junk(&self, i: usize) -> bool {
        self.junk[i]
    }

    fn junk_in(&self, start: usize, k: usize) -> usize {
        self.junk[start..start + k].iter().filter(|&&j| j).count()
    }
}

/// Sorted multiset intersection size of the merged lists of two runs of sentences, and the
/// number of elements left over on either side.
fn match_counts(x: &[Vec<u64>], y: &[Vec<u64>]) -> (usize, usize) {
    let nx: usize = x.iter().map(Vec::len).sum();
    let ny: usize = y.iter().map(Vec::len).sum();
    if nx == 0 || ny == 0 {
        return (0, nx + ny);
    }
    let merge = |v: &[Vec<u64>]| {
        let mut m: Vec<u64> = v.iter().flatten().copied().collect();
        m.sort_unstable();
        m
    };
    let (mx, my) = (merge(x), merge(y));
    let (mut i, mut j, mut both) = (0, 0, 0);
    while i < mx.len() && j < my.len() {
        match mx[i].cmp(&my[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                both += 1;
                i += 1;
                j += 1;
            }
        }
    }
    (both, nx + ny - 2 * both)
}

/// Gale-Church's variance of the target length per source character.
const GC_VARIANCE: f32 = 6.8;

/// The text-only features of the link `x[s..s+a]` × `y[t..t+b]` (everything but SIM and
/// MEMBER, which need the embeddings), given ln(source chars / target chars) of the documents.
pub fn text_features(
    (x, s, a): (&SentenceFacts, usize, usize),
    (y, t, b): (&SentenceFacts, usize, usize),
    log_ratio: f32,
    out: &mut Features,
) {
    const SMOOTH: f32 = 10.0;
    let (lx, ly) = (x.chars(s, a), y.chars(t, b));
    out[f::BIAS] = 1.0;
    out[f::LEN] = (((lx + SMOOTH) / (ly + SMOOTH)).ln() - log_ratio).abs();
    let ly_scaled = ly * log_ratio.exp();
    let delta = (lx - ly_scaled) / (GC_VARIANCE * 0.5 * (lx + ly_scaled) + 1.0).sqrt();
    out[f::GALE_CHURCH] = delta.abs().min(6.0);
    out[f::SIZE] = (a + b) as f32 - 2.0;
    out[f::T12] = ((a, b) == (1, 2) || (a, b) == (2, 1)) as u8 as f32;
    out[f::T22] = ((a, b) == (2, 2)) as u8 as f32;
    out[f::TBIG] = (a.max(b) >= 3) as u8 as f32;
    let (nm, nmiss) = match_counts(&x.numbers[s..s + a], &y.numbers[t..t + b]);
    out[f::NUM_MATCH] = nm.min(4) as f32;
    out[f::NUM_MISS] = nmiss.min(4) as f32;
    let (names, _) = match_counts(&x.names[s..s + a], &y.names[t..t + b]);
    out[f::NAME_MATCH] = names.min(4) as f32;
    let mut diff = 0i32;
    for k in 0..PUNCT_CLASSES {
        let cx: i32 = x.punct[s..s + a].iter().map(|p| p[k] as i32).sum();
        let cy: i32 = y.punct[t..t + b].iter().map(|p| p[k] as i32).sum();
        diff += (cx - cy).abs();
    }
    out[f::PUNCT] = diff.min(4) as f32;
    out[f::JUNK] = (x.junk_in(s, a) + y.junk_in(t, b)) as f32;
}

/// Features of sentence `i` of `x` left unaligned.
pub fn deletion_features(x: &SentenceFacts, i: usize, out: &mut Features) {
    out[f::DEL] = 1.0;
    out[f::DEL_JUNK] = x.junk[i] as u8 as f32;
    out[f::DEL_LEN] = (1.0 + x.chars(i, 1)).ln();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_names_and_punctuation_are_compared() {
        let x = SentenceFacts::new(&["Am 3. Mai 1921 stieg Hans auf den Eiger?", "V"]);
        let y = SentenceFacts::new(&["Le 3 mai 1921, Hans monta sur l'Eiger ?", "1922"]);
        let mut v = [0f32; NF];
        text_features((&x, 0, 1), (&y, 0, 1), 0.0, &mut v);
        assert_eq!(v[f::NUM_MATCH], 2.0);
        assert_eq!(v[f::NUM_MISS], 0.0);
        // "Hans" and "Eiger" (German nouns like "Mai" are capitalised but differ).
        assert_eq!(v[f::NAME_MATCH], 2.0);
        assert_eq!(v[f::PUNCT], 0.0);
        assert_eq!(v[f::JUNK], 0.0);
        let mut v = [0f32; NF];
        text_features((&x, 0, 2), (&y, 0, 2), 0.0, &mut v);
        assert_eq!((v[f::NUM_MATCH], v[f::NUM_MISS]), (2.0, 1.0));
        assert_eq!(v[f::JUNK], 1.0);
        assert_eq!(v[f::T22], 1.0);
        assert!(x.is_junk(1) && !y.is_junk(1));
        let mut d = [0f32; NF];
        deletion_features(&x, 1, &mut d);
        assert_eq!((d[f::DEL], d[f::DEL_JUNK]), (1.0, 1.0));
    }

    #[test]
    fn hand_weights_are_the_old_formula() {
        let w = Weights::hand(0.04, 0.01, 0.03, 0.1);
        let mut v = [0f32; NF];
        v[f::BIAS] = 1.0;
        v[f::SIM] = 0.5;
        v[f::LEN] = 0.2;
        v[f::SIZE] = 1.0;
        assert!((w.value(&v) - (0.5 - 0.04 - 0.02 - 0.01)).abs() < 1e-6);
    }
}
