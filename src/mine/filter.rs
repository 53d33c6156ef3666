//! Cheap checks on mined pairs that embeddings alone get wrong: a margin cannot see that
//! two sentences differ in length threefold, that the "translation" is the source copied,
//! that the years differ, or that the target is in a third language.

use serde::Serialize;
use std::collections::BTreeSet;

/// One filter; `--filters` lists the ones to apply.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, serde::Deserialize,
)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum Filter {
    /// The longer side has more than `--max-length-ratio` times the characters of the other.
    Length,
    /// Both sides are the same text, or nearly (≥ 90 % of characters in common, ignoring
    /// case, spaces and punctuation): an untranslated copy.
    Identical,
    /// Both sides contain numbers, and neither side's numbers are all found on the other
    /// ("30,000" and "30.000" are the same number).
    Numbers,
    /// A language detector is confident that a side is not in its document's language.
    Lang,
}

impl Filter {
    pub const ALL: [Filter; 4] = [
        Filter::Length,
        Filter::Identical,
        Filter::Numbers,
        Filter::Lang,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Filter::Length => "length",
            Filter::Identical => "identical",
            Filter::Numbers => "numbers",
            Filter::Lang => "lang",
        }
    }
}

/// Default for `--max-length-ratio`: counted in characters, so generous enough for
/// languages of different scripts and for the looser correspondences of comparable text.
pub const DEFAULT_MAX_LENGTH_RATIO: f32 = 2.5;

/// Similarity (1 − edit distance / length) at or above which two sides count as the same.
const NEAR_IDENTICAL: f32 = 0.9;

/// The filters to apply.
#[derive(Clone, Debug, PartialEq, Serialize, serde::Deserialize)]
pub struct Filters {
    pub on: BTreeSet<Filter>,
    pub max_length_ratio: f32,
}

impl Default for Filters {
    fn default() -> Self {
        Self {
            on: Filter::ALL.into_iter().collect(),
            max_length_ratio: DEFAULT_MAX_LENGTH_RATIO,
        }
    }
}

impl Filters {
    pub fn none() -> Self {
        Self {
            on: BTreeSet::new(),
            ..Self::default()
        }
    }

    /// The first filter (in [`Filter::ALL`] order) the pair fails, if any.
    pub fn reject(&self, src: &str, src_lang: &str, tgt: &str, tgt_lang: &str) -> Option<Filter> {
        self.on.iter().copied().find(|f| match f {
            Filter::Length => length_ratio(src, tgt) > self.max_length_ratio,
            Filter::Identical => near_identical(src, tgt),
            Filter::Numbers => numbers_mismatch(src, tgt),
            Filter::Lang => wrong_language(src, src_lang) || wrong_language(tgt, tgt_lang),
        })
    }
}

/// Longer over shorter, in non-space characters (at least 1 each).
pub fn length_ratio(a: &str, b: &str) -> f32 {
    let n = |s: &str| s.chars().filter(|c| !c.is_whitespace()).count().max(1) as f32;
    let (a, b) = (n(a), n(b));
    a.max(b) / a.min(b)
}

fn normalise(s: &str) -> Vec<char> {
    s.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// Same letters and digits, or nearly (edit-distance similarity ≥ 0.9).
pub fn near_identical(a: &str, b: &str) -> bool {
    let (a, b) = (normalise(a), normalise(b));
    let (short, long) = if a.len() <= b.len() {
        (&a, &b)
    } else {
        (&b, &a)
    };
    if long.is_empty() {
        return true;
    }
    if (short.len() as f32) < NEAR_IDENTICAL * long.len() as f32 {
        return false;
    }
    let dist = levenshtein(short, long);
    1.0 - dist as f32 / long.len() as f32 >= NEAR_IDENTICAL
}

fn levenshtein(a: &[char], b: &[char]) -> usize {
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.iter().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// The numbers in a text, as digit strings without separators or leading zeros:
/// "30,000", "30.000" and "30 000" (no-break space) all give "30000".
pub fn numbers(s: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let chars: Vec<char> = s.chars().collect();
    let mut cur = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if c.is_ascii_digit() {
            cur.push(c);
            continue;
        }
        let separator = matches!(c, '.' | ',' | '\'' | '\u{a0}' | '\u{202f}')
            && !cur.is_empty()
            && chars.get(i + 1).is_some_and(|n| n.is_ascii_digit());
        if !separator && !cur.is_empty() {
            out.insert(strip_zeros(&cur));
            cur.clear();
        }
    }
    if !cur.is_empty() {
        out.insert(strip_zeros(&cur));
    }
    out
}

fn strip_zeros(d: &str) -> String {
    let t = d.trim_start_matches('0');
    if t.is_empty() { "0" } else { t }.to_string()
}

/// Both sides have numbers and neither side's set is contained in the other's. One side
/// may say more than the other (comparable text), but not something different.
pub fn numbers_mismatch(a: &str, b: &str) -> bool {
    let (a, b) = (numbers(a), numbers(b));
    !a.is_empty() && !b.is_empty() && !a.is_subset(&b) && !b.is_subset(&a)
}

/// A confident detection of another language than `lang` (ISO 639-1 or 639-3). Languages
/// the detector does not know, and uncertain detections, never count as wrong.
pub fn wrong_language(text: &str, lang: &str) -> bool {
    let Some(expected) = whatlang_of(lang) else {
        return false;
    };
    match whatlang::detect(text) {
        Some(info) if info.is_reliable() => info.lang() != expected,
        _ => false,
    }
}

fn whatlang_of(code: &str) -> Option<whatlang::Lang> {
    const ISO1: &[(&str, &str)] = &[
        ("af", "afr"),
        ("ak", "aka"),
        ("am", "amh"),
        ("ar", "ara"),
        ("az", "aze"),
        ("be", "bel"),
        ("bg", "bul"),
        ("bn", "ben"),
        ("ca", "cat"),
        ("cs", "ces"),
        ("cy", "cym"),
        ("da", "dan"),
        ("de", "deu"),
        ("el", "ell"),
        ("en", "eng"),
        ("eo", "epo"),
        ("es", "spa"),
        ("et", "est"),
        ("fa", "pes"),
        ("fi", "fin"),
        ("fr", "fra"),
        ("gu", "guj"),
        ("he", "heb"),
        ("hi", "hin"),
        ("hr", "hrv"),
        ("hu", "hun"),
        ("hy", "hye"),
        ("id", "ind"),
        ("it", "ita"),
        ("ja", "jpn"),
        ("jv", "jav"),
        ("ka", "kat"),
        ("km", "khm"),
        ("kn", "kan"),
        ("ko", "kor"),
        ("la", "lat"),
        ("lt", "lit"),
        ("lv", "lav"),
        ("mk", "mkd"),
        ("ml", "mal"),
        ("mr", "mar"),
        ("my", "mya"),
        ("nb", "nob"),
        ("ne", "nep"),
        ("nl", "nld"),
        ("no", "nob"),
        ("or", "ori"),
        ("pa", "pan"),
        ("pl", "pol"),
        ("pt", "por"),
        ("ro", "ron"),
        ("ru", "rus"),
        ("si", "sin"),
        ("sk", "slk"),
        ("sl", "slv"),
        ("sn", "sna"),
        ("sr", "srp"),
        ("sv", "swe"),
        ("ta", "tam"),
        ("te", "tel"),
        ("th", "tha"),
        ("tk", "tuk"),
        ("tl", "tgl"),
        ("tr", "tur"),
        ("uk", "ukr"),
        ("ur", "urd"),
        ("uz", "uzb"),
        ("vi", "vie"),
        ("yi", "yid"),
        ("zh", "cmn"),
        ("zu", "zul"),
    ];
    let code = code.to_ascii_lowercase();
    let base = code.split(['-', '_']).next().unwrap_or("");
    let iso3 = ISO1
        .iter()
        .find(|(a, _)| *a == base)
        .map(|(_, b)| *b)
        .unwrap_or(base);
    whatlang::Lang::from_code(iso3)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_ignore_separators_and_allow_one_side_to_say_more() {
        assert_eq!(
            numbers("some 30,000 lives (1988-1994), 08 am, 3.5%"),
            ["30000", "1988", "1994", "8", "35"]
                .map(String::from)
                .into()
        );
        assert_eq!(
            numbers("30.000 người; 30\u{a0}000"),
            ["30000"].map(String::from).into()
        );
        assert_eq!(numbers("end 2016."), ["2016"].map(String::from).into());
        // The en/vi demo pair: vi adds the year, en's number is on both sides.
        assert!(!numbers_mismatch(
            "The initial war claimed some 30,000 lives.",
            "Chiến tranh kết thúc vào năm 1994 sau khi 30.000 người chết."
        ));
        assert!(numbers_mismatch("in 1994", "pada 2016"));
        assert!(!numbers_mismatch("in 1994", "no digits here"));
    }

    #[test]
    fn identical_and_near_identical() {
        assert!(near_identical("Nagorno-Karabakh!", "nagorno karabakh"));
        assert!(near_identical(
            "Recep Tayyip Erdogan said",
            "Recep Tayyip Erdoğan said"
        ));
        assert!(
            near_identical("–", "..."),
            "nothing but punctuation on both sides"
        );
        assert!(!near_identical(
            "Armenia reported that soldiers attacked civilians.",
            "Armenia melaporkan bahwa tentara menyerang warga sipil."
        ));
    }

    #[test]
    fn length_ratio_counts_characters() {
        assert_eq!(length_ratio("ab cd", "abcdefgh"), 2.0);
        assert_eq!(length_ratio("", "a"), 1.0);
    }

    #[test]
    fn language_check_only_when_confident() {
        let en = "The parties fought a bloody battle over the control of the region during the collapse of the Soviet Union.";
        assert!(!wrong_language(en, "en"));
        assert!(wrong_language(en, "vi"));
        assert!(!wrong_language(en, "xx"), "unknown codes are never wrong");
        assert!(!wrong_language(
            "Các cuộc đụng độ bạo lực về địa vị của khu vực bắt đầu vào năm 1988, trước khi Liên Xô tan rã.",
            "vi"
        ));
    }

    #[test]
    fn reject_names_the_first_failing_filter_and_respects_off() {
        let f = Filters::default();
        assert_eq!(
            f.reject("short", "en", "a much much longer sentence", "en"),
            Some(Filter::Length)
        );
        assert_eq!(
            f.reject("Hello there.", "en", "Hello there!", "en"),
            Some(Filter::Identical)
        );
        assert_eq!(
            Filters::none().reject("short", "en", "a much much longer sentence", "en"),
            None
        );
        let mut only_numbers = Filters::none();
        only_numbers.on.insert(Filter::Numbers);
        assert_eq!(
            only_numbers.reject("in 1994", "en", "pada 2016", "id"),
            Some(Filter::Numbers)
        );
    }
}
