//! Alignment quality against gold links, scored exactly as vecalign's `score.py` does, so
//! that our figures sit next to published vecalign/bertalign numbers.
//!
//! Our reading of `score.py` (vecalign, Thompson & Koehn 2019; bertalign reuses it):
//! - A link is a pair of sentence-index tuples; a file holds one per line, `[0, 1]:[2]`,
//!   optionally followed by `:cost` (ignored). Links empty on both sides are dropped, and
//!   each file's links form a set (duplicates count once).
//! - Precision counts (`_precision(gold, test)`): every test link, insertions and deletions
//!   included, is a strict true positive if the identical link is in the gold, otherwise a
//!   strict false positive. It is a lax true positive if it is a strict one, or if some
//!   gold link shares at least one source sentence with it *and* that gold link's targets
//!   share at least one sentence with the test link's targets (source ids are mapped to the
//!   union of their gold targets); otherwise a lax false positive. So a test 0-n or n-0
//!   link is only ever right if the gold has exactly it.
//! - Recall is the same function with the roles swapped and with every link that is empty
//!   on either side (0-n, n-0) removed from both files first: `_precision(test_no_del,
//!   gold_no_del)`.
//! - Over several documents the four counts are summed before dividing (micro average);
//!   a 0/0 ratio is 0; F1 is the harmonic mean of P and R (0 when both are 0).

use anyhow::{bail, Context, Result};
use std::collections::{BTreeSet, HashMap, HashSet};
use std::fmt;
use std::path::Path;

/// One link: source and target sentence indices.
pub type GoldLink = (Vec<usize>, Vec<usize>);

/// Reads a vecalign-format alignment file. Blank lines are skipped; anything else that is
/// not `[ints]:[ints]` (plus an optional `:cost`) is an error naming the file and line.
pub fn read_links(path: &Path) -> Result<Vec<GoldLink>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("{}: cannot read", path.display()))?;
    parse_links(&text).map_err(|e| anyhow::anyhow!("{}: {e:#}", path.display()))
}

/// Reads a gold alignment: as [`read_links`], and it must hold at least one link (an
/// empty gold would score every test as 0 and say nothing).
pub fn read_gold(path: &Path) -> Result<Vec<GoldLink>> {
    let links = read_links(path)?;
    if links.iter().all(|(s, t)| s.is_empty() && t.is_empty()) {
        bail!("{}: no links (empty gold file)", path.display());
    }
    Ok(links)
}

/// Checks that a test alignment indexes the gold's sentences: a test link past the
/// gold's last source or target sentence means the documents were split differently
/// (e.g. re-segmented instead of read one sentence per line), and any score would be
/// meaningless.
pub fn check_same_sentences(
    gold: &[GoldLink],
    test: &[GoldLink],
    gold_name: &str,
    test_name: &str,
) -> Result<()> {
    let last = |l: &[GoldLink], side: fn(&GoldLink) -> &Vec<usize>| {
        l.iter().flat_map(|x| side(x).iter().copied()).max()
    };
    for (what, side) in [
        (
            "source",
            (|x: &GoldLink| &x.0) as fn(&GoldLink) -> &Vec<usize>,
        ),
        ("target", |x: &GoldLink| &x.1),
    ] {
        if let Some(t) = last(test, side) {
            let g = last(gold, side);
            if g.is_none_or(|g| t > g) {
                bail!(
                    "{test_name}: links {what} sentence {t}, but {gold_name} ends at {}; \
                     were the documents split differently (e.g. without --presplit)?",
                    g.map_or("no sentence".to_string(), |g| format!("sentence {g}"))
                );
            }
        }
    }
    Ok(())
}

/// Parses vecalign's format; errors are `line N: what is wrong`.
pub fn parse_links(text: &str) -> Result<Vec<GoldLink>> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        out.push(parse_line(line).with_context(|| format!("line {}", n + 1))?);
    }
    Ok(out)
}

fn parse_line(line: &str) -> Result<GoldLink> {
    let fields: Vec<&str> = line
        .split(':')
        .map(str::trim)
        .filter(|f| !f.is_empty())
        .collect();
    if fields.len() < 2 || fields.len() > 3 {
        bail!("expected `[i, …]:[j, …]` with an optional `:cost`, got {line:?}");
    }
    if let Some(cost) = fields.get(2) {
        if cost.parse::<f64>().is_err() {
            bail!("the cost {cost:?} is not a number in {line:?}");
        }
    }
    Ok((parse_list(fields[0], line)?, parse_list(fields[1], line)?))
}

fn parse_list(field: &str, line: &str) -> Result<Vec<usize>> {
    let inner = field
        .strip_prefix('[')
        .and_then(|f| f.strip_suffix(']'))
        .with_context(|| format!("{field:?} is not a bracketed list in {line:?}"))?;
    let inner = inner.trim();
    if inner.is_empty() {
        return Ok(Vec::new());
    }
    inner
        .split(',')
        .map(|x| {
            x.trim()
                .parse::<usize>()
                .with_context(|| format!("{:?} is not a sentence index in {line:?}", x.trim()))
        })
        .collect()
}

/// True/false positive counts, strict and lax, in `score.py`'s order.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub tp_strict: usize,
    pub fp_strict: usize,
    pub tp_lax: usize,
    pub fp_lax: usize,
}

impl std::ops::AddAssign for Counts {
    fn add_assign(&mut self, o: Self) {
        self.tp_strict += o.tp_strict;
        self.fp_strict += o.fp_strict;
        self.tp_lax += o.tp_lax;
        self.fp_lax += o.fp_lax;
    }
}

type LinkSet = BTreeSet<GoldLink>;

fn to_set(links: &[GoldLink], keep_deletions: bool) -> LinkSet {
    links
        .iter()
        .filter(|(s, t)| {
            if keep_deletions {
                !s.is_empty() || !t.is_empty()
            } else {
                !s.is_empty() && !t.is_empty()
            }
        })
        .cloned()
        .collect()
}

/// `score.py`'s `_precision`: how many `test` links the `gold` supports.
fn precision_counts(gold: &LinkSet, test: &LinkSet) -> Counts {
    let mut src_to_gold_tgts: HashMap<usize, HashSet<usize>> = HashMap::new();
    for (gs, gt) in gold {
        for &s in gs {
            src_to_gold_tgts
                .entry(s)
                .or_default()
                .extend(gt.iter().copied());
        }
    }
    let mut c = Counts::default();
    for link in test {
        if gold.contains(link) {
            c.tp_strict += 1;
            c.tp_lax += 1;
            continue;
        }
        c.fp_strict += 1;
        let (ts, tt) = link;
        let lax = ts.iter().any(|s| {
            src_to_gold_tgts
                .get(s)
                .is_some_and(|g| tt.iter().any(|t| g.contains(t)))
        });
        if lax {
            c.tp_lax += 1;
        } else {
            c.fp_lax += 1;
        }
    }
    c
}

/// Precision-side and recall-side counts for one document.
pub fn count(gold: &[GoldLink], test: &[GoldLink]) -> (Counts, Counts) {
    let p = precision_counts(&to_set(gold, true), &to_set(test, true));
    let r = precision_counts(&to_set(test, false), &to_set(gold, false));
    (p, r)
}

/// Strict and lax precision, recall and F1.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Scores {
    pub precision_strict: f64,
    pub recall_strict: f64,
    pub f1_strict: f64,
    pub precision_lax: f64,
    pub recall_lax: f64,
    pub f1_lax: f64,
}

fn ratio(a: usize, b: usize) -> f64 {
    if a + b == 0 {
        0.0
    } else {
        a as f64 / (a + b) as f64
    }
}

fn f1(p: f64, r: f64) -> f64 {
    if p + r == 0.0 {
        0.0
    } else {
        2.0 * p * r / (p + r)
    }
}

impl Scores {
    /// From summed precision-side and recall-side counts (`score_multiple`).
    pub fn from_counts(p: Counts, r: Counts) -> Self {
        let ps = ratio(p.tp_strict, p.fp_strict);
        let pl = ratio(p.tp_lax, p.fp_lax);
        let rs = ratio(r.tp_strict, r.fp_strict);
        let rl = ratio(r.tp_lax, r.fp_lax);
        Self {
            precision_strict: ps,
            recall_strict: rs,
            f1_strict: f1(ps, rs),
            precision_lax: pl,
            recall_lax: rl,
            f1_lax: f1(pl, rl),
        }
    }
}

impl fmt::Display for Scores {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "strict P {:.3} R {:.3} F1 {:.3}   lax P {:.3} R {:.3} F1 {:.3}",
            self.precision_strict,
            self.recall_strict,
            self.f1_strict,
            self.precision_lax,
            self.recall_lax,
            self.f1_lax
        )
    }
}

/// Accumulates documents the way `score_multiple` does.
#[derive(Clone, Copy, Debug, Default)]
pub struct Tally {
    pub precision: Counts,
    pub recall: Counts,
}

impl Tally {
    /// Adds one document and returns its own scores.
    pub fn add(&mut self, gold: &[GoldLink], test: &[GoldLink]) -> Scores {
        let (p, r) = count(gold, test);
        self.precision += p;
        self.recall += r;
        Scores::from_counts(p, r)
    }

    pub fn scores(&self) -> Scores {
        Scores::from_counts(self.precision, self.recall)
    }
}

/// Scores one document.
pub fn score(gold: &[GoldLink], test: &[GoldLink]) -> Scores {
    Tally::default().add(gold, test)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn links(s: &str) -> Vec<GoldLink> {
        parse_links(s).unwrap()
    }

    /// Issue 10 #6 and #16: an empty gold and a test past the gold's sentences are errors.
    #[test]
    fn empty_gold_and_out_of_range_tests_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("gold");
        std::fs::write(&p, "\n\n").unwrap();
        let e = format!("{:#}", read_gold(&p).unwrap_err());
        assert!(e.contains("no links (empty gold file)"), "{e}");
        let g = links("[0]:[0]\n[1]:[1, 2]\n");
        assert!(check_same_sentences(&g, &links("[0, 1]:[0]\n[]:[1, 2]"), "g", "t").is_ok());
        let e = check_same_sentences(&g, &links("[0]:[0]\n[1, 2]:[1]"), "g", "t")
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("t: links source sentence 2, but g ends at sentence 1"),
            "{e}"
        );
        let e = check_same_sentences(&g, &links("[0]:[3]"), "g", "t").unwrap_err();
        assert!(e.to_string().contains("target sentence 3"));
    }

    #[test]
    fn identical_is_perfect() {
        let g = links("[0]:[0]\n[1, 2]:[1]\n[]:[2]\n[3]:[3, 4]\n");
        let s = score(&g, &g);
        assert_eq!(s.f1_strict, 1.0);
        assert_eq!(s.f1_lax, 1.0);
    }

    #[test]
    fn hand_computed_counts() {
        // gold: 0-0, 1-1, 2-(2,3), ()-4, 3-5
        // test: 0-0 (exact), (1,2)-(1,2) (lax: 1->1), ()-3 (wrong deletion), 3-(4,5) (lax: 3->5)
        let g = links("[0]:[0]\n[1]:[1]\n[2]:[2, 3]\n[]:[4]\n[3]:[5]");
        let t = links("[0]:[0]:0.1\n[1, 2]:[1, 2]:0.2\n[]:[3]\n[3]:[4, 5]");
        let (p, r) = count(&g, &t);
        // precision: 4 test links, 1 exact; lax: 0-0, (1,2)-(1,2), 3-(4,5) yes; ()-3 no.
        assert_eq!(
            p,
            Counts {
                tp_strict: 1,
                fp_strict: 3,
                tp_lax: 3,
                fp_lax: 1
            }
        );
        // recall: gold without deletions = 0-0, 1-1, 2-(2,3), 3-5 scored against test
        // without deletions = 0-0, (1,2)-(1,2), 3-(4,5): 1 exact, all 4 lax.
        assert_eq!(
            r,
            Counts {
                tp_strict: 1,
                fp_strict: 3,
                tp_lax: 4,
                fp_lax: 0
            }
        );
        let s = Scores::from_counts(p, r);
        assert!((s.precision_strict - 0.25).abs() < 1e-12);
        assert!((s.recall_strict - 0.25).abs() < 1e-12);
        assert!((s.f1_strict - 0.25).abs() < 1e-12);
        assert!((s.precision_lax - 0.75).abs() < 1e-12);
        assert!((s.recall_lax - 1.0).abs() < 1e-12);
        assert!((s.f1_lax - 2.0 * 0.75 / 1.75).abs() < 1e-12);
    }

    #[test]
    fn correct_deletion_counts_for_precision_only() {
        let g = links("[0]:[0]\n[]:[1]\n[1]:[2]");
        let with = links("[0]:[0]\n[]:[1]\n[1]:[2]");
        let merged = links("[0]:[0, 1]\n[1]:[2]");
        let a = score(&g, &with);
        let b = score(&g, &merged);
        assert_eq!(a.precision_strict, 1.0);
        assert_eq!(a.recall_strict, 1.0);
        assert!((b.precision_strict - 0.5).abs() < 1e-12);
        assert!((b.recall_strict - 0.5).abs() < 1e-12);
        // The merged link overlaps the gold 0-0 link: lax-correct.
        assert_eq!(b.precision_lax, 1.0);
    }

    #[test]
    fn documents_are_micro_averaged() {
        let g1 = links("[0]:[0]\n[1]:[1]\n[2]:[2]");
        let t1 = links("[0]:[0]\n[1]:[1]\n[2]:[2]");
        let g2 = links("[0]:[0]");
        let t2 = links("[0]:[1]");
        let mut tally = Tally::default();
        tally.add(&g1, &t1);
        tally.add(&g2, &t2);
        let s = tally.scores();
        assert!((s.precision_strict - 0.75).abs() < 1e-12);
        assert!((s.recall_strict - 0.75).abs() < 1e-12);
    }

    #[test]
    fn empty_test_scores_zero_not_nan() {
        let g = links("[0]:[0]");
        let s = score(&g, &[]);
        assert_eq!(s.precision_strict, 0.0);
        assert_eq!(s.f1_strict, 0.0);
    }

    #[test]
    fn malformed_lines_name_the_line() {
        for (text, line) in [
            ("[0]:[0]\n[1]-[1]\n", 2),
            ("[0]:[0]\n\n[1]:[x]\n", 3),
            ("[0:[0]\n", 1),
            ("[0]:[0]:[1]:[2]\n", 1),
            ("[0]:[0]:abc\n", 1),
            ("[0]\n", 1),
            ("[-1]:[0]\n", 1),
        ] {
            let e = format!("{:#}", parse_links(text).unwrap_err());
            assert!(e.starts_with(&format!("line {line}:")), "{text:?} gave {e}");
        }
    }

    #[test]
    fn cost_and_spacing_are_accepted() {
        assert_eq!(
            links("[0,1] : [ ]:0.25\n[]:[1]\n"),
            vec![(vec![0, 1], vec![]), (vec![], vec![1])]
        );
    }
}
