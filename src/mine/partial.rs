//! Parallel or partial: whether a kept pair says the same thing on both sides, or one side
//! also says something the other does not (news pairs are often one clause of a long
//! sentence against a whole short one), and which clauses match.
//!
//! Each side is cut into clauses ([`clauses`]); every run of consecutive clauses short of
//! the whole sentence is embedded and compared with the other side whole. Three features
//! go into a logistic regression: the pair's cosine, the best such clause cosine minus the
//! pair's (`gain`: a clause that matches better than its whole sentence means the rest is
//! extra), and the length mismatch. The weights were fitted by
//! `scripts/calibrate-partial.py` on the labelled calibration sets (tests/data/calibration,
//! never the demo) for the offline model; held out, they label 0.92 (Tatoeba) and 0.79
//! (Text+Berg) of the gold pairs right, against 0.60 and 0.66 for the majority label.
//! Marking never changes which pairs are kept.

use crate::embed::Embeddings;
use serde::{Deserialize, Serialize};

/// Logistic-regression weights: bias, cosine, gain, length (calibrate-partial.py).
const WEIGHTS: [f32; 4] = [20.9059, -24.3425, 6.8756, 2.7297];
/// `gain` is floored here, and takes this value when neither side has two clauses.
const GAIN_FLOOR: f32 = -0.3;
/// A clause of fewer words joins its neighbour (a bare "he said," is no claim).
const MIN_WORDS: usize = 3;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// Both sides state the same content.
    Parallel,
    /// One side states more than the other.
    Partial,
}

/// A side of a pair.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Which {
    Src,
    Tgt,
}

/// The clauses of one side that match the other side whole: byte offsets into that side's
/// text, and the text itself.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Part {
    pub side: Which,
    pub start: usize,
    pub end: usize,
    pub text: String,
}

/// What a kept pair is.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Mark {
    pub kind: Kind,
    /// Calibrated probability that the pair is partial.
    pub p_partial: f32,
    /// For a partial pair, the clauses that match better than their whole sentence (absent
    /// when the mismatch shows only in length).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub part: Option<Part>,
}

/// A kept pair to mark: both sentences and their (unit) embeddings.
pub struct Candidate<'a> {
    pub src: &'a str,
    pub tgt: &'a str,
    pub src_vec: &'a [f32],
    pub tgt_vec: &'a [f32],
}

const PUNCT: &[char] = &[',', ';', ':', '，', '；', '：', '、'];
const WIDE: &[char] = &['，', '；', '：', '、'];
const DASH: &[char] = &['—', '–', '-'];
const PAREN: &[char] = &['(', ')', '（', '）'];

/// Byte ranges of the clauses of `s`: cut after `,` `;` `:` followed by a space (their
/// full-width forms and `、` without one), at a dash between spaces and at brackets; a clause
/// of fewer than three words joins the next one (the last one the previous). One range
/// covering `s` when there is nothing to cut.
pub fn clauses(s: &str) -> Vec<(usize, usize)> {
    let chars: Vec<(usize, char)> = s.char_indices().collect();
    let at = |i: usize| chars.get(i).map(|&(_, c)| c);
    let byte = |i: usize| chars.get(i).map_or(s.len(), |&(b, _)| b);
    let skip_space = |mut i: usize| {
        while at(i).is_some_and(char::is_whitespace) {
            i += 1;
        }
        i
    };
    // (end of a clause, start of the next), in characters.
    let mut cuts = Vec::new();
    let mut i = 0;
    while let Some(c) = at(i) {
        if PUNCT.contains(&c) && (WIDE.contains(&c) || at(i + 1).is_some_and(char::is_whitespace)) {
            let next = skip_space(i + 1);
            cuts.push((i + 1, next));
            i = next;
        } else if c.is_whitespace() {
            let j = skip_space(i);
            let dash = at(j).is_some_and(|d| DASH.contains(&d))
                && at(j + 1).is_some_and(char::is_whitespace);
            if dash || at(j).is_some_and(|p| PAREN.contains(&p)) {
                let next = skip_space(j + 1);
                cuts.push((i, next));
                i = next;
            } else {
                i = j;
            }
        } else if PAREN.contains(&c) {
            let next = skip_space(i + 1);
            cuts.push((i, next));
            i = next;
        } else {
            i += 1;
        }
    }
    let mut parts = Vec::new();
    let mut start = 0;
    for (end, next) in cuts {
        parts.push((start, end));
        start = next;
    }
    parts.push((start, chars.len()));
    let words = |(a, b): (usize, usize)| s[byte(a)..byte(b)].split_whitespace().count();
    let mut out: Vec<(usize, usize)> = Vec::new();
    for p in parts.into_iter().filter(|&p| words(p) > 0) {
        match out.last_mut() {
            Some(last) if words(*last) < MIN_WORDS => last.1 = p.1,
            _ => out.push(p),
        }
    }
    if out.len() > 1 && words(out[out.len() - 1]) < MIN_WORDS {
        let (_, end) = out.pop().expect("two clauses");
        out.last_mut().expect("one clause").1 = end;
    }
    if out.is_empty() {
        out.push((0, chars.len()));
    }
    out.into_iter().map(|(a, b)| (byte(a), byte(b))).collect()
}

/// Every run of consecutive clauses of `s` short of the whole sentence (byte ranges).
pub fn spans(s: &str) -> Vec<(usize, usize)> {
    let c = clauses(s);
    let n = c.len();
    (0..n)
        .flat_map(|i| (i..n).map(move |j| (i, j)))
        .filter(|&(i, j)| !(i == 0 && j == n - 1))
        .map(|(i, j)| (c[i].0, c[j].1))
        .collect()
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Marks every candidate; `embed` embeds the clause texts it is given (one row each, unit
/// length, the same model and prefix as the sentences).
pub fn mark<E>(
    cands: &[Candidate],
    embed: impl FnOnce(&[&str]) -> Result<Embeddings, E>,
) -> Result<Vec<Mark>, E> {
    // Each candidate's spans: (candidate, side, byte range), in one list to embed at once.
    let mut jobs = Vec::new();
    for (k, c) in cands.iter().enumerate() {
        for (which, text) in [(Which::Src, c.src), (Which::Tgt, c.tgt)] {
            jobs.extend(spans(text).into_iter().map(|r| (k, which, r)));
        }
    }
    let text = |k: usize, w: Which| match w {
        Which::Src => cands[k].src,
        Which::Tgt => cands[k].tgt,
    };
    let texts: Vec<&str> = jobs
        .iter()
        .map(|&(k, w, (a, b))| &text(k, w)[a..b])
        .collect();
    let emb = if texts.is_empty() {
        None
    } else {
        Some(embed(&texts)?)
    };
    // Per candidate: the best span's cosine with the other side, its side and range.
    type Best = Option<(f32, Which, (usize, usize))>;
    let mut best: Vec<Best> = vec![None; cands.len()];
    for (row, &(k, w, r)) in jobs.iter().enumerate() {
        let other = match w {
            Which::Src => cands[k].tgt_vec,
            Which::Tgt => cands[k].src_vec,
        };
        let cos = dot(emb.as_ref().expect("spans were embedded").row(row), other);
        if best[k].is_none_or(|(b, _, _)| cos > b) {
            best[k] = Some((cos, w, r));
        }
    }
    Ok(cands
        .iter()
        .zip(best)
        .enumerate()
        .map(|(k, (c, best))| {
            let cosine = dot(c.src_vec, c.tgt_vec);
            let gain = best.map_or(GAIN_FLOOR, |(b, _, _)| (b - cosine).max(GAIN_FLOOR));
            let chars = |s: &str| s.chars().count().max(1) as f32;
            let length = (chars(c.src) / chars(c.tgt)).ln().abs();
            let [b0, wc, wg, wl] = WEIGHTS;
            let p = 1.0 / (1.0 + (-(b0 + wc * cosine + wg * gain + wl * length)).exp());
            let partial = p > 0.5;
            let part = best
                .filter(|_| partial && gain > 0.0)
                .map(|(_, side, (start, end))| Part {
                    side,
                    start,
                    end,
                    text: text(k, side)[start..end].to_string(),
                });
            Mark {
                kind: if partial {
                    Kind::Partial
                } else {
                    Kind::Parallel
                },
                p_partial: p,
                part,
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(s: &str) -> Vec<&str> {
        clauses(s).into_iter().map(|(a, b)| &s[a..b]).collect()
    }

    #[test]
    fn clauses_cut_at_punctuation_dashes_and_brackets() {
        assert_eq!(
            texts("The war ended in 1994, but tensions remained high for years."),
            [
                "The war ended in 1994,",
                "but tensions remained high for years."
            ]
        );
        assert_eq!(
            texts("Lavrov called for a ceasefire — the talks in Moscow failed again."),
            [
                "Lavrov called for a ceasefire",
                "the talks in Moscow failed again."
            ]
        );
        // "Stepanakert" alone is too short a clause: it joins the bracket's.
        assert_eq!(
            texts("Stepanakert (the regional capital of Karabakh) was shelled overnight."),
            [
                "Stepanakert (the regional capital of Karabakh",
                "was shelled overnight."
            ]
        );
        // A hyphen inside a word and a comma inside a number cut nothing.
        assert_eq!(
            texts("A well-known figure of 30,000 deaths."),
            ["A well-known figure of 30,000 deaths."]
        );
    }

    #[test]
    fn short_clauses_join_a_neighbour() {
        assert_eq!(
            texts("We will fight, he said."),
            ["We will fight, he said."]
        );
        assert_eq!(texts("Yes, we will fight on."), ["Yes, we will fight on."]);
        assert_eq!(texts("我们明天去，他说。"), ["我们明天去，他说。"]);
        assert_eq!(texts(""), [""]);
        assert!(spans("We will fight, he said.").is_empty());
    }

    #[test]
    fn spans_are_every_run_of_clauses_but_the_whole() {
        let s = "One two three, four five six; seven eight nine.";
        let got: Vec<&str> = spans(s).into_iter().map(|(a, b)| &s[a..b]).collect();
        assert_eq!(
            got,
            [
                "One two three,",
                "One two three, four five six;",
                "four five six;",
                "four five six; seven eight nine.",
                "seven eight nine."
            ]
        );
    }

    fn unit(v: &[f32]) -> Vec<f32> {
        let n = dot(v, v).sqrt();
        v.iter().map(|x| x / n).collect()
    }

    #[test]
    fn a_clause_that_matches_better_than_its_sentence_makes_the_pair_partial() {
        let src = "Some 30,000 people died in the war, and the region declared martial law.";
        let tgt = "Khoảng 30.000 người đã chết trong cuộc chiến.";
        let (x, y) = (unit(&[1.0, 1.0, 0.0]), unit(&[1.0, 0.0, 0.0]));
        let c = [Candidate {
            src,
            tgt,
            src_vec: &x,
            tgt_vec: &y,
        }];
        // The first clause points where the target does; the other spans elsewhere.
        let marks = mark(&c, |texts| {
            let rows: Vec<f32> = texts
                .iter()
                .flat_map(|t| {
                    if *t == "Some 30,000 people died in the war," {
                        vec![1.0, 0.0, 0.0]
                    } else {
                        vec![0.0, 0.0, 1.0]
                    }
                })
                .collect();
            Embeddings::new(3, rows)
        })
        .unwrap();
        assert_eq!(marks[0].kind, Kind::Partial, "{marks:?}");
        let part = marks[0].part.as_ref().unwrap();
        assert_eq!(
            (part.side, part.text.as_str()),
            (Which::Src, "Some 30,000 people died in the war,")
        );
        assert_eq!(&src[part.start..part.end], part.text);
        // The same sentences, equal vectors, no clause better: parallel, nothing embedded.
        let same = [Candidate {
            src: "Tom is here.",
            tgt: "Tom ở đây.",
            src_vec: &y,
            tgt_vec: &y,
        }];
        let marks = mark(&same, |_| -> anyhow::Result<Embeddings> {
            panic!("nothing to embed")
        })
        .unwrap();
        assert_eq!(marks[0].kind, Kind::Parallel);
        assert!(marks[0].part.is_none() && marks[0].p_partial < 0.5);
    }
}
