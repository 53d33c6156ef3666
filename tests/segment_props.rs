//! Fuzzing the segmenter with proptest: whatever the text, spans are well-formed.

use bitalign::segment::{is_line_break, is_space, line_spans, Segmenter};
use proptest::prelude::*;

/// Pieces that exercise every rule: stops, closers, openers, dashes, abbreviations,
/// numbers, line breaks of all kinds, BOM, CJK/Thai/Devanagari, combining marks, and
/// arbitrary chars.
fn piece() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            ".",
            "!",
            "?",
            "...",
            "…",
            "?!",
            ".\"",
            ".”",
            "!)",
            "。",
            "！",
            "？",
            "।",
            "។",
            " ",
            "  ",
            "\t",
            "\n",
            "\r\n",
            "\r",
            "\n\n",
            "\u{feff}",
            "\u{2028}",
            "\u{85}",
            "\u{b}",
            "\"",
            "'",
            "“",
            "(",
            ")",
            "– ",
            "- ",
            "Mr.",
            "Dr. ",
            "No. ",
            "U.S.",
            "e.g.",
            "TP.",
            "v.v.",
            "dll.",
            "a.n.",
            "J. ",
            "1. ",
            "IV.",
            "30.000",
            "1,5",
            "3.14",
            "ông",
            "Đợt",
            "The",
            "we",
            "ฉัน",
            "ข้าว",
            "我们",
            "e\u{301}",
            "\u{301}",
            "x\u{200d}",
            "🇻🇳",
            "\u{fffd}",
        ])
        .prop_map(str::to_string),
        "[a-zA-Z]{1,8}",
        "[a-zà-ỹĐđ ]{1,10}",
        any::<char>().prop_map(|c| c.to_string()),
    ]
}

fn text() -> impl Strategy<Value = String> {
    prop::collection::vec(piece(), 0..60).prop_map(|v| v.concat())
}

fn lang() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec!["en", "vi", "id", "fr", "zh", "th", "hi", "und"])
}

/// The invariants every segmentation must satisfy.
fn check(text: &str, spans: &[std::ops::Range<usize>], max: Option<usize>) {
    let mut prev_end = 0;
    for s in spans {
        assert!(s.start < s.end, "empty span {s:?}");
        assert!(s.start >= prev_end, "overlap or disorder at {s:?}");
        assert!(text.is_char_boundary(s.start) && text.is_char_boundary(s.end));
        let t = &text[s.clone()];
        assert!(
            !t.starts_with(is_space) && !t.ends_with(is_space),
            "untrimmed {t:?}"
        );
        assert!(!t.contains(is_line_break), "crosses a line break: {t:?}");
        if let Some(m) = max {
            assert!(s.len() <= m, "{} > {m}", s.len());
        }
        prev_end = s.end;
    }
    // Every non-space char is inside some span.
    let mut k = 0;
    for (i, c) in text.char_indices() {
        while k < spans.len() && spans[k].end <= i {
            k += 1;
        }
        let covered = k < spans.len() && spans[k].start <= i;
        assert!(covered || is_space(c), "{c:?} at {i} not covered");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn spans_are_well_formed(t in text(), l in lang()) {
        let r = Segmenter::new(l).spans(&t);
        check(&t, &r.spans, None);
        prop_assert_eq!(r.forced, 0);
    }

    #[test]
    fn over_long_cuts_stay_safe(t in text(), l in lang(), max in 4usize..40) {
        let r = Segmenter::new(l).with_max_bytes(max).spans(&t);
        // A cut never splits a char; it may exceed `max` only for a single char wider
        // than the bound, which cannot happen with max >= 4.
        check(&t, &r.spans, Some(max));
    }

    /// `--presplit`: line i is span i (lines split on `\n` only, as vecalign, LASER and
    /// gold files count them), each span inside its line and trimmed; never a panic.
    #[test]
    fn presplit_lines_are_line_for_line(t in text()) {
        let spans = line_spans(&t);
        let lines: Vec<&str> = t.strip_suffix('\n').unwrap_or(&t).split('\n').collect();
        let want = if t.is_empty() { 0 } else { lines.len() };
        prop_assert_eq!(spans.len(), want);
        let mut start = 0;
        for (s, line) in spans.iter().zip(&lines) {
            let end = start + line.len();
            prop_assert!(s.start >= start && s.end <= end, "{:?} outside line {}..{}", s, start, end);
            prop_assert!(t.is_char_boundary(s.start) && t.is_char_boundary(s.end));
            prop_assert_eq!(&t[s.clone()], line.trim_matches(is_space));
            start = end + 1;
        }
    }

    #[test]
    fn deterministic(t in text(), l in lang()) {
        prop_assert_eq!(Segmenter::new(l).spans(&t), Segmenter::new(l).spans(&t));
    }
}
