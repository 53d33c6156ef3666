//! Per-language knowledge the segmenter needs: which words before a period are
//! abbreviations, and which words after one clearly start a new sentence.
//!
//! Lists are matched exactly (case matters: `No. 5` vs `said no.`), on the word before
//! the final period with that period removed; words with inner periods (`U.S`, `e.g`,
//! `a.n`, `PGS.TS`) are treated as abbreviations even when not listed.

/// How a language's text marks sentences, beyond the shared stops.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Script {
    /// Spaces between words, `.`/`!`/`?`, upper case at sentence starts.
    Spaced,
    /// Thai and Lao: no sentence punctuation; a space between two words of the script
    /// is the usual sentence (or clause) separator, so it is used as a boundary.
    SpaceSeparated,
}

/// The rules for one language.
#[derive(Debug)]
pub struct Rules {
    /// Language these rules were written for (`generic` for the fallback).
    pub name: &'static str,
    pub script: Script,
    /// Abbreviations that precede what they qualify (titles, `No.`, street `Jl.`): a period
    /// after them never ends a sentence.
    pub prefixes: &'static [&'static str],
    /// Abbreviations that precede a number (`No. 5`, `Fig. 3`, `Rp. 5.000`): a period after
    /// them never ends a sentence before a digit, and is an ordinary stop otherwise
    /// (`"No. You have to buy it"`).
    pub numeric: &'static [&'static str],
    /// Abbreviations that may end a sentence (`etc.`, `dll.`, `v.v.`): a period after
    /// them ends the sentence when an upper-case word follows.
    pub enders: &'static [&'static str],
    /// Abbreviations that usually do not end a sentence but can (`U.S.`, `a.m.`, `Jr.`):
    /// the period ends the sentence only if a typical sentence opener follows.
    pub ambiguous: &'static [&'static str],
    /// Words that typically open a sentence (pronouns, articles, connectives).
    pub openers: &'static [&'static str],
}

const EN: Rules = Rules {
    name: "en",
    script: Script::Spaced,
    prefixes: &[
        "Mr", "Mrs", "Ms", "Messrs", "Mmes", "Dr", "Prof", "Rev", "Hon", "Gen", "Lt", "Col", "Maj",
        "Capt", "Cpt", "Sgt", "Cpl", "Adm", "Cmdr", "Gov", "Sen", "Rep", "Pres", "Supt", "Insp",
        "Det", "Fr", "Sr", "Sra", "Mt", "Ft", "Ave", "Blvd", "approx", "ca", "cf", "vs", "viz",
        "Jan", "Feb", "Mar", "Apr", "Jun", "Jul", "Aug", "Sep", "Sept", "Oct", "Nov", "Dec", "Mon",
        "Tue", "Tues", "Wed", "Thu", "Thur", "Thurs", "Fri", "Sat", "Sun", "Dept", "Univ", "Assn",
        "St",
    ],
    numeric: &[
        "No", "Nos", "no", "Nr", "nr", "Vol", "vol", "Vols", "pp", "p", "pg", "Fig", "fig", "Figs",
        "Eq", "eq", "Sec", "sec", "Art", "art", "Ch", "ch", "Chap", "Tel", "tel", "Ext", "ext",
        "est", "Est",
    ],
    enders: &["etc", "Inc", "Ltd", "Corp", "Co", "Bros", "al", "ibid"],
    ambiguous: &[
        "Jr", "Sr", "a.m", "p.m", "U.S", "U.K", "U.N", "E.U", "U.S.A", "Ph.D",
    ],
    openers: &[
        "The",
        "A",
        "An",
        "He",
        "She",
        "It",
        "They",
        "We",
        "I",
        "You",
        "This",
        "That",
        "These",
        "Those",
        "There",
        "Here",
        "But",
        "And",
        "Or",
        "So",
        "Yet",
        "In",
        "On",
        "At",
        "As",
        "However",
        "Meanwhile",
        "His",
        "Her",
        "Its",
        "Their",
        "Our",
        "My",
        "Your",
        "If",
        "When",
        "While",
        "After",
        "Before",
        "Since",
        "Some",
        "Many",
        "Most",
        "What",
        "Who",
        "Why",
        "How",
        "Where",
        "Then",
        "Now",
        "Still",
        "Also",
        "Everyone",
        "Everybody",
        "Nobody",
        "Nothing",
        "Everything",
        "Let",
        "Please",
        "Do",
        "Does",
        "Did",
        "Is",
        "Are",
        "Can",
        "Could",
        "Would",
        "Will",
        "Should",
    ],
};

/// Vietnamese writes titles and degrees abbreviated with a period (`TS. Nguyễn Văn A`,
/// `PGS.TS.`, `ThS.`), city/district prefixes (`TP. Hồ Chí Minh`, `Tp.`, `Q. 1`, `P.`),
/// and `v.v.` for "etc." Common words like `ông` (Mr) are written in full — in the demo
/// article `ông Erdogan` — so `ông.` is a real sentence end, not an abbreviation.
const VI: Rules = Rules {
    name: "vi",
    script: Script::Spaced,
    prefixes: &[
        "TS", "ThS", "Ths", "PGS", "GS", "BS", "KS", "CN", "NCS", "ThS.BS", "TSKH", "BSCKII", "TP",
        "Tp", "tp", "TX", "Tx", "TT", "Q", "P", "H", "X", "Th", "St", "Đ", "Đc", "đ/c", "NXB",
        "Nxb", "Mr", "Mrs", "Ms", "Dr", "Prof", "Jan", "Feb", "Mar", "Apr", "Jun", "Jul", "Aug",
        "Sep", "Sept", "Oct", "Nov", "Dec",
    ],
    numeric: &["No", "Số", "Vol", "tr", "Tr", "Fig", "Art"],
    enders: &["v.v", "vv", "etc"],
    ambiguous: &["U.S", "U.K", "a.m", "p.m"],
    openers: &[
        "Tôi", "Anh", "Chị", "Em", "Ông", "Bà", "Họ", "Chúng", "Đây", "Đó", "Điều", "Nhưng", "Và",
        "Tuy", "Trong", "Khi", "Các", "Những", "Một", "Theo", "Ngày", "Sau", "Trước", "Nếu", "Vì",
        "Do", "Hôm", "Cả", "Người", "Hai", "Ba", "Mọi", "Tất", "Ai", "Sao", "Tại", "Làm", "Bạn",
        "Nó", "Mình", "Cậu", "Hãy", "Đừng", "Xin",
    ],
};

/// Indonesian: `dll.`/`dsb.`/`dst.`/`dkk.`/`tsb.` end lists ("etc."); titles and address
/// parts (`Prof.`, `Jl.`, `Kab.`, `Ir.`, `Drs.`, `dr.`, `Bpk.`) precede a name, `No.`,
/// `Rp.`, `hlm.` a number; `a.n.` ("on behalf of") has inner periods.
const ID: Rules = Rules {
    name: "id",
    script: Script::Spaced,
    prefixes: &[
        "Prof", "Dr", "dr", "drg", "Ir", "Drs", "Dra", "Hj", "H", "KH", "Bpk", "Bp", "Sdr", "Sdri",
        "Yth", "Tn", "Ny", "Nn", "Jl", "Jln", "Gg", "Kab", "Kec", "Kel", "Ds", "Prov", "Kol",
        "Letjen", "Mayjen", "Brigjen", "Jend", "Pol", "Irjen", "Kombes", "AKBP", "AKP", "Iptu",
        "Ipda", "Laksda", "Marsda", "Kapt", "Lettu", "Serka", "Kompol", "Mr", "Mrs", "Ms", "St",
        "Jan", "Feb", "Mar", "Apr", "Jun", "Jul", "Agu", "Agt", "Sep", "Okt", "Nov", "Des", "a.n",
        "u.p", "d.a", "s.d",
    ],
    numeric: &[
        "No", "no", "Nomor", "Rp", "hlm", "Hlm", "tgl", "Tgl", "Vol", "vol", "Psl",
    ],
    enders: &["dll", "dsb", "dst", "dkk", "tsb", "sbb", "etc"],
    ambiguous: &[
        "S.H", "S.E", "S.Pd", "M.Si", "M.Sc", "M.A", "Ph.D", "S.Kom", "U.S", "a.m", "p.m",
    ],
    openers: &[
        "Saya",
        "Aku",
        "Dia",
        "Ia",
        "Mereka",
        "Kami",
        "Kita",
        "Anda",
        "Kamu",
        "Ini",
        "Itu",
        "Namun",
        "Tetapi",
        "Tapi",
        "Dan",
        "Di",
        "Pada",
        "Dalam",
        "Sementara",
        "Selain",
        "Hal",
        "Para",
        "Sebuah",
        "Seorang",
        "Sejak",
        "Akhirnya",
        "Menurut",
        "Meski",
        "Jika",
        "Kalau",
        "Setelah",
        "Sebelum",
        "Atas",
        "Untuk",
        "Dengan",
        "Hari",
        "Apa",
        "Apakah",
        "Siapa",
        "Mengapa",
        "Kenapa",
        "Bagaimana",
        "Kapan",
        "Berapa",
        "Tolong",
        "Jangan",
        "Semua",
    ],
};

/// For languages without their own list: abbreviations shared by many Latin-script
/// languages. Single letters (initials) and words with inner periods are handled for
/// every language by the segmenter itself.
const GENERIC: Rules = Rules {
    name: "generic",
    script: Script::Spaced,
    prefixes: &[
        "Mr", "Mrs", "Ms", "Dr", "Prof", "St", "ca", "cf", "vs", "Jan", "Feb", "Mar", "Apr", "Jun",
        "Jul", "Aug", "Sep", "Sept", "Oct", "Nov", "Dec", "Sr", "Sra", "Srta", "Hr", "Fr", "Mme",
        "Mlle", "bzw", "ggf", "sog", "Str",
    ],
    numeric: &[
        "No", "Nº", "nº", "Nr", "Vol", "vol", "Fig", "fig", "Art", "art", "pp", "S", "s", "p",
    ],
    enders: &["etc", "usw", "ecc", "Inc", "Ltd"],
    ambiguous: &["U.S", "a.m", "p.m", "z.B", "d.h", "u.a"],
    openers: &[],
};

/// Thai and Lao share the shared stops plus space-separated sentences.
const THAI: Rules = Rules {
    name: "th",
    script: Script::SpaceSeparated,
    prefixes: &[],
    numeric: &[],
    enders: &[],
    ambiguous: &[],
    openers: &[],
};

/// Scripts whose own stops (`。！？`, `।`, `។`, `။`, `؟`, `։`, `።`) are handled for every
/// language; these codes are not "missing rules" even though they have no word lists.
const OWN_STOPS: &[&str] = &[
    "zh", "ja", "ko", "yue", "hi", "mr", "ne", "bn", "pa", "gu", "or", "si", "ta", "te", "kn",
    "ml", "km", "my", "ar", "fa", "ur", "he", "yi", "am", "hy", "ka",
];

/// The rules for a language code, and whether that language has rules of its own (false:
/// the generic fallback, which the caller announces once).
pub fn for_lang(lang: &str) -> (&'static Rules, bool) {
    match lang {
        "en" => (&EN, true),
        "vi" => (&VI, true),
        "id" => (&ID, true),
        "th" | "lo" => (&THAI, true),
        l if OWN_STOPS.contains(&l) => (&GENERIC, true),
        _ => (&GENERIC, false),
    }
}
