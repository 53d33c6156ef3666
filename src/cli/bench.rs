//! `bitalign bench`: embedding throughput on a fixed corpus, measured the same way every
//! time (warm-up, several timed runs, median and spread), next to what the machine could
//! do at best (its measured FMA peak) and what it cost in memory (peak RSS).

use super::{ModelArgs, Progress};
use anyhow::Result;
use bitalign::corpus::AtomicFile;
use bitalign::model::{Engine, Model, Quantize};
use clap::Args;
use serde::Serialize;
use std::path::PathBuf;
use std::time::Instant;

/// The default corpus, built in so the benchmark runs from any directory: the Tatoeba
/// test sentences (LASER's v1 set) in Vietnamese, Indonesian and the English side of
/// vie-eng, and the demo articles split into sentences.
const TATOEBA: [(&str, &str); 3] = [
    (
        "tatoeba.vie",
        include_str!("../../data/bench/tatoeba.vie.txt"),
    ),
    (
        "tatoeba.ind",
        include_str!("../../data/bench/tatoeba.ind.txt"),
    ),
    (
        "tatoeba.eng",
        include_str!("../../data/bench/tatoeba.eng.txt"),
    ),
];
const DEMO: [(&str, &str); 3] = [
    ("en", include_str!("../../data/demo/karabakh.en.txt")),
    ("vi", include_str!("../../data/demo/karabakh.vi.txt")),
    ("id", include_str!("../../data/demo/karabakh.id.txt")),
];

#[derive(Args, Debug)]
#[command(
    args_conflicts_with_subcommands = true,
    after_help = "Without CORPUS, uses the built-in corpus: 3000 Tatoeba sentences \
    (vie, ind, and the eng side of vie-eng) and the demo articles' sentences (≈3070 \
    sentences, ≈43k tokens with e5's prefix). Load time is excluded; tokenization is \
    included. Identical sentences are embedded once and counted once."
)]
pub struct BenchArgs {
    #[command(subcommand)]
    pub what: Option<BenchWhat>,
    /// Files with one sentence per line (default: the built-in corpus).
    #[arg(value_name = "CORPUS")]
    pub corpus: Vec<PathBuf>,
    #[command(flatten)]
    pub model: ModelArgs,
    /// Encoder implementation: ours (native) or candle-transformers' (the baseline).
    #[arg(long, value_enum, default_value_t = Engine::Native)]
    pub engine: Engine,
    /// Timed runs over the whole corpus.
    #[arg(long, default_value_t = 5, value_name = "N")]
    pub runs: usize,
    /// Untimed runs first (page in weights, warm caches).
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub warmup: usize,
    /// Print one JSON object instead of the table.
    #[arg(long)]
    pub json: bool,
    /// Also write the corpus, one sentence per line, exactly as benchmarked (for other
    /// engines: scripts/bench-compare.sh).
    #[arg(long, value_name = "FILE")]
    pub write_corpus: Option<PathBuf>,
}

/// Other things to measure than embedding.
#[derive(clap::Subcommand, Debug)]
pub enum BenchWhat {
    /// Mining speed on embeddings alone: k-NN both ways and the whole of mining, GFLOP/s
    /// against the FMA peak, exactness on sampled rows, peak memory.
    Mine(super::bench_mine::MineBenchArgs),
}

#[derive(Serialize)]
pub(super) struct Spread {
    pub median: f64,
    pub min: f64,
    pub max: f64,
}

impl Spread {
    pub(super) fn of(mut v: Vec<f64>) -> Self {
        v.sort_by(f64::total_cmp);
        let n = v.len();
        let median = if n % 2 == 1 {
            v[n / 2]
        } else {
            (v[n / 2 - 1] + v[n / 2]) / 2.0
        };
        Self {
            median,
            min: v[0],
            max: v[n - 1],
        }
    }
}

#[derive(Serialize)]
struct Report {
    model: String,
    engine: Engine,
    quantize: Quantize,
    simd: &'static str,
    threads: usize,
    batch: usize,
    sentences: usize,
    tokens: usize,
    padded_tokens: usize,
    runs: usize,
    warmup: usize,
    load_seconds: f64,
    seconds: Spread,
    sentences_per_second: Spread,
    tokens_per_second: Spread,
    gflop_per_sentence_pass: f64,
    gflops: f64,
    fma_peak_gflops: Option<f64>,
    percent_of_peak: Option<f64>,
    rss_after_load_mib: Option<f64>,
    peak_rss_mib: Option<f64>,
}

pub fn run(args: BenchArgs, threads: usize, progress: &Progress) -> Result<()> {
    if let Some(BenchWhat::Mine(a)) = args.what {
        return super::bench_mine::run(a, threads, progress);
    }
    anyhow::ensure!(args.runs > 0, "--runs must be at least 1");
    let texts = corpus(&args.corpus)?;
    anyhow::ensure!(!texts.is_empty(), "the corpus has no sentences");
    if let Some(path) = &args.write_corpus {
        let mut body = texts.join("\n");
        body.push('\n');
        AtomicFile::write_all(path, body.as_bytes())?;
    }

    let opts = bitalign::embed::EmbedOptions {
        engine: args.engine,
        ..args.model.options()
    };
    let embedder = bitalign::embed::Embedder::load(&args.model.model, &opts, progress)?;
    let flops_of = flop_counter(embedder.model());
    let load_seconds = embedder.load_seconds;
    let rss_after_load = proc_status_mib("VmRSS");

    let peak_before = fma_peak_gflops(threads);
    let quiet = Progress::new(true);
    for i in 0..args.warmup {
        progress.say(format!("warm-up {}/{}", i + 1, args.warmup));
        embedder.embed_with_stats(&texts, &quiet)?;
    }
    let mut secs = Vec::new();
    let mut stats = None;
    for i in 0..args.runs {
        let t = Instant::now();
        let (_, s) = embedder.embed_with_stats(&texts, &quiet)?;
        let dt = t.elapsed().as_secs_f64();
        progress.say(format!(
            "run {}/{}: {:.2} s, {:.0} sentences/s, {:.0} tokens/s",
            i + 1,
            args.runs,
            dt,
            s.unique as f64 / dt,
            s.tokens as f64 / dt
        ));
        secs.push(dt);
        stats = Some(s);
    }
    let stats = stats.expect("at least one run");
    // Token counts per sentence, for the attention term of the FLOP count.
    let lens = embedder.token_lengths(&texts)?;
    let flops: f64 = lens.iter().map(|&l| l as f64 * flops_of(l)).sum();
    let seconds = Spread::of(secs.clone());
    let peak = match (peak_before, fma_peak_gflops(threads)) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    };
    let gflops = flops / seconds.median / 1e9;
    let report = Report {
        model: embedder.model().id().to_string(),
        engine: args.engine,
        quantize: args.model.quantize,
        simd: bitalign::model::kernels::simd_level(),
        threads,
        batch: args.model.batch,
        sentences: stats.unique,
        tokens: stats.tokens,
        padded_tokens: stats.padded_tokens,
        runs: args.runs,
        warmup: args.warmup,
        load_seconds,
        sentences_per_second: Spread::of(secs.iter().map(|s| stats.unique as f64 / s).collect()),
        tokens_per_second: Spread::of(secs.iter().map(|s| stats.tokens as f64 / s).collect()),
        seconds,
        gflop_per_sentence_pass: flops / 1e9,
        gflops,
        fma_peak_gflops: peak,
        percent_of_peak: peak.map(|p| 100.0 * gflops / p),
        rss_after_load_mib: rss_after_load,
        peak_rss_mib: proc_status_mib("VmHWM"),
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_table(&report);
    }
    Ok(())
}

fn print_table(r: &Report) {
    let mib = |v: Option<f64>| v.map_or("n/a".to_string(), |v| format!("{v:.0} MiB"));
    println!(
        "model {} · engine {} ({}) · {} thread{} · batch {}",
        r.model,
        serde_json::to_value(r.engine)
            .unwrap()
            .as_str()
            .unwrap_or("?"),
        r.simd,
        r.threads,
        if r.threads == 1 { "" } else { "s" },
        r.batch
    );
    println!(
        "corpus: {} sentences, {} tokens ({} computed with padding) · load {:.2} s · {} warm-up, {} runs",
        r.sentences, r.tokens, r.padded_tokens, r.load_seconds, r.warmup, r.runs
    );
    println!("                 median       min       max");
    let row = |name: &str, s: &Spread| {
        println!(
            "{name:<12} {:>10.1} {:>9.1} {:>9.1}",
            s.median, s.min, s.max
        )
    };
    row("seconds", &r.seconds);
    row("sentences/s", &r.sentences_per_second);
    row("tokens/s", &r.tokens_per_second);
    match (r.fma_peak_gflops, r.percent_of_peak) {
        (Some(p), Some(pc)) => println!(
            "{:.1} GFLOP/s achieved ({:.2} GFLOP per pass) = {pc:.1} % of the measured FMA peak {p:.0} GFLOP/s",
            r.gflops, r.gflop_per_sentence_pass
        ),
        _ => println!(
            "{:.1} GFLOP/s achieved ({:.2} GFLOP per pass); no FMA peak measured on this CPU",
            r.gflops, r.gflop_per_sentence_pass
        ),
    }
    println!(
        "memory: {} after load, {} peak (VmHWM)",
        mib(r.rss_after_load_mib),
        mib(r.peak_rss_mib)
    );
}

/// The sentences to embed: the files' non-blank lines, or the built-in corpus;
/// identical sentences kept once (first occurrence order).
fn corpus(files: &[PathBuf]) -> Result<Vec<String>> {
    let mut all: Vec<String> = Vec::new();
    if files.is_empty() {
        for (_, text) in TATOEBA {
            all.extend(
                bitalign::segment::split_lines(text, 0)
                    .into_iter()
                    .map(|s| s.text),
            );
        }
        for (lang, text) in DEMO {
            let spans = bitalign::segment::Segmenter::new(lang).spans(text);
            all.extend(
                bitalign::segment::to_sentences(text, &spans.spans, 0, |o| o)
                    .into_iter()
                    .map(|s| s.text.split_whitespace().collect::<Vec<_>>().join(" ")),
            );
        }
    } else {
        for f in files {
            let name = f.display().to_string();
            let text = bitalign::segment::read_text(&name)?;
            all.extend(
                bitalign::segment::split_lines(&text, 0)
                    .into_iter()
                    .map(|s| s.text),
            );
        }
    }
    let mut seen = std::collections::HashSet::new();
    all.retain(|s| seen.insert(s.clone()));
    Ok(all)
}

/// FLOPs per token of a sequence of a given length (2 per multiply-add): the dense layers
/// plus attention; embeddings, norms and pooling are negligible.
fn flop_counter(model: &Model) -> Box<dyn Fn(usize) -> f64> {
    let info = &model.info;
    let (h, i, n) = (
        info.hidden_size as f64,
        info.intermediate_size as f64,
        info.layers as f64,
    );
    Box::new(move |len| n * (2.0 * (4.0 * h * h + 2.0 * h * i) + 4.0 * len as f64 * h))
}

/// A field of /proc/self/status in MiB (Linux only).
/// CPU seconds this process has used, all threads (user + system; /proc/self/stat counts
/// in USER_HZ, 100 on every Linux ABI): on a shared machine the work done, where wall
/// time also counts the others' load.
pub(super) fn cpu_seconds() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/self/stat").ok()?;
    let after = s.get(s.rfind(')')? + 2..)?;
    let f: Vec<&str> = after.split_whitespace().collect();
    // Fields 14 and 15 of the line (utime, stime) are 11 and 12 after the name.
    Some((f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?) / 100.0)
}

pub(super) fn proc_status_mib(field: &str) -> Option<f64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s
        .lines()
        .find(|l| l.starts_with(field) && l[field.len()..].starts_with(':'))?;
    let kb: f64 = line[field.len() + 1..]
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kb / 1024.0)
}

/// The machine's f32 FMA throughput with `threads` threads running independent FMA chains
/// (AVX-512, else AVX2), best of three ~0.1 s rounds: the ceiling a perfect kernel could
/// reach. Measured before and after the timed runs; the higher figure is reported.
pub fn fma_peak_gflops(threads: usize) -> Option<f64> {
    #[cfg(target_arch = "x86_64")]
    {
        let per_iter: f64 = if is_x86_feature_detected!("avx512f") {
            2.0 * 16.0 * 12.0
        } else if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
            2.0 * 8.0 * 12.0
        } else {
            return None;
        };
        // ~0.1 s per round; the best of three counts (clocks ramped up, no neighbour).
        let iters = 30_000_000u64;
        let mut best = 0f64;
        for _ in 0..3 {
            let start = Instant::now();
            let sink: f32 = std::thread::scope(|s| {
                let hs: Vec<_> = (0..threads)
                    .map(|_| s.spawn(move || fma_loop(iters)))
                    .collect();
                hs.into_iter().map(|h| h.join().unwrap_or(0.0)).sum()
            });
            let dt = start.elapsed().as_secs_f64();
            std::hint::black_box(sink);
            best = best.max(per_iter * iters as f64 * threads as f64 / dt / 1e9);
        }
        Some(best)
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = threads;
        None
    }
}

#[cfg(target_arch = "x86_64")]
fn fma_loop(iters: u64) -> f32 {
    if is_x86_feature_detected!("avx512f") {
        // SAFETY: AVX-512F is present.
        unsafe { fma_loop_avx512(iters) }
    } else {
        // SAFETY: called only when AVX2 and FMA are present.
        unsafe { fma_loop_avx2(iters) }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn fma_loop_avx512(iters: u64) -> f32 {
    use std::arch::x86_64::*;
    let a = _mm512_set1_ps(0.999_999);
    let b = _mm512_set1_ps(1e-7);
    let mut acc = [_mm512_set1_ps(1.0); 12];
    for _ in 0..iters {
        for v in acc.iter_mut() {
            *v = _mm512_fmadd_ps(*v, a, b);
        }
    }
    let mut s = _mm512_setzero_ps();
    for v in acc {
        s = _mm512_add_ps(s, v);
    }
    _mm512_reduce_add_ps(s)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn fma_loop_avx2(iters: u64) -> f32 {
    use std::arch::x86_64::*;
    let a = _mm256_set1_ps(0.999_999);
    let b = _mm256_set1_ps(1e-7);
    let mut acc = [_mm256_set1_ps(1.0); 12];
    for _ in 0..iters {
        for v in acc.iter_mut() {
            *v = _mm256_fmadd_ps(*v, a, b);
        }
    }
    let mut s = _mm256_setzero_ps();
    for v in acc {
        s = _mm256_add_ps(s, v);
    }
    let mut out = [0f32; 8];
    _mm256_storeu_ps(out.as_mut_ptr(), s);
    out.iter().sum()
}
