//! `bitalign run`: documents in several languages → a parallel corpus for every language
//! pair (the main job). Sentences are embedded once; each pair is mined by margin.

use super::{InputArgs, ModelArgs, Progress};
use crate::corpus::{AtomicFile, Format, MultiSink, Sink};
use crate::embed::Embeddings;
use crate::mine::pool::{self as mc, PairResult, Pool};
use crate::mine::{self, Filter, Filters, Mode, Params};
use crate::score::{Score, DEFAULT_K};
use crate::segment::{Document, Sentence};
use anyhow::{bail, ensure, Context, Result};
use clap::Args;
use serde_json::json;
use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

#[derive(Args, Debug)]
pub struct RunArgs {
    #[command(flatten)]
    pub input: InputArgs,
    #[command(flatten)]
    pub model: ModelArgs,

    /// Output directory (refused if it exists, unless --force).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,

    /// Write into an existing output directory, replacing files of the same name.
    #[arg(long)]
    pub force: bool,

    /// Language pairs to mine, source first (default: every pair, in input order).
    #[arg(long, value_name = "SRC-TGT,…", value_delimiter = ',')]
    pub pairs: Vec<String>,

    /// Neighbours per sentence for the margin.
    #[arg(long, default_value_t = DEFAULT_K, value_name = "N")]
    pub k: usize,

    /// How pairs are scored and ranked.
    #[arg(long, value_enum, default_value = "margin")]
    pub score: Score,

    /// Which candidates compete (LASER's modes), or `align` for documents that are
    /// translations of each other.
    #[arg(long, value_enum, default_value = "max")]
    pub mode: RunMode,

    /// Keep pairs scoring at least this (default: 1.02 for margin, 0.90 for cosine, 0.02
    /// for distance, calibrated for e5-small; see docs/mining-threshold.md). With
    /// `--mode align`: the price of one more link, as `bitalign align --threshold`.
    #[arg(long, value_name = "SCORE", value_parser = super::args::finite_f32, allow_negative_numbers = true)]
    pub threshold: Option<f32>,

    /// Filters to apply: length, identical, numbers, lang; `all` or `none`.
    #[arg(
        long,
        value_name = "LIST",
        value_delimiter = ',',
        default_value = "all"
    )]
    pub filters: Vec<String>,

    /// Length filter: the longer side may have at most this many times the characters.
    #[arg(long, value_name = "R", default_value_t = mine::filter::DEFAULT_MAX_LENGTH_RATIO,
          value_parser = super::args::finite_f32)]
    pub max_length_ratio: f32,

    /// Output formats (several allowed).
    #[arg(long, value_enum, value_delimiter = ',', default_value = "jsonl")]
    pub format: Vec<Format>,

    /// Pivot language of the multi-way tuples (default: the first input language).
    #[arg(long, value_name = "LANG")]
    pub pivot: Option<String>,

    /// Precomputed sentence embeddings, one file per input in the same order (e.g. from
    /// `bitalign embed`), instead of running the model: re-mine without re-embedding.
    /// `.npy` (float16/32/64, any byte order, C or Fortran order) or, with --dim, raw
    /// float32 rows (the `.f32` files of `embed`, LASER's layout). Memory-mapped.
    #[arg(long, value_name = "FILE", num_args = 1..)]
    pub embeddings: Vec<PathBuf>,

    /// Width of the raw float32 rows given to --embeddings (e.g. 384).
    #[arg(long, value_name = "N")]
    pub dim: Option<usize>,
}

impl RunArgs {
    /// `--format` in the order given, each once.
    pub(super) fn formats(&self) -> Vec<Format> {
        let mut formats: Vec<Format> = Vec::new();
        for f in &self.format {
            if !formats.contains(f) {
                formats.push(*f);
            }
        }
        formats
    }
}

/// `--mode`: how pairs are chosen.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum RunMode {
    /// Every source sentence with its best target (targets may repeat).
    Forward,
    /// Every target sentence with its best source (sources may repeat).
    Backward,
    /// Only pairs that are each other's best partner.
    Intersect,
    /// Forward and backward candidates together, best first, each sentence used at most
    /// once (default: the most pairs without reusing a sentence).
    Max,
    /// The documents are translations: the i-th document of each language is aligned
    /// monotonically with the i-th of every other (1-1 … n-m links, as `bitalign align`);
    /// --k, --score, --filters and --pivot do not apply.
    Align,
}

/// The threshold used when `--threshold` is not given, on the scale of `score`.
pub fn default_threshold(score: Score) -> f32 {
    match score {
        Score::Margin => mine::DEFAULT_THRESHOLD,
        Score::Cosine => mine::DEFAULT_COSINE_THRESHOLD,
        Score::Distance => mine::DEFAULT_DISTANCE_THRESHOLD,
    }
}

fn parse_filters(list: &[String], max_length_ratio: f32) -> Result<Filters> {
    let mut f = Filters::none();
    f.max_length_ratio = max_length_ratio;
    for name in list.iter().map(|s| s.trim()) {
        match name {
            "all" => f.on.extend(Filter::ALL),
            "none" | "" => {}
            n => match Filter::ALL.into_iter().find(|f| f.name() == n) {
                Some(one) => {
                    f.on.insert(one);
                }
                None => bail!(
                    "--filters {n}: unknown filter (length, identical, numbers, lang, all, none)"
                ),
            },
        }
    }
    Ok(f)
}

/// What embedded the sentences, for `run.json`.
struct EmbedInfo {
    model: serde_json::Value,
    /// Loading the model (0 for precomputed embeddings).
    load_seconds: f64,
    seconds: f64,
}

pub fn run(args: RunArgs, progress: &Progress) -> Result<()> {
    let mode = match args.mode {
        RunMode::Align => return super::run_align::run(args, progress),
        RunMode::Forward => Mode::Forward,
        RunMode::Backward => Mode::Backward,
        RunMode::Intersect => Mode::Intersect,
        RunMode::Max => Mode::Max,
    };
    let t0 = Instant::now();
    ensure!(args.k > 0, "--k must be at least 1");
    ensure!(
        args.max_length_ratio >= 1.0,
        "--max-length-ratio must be at least 1"
    );
    let filters = parse_filters(&args.filters, args.max_length_ratio)?;
    let params = Params {
        k: args.k,
        score: args.score,
        mode,
        threshold: args
            .threshold
            .unwrap_or_else(|| default_threshold(args.score)),
    };
    params.validate()?;
    let formats = args.formats();
    check_out(&args.out, args.force)?;

    // 1. Read and split.
    let docs = args.input.load(progress)?;
    let t_load = t0.elapsed().as_secs_f64();
    check_languages(&docs)?;

    // 2. Embed every sentence once.
    let texts: Vec<&str> = docs
        .iter()
        .flat_map(|(_, s)| s.iter().map(|s| s.text.as_str()))
        .collect();
    let (emb, info) = if args.embeddings.is_empty() {
        embed_with_model(&args.model, &texts, progress)?
    } else {
        read_embeddings(&args.embeddings, args.dim, &docs)?
    };
    let pools = mc::pools(&docs, &emb)?;
    let pairs = if args.pairs.is_empty() {
        mc::all_pairs(pools.len())
    } else {
        let langs: Vec<&str> = pools.iter().map(|p| p.lang.as_str()).collect();
        mc::parse_pairs(&args.pairs, &langs)?
    };
    let pivot = match &args.pivot {
        None => 0,
        Some(l) => pools
            .iter()
            .position(|p| &p.lang == l)
            .with_context(|| format!("--pivot {l}: no input is in that language"))?,
    };

    // 3. Mine every pair.
    let t_mine = Instant::now();
    let results: Vec<PairResult> = pairs
        .iter()
        .map(|&pair| mc::mine_pair(&docs, &pools, pair, &params, &filters, progress))
        .collect();
    let tuples = if pools.len() >= 3 {
        mc::tuples(&pools, &results, pivot)
    } else {
        Vec::new()
    };
    let t_mine = t_mine.elapsed().as_secs_f64();

    // 4. Write: every file atomically, run.json last.
    let t_write = Instant::now();
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("{}: cannot create the output directory", args.out.display()))?;
    let mut files: Vec<PathBuf> = Vec::new();
    let mut altered = std::collections::BTreeMap::new();
    for r in &results {
        let (s, t) = (&pools[r.src].lang, &pools[r.tgt].lang);
        let mut sink = Box::new(MultiSink::open(&formats, &args.out, s, t)?);
        for p in &r.kept {
            sink.write(&mc::record(&docs, &pools, r, p))?;
        }
        add_altered(&mut altered, sink.altered());
        sink.finish()?;
        for f in &formats {
            files.extend(f.paths(&args.out, s, t));
        }
    }
    // Formats may skip a pair with no rows (hf): list only what was written.
    files.retain(|f| f.is_file());
    if pools.len() >= 3 {
        files.push(write_tuples(&args.out, &docs, &pools, &tuples)?);
    }
    let t_write = t_write.elapsed().as_secs_f64();

    let timings = json!({
        "load_split_s": t_load,
        "model_load_s": info.load_seconds,
        "embed_s": info.seconds,
        "mine_s": t_mine,
        "write_s": t_write,
        "total_s": t0.elapsed().as_secs_f64(),
    });
    let manifest = json!({
        "bitalign": env!("CARGO_PKG_VERSION"),
        "model": info.model,
        "inputs": docs.iter().map(|(d, s)| json!({"file": d.name, "lang": d.lang, "sentences": s.len()})).collect::<Vec<_>>(),
        "params": params,
        "tsv_score": format!("{:?}", params.score).to_lowercase(),
        "altered_sides": altered,
        "filters": filters,
        "formats": formats,
        "pivot": pools[pivot].lang,
        "threads": rayon::current_num_threads(),
        "pairs": results.iter().map(|r| json!({
            "src": pools[r.src].lang,
            "tgt": pools[r.tgt].lang,
            "candidates": r.candidates.len(),
            "below_threshold": r.below_threshold,
            "filtered": r.filtered.iter().map(|(f, n)| (f.name(), *n)).collect::<std::collections::BTreeMap<_, _>>(),
            "kept": r.kept.len(),
            "seconds": r.seconds,
        })).collect::<Vec<_>>(),
        "tuples": tuples.len(),
        "files": files.iter().map(|f| f.file_name().map(|n| n.to_string_lossy().into_owned())).collect::<Vec<_>>(),
        "timings": timings,
    });
    let mut bytes = serde_json::to_vec_pretty(&manifest)?;
    bytes.push(b'\n');
    AtomicFile::write_all(args.out.join("run.json"), &bytes)?;
    say_altered(&altered, progress);

    if !progress.quiet {
        eprint!(
            "{}",
            summary(
                &pools,
                &results,
                &params,
                &filters,
                tuples.len(),
                pivot,
                &timings,
                emb.len(),
                !args.embeddings.is_empty(),
                &args.out
            )
        );
    }
    Ok(())
}

/// An existing output directory is refused unless `force`; a file in its place always.
pub(super) fn check_out(out: &Path, force: bool) -> Result<()> {
    if out.exists() && !force {
        bail!(
            "{}: already exists; choose another --out or pass --force to write into it",
            out.display()
        );
    }
    if out.exists() && !out.is_dir() {
        bail!("{}: exists and is not a directory", out.display());
    }
    Ok(())
}

/// Mining needs at least two languages.
pub(super) fn check_languages(docs: &[(Document, Vec<Sentence>)]) -> Result<()> {
    let langs: BTreeSet<&str> = docs.iter().map(|(d, _)| d.lang.as_str()).collect();
    if langs.len() < 2 && !langs.contains("") {
        let names: Vec<&str> = docs.iter().map(|(d, _)| d.name.as_str()).collect();
        let lang = langs.iter().next().copied().unwrap_or("?");
        if docs.len() == 1 {
            bail!(
                "{}: only one document (in `{lang}`); mining needs documents in at least two languages",
                names[0]
            );
        }
        bail!(
            "{}: all inputs are in `{lang}`; mining needs documents in at least two languages \
             (documents in the same language are pooled, not mined against each other)",
            names.join(", ")
        );
    }
    Ok(())
}

fn embed_with_model(
    model: &ModelArgs,
    texts: &[&str],
    progress: &Progress,
) -> Result<(Embeddings, EmbedInfo)> {
    let start = Instant::now();
    let embedder = model.embedder(progress)?;
    let load_seconds = start.elapsed().as_secs_f64();
    let (emb, stats) = embedder.embed_with_stats(texts, progress)?;
    if stats.truncated > 0 {
        progress.say(format!(
            "note: {} of {} sentences were longer than {} tokens and were truncated",
            stats.truncated,
            stats.unique,
            embedder.model().max_len
        ));
    }
    let m = embedder.model();
    let info = EmbedInfo {
        model: json!({
            "id": m.id(),
            "path": m.name,
            "revision": m.revision,
            "prefix": embedder.prefix(),
            "dim": embedder.dim(),
            "max_tokens": m.max_len,
            "stats": stats,
        }),
        load_seconds,
        seconds: stats.seconds,
    };
    Ok((emb, info))
}

fn read_embeddings(
    files: &[PathBuf],
    width: Option<usize>,
    docs: &[(Document, Vec<Sentence>)],
) -> Result<(Embeddings, EmbedInfo)> {
    ensure!(
        files.len() == docs.len(),
        "--embeddings: {} files for {} inputs; give one .npy per input, in the same order",
        files.len(),
        docs.len()
    );
    let start = Instant::now();
    let mut dim = 0;
    let mut data = Vec::new();
    for (f, (doc, sents)) in files.iter().zip(docs) {
        let e = Embeddings::read(f, width)?;
        ensure!(
            e.len() == sents.len(),
            "{}: {} rows, but {} has {} sentences",
            f.display(),
            e.len(),
            doc.name,
            sents.len()
        );
        ensure!(
            dim == 0 || e.dim() == dim,
            "{}: width {} differs from the other files' {dim}",
            f.display(),
            e.dim()
        );
        dim = e.dim();
        data.extend(e.into_vec());
    }
    let emb = Embeddings::new(dim.max(1), data)?;
    let info = EmbedInfo {
        model: json!({"embeddings": files.iter().map(|f| f.display().to_string()).collect::<Vec<_>>()}),
        load_seconds: 0.0,
        seconds: start.elapsed().as_secs_f64(),
    };
    Ok((emb, info))
}

/// `multi.jsonl`: one tuple a line, `{"sentences": [side, …]}` in language order.
fn write_tuples(
    dir: &Path,
    docs: &[(Document, Vec<Sentence>)],
    pools: &[Pool],
    tuples: &[mine::multi::Tuple],
) -> Result<PathBuf> {
    let path = dir.join("multi.jsonl");
    let mut f = AtomicFile::create(&path)?;
    for t in tuples {
        let sides: Vec<_> = t
            .iter()
            .enumerate()
            .filter_map(|(l, r)| r.map(|r| mc::side(docs, &pools[l], r)))
            .collect();
        serde_json::to_writer(&mut f, &json!({ "sentences": sides }))?;
        f.write_all(b"\n")
            .with_context(|| format!("{}: write failed", path.display()))?;
    }
    f.commit()?;
    Ok(path)
}

/// The summary on stderr: sentences per language, pairs per language pair (with what the
/// threshold and each filter removed), the score histogram and the time per stage.
/// Adds a sink's per-format counts of changed sides to the run's.
pub(super) fn add_altered(
    total: &mut std::collections::BTreeMap<String, usize>,
    counts: Vec<(Format, usize)>,
) {
    for (f, n) in counts {
        *total.entry(format!("{f:?}").to_lowercase()).or_default() += n;
    }
}

/// One note for the sentence sides a format had to change (tabs, line breaks, characters
/// XML forbids), so that no text changes silently.
pub(super) fn say_altered(
    altered: &std::collections::BTreeMap<String, usize>,
    progress: &Progress,
) {
    let parts: Vec<String> = altered
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(f, n)| {
            let what = match f.as_str() {
                "tsv" => "tabs or line breaks made spaces",
                "moses" => "line breaks made spaces",
                _ => "characters XML forbids dropped",
            };
            format!("{f} {n} ({what})")
        })
        .collect();
    if !parts.is_empty() {
        progress.say(format!(
            "note: sentence sides changed to fit the formats: {}",
            parts.join(", ")
        ));
    }
}

#[allow(clippy::too_many_arguments)]
fn summary(
    pools: &[Pool],
    results: &[PairResult],
    params: &Params,
    filters: &Filters,
    tuples: usize,
    pivot: usize,
    timings: &serde_json::Value,
    sentences: usize,
    precomputed: bool,
    out: &Path,
) -> String {
    let mut s = String::new();
    let langs: Vec<String> = pools
        .iter()
        .map(|p| {
            let n = p.rows.len();
            if p.docs.len() > 1 {
                format!("{} {n} ({} documents pooled)", p.lang, p.docs.len())
            } else {
                format!("{} {n}", p.lang)
            }
        })
        .collect();
    s += &format!("sentences: {}\n", langs.join(", "));
    let score = format!("{:?}", params.score).to_lowercase();
    for r in results {
        let pair = format!("{}-{}", pools[r.src].lang, pools[r.tgt].lang);
        let above = r.candidates.len() - r.below_threshold;
        if r.kept.is_empty() && above > 0 {
            // Pairs cleared the threshold but every one was removed by a filter: say so,
            // rather than imply that none scored high enough.
            let f: Vec<String> = r
                .filtered
                .iter()
                .filter(|(_, n)| **n > 0)
                .map(|(f, n)| format!("{} {n}", f.name()))
                .collect();
            s += &format!(
                "{pair}: no pairs kept: {above} candidate{} at {score} ≥ {} (best {:.3}) all \
                 removed by filters ({}); wrote empty files\n",
                if above == 1 { "" } else { "s" },
                params.threshold,
                r.candidates[0].score,
                f.join(", ")
            );
        } else if r.kept.is_empty() {
            let best = r
                .candidates
                .first()
                .map(|p| format!(" (best {score} {:.3})", p.score))
                .unwrap_or_default();
            s += &format!(
                "{pair}: no pairs at {score} ≥ {}{best}; wrote empty files\n",
                params.threshold
            );
        } else {
            s += &format!(
                "{pair}: {} pair{} kept of {} candidates ({} below {score} {})",
                r.kept.len(),
                if r.kept.len() == 1 { "" } else { "s" },
                r.candidates.len(),
                r.below_threshold,
                params.threshold
            );
            if !filters.on.is_empty() {
                let f: Vec<String> = filters
                    .on
                    .iter()
                    .map(|f| format!("{} {}", f.name(), r.filtered.get(f).copied().unwrap_or(0)))
                    .collect();
                s += &format!("; filtered: {}", f.join(", "));
            }
            s += "\n";
        }
    }
    if pools.len() >= 3 {
        s += &format!(
            "multi-way: {tuples} tuples across ≥ 3 languages (pivot {})\n",
            pools[pivot].lang
        );
    }
    s += &histogram(results, params);
    let t = |k: &str| timings[k].as_f64().unwrap_or(0.0);
    let embed = if precomputed {
        format!("embeddings read {:.2} s", t("embed_s"))
    } else {
        format!(
            "model load {:.2} s, embed {:.2} s ({:.1} sentences/s)",
            t("model_load_s"),
            t("embed_s"),
            sentences as f64 / t("embed_s").max(1e-9)
        )
    };
    s += &format!(
        "time: load+split {:.2} s, {embed}, mine {:.2} s, write {:.2} s, total {:.2} s\n",
        t("load_split_s"),
        t("mine_s"),
        t("write_s"),
        t("total_s")
    );
    s += &format!("wrote {}\n", out.display());
    s
}

/// Candidate scores of all pairs in ten bins, with the threshold marked.
fn histogram(results: &[PairResult], params: &Params) -> String {
    let scores: Vec<f32> = results
        .iter()
        .flat_map(|r| r.candidates.iter().map(|p| p.score))
        .filter(|s| s.is_finite())
        .collect();
    if scores.is_empty() {
        return String::new();
    }
    let lo = scores.iter().copied().fold(f32::INFINITY, f32::min);
    let hi = scores.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let bins = 10;
    let width = ((hi - lo) / bins as f32).max(1e-6);
    let mut count = vec![0usize; bins];
    for s in &scores {
        count[(((s - lo) / width) as usize).min(bins - 1)] += 1;
    }
    let most = *count.iter().max().unwrap_or(&1);
    let mut s = format!(
        "candidate {} scores (all pairs, {} candidates; | = threshold):\n",
        format!("{:?}", params.score).to_lowercase(),
        scores.len()
    );
    for (b, &n) in count.iter().enumerate() {
        let (a, z) = (lo + b as f32 * width, lo + (b + 1) as f32 * width);
        let mark = if a <= params.threshold && params.threshold < z {
            "|"
        } else {
            " "
        };
        s += &format!(
            "  {a:7.3} – {z:7.3} {mark} {:<30} {n}\n",
            "#".repeat((n * 30).div_ceil(most.max(1)))
        );
    }
    s
}
