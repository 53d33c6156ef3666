//! Alignments of hand-built documents whose "sentences" are bags of concepts: a sentence's
//! (and an overlap's) vector is the normalised sum of random concept vectors, so a
//! concatenation behaves like the sum of its parts, as with a mean-pooled encoder.

use super::*;

const DIM: usize = 64;

fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

fn concept(c: usize) -> Vec<f32> {
    (0..DIM)
        .map(|k| {
            let r = splitmix((c as u64) << 20 | k as u64);
            (r >> 11) as f32 / (1u64 << 53) as f32 * 2.0 - 1.0
        })
        .collect()
}

fn embed(text: &str) -> Vec<f32> {
    let mut v = vec![0f32; DIM];
    for tok in text.split_whitespace() {
        let c: usize = tok[1..].parse().unwrap();
        let cv = concept(c);
        let n = dot(&cv, &cv).sqrt();
        v.iter_mut().zip(cv).for_each(|(a, b)| *a += b / n);
    }
    let n = dot(&v, &v).sqrt();
    v.iter_mut().for_each(|a| *a /= n);
    v
}

fn doc(sents: &[&[usize]]) -> Vec<String> {
    sents
        .iter()
        .map(|s| {
            s.iter()
                .map(|c| format!("c{c}"))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect()
}

type Pairs = Vec<(Vec<usize>, Vec<usize>)>;

/// In this geometry unrelated sentences have cosine ≈ 0 and a half match ≈ 0.7, so the
/// price of a link must be about half a match for 2-2 links to beat two half-matching 1-1s.
fn params() -> AlignParams {
    AlignParams {
        scorer: Scorer::Hand,
        threshold: 0.5,
        deletion: 0.0,
        length_penalty: 0.0,
        ..AlignParams::default()
    }
}

fn run(src: &[String], tgt: &[String], p: &AlignParams) -> Pairs {
    let len = |d: &[String]| d.iter().map(|s| s.len()).collect::<Vec<_>>();
    run_with_lengths(src, tgt, (&len(src), &len(tgt)), p)
}

/// As [`run`], with the sentences' lengths in characters given.
fn run_with_lengths(
    src: &[String],
    tgt: &[String],
    (src_len, tgt_len): (&[usize], &[usize]),
    p: &AlignParams,
) -> Pairs {
    let plan = OverlapPlan::new(src, tgt, p.max_overlap);
    let rows: Vec<Vec<f32>> = plan.texts.iter().map(|t| embed(t)).collect();
    let emb = Embeddings::from_rows(DIM, &rows).unwrap();
    let sc = SentenceFacts::from_lengths(src_len);
    let tc = SentenceFacts::from_lengths(tgt_len);
    let links = align(
        &emb,
        DocView {
            index: &plan.src,
            facts: &sc,
        },
        DocView {
            index: &plan.tgt,
            facts: &tc,
        },
        p,
    )
    .unwrap();
    check_partition(&links, src.len(), tgt.len());
    links
        .into_iter()
        .map(|l| (l.src.collect(), l.tgt.collect()))
        .collect()
}

/// Every sentence in exactly one link; links in source order, and in target order but
/// for the links of the crossing and moved-block passes ([`FineScorer::uncross`],
/// [`FineScorer::pair_moved`]), each of which still holds sentences of both sides.
fn check_partition(links: &[Link], n: usize, m: usize) {
    let mut i = 0;
    let mut seen = vec![false; m];
    for l in links {
        assert!(!(l.src.is_empty() && l.tgt.is_empty()));
        assert_eq!(l.src.start, i, "{links:?}");
        i = l.src.end;
        for j in l.tgt.clone() {
            assert!(
                !std::mem::replace(&mut seen[j], true),
                "{j} twice: {links:?}"
            );
        }
    }
    assert_eq!(i, n);
    assert!(seen.iter().all(|&x| x), "{links:?}");
    // Out of target order only where both sides are present.
    let mut j = 0;
    for l in links.iter().filter(|l| !l.tgt.is_empty()) {
        if l.tgt.start != j {
            assert!(!l.src.is_empty(), "{links:?}");
        }
        j = j.max(l.tgt.end);
    }
}

/// What a [`FineScorer`] borrows, for two test documents.
struct Inputs {
    plan: OverlapPlan,
    emb: Embeddings,
    facts: (SentenceFacts, SentenceFacts),
}

impl Inputs {
    fn new(src: &[String], tgt: &[String], p: &AlignParams) -> Self {
        let plan = OverlapPlan::new(src, tgt, p.max_overlap);
        let rows: Vec<Vec<f32>> = plan.texts.iter().map(|t| embed(t)).collect();
        let emb = Embeddings::from_rows(DIM, &rows).unwrap();
        let len = |d: &[String]| d.iter().map(|s| s.len()).collect::<Vec<_>>();
        let facts = (
            SentenceFacts::from_lengths(&len(src)),
            SentenceFacts::from_lengths(&len(tgt)),
        );
        Self { plan, emb, facts }
    }

    fn scorer(&self, p: &AlignParams) -> FineScorer<'_> {
        let (s, t) = (&self.plan.src, &self.plan.tgt);
        FineScorer::new(&self.emb, s, t, &self.facts.0, &self.facts.1, p)
    }
}

fn pairs(s: &[(&[usize], &[usize])]) -> Pairs {
    s.iter().map(|(a, b)| (a.to_vec(), b.to_vec())).collect()
}

#[test]
fn one_to_one() {
    let s: Vec<&[usize]> = vec![&[0], &[1], &[2], &[3], &[4], &[5]];
    let d = doc(&s);
    let got = run(&d, &d, &params());
    let want: Pairs = (0..6).map(|i| (vec![i], vec![i])).collect();
    assert_eq!(got, want);
}

/// Mostly 1-1 text with 1-2, 2-1, 1-3 links and an insertion.
fn merges_and_insertions_docs() -> (Vec<String>, Vec<String>) {
    let src = doc(&[&[0], &[1], &[2, 3], &[4], &[5], &[7], &[8], &[9, 10, 11]]);
    let tgt = doc(&[
        &[0],
        &[1],
        &[2],
        &[3],
        &[4, 5],
        &[6],
        &[7],
        &[8],
        &[9],
        &[10],
        &[11],
    ]);
    (src, tgt)
}

#[test]
fn merges_and_insertions() {
    let (src, tgt) = merges_and_insertions_docs();
    let got = run(&src, &tgt, &params());
    let want = pairs(&[
        (&[0], &[0]),
        (&[1], &[1]),
        (&[2], &[2, 3]),
        (&[3, 4], &[4]),
        (&[], &[5]),
        (&[5], &[6]),
        (&[6], &[7]),
        (&[7], &[8, 9, 10]),
    ]);
    assert_eq!(got, want);
}

#[test]
fn two_to_two_and_deletions() {
    // A 2-2 link whose halves do not match one by one (nor crosswise: the crossing pass,
    // on by default, leaves it), and a source sentence with no translation, followed by
    // plain 1-1 text (so that the hubness means are realistic).
    let mut src: Vec<Vec<usize>> = vec![vec![0], vec![1, 2], vec![3], vec![50], vec![4]];
    let mut tgt: Vec<Vec<usize>> = vec![vec![0], vec![1], vec![2, 3], vec![4]];
    let mut want = pairs(&[(&[0], &[0]), (&[1, 2], &[1, 2]), (&[3], &[]), (&[4], &[3])]);
    for k in 0..8 {
        want.push((vec![src.len()], vec![tgt.len()]));
        src.push(vec![100 + k]);
        tgt.push(vec![100 + k]);
    }
    let s: Vec<&[usize]> = src.iter().map(Vec::as_slice).collect();
    let t: Vec<&[usize]> = tgt.iter().map(Vec::as_slice).collect();
    assert_eq!(run(&doc(&s), &doc(&t), &params()), want);
}

#[test]
fn empty_side_is_all_deletions() {
    let src = doc(&[&[0], &[1], &[2]]);
    let none: Vec<String> = Vec::new();
    let got = run(&src, &none, &params());
    assert_eq!(got, pairs(&[(&[0], &[]), (&[1], &[]), (&[2], &[])]));
    let got = run(&none, &src, &params());
    assert_eq!(got, pairs(&[(&[], &[0]), (&[], &[1]), (&[], &[2])]));
    assert!(run(&none, &none, &params()).is_empty());
}

/// A source of 5 sentences inside a target 100 times longer, aligned coarse-to-fine.
#[test]
fn one_side_hundred_times_longer() {
    let hits = [(0usize, 40usize), (1, 170), (2, 171), (3, 300), (4, 470)];
    let src: Vec<Vec<usize>> = (0..5).map(|i| vec![i]).collect();
    let mut tgt: Vec<Vec<usize>> = (0..500).map(|j| vec![1000 + j]).collect();
    for &(i, j) in &hits {
        tgt[j] = vec![i];
    }
    let s: Vec<&[usize]> = src.iter().map(Vec::as_slice).collect();
    let t: Vec<&[usize]> = tgt.iter().map(Vec::as_slice).collect();
    for coarse_size in [1000, 16] {
        let p = AlignParams {
            coarse_size,
            ..params()
        };
        let got = run(&doc(&s), &doc(&t), &p);
        let linked: Vec<_> = got
            .iter()
            .filter(|(a, b)| !a.is_empty() && !b.is_empty())
            .cloned()
            .collect();
        let want: Pairs = hits.iter().map(|&(i, j)| (vec![i], vec![j])).collect();
        assert_eq!(linked, want, "coarse_size {coarse_size}");
        assert_eq!(got.len(), 500);
    }
}

/// A long document with merges and insertions: the banded coarse-to-fine search finds the
/// same alignment as the full grid, and the result does not depend on the thread count.
#[test]
fn coarse_to_fine_matches_full_search_and_threads() {
    let mut src: Vec<Vec<usize>> = Vec::new();
    let mut tgt: Vec<Vec<usize>> = Vec::new();
    let mut want: Pairs = Vec::new();
    let mut c = 0;
    for k in 0..300 {
        let (i, j) = (src.len(), tgt.len());
        match splitmix(k) % 10 {
            0 => {
                src.push(vec![c, c + 1]);
                tgt.push(vec![c]);
                tgt.push(vec![c + 1]);
                want.push((vec![i], vec![j, j + 1]));
                c += 2;
            }
            1 => {
                src.push(vec![c]);
                src.push(vec![c + 1]);
                tgt.push(vec![c, c + 1]);
                want.push((vec![i, i + 1], vec![j]));
                c += 2;
            }
            2 => {
                tgt.push(vec![100_000 + k as usize]);
                want.push((vec![], vec![j]));
            }
            _ => {
                src.push(vec![c]);
                tgt.push(vec![c]);
                want.push((vec![i], vec![j]));
                c += 1;
            }
        }
    }
    let s: Vec<&[usize]> = src.iter().map(Vec::as_slice).collect();
    let t: Vec<&[usize]> = tgt.iter().map(Vec::as_slice).collect();
    let (s, t) = (doc(&s), doc(&t));
    let full = run(&s, &t, &params());
    assert_eq!(full, want);
    let coarse = AlignParams {
        coarse_size: 20,
        band: 4,
        ..params()
    };
    let one = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap()
        .install(|| run(&s, &t, &coarse));
    let two = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .unwrap()
        .install(|| run(&s, &t, &coarse));
    assert_eq!(one, want);
    assert_eq!(two, want);
}

#[test]
fn link_types_respect_sizes() {
    let t = link_types(8, 4);
    assert_eq!(&t[..3], &[(1, 1), (1, 0), (0, 1)]);
    assert!(t.iter().all(|&(a, b)| a + b <= 8 && a <= 4 && b <= 4));
    assert_eq!(t.len(), 3 + 15);
    let t = link_types(3, 4);
    assert_eq!(t, vec![(1, 1), (1, 0), (0, 1), (1, 2), (2, 1)]);
}

#[test]
fn uncross_splits_two_swapped_sentences() {
    // Sentences 2 and 3 are swapped in the translation: a monotone search merges them into a
    // 2-2; the crossing pass makes the two crossing 1-1 links, and leaves plain 2-2 alone.
    let mut src: Vec<Vec<usize>> = vec![vec![0], vec![1], vec![2], vec![3], vec![4]];
    let mut tgt: Vec<Vec<usize>> = vec![vec![0], vec![1], vec![3], vec![2], vec![4]];
    for k in 0..8 {
        src.push(vec![100 + k]);
        tgt.push(vec![100 + k]);
    }
    let s: Vec<&[usize]> = src.iter().map(Vec::as_slice).collect();
    let t: Vec<&[usize]> = tgt.iter().map(Vec::as_slice).collect();
    let (s, t) = (doc(&s), doc(&t));
    let run_with = |uncross: Option<f32>| -> Pairs {
        // Leaving sentences unaligned must cost something, or a 1-1 and two deletions win.
        let p = AlignParams {
            uncross,
            deletion: 0.3,
            ..params()
        };
        run(&s, &t, &p)
    };
    assert_eq!(
        run_with(None)[..4],
        pairs(&[(&[0], &[0]), (&[1], &[1]), (&[2, 3], &[2, 3]), (&[4], &[4])])
    );
    assert_eq!(
        run_with(Some(0.0))[..5],
        pairs(&[
            (&[0], &[0]),
            (&[1], &[1]),
            (&[2], &[3]),
            (&[3], &[2]),
            (&[4], &[4])
        ])
    );
    // A margin above what the crossing gains keeps the merge.
    assert_eq!(run_with(Some(10.0))[2], (vec![2, 3], vec![2, 3]));
}

#[test]
fn moved_pairs_a_block_moved_a_few_sentences_and_keeps_insertions() {
    // Source sentence 3 comes four sentences later in the translation, and each side has
    // one unrelated insertion (60, 61): a monotone search leaves both ends of the move
    // unaligned; the moved-block pass links them, at the source sentence's place, and
    // leaves the insertions alone.
    let src: Vec<&[usize]> = vec![&[0], &[1], &[2], &[3], &[4], &[5], &[6], &[7], &[60], &[8]];
    let tgt: Vec<&[usize]> = vec![&[0], &[1], &[2], &[4], &[5], &[6], &[7], &[3], &[8], &[61]];
    let (s, t) = (doc(&src), doc(&tgt));
    let run_with = |moved: Option<Moved>| -> Pairs {
        let p = AlignParams { moved, ..params() };
        run(&s, &t, &p)
    };
    let mut off = run_with(None);
    for want in [
        (vec![3], vec![]),
        (vec![], vec![7]),
        (vec![8], vec![]),
        (vec![], vec![9]),
    ] {
        assert!(off.contains(&want), "{want:?} in {off:?}");
    }
    let on = run_with(Some(Moved::default()));
    assert_eq!(on[3], (vec![3], vec![7]), "{on:?}");
    assert!(on.contains(&(vec![8], vec![])) && on.contains(&(vec![], vec![9])));
    // Every sentence once, and the rest as before.
    off.retain(|l| l != &(vec![3], vec![]) && l != &(vec![], vec![7]));
    let mut rest = on.clone();
    rest.retain(|l| l != &(vec![3], vec![7]));
    assert_eq!(rest, off);
    // Any window from 4 on finds them (the largest without overflowing).
    let wide = Moved {
        window: usize::MAX,
        ..Moved::default()
    };
    assert_eq!(run_with(Some(wide)), on);
    // Too far apart for the window, or not worth the margin: left as they were.
    for moved in [
        Moved {
            window: 3,
            ..Moved::default()
        },
        Moved {
            margin: 10.0,
            ..Moved::default()
        },
    ] {
        assert_eq!(run_with(Some(moved.clone())), run_with(None), "{moved:?}");
    }
}

#[test]
fn moved_parses_and_prints_the_cli_spelling() {
    let m: Moved = "20:0.05".parse().unwrap();
    assert_eq!(m, Moved::default());
    assert_eq!(m.to_string(), "20:0.05");
    let e: Moved = " 8 : 0.1 : ends".parse().unwrap();
    assert!(e.ends);
    assert_eq!(e.to_string(), "8:0.1:ends");
    assert_eq!(e.to_string().parse::<Moved>().unwrap(), e);
    for bad in [
        "20",
        "20:0.05:m",
        "x:0.05",
        "-1:0.05",
        "20:nan",
        "20:0.05:ends:1",
        "",
    ] {
        assert!(bad.parse::<Moved>().is_err(), "{bad}");
    }
}

#[test]
fn moved_takes_a_member_out_of_a_merge() {
    // Source sentence 3 is target sentence 5, merged by the path into `[5]:[4, 5]`: the pass
    // pairs it with the unaligned source sentence (with `ends`) and shrinks the merge.
    let src = doc(&[&[0], &[1], &[2], &[3], &[4], &[5], &[6]]);
    let tgt = doc(&[&[0], &[1], &[2], &[4], &[5], &[3], &[6]]);
    let p = params();
    let inputs = Inputs::new(&src, &tgt, &p);
    let fine = inputs.scorer(&p);
    let path: Vec<Span> = vec![
        (0..1, 0..1),
        (1..2, 1..2),
        (2..3, 2..3),
        (3..4, 3..3),
        (4..5, 3..4),
        (5..6, 4..6),
        (6..7, 6..7),
    ];
    let mut alone = path.clone();
    fine.pair_moved(&mut alone, 20, 0.05, false);
    assert_eq!(alone, path);
    let mut ends = path.clone();
    fine.pair_moved(&mut ends, 20, 0.05, true);
    let mut want = path.clone();
    want[3] = (3..4, 5..6);
    want[5] = (5..6, 4..5);
    assert_eq!(ends, want);
    // A source sentence at the end of a merged side goes next to what is left of its link.
    let inputs = Inputs::new(&tgt, &src, &p);
    let fine = inputs.scorer(&p);
    let mut swapped: Vec<Span> = path.iter().map(|(s, t)| (t.clone(), s.clone())).collect();
    swapped.sort_by_key(|(s, t)| (s.start, s.is_empty(), t.start));
    fine.pair_moved(&mut swapped, 20, 0.05, true);
    assert_eq!(
        swapped,
        vec![
            (0..1, 0..1),
            (1..2, 1..2),
            (2..3, 2..3),
            (3..4, 4..5),
            (4..5, 5..6),
            (5..6, 3..4),
            (6..7, 6..7),
        ]
    );
}

#[test]
fn adapt_aligns_again_at_the_document_price() {
    // The final pass runs at the price moved by the first pass's share of 1-1 links, and a
    // large weight changes the links.
    let (src, tgt) = merges_and_insertions_docs();
    let base = AlignParams {
        adapt: 0.0,
        ..params()
    };
    let once = run(&src, &tgt, &base);
    let share = once
        .iter()
        .filter(|(a, b)| a.len() == 1 && b.len() == 1)
        .count() as f32
        / once.len() as f32;
    for w in [0.05, 20.0, -20.0] {
        let adapted = run(
            &src,
            &tgt,
            &AlignParams {
                adapt: w,
                ..base.clone()
            },
        );
        let moved = AlignParams {
            threshold: base.threshold - w * (share - ONE_TO_ONE_SHARE),
            ..base.clone()
        };
        assert_eq!(adapted, run(&src, &tgt, &moved), "w {w}");
    }
    // Fewer 1-1 links than dev: a positive weight raises the price (here past every link).
    assert!(share < ONE_TO_ONE_SHARE);
    let high = run(
        &src,
        &tgt,
        &AlignParams {
            adapt: 20.0,
            ..base
        },
    );
    assert_ne!(high, once);
    assert!(
        high.iter().all(|(a, b)| a.is_empty() || b.is_empty()),
        "{high:?}"
    );
}

/// A target sentence that condenses two source sentences, the second of them long: the
/// length penalty makes the DP leave that sentence unaligned, and the absorb pass joins it
/// to its link (the link's similarity only rises); an unrelated sentence stays unaligned.
#[test]
fn absorb_joins_a_condensed_sentence_and_keeps_an_insertion() {
    let mut src: Vec<Vec<usize>> = vec![vec![0], vec![1, 2], vec![3], vec![60], vec![4]];
    let mut tgt: Vec<Vec<usize>> = vec![vec![0], vec![1, 2, 3], vec![4]];
    let mut src_len = vec![20, 20, 500, 20, 20];
    let mut tgt_len = vec![20, 20, 20];
    for k in 0..8 {
        src.push(vec![100 + k]);
        tgt.push(vec![100 + k]);
        // Longer targets here keep the documents' length ratio near 1.
        src_len.push(20);
        tgt_len.push(83);
    }
    let s: Vec<&[usize]> = src.iter().map(Vec::as_slice).collect();
    let t: Vec<&[usize]> = tgt.iter().map(Vec::as_slice).collect();
    let (s, t) = (doc(&s), doc(&t));
    let run_with = |absorb: Option<Absorb>| -> Pairs {
        let p = AlignParams {
            scorer: Scorer::Hand,
            length_penalty: 0.2,
            absorb,
            ..AlignParams::default()
        };
        let mut got = run_with_lengths(&s, &t, (&src_len, &tgt_len), &p);
        got.truncate(4);
        got
    };
    assert_eq!(
        run_with(None),
        pairs(&[(&[0], &[0]), (&[1], &[1]), (&[2], &[]), (&[3], &[])])
    );
    assert_eq!(
        run_with(Some(Absorb::default())),
        pairs(&[(&[0], &[0]), (&[1, 2], &[1]), (&[3], &[]), (&[4], &[2])])
    );
}

#[test]
fn summed_view_and_margin_features() {
    use features::f;
    let src = doc(&[&[0], &[1], &[2], &[3], &[4, 5]]);
    let tgt = doc(&[&[0], &[1, 2], &[3], &[4], &[5]]);
    let p = params();
    let inputs = Inputs::new(&src, &tgt, &p);
    // Not weighed: not computed.
    let x = inputs.scorer(&p).features(1, 2, 1, 1);
    assert_eq!((x[f::SUM_SIM], x[f::MARGIN], x[f::LOCAL]), (0.0, 0.0, 0.0));
    let all = inputs.scorer(&p).with_all_features();
    // 1-1: the two views are one vector.
    let x = all.features(0, 1, 0, 1);
    assert_eq!(x[f::SUM_SIM], x[f::SIM]);
    // A true link stands out from its neighbours (the local margin), a wrong one does not.
    assert!(x[f::MARGIN] > 0.8, "{x:?}");
    assert!(all.features(0, 1, 2, 1)[f::MARGIN] < 0.2);
    // Members of one concept each: the normalised sum of the members is the concatenation.
    let x = all.features(1, 2, 1, 1);
    assert!((x[f::SUM_SIM] - x[f::SIM]).abs() < 1e-5, "{x:?}");
    // A two-concept member weighs as much as a one-concept one in the summed view, but
    // twice as much in the concatenation: the summed view of `[4, 5]` against the
    // sentences `[4]` + `[5]` is still the whole match, the concatenation's too.
    let whole = all.features(4, 1, 3, 2);
    assert!(whole[f::SUM_SIM] > 0.7 && whole[f::SIM] > 0.7, "{whole:?}");
    // A partial match: `[4, 5]` against `[4]` alone is half the concepts either way.
    let x = all.features(4, 1, 3, 1);
    assert!(x[f::SUM_SIM] < whole[f::SUM_SIM] - 0.2, "{x:?}");
}
