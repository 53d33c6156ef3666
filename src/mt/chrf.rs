//! chrF (Popović 2015) as sacrebleu 2.x computes it by default: character n-grams of
//! orders 1..=6 with all whitespace removed, β = 2, and sacrebleu's "effective order"
//! averaging of precision and recall over the orders both sides have. No maintained Rust
//! crate implements it, so this one is checked against sacrebleu's own numbers
//! (`tests/data/chrf/`, made by `scripts/chrf_reference.py`).
//!
//! [`Profile`] holds a text's n-gram counts once, so that scoring one text against many
//! (the aligner compares every translated overlap with many target overlaps) is a merge of
//! two sorted lists instead of a recount.

/// sacrebleu's default character order.
pub const CHAR_ORDER: usize = 6;
/// sacrebleu's default β: recall weighs β² = 4 times as much as precision.
pub const BETA: f64 = 2.0;

/// Character n-gram counts of one text, per order, sorted by key.
#[derive(Clone, Debug, Default)]
pub struct Profile {
    /// `grams[n - 1]`: (key of an n-gram, count), ascending keys.
    grams: [Vec<(u64, u32)>; CHAR_ORDER],
    /// `totals[n - 1]`: number of n-grams (with repeats).
    totals: [u32; CHAR_ORDER],
}

/// Python's `str.split()` whitespace: Unicode White_Space plus the four ASCII
/// information separators (U+001C..U+001F) that Python also counts.
fn is_py_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// Key of an n-gram of at most 3 chars: exact (21 bits each); longer ones are hashed
/// (FNV-1a over the code points, then mixed), where a collision inside one document pair is
/// of the order of 1e-9.
fn key(chars: &[char]) -> u64 {
    if chars.len() <= 3 {
        return chars.iter().fold(0u64, |k, &c| (k << 21) | c as u64);
    }
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &c in chars {
        h ^= c as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    // splitmix64 finaliser: spreads FNV's weak low bits.
    h ^= h >> 30;
    h = h.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h ^= h >> 27;
    h = h.wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^ (h >> 31)
}

impl Profile {
    pub fn new(text: &str) -> Self {
        let chars: Vec<char> = text.chars().filter(|&c| !is_py_space(c)).collect();
        let mut p = Profile::default();
        for n in 1..=CHAR_ORDER {
            if chars.len() < n {
                break;
            }
            let mut keys: Vec<u64> = chars.windows(n).map(key).collect();
            p.totals[n - 1] = keys.len() as u32;
            keys.sort_unstable();
            let grams = &mut p.grams[n - 1];
            for k in keys {
                match grams.last_mut() {
                    Some((last, count)) if *last == k => *count += 1,
                    _ => grams.push((k, 1)),
                }
            }
        }
        p
    }

    /// Per order: [hypothesis n-grams, reference n-grams, matches], as sacrebleu counts
    /// them (a hypothesis order with no reference n-gram at all counts 0 hypothesis n-grams).
    pub fn stats(&self, reference: &Profile) -> Stats {
        let mut s = Stats::default();
        for n in 0..CHAR_ORDER {
            let (h, r) = (&self.grams[n], &reference.grams[n]);
            let mut matches = 0u64;
            let (mut i, mut j) = (0, 0);
            while i < h.len() && j < r.len() {
                match h[i].0.cmp(&r[j].0) {
                    std::cmp::Ordering::Less => i += 1,
                    std::cmp::Ordering::Greater => j += 1,
                    std::cmp::Ordering::Equal => {
                        matches += h[i].1.min(r[j].1) as u64;
                        i += 1;
                        j += 1;
                    }
                }
            }
            let ref_total = reference.totals[n] as u64;
            s.counts[n] = [
                if ref_total > 0 {
                    self.totals[n] as u64
                } else {
                    0
                },
                ref_total,
                matches,
            ];
        }
        s
    }

    /// Sentence-level chrF of this hypothesis against `reference`, in 0..=100.
    pub fn chrf(&self, reference: &Profile) -> f64 {
        self.stats(reference).score()
    }

    /// [`Profile::chrf`] with another β (1: precision and recall weigh the same).
    pub fn chrf_beta(&self, reference: &Profile, beta: f64) -> f64 {
        self.stats(reference).score_beta(beta)
    }
}

/// Match statistics of a hypothesis against a reference, per order; they add up over a
/// corpus (sacrebleu's corpus chrF scores the summed statistics).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    pub counts: [[u64; 3]; CHAR_ORDER],
}

impl std::ops::AddAssign for Stats {
    fn add_assign(&mut self, o: Stats) {
        for (a, b) in self.counts.iter_mut().zip(o.counts) {
            for (x, y) in a.iter_mut().zip(b) {
                *x += y;
            }
        }
    }
}

impl Stats {
    /// chrF in 0..=100 (sacrebleu's `_compute_f_score` without eps smoothing).
    pub fn score(&self) -> f64 {
        self.score_beta(BETA)
    }

    /// [`Stats::score`] with another β.
    pub fn score_beta(&self, beta: f64) -> f64 {
        let factor = beta * beta;
        let (mut prec, mut rec, mut orders) = (0.0, 0.0, 0usize);
        for &[hyp, reference, matches] in &self.counts {
            if hyp > 0 && reference > 0 {
                prec += matches as f64 / hyp as f64;
                rec += matches as f64 / reference as f64;
                orders += 1;
            }
        }
        if orders == 0 {
            return 0.0;
        }
        let (p, r) = (prec / orders as f64, rec / orders as f64);
        if p + r == 0.0 {
            return 0.0;
        }
        100.0 * (1.0 + factor) * p * r / (factor * p + r)
    }
}

/// Sentence chrF of `hypothesis` against `reference` (sacrebleu's `sentence_chrf`).
pub fn sentence_chrf(hypothesis: &str, reference: &str) -> f64 {
    Profile::new(hypothesis).chrf(&Profile::new(reference))
}

/// Corpus chrF of line-parallel hypotheses and references (sacrebleu's `corpus_chrf`).
pub fn corpus_chrf<S: AsRef<str>>(hypotheses: &[S], references: &[S]) -> f64 {
    let mut total = Stats::default();
    for (h, r) in hypotheses.iter().zip(references) {
        total += Profile::new(h.as_ref()).stats(&Profile::new(r.as_ref()));
    }
    total.score()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identical_texts_score_100_and_disjoint_0() {
        assert!((sentence_chrf("Le chat dort.", "Le chat dort.") - 100.0).abs() < 1e-9);
        assert_eq!(sentence_chrf("abc", "xyz"), 0.0);
        assert_eq!(sentence_chrf("", "abc"), 0.0);
        assert_eq!(sentence_chrf("", ""), 0.0);
    }

    #[test]
    fn whitespace_is_ignored() {
        assert_eq!(
            sentence_chrf("le chat", "lechat"),
            sentence_chrf("lechat", "le  chat\t")
        );
    }

    /// sacrebleu 2.6.0's numbers (scripts/chrf_reference.py): sentence and corpus chrF.
    #[test]
    fn matches_sacrebleu() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/data/chrf/sacrebleu.jsonl"
        );
        let text = std::fs::read_to_string(path).unwrap();
        let mut cases = 0;
        for line in text.lines() {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            let want = v["chrf"].as_f64().unwrap();
            let got = match v.get("corpus") {
                Some(hyps) => {
                    let strs = |x: &serde_json::Value| -> Vec<String> {
                        x.as_array()
                            .unwrap()
                            .iter()
                            .map(|s| s.as_str().unwrap().to_string())
                            .collect()
                    };
                    corpus_chrf(&strs(hyps), &strs(&v["refs"]))
                }
                None => sentence_chrf(v["hyp"].as_str().unwrap(), v["ref"].as_str().unwrap()),
            };
            assert!((got - want).abs() < 1e-9, "{line}: got {got}");
            cases += 1;
        }
        assert_eq!(cases, 73);
    }

    #[test]
    fn short_and_long_keys_are_distinct() {
        // 3-char keys are exact; make sure the packing does not alias different grams.
        assert_ne!(key(&['a', 'b', 'c']), key(&['a', 'b', 'd']));
        assert_ne!(key(&['a', 'b', 'c', 'd']), key(&['a', 'b', 'c', 'e']));
    }
}
