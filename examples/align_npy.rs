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
//! `--scorer tuned|hand|bertalign` picks the link scorer (several: comma-separated);
//! `--versus hand` lists, per document, the gold links the other scorer finds and this one
//! misses (and the reverse); `--learn` learns the feature weights on the documents given
//! (an averaged structured perceptron, with a cross-validation over contiguous folds to
//! pick the epochs and step) and prints them for `src/align/features.rs`. `--grid
//! "del=-0.03,-0.02;local=0,0.5"` runs every combination of several feature weights on top
//! of the tuned ones; `--absorb off,0.01 --absorb-member 0.05` sweeps the pass after the DP.
//! `--dump DIR` writes each document's output, gold and nearby candidate links with their
//! features for `scripts/token-coverage.py`.
//!
//! With a machine translation of the source (`--mt SYS`): its text in `MTDATA/D.SYS.L2`
//! (line-parallel to `DATA/D.L1`; an empty line stands in the source line) and its
//! overlaps' embeddings in `MTEMB/D.SYS.o{k}.npy`. `--mono`, `--chrf`, `--chrf-base`,
//! `--prune`, `--cross` and `--trust FROM:TO` sweep [`MtWeights`]; each document's no-gold
//! quality estimate and the trust it gets are printed.
//!
//!     cargo run --release --example align_npy -- --emb DIR --data DIR --mt google \
//!         --mt-data ../shared/data/textberg-mt --mt-emb DIR2 --docs dev --chrf 0,0.1
//!
//! `--emb2 DIR2` (same layout as `--emb`, e.g. embedded with another `--prefix`) makes every
//! similarity the weighted mean of the two views' cosines, `--emb2-weight W` (default 0.5)
//! on the second: each row becomes `[√(1−W)·a, √W·b]`, whose dot products (and so the
//! hubness means, which are linear in them) are exactly that mean.

use anyhow::{Context, Result};
use bitalign::align::features::{confidence_inputs, CONFIDENCE_NAMES, FEATURE_NAMES, NC, NF};
use bitalign::align::{
    align_with, best_path, link_types, Absorb, AlignParams, Band, Calibration, DocView, FineScorer,
    LinkScorer, Moved, OverlapIndex, Scorer, SentenceFacts, Weights,
};
use bitalign::embed::Embeddings;
use bitalign::eval::align::{read_links, GoldLink, Tally};
use bitalign::mt::{MtEvidence, MtWeights};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

struct Doc {
    name: String,
    emb: Embeddings,
    src: OverlapIndex,
    tgt: OverlapIndex,
    src_chars: Vec<usize>,
    tgt_chars: Vec<usize>,
    src_facts: SentenceFacts,
    tgt_facts: SentenceFacts,
    gold: Vec<GoldLink>,
    /// Translated source overlaps (rows after the target's) and every row's text.
    mt: Option<(OverlapIndex, Vec<String>)>,
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
) -> Result<(Vec<Vec<f32>>, usize, Vec<String>)> {
    let text = std::fs::read_to_string(data.join(format!("{doc}.{lang}")))?;
    let sents: Vec<String> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.trim().to_string())
        .collect();
    let chars: Vec<usize> = sents.iter().map(|l| l.chars().count()).collect();
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
    Ok((by_size.into_iter().flatten().collect(), dim, sents))
}

/// One long document: all documents in order, `times` over (the long-document test of
/// the anchors). Overlaps that cross a document boundary are composed from the pieces'
/// embeddings, weighted by characters.
fn concat(
    docs: &[Doc],
    texts: &[(Vec<String>, Vec<String>)],
    times: usize,
    k: usize,
) -> Result<Doc> {
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
    type Pick<'p> = &'p dyn Fn(&(Vec<String>, Vec<String>)) -> &Vec<String>;
    let all = |pick: Pick| -> Vec<String> {
        (0..times)
            .flat_map(|_| texts.iter().flat_map(|t| pick(t).iter().cloned()))
            .collect()
    };
    Ok(Doc {
        name: format!("concat{times}"),
        emb,
        src,
        tgt,
        src_chars,
        tgt_chars,
        src_facts: SentenceFacts::new(&all(&|t| &t.0)),
        tgt_facts: SentenceFacts::new(&all(&|t| &t.1)),
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
    let emb2 = args.get("emb2").map(PathBuf::from);
    let w2: f32 = list(&args, "emb2-weight", "0.5")[0];
    anyhow::ensure!(
        emb2.is_none() || !args.contains_key("mt"),
        "--emb2 and --mt together are not supported"
    );
    let d = AlignParams::default();
    let mut loaded = Vec::new();
    let mut texts = Vec::new();
    for doc in &docs {
        let (mut sr, mut dim, src_text) = load_side(&emb_dir, &data, doc, &langs[0], k, approx)?;
        let (mut tr, _, tgt_text) = load_side(&emb_dir, &data, doc, &langs[1], k, approx)?;
        if let Some(dir2) = &emb2 {
            let (sr2, dim2, _) = load_side(dir2, &data, doc, &langs[0], k, approx)?;
            let (tr2, _, _) = load_side(dir2, &data, doc, &langs[1], k, approx)?;
            let (a, b) = ((1.0 - w2).sqrt(), w2.sqrt());
            let join = |x: Vec<Vec<f32>>, y: Vec<Vec<f32>>| -> Vec<Vec<f32>> {
                x.into_iter()
                    .zip(y)
                    .map(|(u, v)| {
                        u.iter()
                            .map(|e| a * e)
                            .chain(v.iter().map(|e| b * e))
                            .collect()
                    })
                    .collect()
            };
            sr = join(sr, sr2);
            tr = join(tr, tr2);
            dim += dim2;
        }
        let lens = |t: &[String]| t.iter().map(|l| l.chars().count()).collect::<Vec<_>>();
        let (src_chars, tgt_chars) = (lens(&src_text), lens(&tgt_text));
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
            let mt_path = mt_data.join(format!("{doc}.{sys}.{}", langs[1]));
            let lines: Vec<String> = std::fs::read_to_string(&mt_path)
                .with_context(|| format!("{}", mt_path.display()))?
                .lines()
                .map(|l| l.trim().to_string())
                .zip(&src_text)
                .map(|(t, s)| if t.is_empty() { s.clone() } else { t })
                .collect();
            anyhow::ensure!(
                lines.len() == src_text.len(),
                "{}: lines",
                mt_path.display()
            );
            let first = rows.len();
            let mt_k: usize = list(&args, "mt-load", "2")[0];
            for size in 1..=mt_k {
                let p = mt_emb.join(format!("{doc}.{sys}.o{size}.npy"));
                let e = Embeddings::read_npy(&p).with_context(|| format!("{}", p.display()))?;
                anyhow::ensure!(
                    e.len() == lines.len().saturating_sub(size - 1),
                    "{}: rows",
                    p.display()
                );
                rows.extend(e.rows().map(|r| r.to_vec()));
            }
            let mut texts = vec![String::new(); tgt.row(0, 1).unwrap_or(0)];
            texts.extend(overlap_texts(&tgt_text, k));
            anyhow::ensure!(
                texts.len() == first,
                "{doc}: target texts do not match the rows"
            );
            texts.extend(overlap_texts(&lines, mt_k));
            mt = Some((OverlapIndex::stacked(lines.len(), mt_k, first), texts));
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
            src_facts: SentenceFacts::new(&src_text),
            tgt_facts: SentenceFacts::new(&tgt_text),
            gold,
            mt,
        });
        texts.push((src_text, tgt_text));
    }
    if let Some(times) = args.get("concat") {
        let times: usize = times.parse()?;
        loaded = vec![concat(&loaded, &texts, times, k)?];
    }
    if args.contains_key("calibrate") {
        return learn::calibrate(&loaded, &Weights::tuned());
    }
    if args.contains_key("learn") {
        return learn::run(&loaded, &args);
    }
    // Every combination of the listed values.
    let scorers: Vec<String> = list(&args, "scorer", "tuned");
    let mut grid: Vec<AlignParams> = scorers
        .iter()
        .map(|s| AlignParams {
            scorer: parse_scorer(s),
            ..d.clone()
        })
        .collect();
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
    axis!("adapt", adapt, f32);
    // `--absorb off,0.01 --absorb-member 0.05`: the pass after the DP (off = none).
    let tolerances: Vec<String> = list(&args, "absorb", "0.01");
    let members: Vec<f32> = list(&args, "absorb-member", "0.05");
    grid = grid
        .into_iter()
        .flat_map(|p| {
            let mut out = Vec::new();
            for t in &tolerances {
                if t == "off" {
                    out.push(AlignParams {
                        absorb: None,
                        ..p.clone()
                    });
                    continue;
                }
                for &member in &members {
                    out.push(AlignParams {
                        absorb: Some(Absorb {
                            tolerance: t.parse().expect("--absorb"),
                            member,
                        }),
                        ..p.clone()
                    });
                }
            }
            out
        })
        .collect();
    // An axis whose value may be `off` (None); the library's default when not given.
    macro_rules! off_axis {
        ($key:literal, $field:ident, $t:ty) => {
            let default = d
                .$field
                .as_ref()
                .map_or("off".to_string(), |v| v.to_string());
            let values: Vec<Option<$t>> = list::<String>(&args, $key, &default)
                .iter()
                .map(|v| (v != "off").then(|| v.parse::<$t>().expect($key)))
                .collect();
            grid = grid
                .into_iter()
                .flat_map(|p| {
                    values.iter().map(move |v| AlignParams {
                        $field: v.clone(),
                        ..p.clone()
                    })
                })
                .collect();
        };
    }
    // `--uncross off,0,0.02`: the crossing pass after that, by a margin.
    off_axis!("uncross", uncross, f32);
    // `--moved off,8:0.05,20:0.05:ends`: the moved-block pass, as the CLI's flag.
    off_axis!("moved", moved, Moved);
    // `--feature NAME --values a,b`: the hand-set weights with one feature's weight varied
    // (`--base tuned` varies the default weights instead).
    if let Some(name) = args.get("feature") {
        let k = FEATURE_NAMES
            .iter()
            .position(|n| n == name)
            .context("--feature: unknown name")?;
        let values: Vec<f32> = list(&args, "values", "0");
        let base = match args.get("base").map(String::as_str) {
            Some("tuned") => Weights::tuned(),
            _ => Weights::hand(d.threshold, d.merge_penalty, d.deletion, d.length_penalty),
        };
        grid = values
            .iter()
            .flat_map(|&v| {
                let mut w = base.clone();
                w.0[k] = v;
                grid.iter().map(move |p| AlignParams {
                    scorer: Scorer::Weights(w.clone()),
                    ..p.clone()
                })
            })
            .collect();
    }
    // `--grid "del=-0.03,-0.02;del_len=0,-0.01"`: every combination of several features'
    // weights on top of `--base` (tuned by default here).
    if let Some(spec) = args.get("grid") {
        let mut ws = vec![match args.get("base").map(String::as_str) {
            Some("hand") => {
                Weights::hand(d.threshold, d.merge_penalty, d.deletion, d.length_penalty)
            }
            _ => Weights::tuned(),
        }];
        for axis in spec.split(';').filter(|a| !a.is_empty()) {
            let (name, values) = axis.split_once('=').context("--grid NAME=v,v;…")?;
            let k = FEATURE_NAMES
                .iter()
                .position(|n| *n == name)
                .with_context(|| format!("--grid: unknown feature {name}"))?;
            let values: Vec<f32> = values
                .split(',')
                .map(|v| v.parse().context("--grid value"))
                .collect::<Result<_>>()?;
            ws = ws
                .iter()
                .flat_map(|w| {
                    values.iter().map(move |&v| {
                        let mut w = w.clone();
                        w.0[k] = v;
                        w
                    })
                })
                .collect();
        }
        grid = ws
            .into_iter()
            .flat_map(|w| {
                grid.iter().map(move |p| AlignParams {
                    scorer: Scorer::Weights(w.clone()),
                    ..p.clone()
                })
            })
            .collect();
    }
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
    mt_axis!("prune", prune);
    mt_axis!("gate", gate);
    mt_axis!("cap", cap);
    // `--trust 0:0,25:35`: where the trust starts rising and where it reaches 1.
    let trusts: Vec<String> = list(
        &args,
        "trust",
        &format!("{}:{}", d.mt.trust_from, d.mt.trust_to),
    );
    grid = grid
        .into_iter()
        .flat_map(|p| {
            trusts.iter().map(move |t| {
                let (a, b) = t.split_once(':').expect("--trust FROM:TO");
                AlignParams {
                    mt: MtWeights {
                        trust_from: a.parse().expect("--trust"),
                        trust_to: b.parse().expect("--trust"),
                        ..p.mt.clone()
                    },
                    ..p.clone()
                }
            })
        })
        .collect();
    // Built once per document: its memo serves every point of the grid.
    let evidence: Vec<Option<MtEvidence>> = loaded
        .iter()
        .map(|doc| {
            doc.mt.as_ref().map(|(ix, texts)| {
                // One β per run (the memo holds one chrF per link).
                let beta: f32 = list(&args, "chrf-beta", "2")[0];
                MtEvidence::new(&doc.emb, texts, ix, &doc.tgt)
                    .with_beta(beta)
                    .memoized()
            })
        })
        .collect();
    for (doc, ev) in loaded.iter().zip(&evidence) {
        if let Some(ev) = ev {
            println!(
                "  {}: translation quality (no gold) {:.1}, agreement {:.3}",
                doc.name,
                ev.quality(),
                ev.agreement(&doc.src)
            );
        }
    }
    let versus = args.get("versus").map(|s| AlignParams {
        scorer: parse_scorer(s),
        ..d.clone()
    });
    for p in grid {
        let mut tally = Tally::default();
        let mut per = Vec::new();
        let mut ranked: Vec<(f32, bool)> = Vec::new();
        let t0 = std::time::Instant::now();
        for (doc, ev) in loaded.iter().zip(&evidence) {
            let td = std::time::Instant::now();
            let (test, costs) = run_doc_costs(doc, ev.as_ref(), &p)?;
            let secs = td.elapsed().as_secs_f32();
            let gold_set: HashSet<&GoldLink> = doc.gold.iter().collect();
            ranked.extend(
                test.iter()
                    .zip(&costs)
                    .map(|(l, c)| (1.0 - c, gold_set.contains(l))),
            );
            if let Some(v) = &versus {
                compare(doc, &test, &run_doc(doc, v)?);
            }
            if let Some(dir) = args.get("dump") {
                dump_links(Path::new(dir), doc, &test, &costs, &p)?;
            }
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
            per.push((doc.name.clone(), tally.add(&doc.gold, &test), secs));
        }
        println!(
            "{} size {} overlap {} thr {} merge {} del {} len {} coarse {} band {} absorb {} uncross {:?} moved {} adapt {}: {}  ({:.2}s)",
            match &p.scorer {
                Scorer::Weights(w) => format!(
                    "weights {}",
                    w.0.iter()
                        .map(|x| format!("{x:.3}"))
                        .collect::<Vec<_>>()
                        .join(",")
                ),
                s => format!("{s:?}"),
            },
            p.max_size,
            p.max_overlap,
            p.threshold,
            p.merge_penalty,
            p.deletion,
            p.length_penalty,
            p.coarse_size,
            p.band,
            p.absorb
                .as_ref()
                .map_or("off -".into(), |a| format!("{} {}", a.tolerance, a.member)),
            p.uncross,
            p.moved.as_ref().map_or("off".into(), |m| m.to_string()),
            p.adapt,
            tally.scores(),
            t0.elapsed().as_secs_f32()
        );
        if evidence.iter().any(Option::is_some) {
            println!(
                "    mt: cross {} mono {} chrf {} base {} prune {} gate {} cap {} trust {}:{} → {}",
                p.mt.cross,
                p.mt.mono,
                p.mt.chrf,
                p.mt.chrf_base,
                p.mt.prune,
                p.mt.gate,
                p.mt.cap,
                p.mt.trust_from,
                p.mt.trust_to,
                evidence
                    .iter()
                    .flatten()
                    .map(|e| format!("{:.2}", p.mt.trust(e.quality())))
                    .collect::<Vec<_>>()
                    .join(",")
            );
        }
        println!(
            "    confidence (1 - cost) AUC, right vs wrong output links: {:.3} ({} links, {} wrong)",
            auc(&ranked),
            ranked.len(),
            ranked.iter().filter(|x| !x.1).count()
        );
        if args.contains_key("per-doc") {
            for (n, s, secs) in per {
                println!("    {n:6} {s}  ({secs:.2}s)");
            }
        }
    }
    Ok(())
}

fn parse_scorer(s: &str) -> Scorer {
    match s {
        "tuned" => Scorer::Tuned,
        "hand" => Scorer::Hand,
        "bertalign" => Scorer::Bertalign,
        other => panic!("--scorer {other}: tuned, hand or bertalign"),
    }
}

fn view<'a>(index: &'a OverlapIndex, facts: &'a SentenceFacts) -> DocView<'a> {
    DocView { index, facts }
}

/// `--dump DIR`: `DIR/D.links.tsv`, the links whose token coverage docs/align.md weighs
/// against their similarity: the aligner's output (`out`, with its cost), every gold link
/// with both sides (`gold`), the 2-2 merge of each pair of neighbouring gold 1-1 links
/// (`m22`), the diagonal 1-1 halves of each gold 2-2 (`d11`) and the 1-1 links within 2 of
/// a gold 1-1 on one side (`c11`). Columns: kind,
/// source and target sentences, gold or not, cosine, similarity, member, value, cost.
fn dump_links(
    dir: &Path,
    doc: &Doc,
    test: &[GoldLink],
    costs: &[f32],
    p: &AlignParams,
) -> Result<()> {
    use std::fmt::Write as _;
    let fine = FineScorer::new(
        &doc.emb,
        &doc.src,
        &doc.tgt,
        &doc.src_facts,
        &doc.tgt_facts,
        p,
    );
    let gold: HashSet<&GoldLink> = doc.gold.iter().collect();
    let (n, m) = (doc.src.len(), doc.tgt.len());
    let mut out = String::new();
    let mut row = |kind: &str, l: &GoldLink, cost: f32| {
        let (s, a) = (l.0.first().copied().unwrap_or(0), l.0.len());
        let (t, b) = (l.1.first().copied().unwrap_or(0), l.1.len());
        let x = fine.features(s, a, t, b);
        let (cos, _) = fine.similarity(s, a, t, b);
        let join = |v: &[usize]| {
            v.iter()
                .map(|i| i.to_string())
                .collect::<Vec<_>>()
                .join(",")
        };
        writeln!(
            out,
            "{kind}\t{}\t{}\t{}\t{cos}\t{}\t{}\t{}\t{cost}",
            join(&l.0),
            join(&l.1),
            gold.contains(l) as u8,
            x[bitalign::align::features::f::SIM],
            x[bitalign::align::features::f::MEMBER],
            fine.weights().value(&x),
        )
        .unwrap();
    };
    for (l, &c) in test.iter().zip(costs) {
        row("out", l, c);
    }
    let ones: HashSet<(usize, usize)> = doc
        .gold
        .iter()
        .filter(|l| l.0.len() == 1 && l.1.len() == 1)
        .map(|l| (l.0[0], l.1[0]))
        .collect();
    for l in doc
        .gold
        .iter()
        .filter(|l| !l.0.is_empty() && !l.1.is_empty())
    {
        row("gold", l, f32::NAN);
        if l.0.len() == 2 && l.1.len() == 2 {
            for k in 0..2 {
                row("d11", &(vec![l.0[k]], vec![l.1[k]]), f32::NAN);
            }
        }
    }
    let mut ones: Vec<_> = ones.into_iter().collect();
    ones.sort_unstable();
    for &(i, j) in &ones {
        if ones.binary_search(&(i + 1, j + 1)).is_ok() {
            row("m22", &(vec![i, i + 1], vec![j, j + 1]), f32::NAN);
        }
        for d in [-2i64, -1, 1, 2] {
            let jj = j as i64 + d;
            if (0..m as i64).contains(&jj) {
                row("c11", &(vec![i], vec![jj as usize]), f32::NAN);
            }
            let ii = i as i64 + d;
            if (0..n as i64).contains(&ii) {
                row("c11", &(vec![ii as usize], vec![j]), f32::NAN);
            }
        }
    }
    std::fs::create_dir_all(dir)?;
    std::fs::write(dir.join(format!("{}.links.tsv", doc.name)), out)?;
    Ok(())
}

fn run_doc(doc: &Doc, p: &AlignParams) -> Result<Vec<GoldLink>> {
    Ok(run_doc_costs(doc, None, p)?.0)
}

/// Links and their costs.
fn run_doc_costs(
    doc: &Doc,
    mt: Option<&MtEvidence>,
    p: &AlignParams,
) -> Result<(Vec<GoldLink>, Vec<f32>)> {
    let links = align_with(
        &doc.emb,
        view(&doc.src, &doc.src_facts),
        view(&doc.tgt, &doc.tgt_facts),
        mt,
        p,
    )?;
    Ok((
        links
            .iter()
            .map(|l| (l.src.clone().collect(), l.tgt.clone().collect()))
            .collect(),
        links.iter().map(|l| l.cost).collect(),
    ))
}

/// Area under the ROC curve of `score` separating `true` from `false` items (ties count
/// half): the chance that a right link ranks above a wrong one.
fn auc(items: &[(f32, bool)]) -> f64 {
    let pos: Vec<f32> = items.iter().filter(|x| x.1).map(|x| x.0).collect();
    let neg: Vec<f32> = items.iter().filter(|x| !x.1).map(|x| x.0).collect();
    let mut wins = 0f64;
    for &p in &pos {
        for &n in &neg {
            wins += if p > n {
                1.0
            } else if p == n {
                0.5
            } else {
                0.0
            };
        }
    }
    wins / (pos.len() * neg.len()).max(1) as f64
}

/// `a+b` shape of a link, for the comparison's tallies.
fn shape(l: &GoldLink) -> String {
    format!("{}-{}", l.0.len(), l.1.len())
}

/// Gold links one scorer gets and the other misses, by shape, then listed.
fn compare(doc: &Doc, ours: &[GoldLink], theirs: &[GoldLink]) {
    let gold: HashSet<&GoldLink> = doc.gold.iter().collect();
    let o: HashSet<&GoldLink> = ours.iter().collect();
    let t: HashSet<&GoldLink> = theirs.iter().collect();
    let only = |a: &HashSet<&GoldLink>, b: &HashSet<&GoldLink>| -> Vec<GoldLink> {
        let mut v: Vec<GoldLink> = gold
            .iter()
            .filter(|g| a.contains(**g) && !b.contains(**g))
            .map(|g| (*g).clone())
            .collect();
        v.sort();
        v
    };
    let (theirs_only, ours_only) = (only(&t, &o), only(&o, &t));
    let tally = |v: &[GoldLink]| {
        let mut m: std::collections::BTreeMap<String, usize> = Default::default();
        for l in v {
            *m.entry(shape(l)).or_default() += 1;
        }
        m
    };
    println!(
        "  {}: gold links only the other finds {} {:?}; only this one {} {:?}",
        doc.name,
        theirs_only.len(),
        tally(&theirs_only),
        ours_only.len(),
        tally(&ours_only)
    );
    for g in &theirs_only {
        // What we output instead, covering the gold link's source (or target) sentences.
        let instead: Vec<&GoldLink> = ours
            .iter()
            .filter(|l| l.0.iter().any(|x| g.0.contains(x)) || l.1.iter().any(|x| g.1.contains(x)))
            .collect();
        println!("    other right {:?}:{:?}, we have {:?}", g.0, g.1, instead);
    }
}

/// Learning the feature weights (see `src/align/features.rs`).
mod learn {
    use super::*;

    /// A stretch of a document between two points every gold link respects.
    pub struct Chunk {
        pub doc: usize,
        pub start: (usize, usize),
        pub end: (usize, usize),
        /// Gold links inside, as (source start, a, target start, b).
        pub gold: Vec<(usize, usize, usize, usize)>,
        /// Gold links a monotone aligner cannot output (crossing or gapped).
        pub unreachable: usize,
    }

    fn contiguous(v: &[usize]) -> bool {
        v.windows(2).all(|w| w[1] == w[0] + 1)
    }

    /// Cuts each document's gold into chunks of about `size` links at points no gold link
    /// crosses.
    pub fn chunks(docs: &[Doc], size: usize) -> Vec<Chunk> {
        let mut out = Vec::new();
        for (d, doc) in docs.iter().enumerate() {
            let g = &doc.gold;
            // Suffix minima of each link's first source/target index.
            let mut min_s = vec![usize::MAX; g.len() + 1];
            let mut min_t = vec![usize::MAX; g.len() + 1];
            for k in (0..g.len()).rev() {
                min_s[k] = min_s[k + 1].min(g[k].0.iter().copied().min().unwrap_or(usize::MAX));
                min_t[k] = min_t[k + 1].min(g[k].1.iter().copied().min().unwrap_or(usize::MAX));
            }
            let (mut max_s, mut max_t) = (0usize, 0usize);
            let mut start = (0, 0);
            let mut first = 0;
            for k in 0..g.len() {
                max_s = max_s.max(g[k].0.iter().map(|x| x + 1).max().unwrap_or(0));
                max_t = max_t.max(g[k].1.iter().map(|x| x + 1).max().unwrap_or(0));
                let last = k + 1 == g.len();
                let clean = min_s[k + 1] >= max_s && min_t[k + 1] >= max_t;
                if (k + 1 - first >= size && clean) || last {
                    let end = if last {
                        (doc.src.len(), doc.tgt.len())
                    } else {
                        (max_s.max(start.0), max_t.max(start.1))
                    };
                    let mut gold = Vec::new();
                    let mut unreachable = 0;
                    for l in &g[first..=k] {
                        let ok = contiguous(&l.0) && contiguous(&l.1);
                        if !ok {
                            unreachable += 1;
                            continue;
                        }
                        match (l.0.len(), l.1.len()) {
                            (0, 0) => {}
                            (0, _) => gold.extend(l.1.iter().map(|&t| (0, 0, t, 1))),
                            (_, 0) => gold.extend(l.0.iter().map(|&s| (s, 1, 0, 0))),
                            (a, b) => gold.push((l.0[0], a, l.1[0], b)),
                        }
                    }
                    out.push(Chunk {
                        doc: d,
                        start,
                        end,
                        gold,
                        unreachable,
                    });
                    start = end;
                    first = k + 1;
                }
            }
        }
        out
    }

    /// The fine scorer seen from a chunk's start.
    struct Offset<'a> {
        inner: &'a FineScorer<'a>,
        at: (usize, usize),
    }

    impl LinkScorer for Offset<'_> {
        fn types(&self) -> &[(usize, usize)] {
            self.inner.types()
        }
        fn value(&self, t: usize, i: usize, j: usize) -> f32 {
            self.inner.value(t, i + self.at.0, j + self.at.1)
        }
    }

    /// Decodes `chunk` with `scorer`: its links as (source start, a, target start, b).
    fn decode(scorer: &FineScorer, chunk: &Chunk) -> Vec<(usize, usize, usize, usize)> {
        let (n, m) = (chunk.end.0 - chunk.start.0, chunk.end.1 - chunk.start.1);
        let off = Offset {
            inner: scorer,
            at: chunk.start,
        };
        let (points, steps) = best_path(&off, &Band::full(n, m), m).expect("path");
        let types = scorer.types();
        points
            .iter()
            .zip(&steps)
            .map(|(&(i, j), &t)| {
                let (a, b) = types[t as usize];
                (i + chunk.start.0, a, j + chunk.start.1, b)
            })
            .collect()
    }

    fn scorer<'a>(doc: &'a Doc, p: &AlignParams) -> FineScorer<'a> {
        FineScorer::new(
            &doc.emb,
            &doc.src,
            &doc.tgt,
            &doc.src_facts,
            &doc.tgt_facts,
            p,
        )
        .with_all_features()
    }

    fn params(w: &Weights) -> AlignParams {
        AlignParams {
            scorer: Scorer::Weights(w.clone()),
            ..AlignParams::default()
        }
    }

    fn as_gold(l: &(usize, usize, usize, usize)) -> GoldLink {
        ((l.0..l.0 + l.1).collect(), (l.2..l.2 + l.3).collect())
    }

    /// Averaged structured perceptron over `train` chunks, from `init`.
    pub fn train(
        docs: &[Doc],
        chunks: &[&Chunk],
        init: &Weights,
        epochs: usize,
        step: f32,
    ) -> Weights {
        let mut w = init.0;
        let mut sum = [0f64; NF];
        let mut count = 0f64;
        let types = link_types(AlignParams::default().max_size, 4);
        let mut order: Vec<usize> = (0..chunks.len()).collect();
        let mut rng = 0x5eedu64;
        for _ in 0..epochs {
            // Fisher-Yates with a fixed LCG: the same weights every run.
            for i in (1..order.len()).rev() {
                rng = rng
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                order.swap(i, (rng >> 33) as usize % (i + 1));
            }
            for &c in &order {
                let chunk = chunks[c];
                let doc = &docs[chunk.doc];
                let p = params(&Weights(w));
                let sc = scorer(doc, &p);
                let pred = decode(&sc, chunk);
                let gold: HashSet<_> = chunk
                    .gold
                    .iter()
                    .filter(|l| types.contains(&(l.1, l.3)))
                    .copied()
                    .collect();
                let predicted: HashSet<_> = pred.iter().copied().collect();
                let mut delta = [0f32; NF];
                for l in gold.difference(&predicted) {
                    let f = sc.features(l.0, l.1, l.2, l.3);
                    delta.iter_mut().zip(f).for_each(|(d, x)| *d += x);
                }
                for l in predicted.difference(&gold) {
                    let f = sc.features(l.0, l.1, l.2, l.3);
                    delta.iter_mut().zip(f).for_each(|(d, x)| *d -= x);
                }
                for k in 0..NF {
                    w[k] += step * delta[k];
                }
                // Keep the scale: SIM's weight is the unit the others are measured in.
                sum.iter_mut().zip(&w).for_each(|(s, x)| *s += *x as f64);
                count += 1.0;
            }
        }
        let mut avg = [0f32; NF];
        avg.iter_mut()
            .zip(&sum)
            .for_each(|(a, s)| *a = (s / count) as f32);
        Weights(avg)
    }

    /// Strict/lax scores of `w` on `chunks` decoded as one stretch per run of consecutive
    /// chunks of one document.
    pub fn evaluate(docs: &[Doc], chunks: &[&Chunk], w: &Weights) -> Tally {
        let mut tally = Tally::default();
        let p = params(w);
        let mut k = 0;
        while k < chunks.len() {
            let mut e = k;
            while e + 1 < chunks.len()
                && chunks[e + 1].doc == chunks[k].doc
                && chunks[e + 1].start == chunks[e].end
            {
                e += 1;
            }
            let doc = &docs[chunks[k].doc];
            let span = Chunk {
                doc: chunks[k].doc,
                start: chunks[k].start,
                end: chunks[e].end,
                gold: Vec::new(),
                unreachable: 0,
            };
            let sc = scorer(doc, &p);
            let test: Vec<GoldLink> = decode(&sc, &span).iter().map(as_gold).collect();
            // Gold links inside the span, as in the file.
            let gold: Vec<GoldLink> = doc
                .gold
                .iter()
                .filter(|l| {
                    let s = l.0.iter().chain(&l.1).next();
                    s.is_some()
                        && l.0.iter().all(|&x| x >= span.start.0 && x < span.end.0)
                        && l.1.iter().all(|&x| x >= span.start.1 && x < span.end.1)
                })
                .cloned()
                .collect();
            tally.add(&gold, &test);
            k = e + 1;
        }
        tally
    }

    pub fn run(docs: &[Doc], args: &HashMap<String, String>) -> Result<()> {
        let size: usize = list(args, "chunk", "20")[0];
        let folds: usize = list(args, "folds", "4")[0];
        let epochs: Vec<usize> = list(args, "epochs", "5,10,20");
        let steps: Vec<f32> = list(args, "step", "0.002,0.005,0.01,0.02");
        let d = AlignParams::default();
        let hand = Weights::hand(d.threshold, d.merge_penalty, d.deletion, d.length_penalty);
        let all = chunks(docs, size);
        let refs: Vec<&Chunk> = all.iter().collect();
        println!(
            "{} chunks, {} gold links, {} unreachable",
            all.len(),
            all.iter().map(|c| c.gold.len()).sum::<usize>(),
            all.iter().map(|c| c.unreachable).sum::<usize>()
        );
        let fold_of = |i: usize| i * folds / all.len();
        let cv = |w_of: &dyn Fn(&[&Chunk]) -> Weights| -> Tally {
            let mut tally = Tally::default();
            for f in 0..folds {
                let train: Vec<&Chunk> = (0..all.len())
                    .filter(|&i| fold_of(i) != f)
                    .map(|i| &all[i])
                    .collect();
                let test: Vec<&Chunk> = (0..all.len())
                    .filter(|&i| fold_of(i) == f)
                    .map(|i| &all[i])
                    .collect();
                let w = w_of(&train);
                let t = evaluate(docs, &test, &w);
                tally.precision += t.precision;
                tally.recall += t.recall;
            }
            tally
        };
        println!(
            "hand weights, {folds}-fold stretches: {}",
            cv(&|_| hand.clone()).scores()
        );
        if list::<String>(args, "method", "ascent")[0] == "ascent" {
            let rounds: usize = list(args, "rounds", "2")[0];
            let t = cv(&|train| ascent(docs, train, &hand, rounds));
            println!(
                "coordinate ascent, {rounds} rounds, {folds}-fold: {}",
                t.scores()
            );
            let w = ascent(docs, &refs, &hand, rounds);
            print_weights(&w);
            return calibrate(docs, &w);
        }
        let mut best = (f64::MIN, 0, 0.0);
        for &e in &epochs {
            for &s in &steps {
                let t = cv(&|train| train_fn(docs, train, &hand, e, s));
                println!("epochs {e} step {s}: {}", t.scores());
                if t.scores().f1_strict > best.0 {
                    best = (t.scores().f1_strict, e, s);
                }
            }
        }
        let (_, e, s) = best;
        let w = train(docs, &refs, &hand, e, s);
        println!("chosen by cross-validation: epochs {e} step {s}; trained on all chunks:");
        print_weights(&w);
        calibrate(docs, &w)
    }

    fn print_weights(w: &Weights) {
        for (n, x) in FEATURE_NAMES.iter().zip(&w.0) {
            println!("  {n:12} {x:+.4}");
        }
        println!(
            "const LEARNED: Features = [{}];",
            w.0.iter()
                .map(|x| format!("{x:.4}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }

    /// Step tried for each weight by the coordinate ascent (SIM stays 1: the unit).
    const STEPS: [f32; NF] = [
        0.02, 0.0, 0.05, 0.05, 0.01, 0.01, 0.02, 0.02, 0.02, 0.02, 0.02, 0.02, 0.01, 0.05, 0.02,
        0.05, 0.01, 0.02, 0.05, 0.05, 0.05,
    ];

    /// Coordinate ascent on strict F1 (then lax F1 on ties) over the `train` stretches:
    /// each weight in turn moves by ±1 or ±2 steps while that helps; `rounds` passes.
    pub fn ascent(docs: &[Doc], train: &[&Chunk], init: &Weights, rounds: usize) -> Weights {
        // Chunk by chunk (small grids, ten times faster than whole stretches).
        let score = |w: &Weights| {
            let mut tally = Tally::default();
            for c in train {
                let t = evaluate(docs, &[*c], w);
                tally.precision += t.precision;
                tally.recall += t.recall;
            }
            let s = tally.scores();
            (s.f1_strict, s.f1_lax)
        };
        let mut w = init.clone();
        let mut best = score(&w);
        for _ in 0..rounds {
            for (k, &step) in STEPS.iter().enumerate() {
                if step == 0.0 {
                    continue;
                }
                let mut moved = true;
                while moved {
                    moved = false;
                    for m in [-2.0, -1.0, 1.0, 2.0] {
                        let mut c = w.clone();
                        c.0[k] += m * step;
                        let sc = score(&c);
                        if sc > best {
                            (best, w, moved) = (sc, c, true);
                            break;
                        }
                    }
                }
            }
        }
        w
    }

    /// Fits the link confidence on the output links of `w` (strictly right or not).
    pub fn calibrate(docs: &[Doc], w: &Weights) -> Result<()> {
        let p = params(w);
        let mut rows: Vec<([f32; NC], bool)> = Vec::new();
        for doc in docs {
            let (links, _) = run_doc_costs(doc, None, &p)?;
            let sc = scorer(doc, &p);
            let gold: HashSet<&GoldLink> = doc.gold.iter().collect();
            for l in &links {
                let (s, a) = (l.0.first().copied().unwrap_or(0), l.0.len());
                let (t, b) = (l.1.first().copied().unwrap_or(0), l.1.len());
                let x = sc.features(s, a, t, b);
                rows.push((confidence_inputs(&x, w.value(&x)), gold.contains(l)));
            }
        }
        // Cross-validated AUC over contiguous folds, then the fit on everything.
        let folds = 4;
        let mut scored = Vec::new();
        for f in 0..folds {
            let fold = |i: usize| i * folds / rows.len() == f;
            let train: Vec<_> = rows
                .iter()
                .enumerate()
                .filter(|(i, _)| !fold(*i))
                .map(|(_, r)| *r)
                .collect();
            let c = logistic(&train);
            for (_, r) in rows.iter().enumerate().filter(|(i, _)| fold(*i)) {
                scored.push((Calibration(c).probability_of(&r.0), r.1));
            }
        }
        let c = logistic(&rows);
        let brier: f64 = rows
            .iter()
            .map(|r| (Calibration(c).probability_of(&r.0) as f64 - r.1 as u8 as f64).powi(2))
            .sum::<f64>()
            / rows.len() as f64;
        println!(
            "link confidence: {} links ({} wrong), {folds}-fold AUC {:.3}, Brier {:.3}",
            rows.len(),
            rows.iter().filter(|r| !r.1).count(),
            auc(&scored),
            brier
        );
        for (n, x) in CONFIDENCE_NAMES.iter().zip(&c) {
            println!("  {n:12} {x:+.4}");
        }
        println!(
            "const CALIBRATION: [f32; NC] = [{}];",
            c.iter()
                .map(|x| format!("{x:.4}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        Ok(())
    }

    /// Logistic regression by Newton's method with a small ridge (not on the bias).
    fn logistic(rows: &[([f32; NC], bool)]) -> [f32; NC] {
        const RIDGE: f64 = 1e-2;
        let mut w = [0f64; NC];
        for _ in 0..50 {
            let mut g = [0f64; NC];
            let mut h = [[0f64; NC]; NC];
            for (x, y) in rows {
                let z: f64 = (0..NC).map(|k| w[k] * x[k] as f64).sum();
                let p = 1.0 / (1.0 + (-z).exp());
                let r = p - *y as u8 as f64;
                for a in 0..NC {
                    g[a] += r * x[a] as f64;
                    for b in 0..NC {
                        h[a][b] += p * (1.0 - p) * x[a] as f64 * x[b] as f64;
                    }
                }
            }
            for a in 1..NC {
                g[a] += RIDGE * w[a];
                h[a][a] += RIDGE;
            }
            h[0][0] += 1e-9;
            let step = solve(h, g);
            for k in 0..NC {
                w[k] -= step[k];
            }
        }
        let mut out = [0f32; NC];
        out.iter_mut().zip(&w).for_each(|(o, x)| *o = *x as f32);
        out
    }

    /// Gaussian elimination with partial pivoting.
    fn solve(mut a: [[f64; NC]; NC], mut b: [f64; NC]) -> [f64; NC] {
        for c in 0..NC {
            let p = (c..NC)
                .max_by(|&i, &j| a[i][c].abs().total_cmp(&a[j][c].abs()))
                .unwrap();
            a.swap(c, p);
            b.swap(c, p);
            if a[c][c].abs() < 1e-12 {
                continue;
            }
            for r in 0..NC {
                if r != c {
                    let f = a[r][c] / a[c][c];
                    let pivot = a[c];
                    a[r].iter_mut().zip(pivot).for_each(|(x, p)| *x -= f * p);
                    b[r] -= f * b[c];
                }
            }
        }
        let mut x = [0f64; NC];
        for c in 0..NC {
            if a[c][c].abs() >= 1e-12 {
                x[c] = b[c] / a[c][c];
            }
        }
        x
    }

    fn train_fn(
        docs: &[Doc],
        train_chunks: &[&Chunk],
        init: &Weights,
        e: usize,
        s: f32,
    ) -> Weights {
        train(docs, train_chunks, init, e, s)
    }
}
