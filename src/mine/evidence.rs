//! Evidence beyond one cosine for comparable text: numbers that agree ("30,000" =
//! "30.000") and rare names shared by both sides (Lavrov, Erdoğan = Erdogan, Nagorny ~
//! Nagorno, Russia ~ Rusia). Embeddings of news sentences on one story are all close to each other; a
//! shared year or a shared rare name is what tells the sentence that states the same fact.

use super::filter::numbers;
use std::collections::{BTreeSet, HashMap};

/// Names whose keys match are taken as the same name: the first four letters after case
/// and accent folding and collapsing doubled letters, or the whole word when shorter.
/// Catches transliterations that differ in their ending or in a doubled letter
/// (Nagorny/Nagorno, Pashinya/Pashinyan, Tayyib/Tayyip, Russia/Rusia, Turkey/Turki).
const NAME_PREFIX: usize = 4;

/// Upper bound of the name evidence (in nats of inverse document frequency), so that a
/// sentence full of names cannot outweigh the embedding.
pub const MAX_NAME_EVIDENCE: f32 = 4.0;

/// Keys of the capitalised words of `s` (proper names, acronyms), first word excluded
/// because every sentence starts with a capital. Hyphenated names count by part
/// (Nagorno-Karabakh → nagor, karab); parts shorter than three letters are ignored.
pub fn names(s: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for (n, tok) in words(s).enumerate() {
        if n == 0 {
            continue;
        }
        let len = tok.chars().count();
        let first_upper = tok.chars().next().is_some_and(char::is_uppercase);
        let all_upper = tok
            .chars()
            .filter(|c| c.is_alphabetic())
            .all(char::is_uppercase);
        let is_name = (first_upper && len >= 3 && !all_upper) || (all_upper && len >= 2);
        if !is_name {
            continue;
        }
        for part in tok.split('-').filter(|p| p.chars().count() >= 3) {
            out.insert(key(&fold(part)));
        }
    }
    out
}

/// Words: runs of letters, with `-` or `'` inside them (not at the ends).
fn words(s: &str) -> impl Iterator<Item = &str> {
    let b: Vec<(usize, char)> = s.char_indices().collect();
    let mut spans = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if !b[i].1.is_alphabetic() {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() {
            if b[i].1.is_alphabetic() {
                i += 1;
            } else if matches!(b[i].1, '-' | '\'')
                && b.get(i + 1).is_some_and(|c| c.1.is_alphabetic())
            {
                i += 2;
            } else {
                break;
            }
        }
        let end = b.get(i).map_or(s.len(), |c| c.0);
        spans.push((b[start].0, end));
    }
    spans.into_iter().map(move |(a, z)| &s[a..z])
}

/// Lower case without accents for the Latin letters names are written with.
pub fn fold(w: &str) -> String {
    const FROM: &str = "àáâãäåçèéêëìíîïñòóôõöùúûüýÿāăąćĉċčďēĕėęěĝğġģĥĩīĭįĳĵķĺļľŀńņňōŏőŕŗřśŝşšţťũūŭůűųŵŷźżžſơưǆǉǌǎǐǒǔǖǘǚǜǟǡǧǩǫǭǰǳǵǹǻȁȃȅȇȉȋȍȏȑȓȕȗșțȟȧȩȫȭȯȱȳḁḃḅḇḉḋḍḏḑḓḕḗḙḛḝḟḡḣḥḧḩḫḭḯḱḳḵḷḹḻḽḿṁṃṅṇṉṋṍṏṑṓṕṗṙṛṝṟṡṣṥṧṩṫṭṯṱṳṵṷṹṻṽṿẁẃẅẇẉẋẍẏẑẓẕẖẗẘẙẚẛạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹđıøłħ";
    const TO: &str = "aaaaaaceeeeiiiinooooouuuuyyaaaccccdeeeeegggghiiiiijkllllnnnooorrrssssttuuuuuuwyzzzsoudlnaiouuuuuaagkoojdgnaaaeeiioorruusthaeooooyabbbcdddddeeeeefghhhhhiikkkllllmmmnnnnoooopprrrrsssssttttuuuuuvvwwwwwxxyzzzhtwyasaaaaaaaaaaaaeeeeeeeeiioooooooooooouuuuuuuyyyydiolh";
    w.chars()
        .flat_map(char::to_lowercase)
        .map(|c| match FROM.chars().position(|f| f == c) {
            Some(p) => TO.as_bytes()[p] as char,
            None => c,
        })
        .collect()
}

fn key(folded: &str) -> String {
    let mut single: Vec<char> = folded.chars().collect();
    single.dedup();
    if single.len() >= NAME_PREFIX {
        single[..NAME_PREFIX].iter().collect()
    } else {
        format!("={}", single.iter().collect::<String>())
    }
}

/// Name and number evidence for the sentences of two sides. Names are weighted by their
/// inverse document frequency over both sides: on a story about Armenia and Azerbaijan,
/// sharing "Armenia" says nothing, sharing "Lavrov" says a lot.
pub struct Evidence {
    src_names: Vec<BTreeSet<String>>,
    tgt_names: Vec<BTreeSet<String>>,
    src_numbers: Vec<BTreeSet<String>>,
    tgt_numbers: Vec<BTreeSet<String>>,
    /// ln(sentences / sentences with the name), per name key.
    idf: HashMap<String, f32>,
}

/// How the numbers of a pair compare.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Numbers {
    /// A side has no number.
    Absent,
    /// Both have numbers and at least one is on both sides.
    Agree,
    /// Both have numbers and none is shared.
    Conflict,
}

impl Evidence {
    pub fn new(src: &[&str], tgt: &[&str]) -> Self {
        let src_names: Vec<_> = src.iter().map(|s| names(s)).collect();
        let tgt_names: Vec<_> = tgt.iter().map(|s| names(s)).collect();
        let mut df: HashMap<&str, usize> = HashMap::new();
        for set in src_names.iter().chain(&tgt_names) {
            for k in set {
                *df.entry(k.as_str()).or_default() += 1;
            }
        }
        let n = (src.len() + tgt.len()).max(1) as f32;
        let idf = df
            .into_iter()
            .map(|(k, d)| (k.to_string(), (n / d as f32).ln()))
            .collect();
        Self {
            src_numbers: src.iter().map(|s| numbers(s)).collect(),
            tgt_numbers: tgt.iter().map(|s| numbers(s)).collect(),
            src_names,
            tgt_names,
            idf,
        }
    }

    /// Summed inverse document frequency of the names both sentences contain, capped at
    /// [`MAX_NAME_EVIDENCE`].
    pub fn names(&self, i: usize, j: usize) -> f32 {
        let s: f32 = self.src_names[i]
            .intersection(&self.tgt_names[j])
            .map(|k| self.idf.get(k).copied().unwrap_or(0.0))
            .sum();
        s.min(MAX_NAME_EVIDENCE)
    }

    pub fn numbers(&self, i: usize, j: usize) -> Numbers {
        let (a, b) = (&self.src_numbers[i], &self.tgt_numbers[j]);
        if a.is_empty() || b.is_empty() {
            Numbers::Absent
        } else if a.intersection(b).next().is_some() {
            Numbers::Agree
        } else {
            Numbers::Conflict
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_fold_accents_and_match_transliterations() {
        let en = names("Recep Tayyip Erdogan met Lavrov in Nagorno-Karabakh and NATO.");
        let id = names("Presiden Turki Tayyib Erdoğan bertemu Lavrov di Nagorny Karabakh.");
        let shared: Vec<&String> = en.intersection(&id).collect();
        assert_eq!(shared, ["erdo", "kara", "lavr", "nago", "tayi"]);
        assert!(en.contains("nato"), "acronyms count: {en:?}");
        assert!(!en.contains("rece"), "first word skipped");
        // Doubled letters and endings differ between languages' spellings.
        let id = names("Menteri Luar Negeri Rusia dan Turki mendukung Azerbaijan.");
        let en = names("The Russian minister said Turkey supports Azerbaijan.");
        assert!(en.is_subset(&id), "{en:?} {id:?}");
        assert_eq!(fold("Đđ Ăn Şı"), "dd an si");
    }

    #[test]
    fn rare_shared_names_weigh_more_than_the_story_s_names() {
        let src = [
            "The war in Armenia.",
            "Then Armenia met Lavrov.",
            "Only Armenia.",
        ];
        let tgt = ["Perang di Armenia.", "Menteri Lavrov di Armenia."];
        let e = Evidence::new(&src, &tgt);
        // 5 sentences; Armenia in all of them (idf 0), Lavrov in two (ln 2.5).
        assert_eq!(e.names(0, 0), 0.0);
        assert!((e.names(1, 1) - 2.5f32.ln()).abs() < 1e-6);
    }

    #[test]
    fn numbers_agree_conflict_or_absent() {
        let e = Evidence::new(
            &["some 30,000 lives", "in 1994", "no digits"],
            &["30.000 người chết năm 1994", "pada 2016"],
        );
        assert_eq!(e.numbers(0, 0), Numbers::Agree);
        assert_eq!(e.numbers(1, 0), Numbers::Agree);
        assert_eq!(e.numbers(1, 1), Numbers::Conflict);
        assert_eq!(e.numbers(2, 0), Numbers::Absent);
    }
}
