//! `bitalign shard`: `bitalign run`'s mining as stages that each do one shard's work, for a
//! cluster's scheduler (Slurm job arrays, GNU parallel, Kubernetes indexed Jobs). The work
//! is done by [`bitalign::shard::Work`]; this file parses flags and says what happened.

use super::run::{mine_config, mined_manifest, summary, timings, write_mined, RunArgs, RunMode};
use super::{ModelArgs, Progress};
use anyhow::{bail, Result};
use bitalign::corpus::{CorpusWriter, ModelRecord};
use bitalign::shard::{parse_shard, ModelSpec, Outcome, Setup, Work};
use clap::{Args, Subcommand};
use std::path::PathBuf;
use std::time::Instant;

const ABOUT: &str = "\
Stages of a sharded run, each addressable by shard, for a cluster. A work directory
(made by `init`) describes the run; every other command takes it and a shard:

  bitalign shard init WORK --shards N --out DIR FILE… [flags of `bitalign run`]
  bitalign shard embed  WORK --shard I    sentences of shard I of every language → .npy
  bitalign shard train  WORK              --knn approx|auto: k-means lists (one task)
  bitalign shard assign WORK --shard I    --knn approx|auto: the lists of shard I's rows
  bitalign shard knn    WORK --shard I    shard I against the other language's whole set
  bitalign shard best   WORK --shard I    best partners by margin (needs every knn shard)
  bitalign shard merge  WORK              margins, confidence, pairs, filters → DIR
  bitalign shard status WORK              which shards are done
  bitalign shard run    WORK              every stage and shard here, in order

init takes `bitalign run`'s flags and defaults (the confidence ranking, --knn exact|approx|
auto with the --ivf-* index parameters). train and assign have work only when a pair
searches an inverted file; they say \"not needed\" otherwise, as embed does for --embeddings.
--shard takes I (0-based), I/N, all, slurm ($SLURM_ARRAY_TASK_ID), k8s
($JOB_COMPLETION_INDEX) or env:VAR. A shard writes its files, then a done marker (sizes
and CRC-32 checksums); a shard whose marker holds is skipped, so re-submitting a stage
redoes only what is missing. The corpus is byte-identical to `bitalign run` with the same
inputs and flags, whatever N (with --knn approx too: the index is trained on the same
sample and every row searches the same lists). scripts/slurm/submit.sh submits one Slurm
job per stage (arrays for the per-shard ones); README \"Running on a cluster\" has GNU
parallel and Kubernetes recipes.";

#[derive(Args, Debug)]
#[command(about = "Run the mining as sharded, resumable stages (Slurm job arrays, GNU parallel, Kubernetes)", long_about = ABOUT)]
pub struct ShardArgs {
    #[command(subcommand)]
    pub command: ShardCommand,
}

#[derive(Subcommand, Debug)]
pub enum ShardCommand {
    /// Set up a work directory: check inputs and flags (those of `bitalign run`), record
    /// inputs (sizes, checksums), model, parameters and shard count in WORK/shard.json.
    /// Running it again with the same arguments changes nothing.
    Init(Box<InitArgs>),
    /// Embed shard I of every language's sentences (not needed with --embeddings).
    Embed(StageArgs),
    /// Train the inverted file of every pair that searches approximately: k-means on the
    /// same sample of the target side as `bitalign run --knn approx` (one task).
    Train(WorkArgs),
    /// The inverted-file lists shard I's rows search (source side) or belong to (target).
    Assign(StageArgs),
    /// Nearest neighbours of shard I's rows of each side among the other side's whole set:
    /// the neighbourhood averages the margin divides by.
    Knn(StageArgs),
    /// Best partner by margin of shard I's rows of each side among the other whole side.
    Best(StageArgs),
    /// Combine every shard's results, choose and filter pairs, write the corpus to the
    /// --out given to init (as `bitalign run` writes it, run.json last).
    Merge(MergeArgs),
    /// Which shards of which stages are done (markers checked, checksums read).
    Status(StatusArgs),
    /// Every stage and every shard in this process, in order (skipping what is done).
    Run(MergeArgs),
}

#[derive(Args, Debug)]
pub struct InitArgs {
    /// The work directory (created; its manifest is shard.json).
    #[arg(value_name = "WORK")]
    pub work: PathBuf,
    /// Shards per language: each language's sentences are cut into N contiguous ranges.
    #[arg(long, value_name = "N")]
    pub shards: usize,
    #[command(flatten)]
    pub run: RunArgs,
}

#[derive(Args, Debug)]
pub struct WorkArgs {
    #[arg(value_name = "WORK")]
    pub work: PathBuf,
}

#[derive(Args, Debug)]
pub struct StageArgs {
    #[arg(value_name = "WORK")]
    pub work: PathBuf,
    /// Which shard: I, I/N, all, slurm, k8s or env:VAR (see `bitalign shard --help`).
    #[arg(long, value_name = "SPEC")]
    pub shard: String,
}

#[derive(Args, Debug)]
pub struct MergeArgs {
    #[arg(value_name = "WORK")]
    pub work: PathBuf,
    /// Also write report.html, report-plots/ and report.json (as `run --report`).
    #[arg(long)]
    pub report: bool,
}

#[derive(Args, Debug)]
pub struct StatusArgs {
    #[arg(value_name = "WORK")]
    pub work: PathBuf,
    /// Print only the shard count (for scripts; no markers read).
    #[arg(long)]
    pub shards: bool,
    /// Print only `yes` or `no`: whether the run has an embed stage (for scripts).
    #[arg(long, conflicts_with = "shards")]
    pub needs_embed: bool,
    /// Print only `yes` or `no`: whether the run has train and assign stages (an
    /// approximate search; for scripts).
    #[arg(long, conflicts_with_all = ["shards", "needs_embed"])]
    pub needs_index: bool,
}

pub fn run(args: ShardArgs, progress: &Progress) -> Result<()> {
    match args.command {
        ShardCommand::Init(a) => init(*a, progress),
        ShardCommand::Embed(a) => stage("embed", &a, progress),
        ShardCommand::Train(a) => train(&Work::open(&a.work)?, progress),
        ShardCommand::Assign(a) => stage("assign", &a, progress),
        ShardCommand::Knn(a) => stage("knn", &a, progress),
        ShardCommand::Best(a) => stage("best", &a, progress),
        ShardCommand::Merge(a) => merge(&Work::open(&a.work)?, a.report, progress),
        ShardCommand::Status(a) => status(a),
        ShardCommand::Run(a) => {
            let work = Work::open(&a.work)?;
            for s in bitalign::shard::STAGES {
                if s == "train" {
                    train(&work, progress)?;
                    continue;
                }
                let all = StageArgs {
                    work: a.work.clone(),
                    shard: "all".into(),
                };
                stage(s, &all, progress)?;
            }
            merge(&work, a.report, progress)
        }
    }
}

fn init(a: InitArgs, progress: &Progress) -> Result<()> {
    let r = &a.run;
    if r.mode == RunMode::Align {
        bail!("--mode align: sharded runs mine (margin k-NN); align translations with `bitalign run --mode align`");
    }
    if r.report {
        bail!("--report: pass it to `bitalign shard merge`");
    }
    if r.translations.is_some() || r.mt.mt_model.is_some() {
        bail!("--translations/--mt-model: sharded runs do not use translations; mine with `bitalign run`");
    }
    let cfg = mine_config(r)?;
    let docs = r.input.load(progress)?;
    let m = &r.model;
    // A local model directory is recorded absolute: tasks may start elsewhere.
    let local = std::path::Path::new(&m.model);
    let name = match local.is_dir() {
        true => std::path::absolute(local)?.display().to_string(),
        false => m.model.clone(),
    };
    let model = ModelSpec {
        model: name,
        revision: m.revision.clone(),
        offline: m.offline,
        prefix: m.prefix.clone(),
        batch: m.batch,
        quantize: m.quantize,
    };
    let setup = Setup {
        docs: &docs,
        files: &r.input.files,
        presplit: r.input.presplit,
        lossy: r.input.lossy,
        model: Some(model),
        embeddings: &r.embeddings,
        dim: r.dim,
        config: &cfg,
        shards: a.shards,
        out: &r.output.out,
        formats: &r.output.format,
    };
    let work = Work::init(&a.work, &setup, r.output.force)?;
    let sides: Vec<String> = work
        .manifest
        .sides
        .iter()
        .map(|s| format!("{} {}", s.lang, s.sentences))
        .collect();
    let index = index_summary(&work);
    let (stages, index) = match index.is_empty() {
        true => ("embed|knn|best", String::new()),
        false => (
            "embed|assign|knn|best",
            format!(
                "; inverted files: {index}; `bitalign shard train {}` after embed",
                a.work.display()
            ),
        ),
    };
    progress.say(format!(
        "{}: {} shards; sentences: {}{index}; then `bitalign shard {stages} {0} --shard I`, `bitalign shard merge {0}`",
        a.work.display(),
        a.shards,
        sides.join(", ")
    ));
    Ok(())
}

fn model_args(spec: &ModelSpec) -> ModelArgs {
    ModelArgs {
        model: spec.model.clone(),
        revision: spec.revision.clone(),
        offline: spec.offline,
        prefix: spec.prefix.clone(),
        batch: spec.batch,
        quantize: spec.quantize,
    }
}

fn stage(name: &str, a: &StageArgs, progress: &Progress) -> Result<()> {
    let work = Work::open(&a.work)?;
    let n = work.manifest.shards;
    let shards = parse_shard(&a.shard, n)?;
    if name == "embed" && !work.embeds() {
        progress.say("embed: not needed (the run starts from the embeddings given to init)");
        return Ok(());
    }
    if name == "assign" && !work.indexes() {
        progress.say("assign: not needed (no pair searches an inverted file)");
        return Ok(());
    }
    // The model loads only if some shard is left to embed.
    let embedder = match &work.manifest.model {
        Some(spec) if name == "embed" && shards.iter().any(|&i| !work.is_done(name, i)) => {
            Some(model_args(spec).embedder(progress)?)
        }
        _ => None,
    };
    for i in shards {
        let outcome = match name {
            "embed" => match &embedder {
                Some(e) => work.embed(i, e, progress)?,
                None => Outcome::Skipped,
            },
            "assign" => work.assign(i, progress)?,
            "knn" => work.knn(i, progress)?,
            "best" => work.best(i, progress)?,
            _ => unreachable!("stage names are fixed"),
        };
        match outcome {
            Outcome::Done { seconds, rows } => progress.say(format!(
                "{name} shard {i}/{n}: {rows} rows in {seconds:.2} s ({:.0} rows/s)",
                rows as f64 / seconds.max(1e-9)
            )),
            Outcome::Skipped => progress.say(format!(
                "{name} shard {i}/{n}: skipped, done already (marker holds)"
            )),
            Outcome::NotNeeded => {}
        }
    }
    Ok(())
}

fn train(work: &Work, progress: &Progress) -> Result<()> {
    match work.train(progress)? {
        Outcome::Done { seconds, rows } => progress.say(format!(
            "train: {} in {seconds:.2} s ({rows} sample rows)",
            index_summary(work)
        )),
        Outcome::Skipped => progress.say("train: skipped, done already (marker holds)"),
        Outcome::NotNeeded => progress.say("train: not needed (no pair searches an inverted file)"),
    }
    Ok(())
}

/// The inverted files of the run, per pair (`en-vi 128 lists, probe 8`).
fn index_summary(work: &Work) -> String {
    let m = &work.manifest;
    m.pairs
        .iter()
        .zip(&m.search)
        .filter_map(|(&(s, t), k)| match k {
            bitalign::score::Knn::Ivf(p) => Some(format!(
                "{}-{} {} lists, probe {}",
                m.sides[s].lang, m.sides[t].lang, p.lists, p.probe
            )),
            _ => None,
        })
        .collect::<Vec<_>>()
        .join("; ")
}

fn merge(work: &Work, report: bool, progress: &Progress) -> Result<()> {
    let out = &work.manifest.out;
    if work.is_merged() {
        progress.say(format!(
            "merge: skipped, {} is written already (marker holds)",
            out.display()
        ));
        return Ok(());
    }
    let t0 = Instant::now();
    let docs = work.documents(progress)?;
    let t_load = t0.elapsed().as_secs_f64();
    let mut mined = work.mine(&docs, progress)?;
    let model = match &work.manifest.model {
        // The model's identity as `run` records it (without the statistics of one process).
        Some(spec) => {
            let embedder = model_args(spec).embedder(progress)?;
            if work.manifest.params.partial {
                work.mark_partial(&docs, &mut mined, &embedder, progress)?;
            }
            ModelRecord::of(&embedder, None)
        }
        None => ModelRecord::Precomputed {
            embeddings: work
                .manifest
                .inputs
                .iter()
                .filter_map(|i| i.embeddings.as_ref().map(|e| e.name.clone()))
                .collect(),
        },
    };
    // The output directory is the run's own (init refused an existing one without
    // --force); a merge killed half-way may have left it behind.
    let mut writer = CorpusWriter::create(out, &work.manifest.formats, true)?;
    let t_write = Instant::now();
    let report_files = write_mined(&mut writer, &docs, &mined, &model, report)?;
    let timings = timings(&[
        ("load_split_s", t_load),
        ("mine_s", mined.mine_seconds),
        ("write_s", t_write.elapsed().as_secs_f64()),
        ("total_s", t0.elapsed().as_secs_f64()),
    ]);
    let manifest = mined_manifest(&docs, &mined, model, &writer, timings, Vec::new());
    let mut files = writer.files().to_vec();
    files.push("run.json".into());
    writer.commit(&manifest)?;
    work.mark_merged(&files)?;
    super::report::say_written(&report_files, progress);
    if !progress.quiet {
        let sentences = docs.iter().map(|d| d.sentences.len()).sum();
        eprint!(
            "{}",
            summary(&mined, &manifest.timings, sentences, true, out)
        );
    }
    Ok(())
}

fn status(a: StatusArgs) -> Result<()> {
    let work = Work::open(&a.work)?;
    let n = work.manifest.shards;
    let mut text = String::new();
    if a.shards {
        text = format!("{n}\n");
    } else if a.needs_embed {
        text = format!("{}\n", if work.embeds() { "yes" } else { "no" });
    } else if a.needs_index {
        text = format!("{}\n", if work.indexes() { "yes" } else { "no" });
    } else {
        for (stage, done) in work.status() {
            if !work.needs(stage) {
                let why = match stage {
                    "embed" => "embeddings given",
                    _ => "exact search",
                };
                text += &format!("{stage}: not needed ({why})\n");
                continue;
            }
            let n = work.tasks(stage);
            let missing: Vec<String> = (0..n)
                .filter(|i| !done.contains(i))
                .map(|i| i.to_string())
                .collect();
            if missing.is_empty() {
                text += &format!("{stage}: {n}/{n} done\n");
            } else {
                text += &format!(
                    "{stage}: {}/{n} done; missing: {}\n",
                    done.len(),
                    missing.join(",")
                );
            }
        }
        let merged = if work.is_merged() { "done" } else { "not done" };
        text += &format!("merge: {merged} ({})\n", work.manifest.out.display());
    }
    // A reader that stops early (`| head`) is not an error.
    match std::io::Write::write_all(&mut std::io::stdout(), text.as_bytes()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
    }
}
