//! Multi-parallel tuples: sentences mutually aligned across three or more languages.
//! Built from the pairwise corpora around a pivot language, and kept only where every
//! two members were also mined as a pair (pivot-consistent), so a tuple never joins two
//! sentences that the miner did not itself pair.

use std::collections::{BTreeMap, HashSet};

/// Pairwise links: for languages `(a, b)` (positions in the language list, `a != b`),
/// the mined `(row in a, row in b)` pairs, best first.
pub type Links = BTreeMap<(usize, usize), Vec<(usize, usize)>>;

/// One tuple: for every language, the row of its sentence, if it has one. At least three
/// languages are present, always including the pivot.
pub type Tuple = Vec<Option<usize>>;

/// Tuples around `pivot`, in pivot row order. A pivot sentence's partner in each other
/// language is its best-scoring mined pair; a partner joins the tuple only if it was
/// mined with every member already in it (languages taken in list order).
pub fn tuples(n_langs: usize, pivot: usize, links: &Links) -> Vec<Tuple> {
    let mut linked: HashSet<(usize, usize, usize, usize)> = HashSet::new();
    // partner[lang][pivot row] = first (best) row of `lang` mined with that pivot row.
    let mut partner: Vec<BTreeMap<usize, usize>> = vec![BTreeMap::new(); n_langs];
    for (&(a, b), pairs) in links {
        for &(ra, rb) in pairs {
            linked.insert((a, ra, b, rb));
            linked.insert((b, rb, a, ra));
            if a == pivot {
                partner[b].entry(ra).or_insert(rb);
            } else if b == pivot {
                partner[a].entry(rb).or_insert(ra);
            }
        }
    }
    let rows: std::collections::BTreeSet<usize> =
        partner.iter().flat_map(|m| m.keys().copied()).collect();
    let mut out = Vec::new();
    for r in rows {
        let mut t: Tuple = vec![None; n_langs];
        t[pivot] = Some(r);
        for lang in (0..n_langs).filter(|&l| l != pivot) {
            let Some(&c) = partner[lang].get(&r) else {
                continue;
            };
            let consistent = t
                .iter()
                .enumerate()
                .filter_map(|(l, m)| m.map(|m| (l, m)))
                .all(|(l, m)| l == pivot || linked.contains(&(l, m, lang, c)));
            if consistent {
                t[lang] = Some(c);
            }
        }
        if t.iter().flatten().count() >= 3 {
            out.push(t);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_mutually_mined_members_join() {
        // Languages: 0 = en (pivot), 1 = vi, 2 = id, 3 = fr.
        let mut l = Links::new();
        l.insert((0, 1), vec![(0, 5), (1, 6), (2, 7)]);
        l.insert((0, 2), vec![(0, 9), (1, 8), (2, 4)]);
        l.insert((1, 2), vec![(5, 9), (6, 3)]); // en1's vi and id partners were not paired
        l.insert((0, 3), vec![(0, 2), (2, 1)]);
        l.insert((1, 3), vec![(5, 2), (7, 1)]);
        l.insert((2, 3), vec![(9, 2)]);
        let t = tuples(4, 0, &l);
        assert_eq!(
            t,
            vec![
                vec![Some(0), Some(5), Some(9), Some(2)], // all six pairs mined
                // en2: vi 7, id 4 not paired with vi 7 → left out; fr 1 paired with en 2, vi 7.
                vec![Some(2), Some(7), None, Some(1)],
            ]
        );
    }

    #[test]
    fn pairs_alone_make_no_tuple() {
        let mut l = Links::new();
        l.insert((0, 1), vec![(0, 0)]);
        assert!(tuples(3, 0, &l).is_empty());
    }
}
