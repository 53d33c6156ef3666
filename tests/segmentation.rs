//! Segmentation quality: hand-made gold for the demo articles, and synthetic paragraphs of
//! Tatoeba sentences whose boundaries are known, compared with UAX#29 sentence bounds.
//!
//! Only boundaries *inside* a line are scored: line breaks are hard boundaries for both
//! segmenters and would only inflate the numbers. The hand-written hard cases were written
//! together with the rules, so they show what the rules handle, not held-out accuracy. Print the table with
//! `cargo test --release --test segmentation -- --ignored --nocapture`.

use bitalign::segment::{is_space, Segmenter};
use std::collections::BTreeSet;
use std::ops::Range;
use unicode_segmentation::UnicodeSegmentation;

const LANGS: [&str; 3] = ["en", "vi", "id"];

fn data(path: &str) -> String {
    let p = format!("{}/{path}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{p}: {e}"))
}

/// A text with the start offsets of its sentences (gold).
struct Case {
    text: String,
    gold: Vec<usize>,
}

/// Paragraphs of 2–8 consecutive gold sentences joined by a space, separated by blank
/// lines; sizes from a fixed LCG so the set is the same on every run.
fn synthetic(lang: &str) -> Case {
    let sentences: Vec<String> = data(&format!("tests/data/tatoeba/{lang}.txt"))
        .lines()
        .map(str::to_string)
        .collect();
    let mut state: u64 = 0x5eed ^ lang.len() as u64;
    let mut text = String::new();
    let mut gold = Vec::new();
    let mut it = sentences.iter().peekable();
    while it.peek().is_some() {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let size = 2 + ((state >> 33) % 7) as usize;
        if !text.is_empty() {
            text.push_str("\n\n");
        }
        for (k, s) in it.by_ref().take(size).enumerate() {
            if k > 0 {
                text.push(' ');
            }
            gold.push(text.len());
            text.push_str(s);
        }
    }
    Case { text, gold }
}

/// A hand-written set: paragraphs separated by blank lines, one sentence per line,
/// joined with a space.
fn hard(lang: &str) -> Case {
    let gold = data(&format!("tests/data/segmentation/hard.{lang}.gold"));
    let mut text = String::new();
    let mut starts = Vec::new();
    for para in gold.split("\n\n") {
        if !text.is_empty() {
            text.push_str("\n\n");
        }
        for (k, line) in para.lines().filter(|l| !l.trim().is_empty()).enumerate() {
            if k > 0 {
                text.push(' ');
            }
            starts.push(text.len());
            text.push_str(line.trim());
        }
    }
    Case { text, gold: starts }
}

/// The demo article with the starts of its hand-segmented sentences.
fn demo(lang: &str) -> (Case, Vec<String>) {
    let text = data(&format!("data/demo/karabakh.{lang}.txt"));
    let lines: Vec<String> = data(&format!("tests/data/segmentation/karabakh.{lang}.gold"))
        .lines()
        .map(str::to_string)
        .collect();
    let mut gold = Vec::new();
    let mut at = 0;
    for l in &lines {
        let p = at
            + text[at..]
                .find(l.as_str())
                .expect("gold sentence in the article");
        gold.push(p);
        at = p + l.len();
    }
    (Case { text, gold }, lines)
}

/// Sentence starts that are not at the start of a line (the scored boundaries).
fn inner(text: &str, starts: impl IntoIterator<Item = usize>) -> BTreeSet<usize> {
    starts
        .into_iter()
        .filter(|&p| {
            let before =
                text[..p].trim_end_matches(|c: char| is_space(c) && c != '\n' && c != '\r');
            !(before.is_empty() || before.ends_with('\n') || before.ends_with('\r'))
        })
        .collect()
}

fn ours(lang: &str, text: &str) -> Vec<Range<usize>> {
    Segmenter::new(lang).spans(text).spans
}

/// UAX#29 sentence bounds, run line by line like ours; starts skip leading spaces.
fn uax29(text: &str) -> Vec<usize> {
    let mut starts = Vec::new();
    let mut off = 0;
    for line in text.split_inclusive('\n') {
        for (p, seg) in line.split_sentence_bound_indices() {
            let lead = seg.len() - seg.trim_start_matches(is_space).len();
            if lead < seg.len() {
                starts.push(off + p + lead);
            }
        }
        off += line.len();
    }
    starts
}

#[derive(Debug, Clone, Copy)]
struct Prf {
    gold: usize,
    p: f64,
    r: f64,
    f1: f64,
    errors: usize,
}

fn score(text: &str, gold: &[usize], pred: impl IntoIterator<Item = usize>) -> Prf {
    let g = inner(text, gold.iter().copied());
    let p = inner(text, pred);
    let tp = g.intersection(&p).count();
    let prec = if p.is_empty() {
        1.0
    } else {
        tp as f64 / p.len() as f64
    };
    let rec = if g.is_empty() {
        1.0
    } else {
        tp as f64 / g.len() as f64
    };
    let f1 = if prec + rec == 0.0 {
        0.0
    } else {
        2.0 * prec * rec / (prec + rec)
    };
    Prf {
        gold: g.len(),
        p: prec,
        r: rec,
        f1,
        errors: (p.len() - tp) + (g.len() - tp),
    }
}

fn both(lang: &str, case: &Case) -> (Prf, Prf) {
    let o = score(
        &case.text,
        &case.gold,
        ours(lang, &case.text).iter().map(|r| r.start),
    );
    let u = score(&case.text, &case.gold, uax29(&case.text));
    (o, u)
}

#[test]
fn synthetic_f1_at_least_098() {
    for lang in LANGS {
        let case = synthetic(lang);
        assert!(
            case.gold.len() > 900,
            "{lang}: {} sentences",
            case.gold.len()
        );
        let (o, _) = both(lang, &case);
        assert!(o.f1 >= 0.98, "{lang}: F1 {:.4} ({o:?})", o.f1);
    }
}

#[test]
fn demo_articles_match_the_gold_exactly() {
    for lang in LANGS {
        let (case, lines) = demo(lang);
        let spans = ours(lang, &case.text);
        let got: Vec<&str> = spans.iter().map(|r| &case.text[r.clone()]).collect();
        assert_eq!(got, lines, "{lang}");
        let (o, _) = both(lang, &case);
        assert_eq!(o.errors, 0, "{lang}");
        assert!(o.gold > 0, "{lang}: the gold has inner boundaries to find");
    }
}

#[test]
fn hard_cases_without_error() {
    for lang in LANGS {
        let case = hard(lang);
        let (o, _) = both(lang, &case);
        assert_eq!(o.errors, 0, "{lang}: {o:?}");
    }
}

/// The uax29 baseline is scored by the same code; make sure the scoring can fail.
#[test]
fn scoring_sees_errors() {
    let case = synthetic("en");
    let none = score(&case.text, &case.gold, std::iter::empty());
    assert_eq!(none.r, 0.0);
    let shifted = score(&case.text, &case.gold, case.gold.iter().map(|p| p + 1));
    assert_eq!(shifted.f1, 0.0);
}

#[test]
#[ignore = "prints the table for the report"]
fn print_table() {
    println!("| lang | set | inner boundaries | ours P | ours R | ours F1 | UAX#29 P | UAX#29 R | UAX#29 F1 |");
    println!("|---|---|---|---|---|---|---|---|---|");
    for lang in LANGS {
        for (set, case) in [
            ("synthetic (Tatoeba)", synthetic(lang)),
            ("demo article", demo(lang).0),
            ("hard cases (hand-written)", hard(lang)),
        ] {
            let (o, u) = both(lang, &case);
            println!(
                "| {lang} | {set} | {} | {:.4} | {:.4} | {:.4} | {:.4} | {:.4} | {:.4} |",
                o.gold, o.p, o.r, o.f1, u.p, u.r, u.f1
            );
        }
    }
    for (lang, case) in LANGS
        .iter()
        .flat_map(|&l| [(l, synthetic(l)), (l, hard(l))])
    {
        let g = inner(&case.text, case.gold.iter().copied());
        let p = inner(&case.text, ours(lang, &case.text).iter().map(|r| r.start));
        for &m in g.symmetric_difference(&p) {
            let a = case.text[..m]
                .char_indices()
                .rev()
                .nth(40)
                .map_or(0, |x| x.0);
            let b = case.text[m..]
                .char_indices()
                .nth(30)
                .map_or(case.text.len(), |x| m + x.0);
            let kind = if g.contains(&m) { "missed" } else { "extra " };
            println!("{lang} {kind}: {}|{}", &case.text[a..m], &case.text[m..b]);
        }
    }
}
