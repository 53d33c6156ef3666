//! The rule-based sentence splitter.
//!
//! Rules rather than a model: it must be fast, deterministic, dependency-light and
//! explainable, and for news-like text in spaced scripts a handful of rules (stop +
//! space + not lower case, minus abbreviations, initials and list markers) is as good
//! as it gets. Line breaks are hard boundaries, so each line is split on its own.

use super::rules::{self, Rules, Script};
use std::ops::Range;
use unicode_segmentation::UnicodeSegmentation;

/// Longest sentence we emit, in bytes. Longer runs without a stop (tables, logs, lists
/// without punctuation) are cut so that one runaway "sentence" cannot blow up embedding
/// time or memory; models truncate at 512 tokens (~2 kB of text) anyway.
pub const MAX_SENTENCE_BYTES: usize = 4096;

/// Splits text into sentence spans for one language.
#[derive(Clone, Copy, Debug)]
pub struct Segmenter {
    rules: &'static Rules,
    own_rules: bool,
    max_bytes: usize,
}

/// Sentence spans of a text, plus how many over-long sentences had to be cut.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Spans {
    pub spans: Vec<Range<usize>>,
    /// Number of cuts made at [`MAX_SENTENCE_BYTES`] because no stop came in time.
    pub forced: usize,
}

/// Whitespace for trimming purposes; the BOM (U+FEFF) counts, so that it never ends up
/// inside a sentence even though the text keeps it (spans stay file offsets).
pub fn is_space(c: char) -> bool {
    c.is_whitespace() || c == '\u{feff}'
}

/// Hard line breaks: `\n`, `\r` (so CRLF and old-Mac CR both work), and the Unicode ones.
pub fn is_line_break(c: char) -> bool {
    matches!(
        c,
        '\n' | '\r' | '\u{0b}' | '\u{0c}' | '\u{85}' | '\u{2028}' | '\u{2029}'
    )
}

/// Stops that end a sentence only when followed by a space (or the end of the line).
fn is_weak_stop(c: char) -> bool {
    matches!(
        c,
        '.' | '!' | '?' | '…' | '‼' | '⁇' | '⁈' | '⁉' | '\u{37e}' | '﹒' | '﹖' | '﹗'
    )
}

/// Stops of scripts written without spaces, or whose stop is unambiguous: they end a
/// sentence wherever they stand (after any closing quotes or brackets).
fn is_strong_stop(c: char) -> bool {
    matches!(
        c,
        '。' | '！'
            | '？'
            | '｡'
            | '．'
            | '।'
            | '॥'
            | '։'
            | '።'
            | '፧'
            | '፨'
            | '។'
            | '៕'
            | '။'
            | '؟'
            | '۔'
            | '܀'
            | '჻'
            | '᙮'
            | '꓿'
            | '꘎'
            | '꘏'
            | '᠃'
            | '᠉'
    )
}

/// Closing quotes and brackets that belong to the sentence they follow (`."`, `.”`, `!)`).
fn is_closer(c: char) -> bool {
    matches!(
        c,
        '"' | '\''
            | '”'
            | '’'
            | '»'
            | '›'
            | ')'
            | ']'
            | '}'
            | '」'
            | '』'
            | '】'
            | '〉'
            | '》'
            | '〕'
            | '）'
            | '］'
            | '｝'
            | '〟'
            | '＂'
            | '＇'
    )
}

/// Straight quotes are both openers and closers: after a stop they close only if no word
/// follows immediately (`."` then space, versus `. "Next`).
fn is_straight_quote(c: char) -> bool {
    matches!(c, '"' | '\'' | '＂' | '＇')
}

fn is_thai(c: char) -> bool {
    matches!(c, '\u{0e00}'..='\u{0eff}')
}

/// How the sentence so far and the text around a weak stop look.
struct Context<'a> {
    /// The stop characters themselves (`.`, `...`, `?!`, `…`).
    run: &'a str,
    /// The word right before the stop, with leading openers removed.
    prev: &'a str,
    /// Text of the sentence so far, up to the stop.
    so_far: &'a str,
    /// First letter or digit after the stop (skipping spaces, quotes, dashes, brackets).
    next_char: Option<char>,
    /// The word starting at `next_char`.
    next_word: &'a str,
}

impl Segmenter {
    /// The segmenter for a language code (`en`, `vi`, `id`, …); unknown codes get the
    /// generic rules (see [`Segmenter::has_own_rules`]).
    pub fn new(lang: &str) -> Self {
        let (rules, own_rules) = rules::for_lang(lang);
        Segmenter {
            rules,
            own_rules,
            max_bytes: MAX_SENTENCE_BYTES,
        }
    }

    /// Same, with another bound for over-long sentences (tests use small ones).
    pub fn with_max_bytes(mut self, max: usize) -> Self {
        self.max_bytes = max.max(4);
        self
    }

    /// False when the language has no rules of its own and the generic Latin rules apply.
    pub fn has_own_rules(&self) -> bool {
        self.own_rules
    }

    /// Sentence spans (byte ranges into `text`), in order, non-overlapping, trimmed of
    /// spaces, on char boundaries, together covering every non-space character.
    pub fn spans(&self, text: &str) -> Spans {
        let mut out = Spans::default();
        let mut line_start = 0;
        for (i, c) in text.char_indices() {
            if is_line_break(c) {
                self.split_line(text, line_start..i, &mut out);
                line_start = i + c.len_utf8();
            }
        }
        self.split_line(text, line_start..text.len(), &mut out);
        out
    }

    fn split_line(&self, text: &str, line: Range<usize>, out: &mut Spans) {
        let s = &text[line.clone()];
        if s.chars().all(is_space) {
            return;
        }
        let base = line.start;
        let cs: Vec<(usize, char)> = s.char_indices().collect();
        let n = cs.len();
        let byte = |k: usize| if k < n { cs[k].0 } else { s.len() };
        let mut start = 0usize; // char index where the current sentence starts
        let mut i = 0usize;
        while i < n {
            let c = cs[i].1;
            if is_weak_stop(c) || is_strong_stop(c) {
                let mut j = i;
                let mut strong = false;
                while j < n && (is_weak_stop(cs[j].1) || is_strong_stop(cs[j].1)) {
                    strong |= is_strong_stop(cs[j].1);
                    j += 1;
                }
                let run_end = j;
                while j < n && is_closer(cs[j].1) {
                    if is_straight_quote(cs[j].1)
                        && j + 1 < n
                        && !is_space(cs[j + 1].1)
                        && !is_closer(cs[j + 1].1)
                    {
                        break;
                    }
                    j += 1;
                }
                let spaced = j == n || is_space(cs[j].1);
                if strong || spaced {
                    let mut k = j;
                    while k < n && is_space(cs[k].1) {
                        k += 1;
                    }
                    let boundary = k < n
                        && (strong || {
                            let (next_char, next_word) = next_word(&s[byte(k)..]);
                            let prev_start = cs[..i]
                                .iter()
                                .rposition(|&(_, ch)| is_space(ch))
                                .map_or(0, |p| p + 1)
                                .max(start);
                            let prev = s[byte(prev_start)..byte(i)]
                                .trim_start_matches(|ch: char| !ch.is_alphanumeric());
                            self.ends_sentence(&Context {
                                run: &s[byte(i)..byte(run_end)],
                                prev,
                                so_far: &s[byte(start)..byte(i)],
                                next_char,
                                next_word,
                            })
                        });
                    if boundary {
                        self.push(text, base + byte(start)..base + byte(j), out);
                        start = k;
                    }
                    i = j.max(i + 1);
                    continue;
                }
                i = j.max(i + 1);
                continue;
            }
            if self.rules.script == Script::SpaceSeparated && is_space(c) && i > start {
                let mut k = i;
                while k < n && is_space(cs[k].1) {
                    k += 1;
                }
                if k < n && is_thai(cs[i - 1].1) && is_thai(cs[k].1) {
                    self.push(text, base + byte(start)..base + byte(i), out);
                    start = k;
                    i = k;
                    continue;
                }
            }
            i += 1;
        }
        if start < n {
            self.push(text, base + byte(start)..base + s.len(), out);
        }
    }

    /// Decides whether a weak stop followed by a space ends the sentence.
    fn ends_sentence(&self, cx: &Context) -> bool {
        let Some(next) = cx.next_char else {
            // Only punctuation follows on this line: keep it with this sentence's end.
            return true;
        };
        if next.is_lowercase() {
            // "… we will win", "e.g. the", `"Where?" he asked`.
            return false;
        }
        let only_period = cx.run == ".";
        if !only_period {
            // `?`, `!`, `...`, `…`, `?!`: end unless a lower-case word follows.
            return true;
        }
        let so_far = cx.so_far.trim();
        if is_list_marker(so_far) {
            return false;
        }
        let prev = cx.prev;
        if prev.is_empty() {
            return true;
        }
        let r = self.rules;
        let opener = cx.next_word.chars().count() > 0
            && (r.openers.contains(&cx.next_word)
                || (r.openers.is_empty() && cx.next_word.chars().count() > 1));
        if r.prefixes.contains(&prev) {
            return false;
        }
        if r.numeric.contains(&prev) {
            return !next.is_numeric();
        }
        if r.enders.contains(&prev) {
            return true;
        }
        if r.ambiguous.contains(&prev) {
            return opener;
        }
        let letters = prev.chars().filter(|c| c.is_alphabetic()).count();
        if prev.chars().count() == 1 && prev.chars().all(char::is_uppercase) {
            // An initial (`J. R. R. Tolkien`, `Joseph S. Nye`), unless a typical sentence
            // opener follows (`… for B. What about A?`). English `I` is a word.
            return (r.name == "en" && prev == "I") || r.openers.contains(&cx.next_word);
        }
        if prev.contains('.')
            && letters > 0
            && prev
                .split('.')
                .all(|p| (1..=4).contains(&p.chars().count()))
        {
            // `U.S`, `e.g`, `a.n`, `PGS.TS`, `TP.HCM`: short parts between periods mark an
            // abbreviation; it ends the sentence only before a typical sentence opener.
            // (`example.com` or `1.000` are not abbreviations.)
            return r.openers.contains(&cx.next_word);
        }
        true
    }

    /// Records a sentence, trimmed of spaces, cutting it if it is over-long.
    fn push(&self, text: &str, span: Range<usize>, out: &mut Spans) {
        push_capped(text, span, self.max_bytes, out);
    }
}

/// Pushes `span` (trimmed) onto `out`, cut into pieces of at most `max` bytes at safe
/// places; each cut is counted in `out.forced`.
pub fn push_capped(text: &str, span: Range<usize>, max: usize, out: &mut Spans) {
    let Some(span) = trim(text, span) else {
        return;
    };
    let mut start = span.start;
    while span.end - start > max {
        let cut = safe_cut(&text[start..span.end], max);
        if let Some(piece) = trim(text, start..start + cut) {
            out.spans.push(piece);
        }
        out.forced += 1;
        start += cut;
    }
    if let Some(piece) = trim(text, start..span.end) {
        out.spans.push(piece);
    }
}

/// Trims spaces off both ends of a span; `None` if nothing is left.
fn trim(text: &str, span: Range<usize>) -> Option<Range<usize>> {
    let s = &text[span.clone()];
    let t = s.trim_start_matches(is_space);
    let lead = s.len() - t.len();
    let t = t.trim_end_matches(is_space);
    if t.is_empty() {
        None
    } else {
        Some(span.start + lead..span.start + lead + t.len())
    }
}

/// Where to cut a piece longer than `max` bytes: after the last space within the bound,
/// else at the last grapheme boundary (never inside a character or between a letter and
/// its combining accent, which Vietnamese in NFD has plenty of).
fn safe_cut(s: &str, max: usize) -> usize {
    let mut lim = max.min(s.len());
    while !s.is_char_boundary(lim) {
        lim -= 1;
    }
    let window = &s[..lim];
    if let Some((p, c)) = window.char_indices().rev().find(|&(_, c)| is_space(c)) {
        if p > max / 2 {
            return p + c.len_utf8();
        }
    }
    let cut = window
        .grapheme_indices(true)
        .map(|(p, _)| p)
        .rfind(|&p| p > 0)
        .unwrap_or(lim);
    if cut > 0 {
        cut
    } else {
        // A single grapheme longer than the bound (pathological combining runs): cut at
        // a char boundary instead; at least one char so we always progress.
        let first = s.chars().next().map_or(1, |c| c.len_utf8());
        lim.max(first)
    }
}

/// First letter or digit after a stop, skipping spaces, opening quotes, brackets and
/// dashes (`– Our`, `"It`, `(The`), and the word it starts.
fn next_word(s: &str) -> (Option<char>, &str) {
    for (p, c) in s.char_indices().take(12) {
        if c.is_alphanumeric() {
            let rest = &s[p..];
            let end = rest
                .char_indices()
                .find(|&(_, ch)| !(ch.is_alphanumeric() || ch == '\'' || ch == '’'))
                .map_or(rest.len(), |(q, _)| q);
            return (Some(c), &rest[..end]);
        }
        if is_weak_stop(c) || is_strong_stop(c) {
            break;
        }
    }
    (None, "")
}

/// A list marker as the whole sentence so far: `1`, `12`, `a`, `B`, `iv`, `XII`
/// (followed by the period being judged), as in "1. First item".
fn is_list_marker(s: &str) -> bool {
    let s = s.trim_start_matches(['(', '[', '-', '–', '•', '*']);
    if s.is_empty() || s.contains(is_space) {
        return false;
    }
    if s.len() <= 3 && s.bytes().all(|b| b.is_ascii_digit()) {
        return true;
    }
    if s.chars().count() == 1 && s.chars().all(char::is_alphabetic) {
        return true;
    }
    let roman = |c: char| matches!(c, 'i' | 'v' | 'x' | 'I' | 'V' | 'X');
    s.len() <= 5
        && s.chars().all(roman)
        && (s.chars().all(|c| c.is_ascii_uppercase()) || s.chars().all(|c| c.is_ascii_lowercase()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(lang: &str, text: &str) -> Vec<String> {
        Segmenter::new(lang)
            .spans(text)
            .spans
            .into_iter()
            .map(|r| text[r].to_string())
            .collect()
    }

    #[test]
    fn basic_stops() {
        assert_eq!(
            split("en", "Hello there. How are you? Fine! Good."),
            ["Hello there.", "How are you?", "Fine!", "Good."]
        );
    }

    #[test]
    fn english_abbreviations_and_initials() {
        assert_eq!(
            split(
                "en",
                "Mr. Smith met Dr. Jones at 5 p.m. yesterday. They talked."
            ),
            [
                "Mr. Smith met Dr. Jones at 5 p.m. yesterday.",
                "They talked."
            ]
        );
        assert_eq!(
            split("en", "J. R. R. Tolkien wrote it. It sold well."),
            ["J. R. R. Tolkien wrote it.", "It sold well."]
        );
        assert_eq!(
            split("en", "The U.S. Senate voted. It passed, e.g. in May."),
            ["The U.S. Senate voted.", "It passed, e.g. in May."]
        );
        assert_eq!(
            split("en", "He moved to the U.S. The move was hard."),
            ["He moved to the U.S.", "The move was hard."]
        );
        assert_eq!(
            split("en", "Visit example.com. Tom did. It costs 1.000. Ok."),
            ["Visit example.com.", "Tom did.", "It costs 1.000.", "Ok."]
        );
        assert_eq!(
            split(
                "en",
                "No. You have to buy it. See No. 5 here. I am I. Is it art. Those."
            ),
            [
                "No.",
                "You have to buy it.",
                "See No. 5 here.",
                "I am I.",
                "Is it art.",
                "Those."
            ]
        );
        assert_eq!(
            split("en", "Apples, pears, etc. We bought all. See No. 5 here."),
            ["Apples, pears, etc.", "We bought all.", "See No. 5 here."]
        );
    }

    #[test]
    fn numbers() {
        assert_eq!(
            split("en", "It claimed some 30,000 lives. Pi is 3.14 or so."),
            ["It claimed some 30,000 lives.", "Pi is 3.14 or so."]
        );
        assert_eq!(
            split(
                "vi",
                "Chiến tranh kết thúc vào năm 1994 sau khi 30.000 người chết. Ngày nay, 1,5 triệu."
            ),
            [
                "Chiến tranh kết thúc vào năm 1994 sau khi 30.000 người chết.",
                "Ngày nay, 1,5 triệu."
            ]
        );
        assert_eq!(
            split("en", "It ended in 1994. 30 people died."),
            ["It ended in 1994.", "30 people died."]
        );
    }

    #[test]
    fn ellipsis_quotes_brackets() {
        assert_eq!(
            split("en", "Let us support our army… we will win. Then what?"),
            ["Let us support our army… we will win.", "Then what?"]
        );
        assert_eq!(
            split(
                "vi",
                "họ đã \"tấn công ... dọc theo chiều dài\" để trả đũa. Xong..."
            ),
            [
                "họ đã \"tấn công ... dọc theo chiều dài\" để trả đũa.",
                "Xong..."
            ]
        );
        assert_eq!(
            split("en", "He waited... Nobody came."),
            ["He waited...", "Nobody came."]
        );
        assert_eq!(
            split(
                "en",
                "She said “no.” Then she left. (It was late.) He stayed!) Ok."
            ),
            [
                "She said “no.”",
                "Then she left.",
                "(It was late.)",
                "He stayed!)",
                "Ok."
            ]
        );
        assert_eq!(
            split("en", "He said \"Stop.\" Then: \"Go.\" \"Where?\" he asked."),
            ["He said \"Stop.\"", "Then: \"Go.\"", "\"Where?\" he asked."]
        );
        assert_eq!(
            split(
                "vi",
                "ông Erdogan mô tả là “một trở ngại cho hòa bình”. Nhà lãnh đạo"
            ),
            [
                "ông Erdogan mô tả là “một trở ngại cho hòa bình”.",
                "Nhà lãnh đạo"
            ]
        );
    }

    #[test]
    fn dialogue_dashes_and_lines() {
        assert_eq!(
            split(
                "en",
                "– We condemn it, the President said. – We call on them.\n– Be ready."
            ),
            [
                "– We condemn it, the President said.",
                "– We call on them.",
                "– Be ready."
            ]
        );
        assert_eq!(
            split("id", "Tanpa titik di akhir\nBaris baru.\r\nLagi.\rDan lagi"),
            ["Tanpa titik di akhir", "Baris baru.", "Lagi.", "Dan lagi"]
        );
    }

    #[test]
    fn lists() {
        assert_eq!(
            split("en", "1. First item\n2. Second item\nIV. Fourth\na. Alpha"),
            ["1. First item", "2. Second item", "IV. Fourth", "a. Alpha"]
        );
    }

    #[test]
    fn vietnamese_abbreviations() {
        assert_eq!(
            split("vi", "PGS.TS. Nguyễn Văn A sống ở TP. Hồ Chí Minh. ThS. Lê B ở Q. 1, v.v. Tôi đi gặp ông. Ông ấy vui."),
            [
                "PGS.TS. Nguyễn Văn A sống ở TP. Hồ Chí Minh.",
                "ThS. Lê B ở Q. 1, v.v.",
                "Tôi đi gặp ông.",
                "Ông ấy vui."
            ]
        );
        assert_eq!(
            split("vi", "Ở TP.HCM. Ngày mai mưa. Bạn đừng quen mang ô. Tối nay đi. Nước sôi ở 100 độ C. Mọi người vui."),
            [
                "Ở TP.HCM.",
                "Ngày mai mưa.",
                "Bạn đừng quen mang ô.",
                "Tối nay đi.",
                "Nước sôi ở 100 độ C.",
                "Mọi người vui."
            ]
        );
    }

    #[test]
    fn indonesian_abbreviations() {
        assert_eq!(
            split("id", "Kantor di Jl. Sudirman No. 5 dipimpin Prof. Budi. Ada buku, pena, dll. Surat a.n. Direktur dikirim. Selesai."),
            [
                "Kantor di Jl. Sudirman No. 5 dipimpin Prof. Budi.",
                "Ada buku, pena, dll.",
                "Surat a.n. Direktur dikirim.",
                "Selesai."
            ]
        );
    }

    #[test]
    fn cjk_thai_and_others() {
        assert_eq!(
            split("zh", "我们赢了。你呢？“好！”他说。"),
            ["我们赢了。", "你呢？", "“好！”", "他说。"]
        );
        assert_eq!(
            split("th", "ฉันชอบกินข้าว วันนี้อากาศดี"),
            ["ฉันชอบกินข้าว", "วันนี้อากาศดี"]
        );
        assert_eq!(
            split("hi", "मैं घर जा रहा हूँ। तुम कहाँ हो?"),
            ["मैं घर जा रहा हूँ।", "तुम कहाँ हो?"]
        );
        assert!(!Segmenter::new("fr").has_own_rules());
        assert!(Segmenter::new("zh").has_own_rules());
        assert_eq!(
            split("fr", "M. Dupont arrive. Il pleut."),
            ["M. Dupont arrive.", "Il pleut."]
        );
    }

    #[test]
    fn bom_and_spaces() {
        let text = "\u{feff}  Hi there.  \r\n\r\n  Bye. ";
        let sp = Segmenter::new("en").spans(text).spans;
        assert_eq!(sp.len(), 2);
        assert_eq!(&text[sp[0].clone()], "Hi there.");
        assert_eq!(&text[sp[1].clone()], "Bye.");
    }

    #[test]
    fn over_long_sentences_are_cut() {
        let text = "word ".repeat(30_000);
        let r = Segmenter::new("en").spans(&text);
        assert!(r.forced > 0);
        assert!(r.spans.iter().all(|s| s.len() <= MAX_SENTENCE_BYTES));
        assert_eq!(r.spans.len(), r.forced + 1);
        let glued = "é".repeat(10_000);
        let r = Segmenter::new("vi").with_max_bytes(100).spans(&glued);
        assert!(r
            .spans
            .iter()
            .all(|s| s.len() <= 100 && glued.is_char_boundary(s.start)));
        let nfd = "e\u{301}".repeat(1000);
        let r = Segmenter::new("vi").with_max_bytes(101).spans(&nfd);
        assert!(r.spans.iter().all(|s| nfd[s.clone()].starts_with('e')));
    }
}
