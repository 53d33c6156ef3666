//! `bitalign bench mine`: the speed of mining on embeddings alone (no model): the k-NN pass
//! in both directions, then the whole of mining (margin, max mode, threshold), on synthetic
//! clustered vectors with planted translations or on `.npy` files, next to the machine's
//! FMA peak, with the exactness of the k-NN lists checked on sampled rows.

use super::bench::{cpu_seconds, fma_peak_gflops, proc_status_mib, Spread};
use super::Progress;
use anyhow::{ensure, Result};
use bitalign::corpus::AtomicFile;
use bitalign::embed::Embeddings;
use bitalign::mine::{self, Params};
use bitalign::score::{self, IvfParams, Knn, Precision, Score, Scorer};
use clap::Args;
use serde::Serialize;
use std::collections::HashSet;
use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

/// A search `bench mine` measures.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Method {
    Exact,
    Approx,
}

/// Whether an exact f32 search is screened (`bench mine --screen`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Screen {
    On,
    Off,
}

#[derive(Args, Debug)]
#[command(
    after_help = "Synthetic data: unit vectors around 1000 random centres (cosine \
    ≈ 0.5 within a cluster, ≈ 0 across), and a tenth of y are noisy copies of x rows \
    (cosine ≈ 0.95), the planted translations. The same vectors are written by --write-npy \
    for other tools (scripts/bench-mine-compare.sh runs FAISS on them). FLOPs count 2·d per \
    similarity; the k-NN pass computes each similarity once for both directions."
)]
pub struct MineBenchArgs {
    /// Sizes of both sides (nx = ny), synthetic; several may be given.
    #[arg(long = "size", value_name = "N", default_values_t = [20_000usize], value_delimiter = ',')]
    pub sizes: Vec<usize>,
    /// Width of the synthetic vectors.
    #[arg(long, default_value_t = 384, value_name = "D")]
    pub dim: usize,
    /// Seed of the synthetic vectors.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Source embeddings (float32 .npy, memory-mapped) instead of synthetic ones; needs --y.
    #[arg(long, value_name = "FILE", requires = "y")]
    pub x: Option<PathBuf>,
    /// Target embeddings (float32 .npy).
    #[arg(long, value_name = "FILE", requires = "x")]
    pub y: Option<PathBuf>,
    /// Neighbourhood size of the margin and of the k-NN lists.
    #[arg(long, default_value_t = score::DEFAULT_K)]
    pub k: usize,
    /// Timed runs of each measurement (the median is reported).
    #[arg(long, default_value_t = 3, value_name = "N")]
    pub runs: usize,
    /// Rows whose k-NN lists are recomputed one pair at a time to check the blocked pass.
    #[arg(long, default_value_t = 200, value_name = "N")]
    pub check_rows: usize,
    /// Write the synthetic vectors as DIR/x-N.npy and DIR/y-N.npy.
    #[arg(long, value_name = "DIR")]
    pub write_npy: Option<PathBuf>,
    /// Searches to measure, in order; recall and F1 are against the exact one when it
    /// runs first.
    #[arg(long, value_enum, value_delimiter = ',', default_values_t = [Method::Exact])]
    pub knn: Vec<Method>,
    /// Number formats each search runs in (int8: estimates re-scored in f32, see `run
    /// --knn-precision`).
    #[arg(long, value_enum, value_delimiter = ',', default_values_t = [Precision::F32])]
    pub knn_precision: Vec<Precision>,
    /// Exact f32 search screened by 8-bit estimates with a proven error bound (`on`, what
    /// `run` does on CPUs with AVX-512 VNNI; same lists bit for bit) or the plain f32
    /// kernel (`off`, whose GFLOP/s is the kernel's); `on,off` measures both.
    #[arg(long, value_enum, value_delimiter = ',', default_values_t = [Screen::On])]
    pub screen: Vec<Screen>,
    /// Lists of the approximate search (default: chosen from the size, as `run`).
    #[arg(long, value_name = "N")]
    pub ivf_lists: Option<usize>,
    /// Lists each x row searches; several (comma-separated) measure the approximate search
    /// once per value, for a recall/time sweep.
    #[arg(long, value_name = "N", default_values_t = [IvfParams::default().probe], value_delimiter = ',')]
    pub ivf_probe: Vec<usize>,
    /// Lists each y row is stored in (its nearest ones; see `run --ivf-assign`).
    #[arg(long, value_name = "N", default_value_t = IvfParams::default().assign)]
    pub ivf_assign: usize,
    /// Choose the probe for this recall@k instead (see `run --ivf-recall`).
    #[arg(long, value_name = "R")]
    pub ivf_recall: Option<f64>,
    /// k-means iterations of the approximate search.
    #[arg(long, value_name = "N", default_value_t = IvfParams::default().iterations)]
    pub ivf_iterations: usize,
    /// k-means training rows per list.
    #[arg(long, value_name = "N", default_value_t = IvfParams::default().train_per_list)]
    pub ivf_train_per_list: usize,
    /// With --write-npy: write the vectors and measure nothing (to make large inputs once).
    #[arg(long, requires = "write_npy")]
    pub write_only: bool,
    /// Only the k-NN pass (skip the whole-mining measurement).
    #[arg(long)]
    pub knn_only: bool,
    /// Print one JSON object instead of the table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Serialize)]
struct MethodReport {
    knn: Knn,
    /// Lists of the inverted file for these sizes (approximate search).
    lists: Option<usize>,
    precision: Precision,
    /// An exact f32 search screened by 8-bit estimates (same lists; see `--screen`).
    screened: bool,
    /// k-NN in both directions (for IVF: training, assignment and the probed lists).
    knn_seconds: Spread,
    /// CPU seconds (all threads) of one k-NN run, the mean of the runs.
    knn_cpu_seconds: Option<f64>,
    /// nx·ny / seconds: pairs covered per second (all pairs are compared only when exact).
    similarities_per_second: f64,
    /// 2·d·nx·ny / seconds (exact search only).
    knn_gflops: Option<f64>,
    knn_percent_of_peak: Option<f64>,
    /// Neighbours of sampled rows (both directions) that a plain recomputation also finds.
    knn_recall_sampled: f64,
    /// Neighbours (all rows, both directions) also in the exact lists, when exact ran too.
    knn_recall: Option<f64>,
    /// k-NN, margins, best partners both ways, max mode, threshold.
    mine_seconds: Option<Spread>,
    mine_cpu_seconds: Option<f64>,
    mined_pairs: Option<usize>,
    /// F1 of the mined pair set against exact mining's, when exact ran too.
    mined_f1_vs_exact: Option<f64>,
    /// Planted pairs (synthetic data) the mining kept.
    planted_recall: Option<f64>,
}

#[derive(Serialize)]
struct SizeReport {
    nx: usize,
    ny: usize,
    dim: usize,
    k: usize,
    methods: Vec<MethodReport>,
}

#[derive(Serialize)]
struct Report {
    simd: &'static str,
    threads: usize,
    runs: usize,
    fma_peak_gflops: Option<f64>,
    sizes: Vec<SizeReport>,
    peak_rss_mib: Option<f64>,
}

type Lists = (score::Neighbours, score::Neighbours);
/// Both sides and, for synthetic data, the planted pairs.
type Input = (Embeddings, Embeddings, Option<Vec<(usize, usize)>>);

pub fn run(args: MineBenchArgs, threads: usize, progress: &Progress) -> Result<()> {
    ensure!(args.runs > 0, "--runs must be at least 1");
    ensure!(args.k > 0, "--k must be at least 1");
    ensure!(args.dim > 0, "--dim must be at least 1");
    ensure!(
        args.ivf_probe.iter().all(|&p| p > 0),
        "--ivf-probe must be at least 1"
    );
    ensure!(args.ivf_assign > 0, "--ivf-assign must be at least 1");
    ensure!(
        args.ivf_recall.is_none_or(|r| r > 0.0 && r <= 1.0),
        "--ivf-recall must be above 0 and at most 1"
    );
    let ivf = |probe| IvfParams {
        lists: args.ivf_lists.unwrap_or(0),
        probe,
        assign: args.ivf_assign,
        recall: args.ivf_recall,
        iterations: args.ivf_iterations,
        train_per_list: args.ivf_train_per_list,
    };
    let searches: Vec<Knn> = args
        .knn
        .iter()
        .flat_map(|m| match m {
            Method::Exact => vec![Knn::Exact],
            Method::Approx => args.ivf_probe.iter().map(|&p| Knn::Ivf(ivf(p))).collect(),
        })
        .collect();
    // Screening applies to exact f32 search only; the others run once.
    let screens = |knn: Knn, p: Precision| -> Vec<Screen> {
        if knn == Knn::Exact && p.is_f32() {
            args.screen.clone()
        } else {
            args.screen[..1].to_vec()
        }
    };
    let methods: Vec<(Knn, Precision, Screen)> = searches
        .iter()
        .flat_map(|&knn| {
            args.knn_precision
                .iter()
                .flat_map(move |&p| screens(knn, p).into_iter().map(move |s| (knn, p, s)))
        })
        .collect();
    let inputs: Vec<Input> = match (&args.x, &args.y) {
        (Some(xp), Some(yp)) => {
            let (x, y) = (Embeddings::read_npy(xp)?, Embeddings::read_npy(yp)?);
            ensure!(
                x.dim() == y.dim(),
                "{} and {}: widths differ ({} and {})",
                xp.display(),
                yp.display(),
                x.dim(),
                y.dim()
            );
            vec![(x, y, None)]
        }
        _ => args
            .sizes
            .iter()
            .map(|&n| {
                ensure!(n > 0, "--size must be at least 1");
                let (x, y, planted) = synthetic(n, args.dim, args.seed);
                Ok((x, y, Some(planted)))
            })
            .collect::<Result<_>>()?,
    };
    if let Some(dir) = &args.write_npy {
        std::fs::create_dir_all(dir)?;
        for (x, y, _) in &inputs {
            for (name, e) in [("x", x), ("y", y)] {
                // Streamed, not buffered: at 4M rows a copy of a side would be 6 GB more.
                let mut file = AtomicFile::create(dir.join(format!("{name}-{}.npy", e.len())))?;
                let mut w = std::io::BufWriter::with_capacity(1 << 20, &mut file);
                e.write_npy(&mut w)?;
                w.flush()?;
                drop(w);
                file.commit()?;
            }
        }
    }
    if args.write_only {
        return Ok(());
    }
    let peak_before = fma_peak_gflops(threads);
    let mut sizes = Vec::new();
    for (x, y, planted) in &inputs {
        let (nx, ny, d) = (x.len(), y.len(), x.dim());
        let mut exact: Option<(Lists, HashSet<(usize, usize)>)> = None;
        let mut reports = Vec::new();
        for (knn, precision, screen) in &methods {
            score::set_screening(*screen == Screen::On);
            let name = format!(
                "{} {precision:?}",
                if *knn == Knn::Exact {
                    "exact"
                } else {
                    "approx"
                }
            );
            let reference = *knn == Knn::Exact && precision.is_f32();
            let mut screened = false;
            progress.say(format!("{nx} × {ny} × {d}, {name}: k-NN both ways"));
            let mut secs = Vec::new();
            let mut lists = None;
            let mut ran = *knn;
            let bar = bitalign::observe::NoStage;
            let cpu = cpu_seconds();
            for _ in 0..args.runs {
                let t = Instant::now();
                let s = Scorer::searched(x, y, args.k, Score::Margin, knn, *precision, &bar);
                secs.push(t.elapsed().as_secs_f64());
                ran = s.search();
                screened = s.screened();
                lists = Some((s.fwd, s.bwd));
            }
            let per_run = |c0: Option<f64>| Some((cpu_seconds()? - c0?) / args.runs as f64);
            let knn_cpu_seconds = per_run(cpu);
            let lists = lists.expect("at least one run");
            let sampled = sampled_recall(x, y, &lists, args.check_rows);
            let full = exact.as_ref().map(|(e, _)| recall(&lists, e));
            let knn_seconds = Spread::of(secs);
            // The kernel's rate: a screened pass does not compute every product in f32.
            let gflops = (reference && !screened)
                .then(|| 2.0 * nx as f64 * ny as f64 * d as f64 / knn_seconds.median / 1e9);
            let mut r = MethodReport {
                knn: ran,
                lists: match knn {
                    Knn::Ivf(p) => Some(p.lists_for(nx, ny)),
                    _ => None,
                },
                precision: *precision,
                screened,
                similarities_per_second: nx as f64 * ny as f64 / knn_seconds.median,
                knn_gflops: gflops,
                knn_percent_of_peak: None,
                knn_seconds,
                knn_cpu_seconds,
                knn_recall_sampled: sampled,
                knn_recall: full,
                mine_seconds: None,
                mine_cpu_seconds: None,
                mined_pairs: None,
                mined_f1_vs_exact: None,
                planted_recall: None,
            };
            let mut pair_set = HashSet::new();
            if !args.knn_only {
                progress.say(format!(
                    "{nx} × {ny} × {d}, {name}: mining (margin, max mode)"
                ));
                let params = Params {
                    k: args.k,
                    knn: *knn,
                    precision: *precision,
                    ..Params::default()
                };
                let mut secs = Vec::new();
                let mut pairs = Vec::new();
                let cpu = cpu_seconds();
                for _ in 0..args.runs {
                    let t = Instant::now();
                    pairs = mine::mine(x, y, &params);
                    secs.push(t.elapsed().as_secs_f64());
                }
                pair_set = pairs.iter().map(|p| (p.src, p.tgt)).collect();
                r.mine_seconds = Some(Spread::of(secs));
                r.mine_cpu_seconds = per_run(cpu);
                r.mined_pairs = Some(pairs.len());
                r.planted_recall = planted.as_ref().map(|p| {
                    p.iter().filter(|q| pair_set.contains(q)).count() as f64 / p.len().max(1) as f64
                });
                r.mined_f1_vs_exact = exact.as_ref().map(|(_, e)| f1(&pair_set, e));
            }
            if reference && exact.is_none() {
                exact = Some((lists, pair_set));
            }
            reports.push(r);
        }
        sizes.push(SizeReport {
            nx,
            ny,
            dim: d,
            k: args.k,
            methods: reports,
        });
    }
    let peak = match (peak_before, fma_peak_gflops(threads)) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    };
    for m in sizes.iter_mut().flat_map(|s| s.methods.iter_mut()) {
        m.knn_percent_of_peak = peak.zip(m.knn_gflops).map(|(p, g)| 100.0 * g / p);
    }
    let report = Report {
        simd: bitalign::model::kernels::simd_level(),
        threads,
        runs: args.runs,
        fma_peak_gflops: peak,
        sizes,
        peak_rss_mib: proc_status_mib("VmHWM"),
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_table(&report);
    }
    Ok(())
}

/// Share of the entries of `got` (both directions) that are in `want`'s list of that row.
fn recall(got: &Lists, want: &Lists) -> f64 {
    let (mut hit, mut total) = (0usize, 0usize);
    for (g, w) in [(&got.0, &want.0), (&got.1, &want.1)] {
        for i in 0..w.len() {
            let want: HashSet<usize> = w.of(i).map(|p| p.0).collect();
            hit += g.of(i).filter(|p| want.contains(&p.0)).count();
            total += want.len();
        }
    }
    hit as f64 / total.max(1) as f64
}

fn f1(got: &HashSet<(usize, usize)>, want: &HashSet<(usize, usize)>) -> f64 {
    let hit = got.intersection(want).count() as f64;
    if got.is_empty() && want.is_empty() {
        return 1.0;
    }
    2.0 * hit / (got.len() + want.len()) as f64
}

fn print_table(r: &Report) {
    println!(
        "{} threads, {}; FMA peak {}; median of {} runs",
        r.threads,
        r.simd,
        r.fma_peak_gflops
            .map_or("not measured".into(), |p| format!("{p:.0} GFLOP/s")),
        r.runs
    );
    println!("| nx × ny × d | search | k-NN both ways (CPU) | similarities/s | GFLOP/s (% of peak) | k-NN recall: sampled / all | mining (CPU) | mined pairs | F1 vs exact | planted recall |");
    println!("|---|---|---|---|---|---|---|---|---|---|");
    let opt = |v: Option<f64>, p: usize| v.map_or("—".to_string(), |v| format!("{v:.p$}"));
    for s in &r.sizes {
        for m in &s.methods {
            let search = match m.knn {
                Knn::Ivf(p) => format!(
                    "ivf, {} lists, probe {}, assign {}",
                    p.lists_for(s.nx, s.ny),
                    p.probe,
                    p.assign
                ),
                _ => "exact".into(),
            };
            let search = match m.precision {
                Precision::F32 if m.screened => format!("{search}, screened"),
                Precision::F32 => search,
                Precision::Int8 => format!("{search}, int8"),
            };
            println!(
                "| {} × {} × {} | {search} | {:.3} s ({}) | {:.3e} | {} | {:.4} / {} | {} | {} | {} | {} |",
                s.nx,
                s.ny,
                s.dim,
                m.knn_seconds.median,
                opt(m.knn_cpu_seconds, 1),
                m.similarities_per_second,
                match (m.knn_gflops, m.knn_percent_of_peak) {
                    (Some(g), Some(p)) => format!("{g:.0} ({p:.1} %)"),
                    (Some(g), None) => format!("{g:.0}"),
                    _ => "—".into(),
                },
                m.knn_recall_sampled,
                opt(m.knn_recall, 4),
                m.mine_seconds.as_ref().map_or("—".into(), |t| format!(
                    "{:.3} s ({})",
                    t.median,
                    opt(m.mine_cpu_seconds, 1)
                )),
                m.mined_pairs.map_or("—".into(), |n| n.to_string()),
                opt(m.mined_f1_vs_exact, 4),
                opt(m.planted_recall, 4),
            );
        }
    }
    println!(
        "peak RSS {}",
        r.peak_rss_mib
            .map_or("unknown".into(), |m| format!("{m:.0} MiB"))
    );
}

/// Fraction of the k-NN entries of up to `n` evenly spaced rows (each direction) that a
/// plain recomputation (one row against all, fully sorted, ties by lower index; the
/// kernel gives each pair the same bits in any block) finds too.
fn sampled_recall(x: &Embeddings, y: &Embeddings, (fwd, bwd): &Lists, n: usize) -> f64 {
    let (mut hit, mut total) = (0usize, 0usize);
    let mut side = |a: &Embeddings, b: &Embeddings, lists: &score::Neighbours| {
        if a.is_empty() || lists.k == 0 {
            return;
        }
        let step = a.len().div_ceil(n.max(1)).max(1);
        for i in (0..a.len()).step_by(step) {
            let mut row = vec![0.0f32; b.len()];
            score::similarity_block(a, i..i + 1, b, 0..b.len(), &mut row);
            let mut all: Vec<(f32, usize)> = row.into_iter().zip(0..).collect();
            all.sort_by(|p, q| q.0.total_cmp(&p.0).then(p.1.cmp(&q.1)));
            let want: HashSet<usize> = all[..lists.k].iter().map(|p| p.1).collect();
            hit += lists.of(i).filter(|(j, _)| want.contains(j)).count();
            total += lists.k;
        }
    };
    side(x, y, fwd);
    side(y, x, bwd);
    hit as f64 / total.max(1) as f64
}

/// Clustered unit vectors with planted translations: `n` x rows around 1000 centres, `n`
/// y rows of which every tenth is a noisy copy of an x row (the planted pairs, returned as
/// (x, y) indices) and the rest fresh cluster members.
pub fn synthetic(n: usize, d: usize, seed: u64) -> (Embeddings, Embeddings, Vec<(usize, usize)>) {
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let centres = 1000.min(n).max(1);
    let centre: Vec<Vec<f32>> = (0..centres).map(|_| rng.unit(d, None, 0.0)).collect();
    let mut x = Vec::with_capacity(n * d);
    for _ in 0..n {
        let c = rng.below(centres);
        x.extend(rng.unit(d, Some(&centre[c]), 1.0));
    }
    let mut planted = Vec::new();
    let mut y = Vec::with_capacity(n * d);
    for j in 0..n {
        if j % 10 == 0 {
            let i = rng.below(n);
            planted.push((i, j));
            let v = rng.unit(d, Some(&x[i * d..(i + 1) * d]), 0.33);
            y.extend(v);
        } else {
            let c = rng.below(centres);
            y.extend(rng.unit(d, Some(&centre[c]), 1.0));
        }
    }
    (
        Embeddings::new(d, x).expect("rows of width d"),
        Embeddings::new(d, y).expect("rows of width d"),
        planted,
    )
}

/// SplitMix64 with Box-Muller normals: fast, and the same vectors on every machine.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// Uniform in (0, 1].
    fn uniform(&mut self) -> f64 {
        ((self.next() >> 11) as f64 + 1.0) / (1u64 << 53) as f64
    }

    fn normal(&mut self) -> f64 {
        let (u, v) = (self.uniform(), self.uniform());
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }

    /// `base + noise · g / √d` normalised, `g` standard normal (a random direction if no base).
    fn unit(&mut self, d: usize, base: Option<&[f32]>, noise: f64) -> Vec<f32> {
        let s = 1.0 / (d as f64).sqrt();
        let v: Vec<f64> = (0..d)
            .map(|t| match base {
                Some(b) => b[t] as f64 + noise * s * self.normal(),
                None => self.normal(),
            })
            .collect();
        let norm = v.iter().map(|a| a * a).sum::<f64>().sqrt();
        v.iter().map(|a| (a / norm) as f32).collect()
    }
}
