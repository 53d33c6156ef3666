//! The language of each document: from `--lang`, the file name, or detection.
//!
//! Codes are ISO 639-1 where one exists (`en`, `vi`, `id`), because that is what file
//! names and other aligners use; 639-3 codes (`eng`, `vie`, `ind`) are accepted and
//! mapped. Detection uses whatlang restricted to the languages the run involves, since
//! unrestricted detectors confuse close neighbours (Indonesian with Malay or Javanese).

use std::fmt;
use whatlang::Lang;

/// ISO 639-3 (whatlang's codes) → ISO 639-1, for every language whatlang knows.
/// Mandarin (`cmn`) maps to `zh` and Persian (`pes`) to `fa`, their macrolanguage codes.
const ISO3_TO_1: &[(&str, &str)] = &[
    ("afr", "af"),
    ("aka", "ak"),
    ("amh", "am"),
    ("ara", "ar"),
    ("aze", "az"),
    ("bel", "be"),
    ("ben", "bn"),
    ("bul", "bg"),
    ("cat", "ca"),
    ("ces", "cs"),
    ("cmn", "zh"),
    ("cym", "cy"),
    ("dan", "da"),
    ("deu", "de"),
    ("ell", "el"),
    ("eng", "en"),
    ("epo", "eo"),
    ("est", "et"),
    ("fin", "fi"),
    ("fra", "fr"),
    ("guj", "gu"),
    ("heb", "he"),
    ("hin", "hi"),
    ("hrv", "hr"),
    ("hun", "hu"),
    ("hye", "hy"),
    ("ind", "id"),
    ("ita", "it"),
    ("jav", "jv"),
    ("jpn", "ja"),
    ("kan", "kn"),
    ("kat", "ka"),
    ("khm", "km"),
    ("kor", "ko"),
    ("lat", "la"),
    ("lav", "lv"),
    ("lit", "lt"),
    ("mal", "ml"),
    ("mar", "mr"),
    ("mkd", "mk"),
    ("mya", "my"),
    ("nep", "ne"),
    ("nld", "nl"),
    ("nob", "nb"),
    ("ori", "or"),
    ("pan", "pa"),
    ("pes", "fa"),
    ("pol", "pl"),
    ("por", "pt"),
    ("ron", "ro"),
    ("rus", "ru"),
    ("sin", "si"),
    ("slk", "sk"),
    ("slv", "sl"),
    ("sna", "sn"),
    ("spa", "es"),
    ("srp", "sr"),
    ("swe", "sv"),
    ("tam", "ta"),
    ("tel", "te"),
    ("tgl", "tl"),
    ("tha", "th"),
    ("tuk", "tk"),
    ("tur", "tr"),
    ("ukr", "uk"),
    ("urd", "ur"),
    ("uzb", "uz"),
    ("vie", "vi"),
    ("yid", "yi"),
    ("zul", "zu"),
];

/// Other 639-3 / bibliographic codes people commonly type, mapped to 639-1.
const ALIASES: &[(&str, &str)] = &[
    ("zho", "zh"),
    ("chi", "zh"),
    ("fas", "fa"),
    ("per", "fa"),
    ("fre", "fr"),
    ("ger", "de"),
    ("dut", "nl"),
    ("cze", "cs"),
    ("gre", "el"),
    ("rum", "ro"),
    ("slo", "sk"),
    ("arm", "hy"),
    ("geo", "ka"),
    ("bur", "my"),
    ("wel", "cy"),
    ("nor", "no"),
    ("msa", "ms"),
    ("may", "ms"),
    ("zsm", "ms"),
    ("fil", "tl"),
];

/// Languages with their own segmentation rules; always candidates for detection, since
/// they are the ones bitalign is tuned for.
pub const WITH_RULES: &[&str] = &["en", "vi", "id"];

/// Why a document has the language it has, for the note printed at load time.
#[derive(Clone, Debug, PartialEq)]
pub enum LangSource {
    /// Given with `--lang`.
    Flag,
    /// Taken from the file name (`story.vi.txt`).
    FileName,
    /// Detected by whatlang among the run's candidates.
    Detected {
        confidence: f64,
        candidates: Vec<String>,
    },
    /// Detection among the candidates was unsure, and whatlang over all its languages was
    /// confident of a language outside them.
    DetectedOutside { confidence: f64 },
    /// Nothing to go on (too little text); segmented with the generic rules.
    Unknown,
}

impl fmt::Display for LangSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LangSource::Flag => write!(f, "from --lang"),
            LangSource::FileName => write!(f, "from the file name"),
            LangSource::Detected {
                confidence,
                candidates,
            } => write!(
                f,
                "detected among {}, confidence {confidence:.2}",
                candidates.join("/")
            ),
            LangSource::DetectedOutside { confidence } => write!(
                f,
                "detected outside the run's languages, confidence {confidence:.2}; pass --lang if wrong"
            ),
            LangSource::Unknown => {
                write!(f, "could not be detected, generic rules; pass --lang")
            }
        }
    }
}

/// Code used when a document's language cannot be told (BCP 47 "undetermined").
pub const UNDETERMINED: &str = "und";

/// Normalises a user-given language code: lower-cases the primary subtag, maps 639-3 and
/// bibliographic codes to 639-1, drops region/script subtags (`pt-BR` → `pt`, since
/// segmentation and detection do not depend on them). `None` if it is not shaped like a code.
pub fn normalize(code: &str) -> Option<String> {
    let primary = code.split(['-', '_']).next().unwrap_or("");
    if !(2..=3).contains(&primary.len()) || !primary.bytes().all(|b| b.is_ascii_alphabetic()) {
        return None;
    }
    let rest_ok = code
        .split(['-', '_'])
        .skip(1)
        .all(|s| (1..=8).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric()));
    if !rest_ok {
        return None;
    }
    let p = primary.to_ascii_lowercase();
    if p.len() == 2 {
        return Some(p);
    }
    let mapped = ISO3_TO_1
        .iter()
        .chain(ALIASES)
        .find(|(three, _)| *three == p)
        .map(|(_, one)| one.to_string());
    Some(mapped.unwrap_or(p))
}

/// ISO 639-1 codes (all 183 of them, plus `sh`, still common): what a two-letter
/// primary subtag must be.
const ISO639_1: &[&str] = &[
    "aa", "ab", "ae", "af", "ak", "am", "an", "ar", "as", "av", "ay", "az", "ba", "be", "bg", "bi",
    "bm", "bn", "bo", "br", "bs", "ca", "ce", "ch", "co", "cr", "cs", "cu", "cv", "cy", "da", "de",
    "dv", "dz", "ee", "el", "en", "eo", "es", "et", "eu", "fa", "ff", "fi", "fj", "fo", "fr", "fy",
    "ga", "gd", "gl", "gn", "gu", "gv", "ha", "he", "hi", "ho", "hr", "ht", "hu", "hy", "hz", "ia",
    "id", "ie", "ig", "ii", "ik", "io", "is", "it", "iu", "ja", "jv", "ka", "kg", "ki", "kj", "kk",
    "kl", "km", "kn", "ko", "kr", "ks", "ku", "kv", "kw", "ky", "la", "lb", "lg", "li", "ln", "lo",
    "lt", "lu", "lv", "mg", "mh", "mi", "mk", "ml", "mn", "mr", "ms", "mt", "my", "na", "nb", "nd",
    "ne", "ng", "nl", "nn", "no", "nr", "nv", "ny", "oc", "oj", "om", "or", "os", "pa", "pi", "pl",
    "ps", "pt", "qu", "rm", "rn", "ro", "ru", "rw", "sa", "sc", "sd", "se", "sg", "sh", "si", "sk",
    "sl", "sm", "sn", "so", "sq", "sr", "ss", "st", "su", "sv", "sw", "ta", "te", "tg", "th", "ti",
    "tk", "tl", "tn", "to", "tr", "ts", "tt", "tw", "ty", "ug", "uk", "ur", "uz", "ve", "vi", "vo",
    "wa", "wo", "xh", "yi", "yo", "za", "zh", "zu",
];

/// Whether a normalised primary subtag is an ISO 639 code: any 639-1 code; a three-letter
/// code (639-2/3, checked for shape only: the 639-3 table has some 7900 entries) that has
/// no 639-1 equivalent; `und`.
pub fn is_iso639(primary: &str) -> bool {
    match primary.len() {
        2 => ISO639_1.binary_search(&primary).is_ok(),
        3 => primary.bytes().all(|b| b.is_ascii_lowercase()),
        _ => false,
    }
}

/// A BCP-47 tag in canonical case with the primary language normalised as [`normalize`]
/// does (`PT_br` → `pt-BR`, `zho-hant` → `zh-Hant`, `vie` → `vi`): script subtags in title
/// case, regions upper case, variants lower case. `None` if it is not shaped like a tag
/// (primary, then optional script, region and variants) or the primary is not ISO 639.
pub fn normalize_tag(code: &str) -> Option<String> {
    let mut parts = code.trim().split(['-', '_']);
    let primary = normalize(parts.next()?)?;
    if !is_iso639(&primary) {
        return None;
    }
    let mut out = primary;
    // 0: script allowed next; 1: region; 2: variants only.
    let mut stage = 0;
    for p in parts {
        let alpha = p.bytes().all(|b| b.is_ascii_alphabetic());
        let digits = p.bytes().all(|b| b.is_ascii_digit());
        out.push('-');
        if stage == 0 && p.len() == 4 && alpha {
            let mut c = p.chars();
            let first = c.next()?.to_ascii_uppercase();
            out.push(first);
            out.push_str(&c.as_str().to_ascii_lowercase());
            stage = 1;
        } else if stage <= 1 && ((p.len() == 2 && alpha) || (p.len() == 3 && digits)) {
            out.push_str(&p.to_ascii_uppercase());
            stage = 2;
        } else if ((5..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric()))
            || (p.len() == 4
                && p.as_bytes()[0].is_ascii_digit()
                && p.bytes().all(|b| b.is_ascii_alphanumeric()))
        {
            out.push_str(&p.to_ascii_lowercase());
            stage = 2;
        } else {
            return None;
        }
    }
    Some(out)
}

/// Whether whatlang (hence detection and file-name guessing) knows this 639-1 code.
fn known(code: &str) -> bool {
    ISO3_TO_1.iter().any(|(_, one)| *one == code) || ALIASES.iter().any(|(_, one)| *one == code)
}

/// Language from a file name like `story.vi.txt`, `story.vi` or `tatoeba.vie-eng.vie`:
/// the last or second-to-last extension, if it is a known language code. Only codes of
/// languages we know are taken, so that `notes.md` or `data.csv` never look like languages.
pub fn from_file_name(name: &str) -> Option<String> {
    let name = crate::segment::strip_compression(name);
    let base = std::path::Path::new(name).file_name()?.to_str()?;
    let parts: Vec<&str> = base.split('.').collect();
    if parts.len() < 2 {
        return None;
    }
    // parts[0] is the stem; look at the last two extensions, the last one first.
    // A full tag (`story.pt-BR.txt`) is kept whole when its language is a known one.
    parts[1..].iter().rev().take(2).find_map(|ext| {
        let base = normalize(ext).filter(|c| known(c))?;
        Some(
            normalize_tag(ext)
                .filter(|t| t.split('-').next() == Some(base.as_str()))
                .unwrap_or(base),
        )
    })
}

fn to_whatlang(code: &str) -> Option<Lang> {
    let three = ISO3_TO_1
        .iter()
        .find(|(_, one)| *one == code)
        .map(|(three, _)| *three)?;
    Lang::from_code(three)
}

fn from_whatlang(lang: Lang) -> String {
    let three = lang.code();
    ISO3_TO_1
        .iter()
        .find(|(t, _)| *t == three)
        .map(|(_, one)| one.to_string())
        .unwrap_or_else(|| three.to_string())
}

/// Close neighbours that whatlang over all languages mixes up; when one of a pair is a
/// candidate, the other is not taken from unrestricted detection.
const NEIGHBOURS: &[(&str, &str)] = &[
    ("id", "jv"),
    ("id", "tl"),
    ("id", "ms"),
    ("nb", "da"),
    ("nb", "sv"),
    ("da", "sv"),
    ("hr", "sr"),
    ("hr", "sl"),
    ("sr", "mk"),
    ("sr", "bg"),
    ("ru", "uk"),
    ("ru", "be"),
    ("cs", "sk"),
    ("es", "ca"),
    ("es", "pt"),
    ("hi", "mr"),
    ("hi", "ne"),
    ("ur", "fa"),
    ("zh", "ja"),
];

fn neighbours(a: &str, b: &str) -> bool {
    NEIGHBOURS
        .iter()
        .any(|&(x, y)| (x == a && y == b) || (x == b && y == a))
}

/// Detects the language of `text` among `candidates` (639-1 codes; unknown ones are
/// ignored). Whatlang over all its languages is asked first: if it is sure of a language
/// that is neither a candidate nor a close neighbour of one, that language wins, so a
/// French file in an en/vi run is not forced into English; otherwise the answer comes
/// from detection restricted to the candidates, which keeps Indonesian from becoming
/// Javanese. Returns `(UNDETERMINED, Unknown)` when there is nothing to detect.
pub fn detect(text: &str, candidates: &[String]) -> (String, LangSource) {
    // Detection cost grows with the text; a few kB is plenty for trigram statistics.
    let sample = sample(text, 20_000);
    let allow: Vec<Lang> = candidates.iter().filter_map(|c| to_whatlang(c)).collect();
    let open = whatlang::Detector::new().detect(sample);
    if let Some(o) = &open {
        let code = from_whatlang(o.lang());
        if o.is_reliable()
            && !allow.contains(&o.lang())
            && !candidates.iter().any(|c| neighbours(c, &code))
        {
            return (
                code,
                LangSource::DetectedOutside {
                    confidence: o.confidence(),
                },
            );
        }
    }
    let restricted = if allow.is_empty() {
        None
    } else {
        whatlang::Detector::with_allowlist(allow.clone()).detect(sample)
    };
    match (restricted, open) {
        (Some(r), _) => {
            let mut names: Vec<String> = allow.iter().map(|l| from_whatlang(*l)).collect();
            names.sort();
            names.dedup();
            (
                from_whatlang(r.lang()),
                LangSource::Detected {
                    confidence: r.confidence(),
                    candidates: names,
                },
            )
        }
        (None, Some(o)) => (
            from_whatlang(o.lang()),
            LangSource::DetectedOutside {
                confidence: o.confidence(),
            },
        ),
        (None, None) => (UNDETERMINED.to_string(), LangSource::Unknown),
    }
}

/// The first `max` bytes of `text`, cut at a char boundary.
fn sample(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_codes() {
        assert_eq!(normalize("EN").as_deref(), Some("en"));
        assert_eq!(normalize("vie").as_deref(), Some("vi"));
        assert_eq!(normalize("ind").as_deref(), Some("id"));
        assert_eq!(normalize("pt-BR").as_deref(), Some("pt"));
        assert_eq!(normalize("zh_Hant").as_deref(), Some("zh"));
        assert_eq!(normalize("haw").as_deref(), Some("haw"));
        assert_eq!(normalize("english"), None);
        assert_eq!(normalize("e"), None);
        assert_eq!(normalize("e1"), None);
        assert_eq!(normalize(""), None);
    }

    #[test]
    fn full_tags_keep_region_and_script() {
        assert_eq!(normalize_tag("pt_br").as_deref(), Some("pt-BR"));
        assert_eq!(normalize_tag("PT-pt").as_deref(), Some("pt-PT"));
        assert_eq!(normalize_tag("zho-hant-tw").as_deref(), Some("zh-Hant-TW"));
        assert_eq!(normalize_tag("es-419").as_deref(), Some("es-419"));
        assert_eq!(normalize_tag("vie").as_deref(), Some("vi"));
        assert_eq!(normalize_tag("zz"), None, "not ISO 639");
        assert_eq!(normalize_tag("en-x"), None);
        assert_eq!(normalize_tag("en-US-GB"), None, "two regions");
        assert_eq!(from_file_name("story.pt-BR.txt").as_deref(), Some("pt-BR"));
        assert_eq!(from_file_name("a.vie-eng.vie").as_deref(), Some("vi"));
    }

    #[test]
    fn file_names() {
        assert_eq!(from_file_name("data/story.vi.txt").as_deref(), Some("vi"));
        assert_eq!(from_file_name("story.en").as_deref(), Some("en"));
        assert_eq!(from_file_name("tatoeba.vie-eng.vie").as_deref(), Some("vi"));
        assert_eq!(from_file_name("karabakh.id.txt").as_deref(), Some("id"));
        assert_eq!(from_file_name("notes.md"), None);
        assert_eq!(from_file_name("story.txt"), None);
        assert_eq!(from_file_name("story"), None);
        assert_eq!(from_file_name("-"), None);
    }

    #[test]
    fn detects_among_candidates() {
        let c: Vec<String> = WITH_RULES.iter().map(|s| s.to_string()).collect();
        let (l, how) = detect(
            "Presiden Rusia Vladimir Putin dikabarkan langsung mengontak Perdana Menteri \
             Armenia terkait hal ini dan menyarankan untuk menurunkan tensi.",
            &c,
        );
        assert_eq!(l, "id");
        assert!(matches!(how, LangSource::Detected { .. }));
        let (l, _) = detect(
            "Cuộc tấn công bắt đầu vào khoảng 8 giờ sáng theo giờ địa phương.",
            &c,
        );
        assert_eq!(l, "vi");
        let (l, _) = detect("12345 67890", &c);
        assert_eq!(l, UNDETERMINED);
    }

    #[test]
    fn detects_outside_candidates_when_sure() {
        let c = vec!["en".to_string(), "vi".to_string()];
        let (l, how) = detect(
            "Le gouvernement a annoncé mardi une nouvelle série de mesures pour soutenir \
             les entreprises touchées par la crise, selon le ministre de l'économie.",
            &c,
        );
        assert_eq!(l, "fr", "{how:?}");
        // Javanese is a neighbour of Indonesian: never chosen over it in an id run.
        let (l, _) = detect(
            "Amerika Serikat melalui Kementerian Luar Negerinya menghimbau kedua belah pihak.",
            &["id".to_string(), "en".to_string()],
        );
        assert_eq!(l, "id");
    }
}
