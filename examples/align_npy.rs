//! Aligns documents whose overlap embeddings were computed elsewhere and scores them
//! against gold links: the tuning loop for `bitalign align` without re-embedding.
//!
//! Expects, for each document D and language L, `EMB/D.L.o{k}.npy` for k = 1..=K: row i
//! is the embedding of sentences i..i+k of `DATA/D.L` joined by a space; gold in
//! `DATA/D.SRCTGT`. Every knob takes a comma-separated list; all combinations are run.
//!
//!     cargo run --release --example align_npy -- --emb DIR --data DIR \
//!         --docs test0,test1 --langs de,fr --threshold 0.04,0.06
//!
//! With a machine translation of the source (`--mt SYS`): its text in `MTDATA/D.SYS.L2`
//! (line-parallel to `DATA/D.L1`) and its overlaps' embeddings in `MTEMB/D.SYS.o{k}.npy`;
//! the knobs `--cross`, `--mono`, `--chrf`, `--chrf-base` weigh its evidence.
//!
//!     cargo run --release --example align_npy -- --emb DIR --data DIR --mt google \
//!         --mt-data ../shared/data/textberg-mt --mt-emb DIR2 --docs dev --chrf 0,0.2

use anyhow::{Context, Result};
use bitalign::align::{align_with, AlignParams, DocView, OverlapIndex};
use bitalign::embed::Embeddings;
use bitalign::eval::align::{read_links, GoldLink, Tally};
use bitalign::mt::{MtEvidence, MtWeights, Translations};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

struct Doc {
    name: String,
    emb: Embeddings,
    src: OverlapIndex,
    tgt: OverlapIndex,
    src_chars: Vec<usize>,
    tgt_chars: Vec<usize>,
    gold: Vec<GoldLink>,
    /// Translated source overlaps (rows after the target's) and every row's text.
    mt: Option<(OverlapIndex, Vec<String>)>,
}

/// Non-blank lines of a document, trimmed (the `--presplit` sentences).
fn sentences(path: &Path) -> Result<Vec<String>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("{}", path.display()))?;
    Ok(text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect())
}

/// Overlap texts of `sents` in the stacked layout.
fn overlap_texts(sents: &[String], k: usize) -> Vec<String> {
    (1..=k)
        .flat_map(|size| (0..sents.len().saturating_sub(size - 1)).map(move |s| (s, size)))
        .map(|(s, size)| sents[s..s + size].join(" "))
        .collect()
}

fn load_side(
    emb_dir: &Path,
    data: &Path,
    doc: &str,
    lang: &str,
    k: usize,
    approx: bool,
) -> Result<(Vec<Vec<f32>>, usize, Vec<usize>)> {
    let text = std::fs::read_to_string(data.join(format!("{doc}.{lang}")))?;
    let chars: Vec<usize> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.trim().chars().count())
        .collect();
    let n = chars.len();
    let mut by_size: Vec<Vec<Vec<f32>>> = Vec::new();
    let mut dim = 0;
    for size in 1..=k {
        let p = emb_dir.join(format!("{doc}.{lang}.o{size}.npy"));
        if !p.exists() && approx && size > 1 {
            // Approximate a missing size from embedded pieces: the character-weighted sum
            // of the largest available overlap and the rest (tuning aid only).
            let have = by_size.len().min(2);
            let mut rows = Vec::new();
            for start in 0..n.saturating_sub(size - 1) {
                let mut v = vec![0f32; dim];
                let mut at = start;
                while at < start + size {
                    let len = have.min(start + size - at);
                    let w: usize = chars[at..at + len].iter().sum::<usize>() + len - 1;
                    for (a, b) in v.iter_mut().zip(&by_size[len - 1][at]) {
                        *a += w as f32 * b;
                    }
                    at += len;
                }
                let nn = v.iter().map(|x| x * x).sum::<f32>().sqrt();
                v.iter_mut().for_each(|x| *x /= nn);
                rows.push(v);
            }
            by_size.push(rows);
            continue;
        }
        let e = Embeddings::read_npy(&p).with_context(|| format!("{}", p.display()))?;
        anyhow::ensure!(
            e.len() == n.saturating_sub(size - 1),
            "{}: rows",
            p.display()
        );
        dim = e.dim();
        by_size.push(e.rows().map(|r| r.to_vec()).collect());
    }
    Ok((by_size.into_iter().flatten().collect(), dim, chars))
}

/// One long document: all documents in order, `times` over (the long-document test of
/// the anchors). Overlaps that cross a document boundary are composed from the pieces'
/// embeddings, weighted by characters.
fn concat(docs: &[Doc], times: usize, k: usize) -> Result<Doc> {
    let dim = docs[0].emb.dim();
    let side = |pick: &dyn Fn(&Doc) -> (&OverlapIndex, &Vec<usize>)| {
        // (document, local index) of each sentence of the long document.
        let mut sents = Vec::new();
        for _ in 0..times {
            for (d, doc) in docs.iter().enumerate() {
                sents.extend((0..pick(doc).0.len()).map(|i| (d, i)));
            }
        }
        let chars: Vec<usize> = sents.iter().map(|&(d, i)| pick(&docs[d]).1[i]).collect();
        let mut rows = Vec::new();
        for size in 1..=k {
            for g in 0..sents.len().saturating_sub(size - 1) {
                let mut v = vec![0f32; dim];
                let mut at = g;
                while at < g + size {
                    let (d, i) = sents[at];
                    let (index, ch) = pick(&docs[d]);
                    let mut len = 1;
                    while at + len < g + size && sents[at + len] == (d, i + len) {
                        len += 1;
                    }
                    let row = docs[d].emb.row(index.row(i, len).unwrap());
                    let w = if len == size {
                        1.0
                    } else {
                        (ch[i..i + len].iter().sum::<usize>() + len - 1) as f32
                    };
                    v.iter_mut().zip(row).for_each(|(a, b)| *a += w * b);
                    at += len;
                }
                let nn = v.iter().map(|x| x * x).sum::<f32>().sqrt();
                v.iter_mut().for_each(|x| *x /= nn);
                rows.push(v);
            }
        }
        (rows, chars)
    };
    let (sr, src_chars) = side(&|d: &Doc| (&d.src, &d.src_chars));
    let (tr, tgt_chars) = side(&|d: &Doc| (&d.tgt, &d.tgt_chars));
    let src = OverlapIndex::stacked(src_chars.len(), k, 0);
    let tgt = OverlapIndex::stacked(tgt_chars.len(), k, sr.len());
    let emb = Embeddings::from_rows(dim, &sr.into_iter().chain(tr).collect::<Vec<_>>())?;
    let mut gold = Vec::new();
    let (mut oi, mut oj) = (0, 0);
    for _ in 0..times {
        for doc in docs {
            for (a, b) in &doc.gold {
                gold.push((
                    a.iter().map(|x| x + oi).collect(),
                    b.iter().map(|x| x + oj).collect(),
                ));
            }
            oi += doc.src.len();
            oj += doc.tgt.len();
        }
    }
    Ok(Doc {
        name: format!("concat{times}"),
        emb,
        src,
        tgt,
        src_chars,
        tgt_chars,
        gold,
        mt: None,
    })
}

fn list<T: std::str::FromStr>(args: &HashMap<String, String>, key: &str, default: &str) -> Vec<T>
where
    T::Err: std::fmt::Debug,
{
    args.get(key)
        .map(String::as_str)
        .unwrap_or(default)
        .split(',')
        .map(|x| x.parse().expect(key))
        .collect()
}

fn main() -> Result<()> {
    let raw: Vec<String> = std::env::args().skip(1).collect();
    let args: HashMap<String, String> = raw
        .chunks(2)
        .map(|c| {
            (
                c[0].trim_start_matches("--").to_string(),
                c.get(1).cloned().unwrap_or_default(),
            )
        })
        .collect();
    let emb_dir = PathBuf::from(args.get("emb").context("--emb DIR")?);
    let data = PathBuf::from(args.get("data").context("--data DIR")?);
    let docs: Vec<String> = list(&args, "docs", "test0,test1,test2,test3");
    let langs: Vec<String> = list(&args, "langs", "de,fr");
    let k: usize = list(&args, "load", "4")[0];
    let verbose = args.contains_key("verbose");
    let approx = args.contains_key("approx");
    let d = AlignParams::default();
    let mut loaded = Vec::new();
    for doc in &docs {
        let (sr, dim, src_chars) = load_side(&emb_dir, &data, doc, &langs[0], k, approx)?;
        let (tr, _, tgt_chars) = load_side(&emb_dir, &data, doc, &langs[1], k, approx)?;
        let src = OverlapIndex::stacked(src_chars.len(), k, 0);
        let tgt = OverlapIndex::stacked(tgt_chars.len(), k, sr.len());
        let mut rows: Vec<Vec<f32>> = sr.into_iter().chain(tr).collect();
        let mut mt = None;
        if let Some(sys) = args.get("mt") {
            let mt_data = PathBuf::from(args.get("mt-data").context("--mt-data DIR")?);
            let mt_emb = args
                .get("mt-emb")
                .map(PathBuf::from)
                .unwrap_or(emb_dir.clone());
            let src_path = data.join(format!("{doc}.{}", langs[0]));
            let src_text = std::fs::read_to_string(&src_path)?;
            let sents = bitalign::segment::split_lines(&src_text, 0);
            let mt_path = mt_data.join(format!("{doc}.{sys}.{}", langs[1]));
            let t = Translations::parse(
                &std::fs::read_to_string(&mt_path)
                    .with_context(|| format!("{}", mt_path.display()))?,
                &src_path.display().to_string(),
                &src_text,
                &sents,
            )
            .with_context(|| format!("{}", mt_path.display()))?;
            let first = rows.len();
            for size in 1..=k {
                let p = mt_emb.join(format!("{doc}.{sys}.o{size}.npy"));
                let e = Embeddings::read_npy(&p).with_context(|| format!("{}", p.display()))?;
                anyhow::ensure!(
                    e.len() == t.lines.len().saturating_sub(size - 1),
                    "{}: rows",
                    p.display()
                );
                rows.extend(e.rows().map(|r| r.to_vec()));
            }
            let mut texts = vec![String::new(); OverlapIndex::stacked_rows(src.len(), k)];
            texts.extend(overlap_texts(
                &sentences(&data.join(format!("{doc}.{}", langs[1])))?,
                k,
            ));
            anyhow::ensure!(
                texts.len() == first,
                "{doc}: target texts do not match the rows"
            );
            texts.extend(overlap_texts(&t.lines, k));
            mt = Some((OverlapIndex::stacked(t.lines.len(), k, first), texts));
        }
        let emb = Embeddings::from_rows(dim, &rows)?;
        let gold = read_links(&data.join(format!("{doc}.{}{}", langs[0], langs[1])))?;
        loaded.push(Doc {
            name: doc.clone(),
            emb,
            src,
            tgt,
            src_chars,
            tgt_chars,
            gold,
            mt,
        });
    }
    if let Some(times) = args.get("concat") {
        let times: usize = times.parse()?;
        loaded = vec![concat(&loaded, times, k)?];
    }
    // Every combination of the listed values.
    let mut grid = vec![d.clone()];
    macro_rules! axis {
        ($key:literal, $field:ident, $t:ty) => {
            let values: Vec<$t> = list(&args, $key, &d.$field.to_string());
            grid = grid
                .into_iter()
                .flat_map(|p| {
                    values.iter().map(move |&v| AlignParams {
                        $field: v,
                        ..p.clone()
                    })
                })
                .collect();
        };
    }
    axis!("max-size", max_size, usize);
    axis!("max-overlap", max_overlap, usize);
    axis!("threshold", threshold, f32);
    axis!("merge", merge_penalty, f32);
    axis!("deletion", deletion, f32);
    axis!("length", length_penalty, f32);
    axis!("coarse", coarse_size, usize);
    axis!("band", band, usize);
    macro_rules! mt_axis {
        ($key:literal, $field:ident) => {
            let values: Vec<f32> = list(&args, $key, &d.mt.$field.to_string());
            grid = grid
                .into_iter()
                .flat_map(|p| {
                    values.iter().map(move |&v| AlignParams {
                        mt: MtWeights {
                            $field: v,
                            ..p.mt.clone()
                        },
                        ..p.clone()
                    })
                })
                .collect();
        };
    }
    mt_axis!("cross", cross);
    mt_axis!("mono", mono);
    mt_axis!("chrf", chrf);
    mt_axis!("chrf-base", chrf_base);
    // Built once per document: its memo serves every point of the grid.
    let evidence: Vec<Option<MtEvidence>> = loaded
        .iter()
        .map(|doc| {
            doc.mt
                .as_ref()
                .map(|(ix, texts)| MtEvidence::new(&doc.emb, texts, ix, &doc.tgt).memoized())
        })
        .collect();
    for p in grid {
        let mut tally = Tally::default();
        let mut per = Vec::new();
        let t0 = std::time::Instant::now();
        for (doc, ev) in loaded.iter().zip(&evidence) {
            let links = align_with(
                &doc.emb,
                DocView {
                    index: &doc.src,
                    chars: &doc.src_chars,
                },
                DocView {
                    index: &doc.tgt,
                    chars: &doc.tgt_chars,
                },
                ev.as_ref(),
                &p,
            )?;
            let test: Vec<GoldLink> = links
                .iter()
                .map(|l| (l.src.clone().collect(), l.tgt.clone().collect()))
                .collect();
            if verbose {
                let g: HashSet<_> = doc.gold.iter().cloned().collect();
                let t: HashSet<_> = test.iter().cloned().collect();
                for x in doc.gold.iter().filter(|x| !t.contains(*x)) {
                    println!("  {} missed {:?}", doc.name, x);
                }
                for x in test.iter().filter(|x| !g.contains(*x)) {
                    println!("  {} wrong  {:?}", doc.name, x);
                }
            }
            per.push((doc.name.clone(), tally.add(&doc.gold, &test)));
        }
        println!(
            "cross {} mono {} chrf {} base {} size {} overlap {} thr {} merge {} del {} len {} coarse {} band {}: {}  ({:.2}s)",
            p.mt.cross,
            p.mt.mono,
            p.mt.chrf,
            p.mt.chrf_base,
            p.max_size,
            p.max_overlap,
            p.threshold,
            p.merge_penalty,
            p.deletion,
            p.length_penalty,
            p.coarse_size,
            p.band,
            tally.scores(),
            t0.elapsed().as_secs_f32()
        );
        if args.contains_key("per-doc") {
            for (n, s) in per {
                println!("    {n:6} {s}");
            }
        }
    }
    Ok(())
}
