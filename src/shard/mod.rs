//! Mining past one machine: a self-describing work directory and stages that each do one
//! shard's work, so that a cluster's scheduler (Slurm job arrays, GNU parallel, a
//! Kubernetes indexed Job) runs them, as NLLB's stopes does. Each stage is a function of
//! (work directory, shard) → files plus a done marker ([`marker`]):
//!
//! 1. [`Work::init`]: the manifest (`shard.json`: inputs with sizes and checksums, model,
//!    parameters, the search of every pair, languages, pairs, shard count) and each
//!    language's sentences;
//! 2. [`Work::embed`] shard I: rows I·n/N .. (I+1)·n/N of every language → `.npy`
//!    (skipped when the run starts from precomputed embeddings);
//! 3. [`Work::train`] (one task, approximate search only): per pair, the inverted file's
//!    k-means centroids from the same sample of the target side as `run --knn approx`;
//! 4. [`Work::assign`] shard I (approximate only): the lists each row of shard I searches
//!    (source side) or belongs to (target side);
//! 5. [`Work::knn`] shard I: for every language pair, both sides' rows of shard I against
//!    the other side's whole set (or its rows in the probed lists) → each row's
//!    neighbourhood average (the margin's denominator) and, for the confidence ranking,
//!    its nearest candidates by cosine;
//! 6. [`Work::best`] shard I: the same rows' best partners by the margin, which needs every
//!    average of the other side;
//! 7. [`Work::mine`]: per pair, the shards' averages, partners (and candidates)
//!    concatenated, the pairs chosen, ranked and filtered exactly as
//!    [`crate::mine::mine_documents`] does (the confidence's whole-side features, names'
//!    document frequencies and mutual best partners, are computed here from every shard).
//!
//! Every dot product goes through the same kernel, every list keeps ties at the lower
//! index, and a row's lists of an inverted file do not depend on the rows it is searched
//! with, so the corpus is byte-identical to the single-process run's whatever the shard
//! count. A stage skips a shard whose marker holds; two tasks never write the same file.

pub mod marker;

use crate::corpus::{AtomicFile, Format};
use crate::document::{self, Document, LoadOptions};
use crate::embed::{Embedder, Embeddings};
use crate::error::{Error, Result};
use crate::mine::{self, confidence, pool, MineConfig, Mined, Rank};
use crate::model::Quantize;
use crate::observe::{Observer, Unit};
use crate::score::{self, ivf, Hit, IvfParams, Knn, Neighbours, Pieces, Rows, Score};
use marker::{stamp, Marker, Stamp};
use serde::{Deserialize, Serialize};
use std::io::{BufRead, Write};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// The manifest's file name in the work directory.
pub const MANIFEST: &str = "shard.json";

/// The stages before the merge, in order. `train` is one task; the others one per shard.
pub const STAGES: [&str; 5] = ["embed", "train", "assign", "knn", "best"];

/// One input document: the name records carry (as given), where it is read, its language.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Input {
    pub name: String,
    pub path: PathBuf,
    pub lang: String,
    pub sentences: usize,
    pub bytes: u64,
    pub crc32: u32,
    /// Its precomputed embeddings (one row per sentence), when the run starts from them.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub embeddings: Option<Embedded>,
}

/// A precomputed `.npy` of one input.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Embedded {
    /// As given (what `run.json` records).
    pub name: String,
    pub path: PathBuf,
    pub bytes: u64,
    pub crc32: u32,
}

/// The model that embeds, as the command line names it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelSpec {
    pub model: String,
    pub revision: String,
    pub offline: bool,
    pub prefix: Option<String>,
    pub batch: usize,
    pub quantize: Quantize,
}

/// The mining parameters (those of `bitalign run`'s mining mode).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Params {
    pub k: usize,
    pub score: Score,
    pub mode: mine::Mode,
    pub threshold: Option<f32>,
    pub filters: mine::Filters,
    pub pairs: Vec<String>,
    pub pivot: Option<String>,
    /// The ranking `run` would use with these flags ([`MineConfig::rank`]).
    pub rank: Rank,
    pub min_confidence: f32,
    /// The search asked for (as `run.json` records it); [`Manifest::search`] has what each
    /// pair uses.
    pub knn: Knn,
    /// Mark the kept pairs `parallel` / `partial` at merge (needs the model).
    #[serde(default)]
    pub partial: bool,
}

impl Params {
    pub fn of(cfg: &MineConfig) -> Self {
        Self {
            k: cfg.k,
            score: cfg.score,
            mode: cfg.mode,
            threshold: cfg.threshold,
            filters: cfg.filters.clone(),
            pairs: cfg.pairs.clone(),
            pivot: cfg.pivot.clone(),
            rank: cfg.rank(),
            min_confidence: cfg.min_confidence,
            knn: cfg.knn,
            partial: cfg.partial,
        }
    }

    pub fn config(&self) -> MineConfig {
        MineConfig {
            k: self.k,
            score: self.score,
            mode: self.mode,
            threshold: self.threshold,
            filters: self.filters.clone(),
            pairs: self.pairs.clone(),
            pivot: self.pivot.clone(),
            rank: Some(self.rank),
            min_confidence: self.min_confidence,
            knn: self.knn,
            precision: crate::score::Precision::F32,
            partial: self.partial,
        }
    }

    /// The score the best-partner stage ranks by: the confidence's `mutual` feature is the
    /// best partner by margin, whatever `--score` says.
    fn best_score(&self) -> Score {
        match self.rank {
            Rank::Confidence => Score::Margin,
            Rank::Score => self.score,
        }
    }
}

/// The search a pair of sides of `nx` and `ny` rows uses under `cfg`, as `bitalign run`
/// decides it (`auto` by the sizes; the confidence ranking always searches exactly), with
/// the inverted file's list count settled.
pub fn search(cfg: &MineConfig, nx: usize, ny: usize) -> Knn {
    if cfg.rank() == Rank::Confidence {
        return Knn::Exact;
    }
    match cfg.knn.resolve(nx, ny) {
        Knn::Ivf(p) => Knn::Ivf(IvfParams {
            lists: p.lists_for(nx, ny),
            ..p
        }),
        other => other,
    }
}

/// One language's side: its sentences from every document in it, in input order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Side {
    pub lang: String,
    /// Positions of its documents among the inputs.
    pub docs: Vec<usize>,
    pub sentences: usize,
}

/// `shard.json`: everything a stage needs, so that a task gets only the work directory
/// and its shard index.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub bitalign: String,
    pub shards: usize,
    pub inputs: Vec<Input>,
    pub presplit: bool,
    pub lossy: bool,
    /// `None` when the run starts from precomputed embeddings.
    pub model: Option<ModelSpec>,
    /// Width of raw float32 embedding files (`--dim`).
    pub dim: Option<usize>,
    pub params: Params,
    pub sides: Vec<Side>,
    /// Language pairs (indices into `sides`), source first.
    pub pairs: Vec<(usize, usize)>,
    /// Per pair, the search used: exact, or an inverted file with its parameters (the list
    /// count settled for the sides' sizes).
    pub search: Vec<Knn>,
    /// Where the merge writes the corpus, and in which formats.
    pub out: PathBuf,
    pub formats: Vec<Format>,
}

/// What to set up: the documents are loaded by the caller (so that bad input is reported
/// before anything is written).
pub struct Setup<'a> {
    pub docs: &'a [Document],
    /// The files the documents were read from, in order (not `-`).
    pub files: &'a [PathBuf],
    pub presplit: bool,
    pub lossy: bool,
    pub model: Option<ModelSpec>,
    /// One matrix per document (`.npy`, or raw float32 rows of width `dim`), or none
    /// (then `model` embeds).
    pub embeddings: &'a [PathBuf],
    pub dim: Option<usize>,
    pub config: &'a MineConfig,
    pub shards: usize,
    pub out: &'a Path,
    pub formats: &'a [Format],
}

/// What a stage did with a shard.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// Computed and marked done, in this many seconds, for this many rows.
    Done { seconds: f64, rows: usize },
    /// Its marker was valid: nothing done.
    Skipped,
    /// Nothing to do for this stage (embed when the embeddings were given).
    NotNeeded,
}

/// An opened work directory.
#[derive(Clone, Debug)]
pub struct Work {
    pub dir: PathBuf,
    pub manifest: Manifest,
}

fn absolute(p: &Path) -> Result<PathBuf> {
    std::path::absolute(p).map_err(|e| Error::input(p.display(), format!("cannot resolve: {e}")))
}

fn io_out(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::output(path.display(), e.to_string())
}

/// Rows `shard`·n/N .. (`shard`+1)·n/N of a side of n rows: contiguous, sizes differing by
/// at most one.
pub fn range(n: usize, shards: usize, shard: usize) -> Range<usize> {
    let at = |i: usize| (i as u128 * n as u128 / shards as u128) as usize;
    at(shard)..at(shard + 1)
}

/// The shard(s) a task runs: a number `I` (or `I/N`, N checked), `all`, `slurm`
/// (`$SLURM_ARRAY_TASK_ID`), `k8s` (`$JOB_COMPLETION_INDEX` of a Kubernetes indexed Job)
/// or `env:VAR` for any scheduler that numbers its tasks from 0.
pub fn parse_shard(spec: &str, shards: usize) -> Result<Vec<usize>> {
    let bad = |m: String| Error::config_value("shard", spec, m);
    let from_env = |var: &str| -> Result<String> {
        std::env::var(var).map_err(|_| bad(format!("${var} is not set (not inside such a task?)")))
    };
    let text = match spec {
        "all" => return Ok((0..shards).collect()),
        "slurm" => from_env("SLURM_ARRAY_TASK_ID")?,
        "k8s" => from_env("JOB_COMPLETION_INDEX")?,
        s if s.starts_with("env:") => from_env(&s[4..])?,
        s => s.to_string(),
    };
    let (i, n) = match text.split_once('/') {
        Some((i, n)) => (i, Some(n)),
        None => (text.as_str(), None),
    };
    let i: usize = i
        .trim()
        .parse()
        .map_err(|_| bad(format!("`{text}` is not a shard number")))?;
    if let Some(n) = n {
        let n: usize = n
            .trim()
            .parse()
            .map_err(|_| bad(format!("`{text}`: bad shard count")))?;
        if n != shards {
            return Err(bad(format!(
                "the work directory has {shards} shards, not {n}"
            )));
        }
    }
    if i >= shards {
        return Err(bad(format!(
            "shard {i} does not exist (shards 0..{} of {shards})",
            shards - 1
        )));
    }
    Ok(vec![i])
}

impl Work {
    /// Creates the work directory: checks everything that can be checked, then writes each
    /// language's sentences (`sentences/LANG.txt`, one per line, for the embed stage) and
    /// `shard.json` last. An existing directory with the same manifest is reused as it is
    /// (re-submitting is safe); one with another manifest is refused unless `force`, which
    /// clears the stages' outputs.
    pub fn init(dir: &Path, s: &Setup<'_>, force: bool) -> Result<Work> {
        let cfg = s.config;
        if s.shards == 0 {
            return Err(Error::config("shards", "must be at least 1"));
        }
        if cfg.precision != crate::score::Precision::F32 {
            return Err(Error::config(
                "knn_precision",
                "a sharded run searches in f32 (for now); drop --knn-precision",
            ));
        }
        let plan = cfg.plan(s.docs)?;
        if !s.embeddings.is_empty() && s.embeddings.len() != s.docs.len() {
            return Err(Error::config(
                "embeddings",
                format!(
                    "{} files for {} inputs; give one .npy per input, in the same order",
                    s.embeddings.len(),
                    s.docs.len()
                ),
            ));
        }
        if s.docs.len() != s.files.len() {
            return Err(Error::config(
                "shard",
                "a sharded run takes one text file per document; directories and .jsonl inputs \
                 are read by `bitalign run` only (for now)",
            ));
        }
        let mut inputs = Vec::new();
        let mut dim = 0;
        for (i, (doc, file)) in s.docs.iter().zip(s.files).enumerate() {
            if file.as_os_str() == "-" {
                return Err(Error::input(
                    "-",
                    "a sharded run reads its inputs again in every task; give files, not stdin",
                ));
            }
            let path = absolute(file)?;
            let st = stamp(Path::new("/"), &path.display().to_string())?;
            let embeddings = match s.embeddings.get(i) {
                None => None,
                Some(e) => {
                    let m = Embeddings::read(e, s.dim)?;
                    if m.len() != doc.sentences.len() {
                        return Err(Error::input(
                            e.display(),
                            format!(
                                "{} rows, but {} has {} sentences",
                                m.len(),
                                doc.name,
                                doc.sentences.len()
                            ),
                        ));
                    }
                    if dim != 0 && m.dim() != dim {
                        return Err(Error::input(
                            e.display(),
                            format!("width {} differs from the other files' {dim}", m.dim()),
                        ));
                    }
                    dim = m.dim();
                    let p = absolute(e)?;
                    let es = stamp(Path::new("/"), &p.display().to_string())?;
                    Some(Embedded {
                        name: e.display().to_string(),
                        path: p,
                        bytes: es.bytes,
                        crc32: es.crc32,
                    })
                }
            };
            if doc.sentences.iter().any(|t| t.text.contains('\n')) {
                return Err(Error::input(&doc.name, "a sentence holds a line break"));
            }
            inputs.push(Input {
                name: doc.name.clone(),
                path,
                lang: doc.lang.tag().to_string(),
                sentences: doc.sentences.len(),
                bytes: st.bytes,
                crc32: st.crc32,
                embeddings,
            });
        }
        let pools = pool::group(s.docs)?;
        let search = plan
            .pairs
            .iter()
            .map(|&(a, b)| self::search(cfg, pools[a].rows.len(), pools[b].rows.len()))
            .collect();
        let manifest = Manifest {
            bitalign: env!("CARGO_PKG_VERSION").to_string(),
            shards: s.shards,
            inputs,
            presplit: s.presplit,
            lossy: s.lossy,
            model: if s.embeddings.is_empty() {
                s.model.clone()
            } else {
                None
            },
            dim: s.dim,
            params: Params::of(cfg),
            sides: pools
                .iter()
                .map(|p| Side {
                    lang: p.lang.clone(),
                    docs: p.docs.clone(),
                    sentences: p.rows.len(),
                })
                .collect(),
            pairs: plan.pairs,
            search,
            out: absolute(s.out)?,
            formats: s.formats.to_vec(),
        };
        if manifest.model.is_none() && s.embeddings.is_empty() {
            return Err(Error::config("model", "no model and no embeddings"));
        }
        if let Ok(old) = Work::open(dir) {
            if old.manifest == manifest {
                return Ok(old);
            }
            if !force {
                return Err(Error::output(
                    dir.join(MANIFEST).display(),
                    "a work directory set up for other inputs or parameters; choose another or pass --force to start it again",
                ));
            }
        } else if dir.exists()
            && std::fs::read_dir(dir).is_ok_and(|mut d| d.next().is_some())
            && !force
        {
            return Err(Error::OutputExists {
                path: dir.display().to_string(),
            });
        }
        if manifest.out.exists() && !force {
            return Err(Error::OutputExists {
                path: s.out.display().to_string(),
            });
        }
        for sub in [
            "sentences",
            "embed",
            "train",
            "assign",
            "knn",
            "best",
            "logs",
        ] {
            let p = dir.join(sub);
            if force && sub != "logs" && p.exists() {
                std::fs::remove_dir_all(&p).map_err(|e| io_out(&p, e))?;
            }
            std::fs::create_dir_all(&p).map_err(|e| io_out(&p, e))?;
        }
        let merged = dir.join("merge.done");
        if merged.exists() {
            std::fs::remove_file(&merged).map_err(|e| io_out(&merged, e))?;
        }
        if s.embeddings.is_empty() {
            for p in &pools {
                let path = dir.join("sentences").join(format!("{}.txt", p.lang));
                let mut f = AtomicFile::create(&path)?;
                for &(d, i) in &p.rows {
                    writeln!(f, "{}", s.docs[d].sentences[i].text).map_err(|e| io_out(&path, e))?;
                }
                f.commit()?;
            }
        }
        let json = serde_json::to_vec_pretty(&manifest).map_err(anyhow::Error::from)?;
        AtomicFile::write_all(dir.join(MANIFEST), &json)?;
        Ok(Work {
            dir: dir.to_path_buf(),
            manifest,
        })
    }

    /// Opens a work directory made by [`Work::init`].
    pub fn open(dir: &Path) -> Result<Work> {
        let path = dir.join(MANIFEST);
        let bytes = std::fs::read(&path).map_err(|e| {
            Error::input(
                path.display(),
                format!(
                    "cannot read ({e}); is this a work directory made by `bitalign shard init`?"
                ),
            )
        })?;
        let manifest: Manifest = serde_json::from_slice(&bytes)
            .map_err(|e| Error::input(path.display(), format!("not a shard manifest: {e}")))?;
        Ok(Work {
            dir: dir.to_path_buf(),
            manifest,
        })
    }

    /// Inputs still have the sizes recorded (cheap; the checksums were taken at init).
    pub fn check_inputs(&self) -> Result<()> {
        for i in &self.manifest.inputs {
            let mut files = vec![(&i.path, i.bytes)];
            if let Some(e) = &i.embeddings {
                files.push((&e.path, e.bytes));
            }
            for (p, want) in files {
                let got = std::fs::metadata(p)
                    .map(|m| m.len())
                    .map_err(|e| Error::input(p.display(), format!("cannot read: {e}")))?;
                if got != want {
                    return Err(Error::input(
                        p.display(),
                        format!("changed since `shard init` ({got} bytes, was {want})"),
                    ));
                }
            }
        }
        Ok(())
    }

    /// Whether the sentences are embedded by the embed stage (else given as `.npy`).
    pub fn embeds(&self) -> bool {
        self.manifest.model.is_some()
    }

    /// The rows of `side` in `shard`.
    pub fn rows(&self, side: usize, shard: usize) -> Range<usize> {
        range(
            self.manifest.sides[side].sentences,
            self.manifest.shards,
            shard,
        )
    }

    fn marker_path(stage: &str, shard: usize) -> String {
        format!("{stage}/{shard}.done")
    }

    /// Whether some pair searches an inverted file (then `train` and `assign` run).
    pub fn indexes(&self) -> bool {
        self.manifest
            .search
            .iter()
            .any(|k| matches!(k, Knn::Ivf(_)))
    }

    /// Whether `stage` has work in this run (`embed` not with precomputed embeddings,
    /// `train` and `assign` only for an approximate search).
    pub fn needs(&self, stage: &str) -> bool {
        match stage {
            "embed" => self.embeds(),
            "train" | "assign" => self.indexes(),
            _ => true,
        }
    }

    /// Tasks of `stage`: one for `train`, one per shard for the others.
    pub fn tasks(&self, stage: &str) -> usize {
        if stage == "train" {
            1
        } else {
            self.manifest.shards
        }
    }

    /// The shard's marker holds (sizes and checksums of its files).
    pub fn is_done(&self, stage: &str, shard: usize) -> bool {
        if !self.needs(stage) {
            return true;
        }
        Marker::valid(&self.dir, &Self::marker_path(stage, shard), true).is_some()
    }

    /// Every shard of `stage` has a marker whose files have their sizes (what a later stage
    /// checks before it starts; the checksums were checked when the shard was skipped or
    /// written).
    fn require(&self, stage: &str) -> Result<()> {
        if !self.needs(stage) {
            return Ok(());
        }
        let missing: Vec<String> = (0..self.tasks(stage))
            .filter(|&i| Marker::valid(&self.dir, &Self::marker_path(stage, i), false).is_none())
            .map(|i| i.to_string())
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        Err(Error::input(
            self.dir.join(stage).display(),
            format!(
                "{stage} shard(s) {} not done; run `bitalign shard {stage}` for them first",
                missing.join(",")
            ),
        ))
    }

    /// Runs `work` for `shard` of `stage` unless its marker holds; `work` returns the files
    /// it wrote (relative to the work directory) and the rows it did.
    fn run_shard(
        &self,
        stage: &str,
        shard: usize,
        work: impl FnOnce() -> Result<(Vec<String>, usize)>,
    ) -> Result<Outcome> {
        if self.is_done(stage, shard) {
            return Ok(Outcome::Skipped);
        }
        let start = Instant::now();
        let (files, rows) = work()?;
        Marker::write(
            &self.dir,
            &Self::marker_path(stage, shard),
            stage,
            shard,
            &files,
        )?;
        Ok(Outcome::Done {
            seconds: start.elapsed().as_secs_f64(),
            rows,
        })
    }

    /// Embed stage, one shard: the shard's sentences of every language → `embed/LANG.I.npy`.
    pub fn embed(&self, shard: usize, embedder: &Embedder, obs: &dyn Observer) -> Result<Outcome> {
        if !self.embeds() {
            return Ok(Outcome::NotNeeded);
        }
        self.check_inputs()?;
        self.run_shard("embed", shard, || {
            let mut files = Vec::new();
            let mut rows = 0;
            for (l, side) in self.manifest.sides.iter().enumerate() {
                let r = self.rows(l, shard);
                let src = self
                    .dir
                    .join("sentences")
                    .join(format!("{}.txt", side.lang));
                let f = std::fs::File::open(&src)
                    .map_err(|e| Error::input(src.display(), format!("cannot read: {e}")))?;
                let texts: Vec<String> = std::io::BufReader::new(f)
                    .lines()
                    .skip(r.start)
                    .take(r.len())
                    .collect::<std::io::Result<_>>()
                    .map_err(|e| Error::input(src.display(), format!("cannot read: {e}")))?;
                if texts.len() != r.len() {
                    return Err(Error::input(
                        src.display(),
                        "fewer sentences than the manifest says",
                    ));
                }
                let emb = if texts.is_empty() {
                    Embeddings::new(embedder.dim(), Vec::new())?
                } else {
                    embedder.embed(&texts, obs)?
                };
                let name = format!("embed/{}.{shard}.npy", side.lang);
                write_npy(&self.dir.join(&name), &emb)?;
                files.push(name);
                rows += r.len();
            }
            Ok((files, rows))
        })
    }

    /// One side's whole set of embeddings, in pieces (memory-mapped): the embed stage's
    /// shards, or the inputs' `.npy` files.
    fn parts(&self, side: usize) -> Result<Vec<(usize, Embeddings)>> {
        let s = &self.manifest.sides[side];
        let mut out = Vec::new();
        let mut offset = 0;
        if self.embeds() {
            for i in 0..self.manifest.shards {
                let p = self.dir.join(format!("embed/{}.{i}.npy", s.lang));
                let e = Embeddings::read_npy(&p)?;
                if e.len() != self.rows(side, i).len() {
                    return Err(Error::input(p.display(), "not the rows of its shard"));
                }
                out.push((offset, e));
                offset += self.rows(side, i).len();
            }
        } else {
            for &d in &s.docs {
                let input = &self.manifest.inputs[d];
                let p = &input.embeddings.as_ref().expect("embeddings given").path;
                let e = Embeddings::read(p, self.manifest.dim)?;
                if e.len() != input.sentences {
                    return Err(Error::input(p.display(), "changed since `shard init`"));
                }
                let n = e.len();
                out.push((offset, e));
                offset += n;
            }
        }
        Ok(out)
    }

    /// Rows `r` of a side given in pieces, copied into one matrix.
    fn gather(parts: &[(usize, Embeddings)], r: Range<usize>) -> Result<Embeddings> {
        let dim = parts.first().map_or(1, |p| p.1.dim().max(1));
        let mut data = Vec::with_capacity(r.len() * dim);
        for (offset, e) in parts {
            let (a, b) = (*offset, offset + e.len());
            let (from, to) = (r.start.max(a), r.end.min(b));
            if from < to {
                data.extend_from_slice(&e.as_slice()[(from - a) * dim..(to - a) * dim]);
            }
        }
        Ok(Embeddings::new(dim, data)?)
    }

    fn pair_name(&self, p: usize) -> String {
        let (s, t) = self.manifest.pairs[p];
        format!(
            "{}-{}",
            self.manifest.sides[s].lang, self.manifest.sides[t].lang
        )
    }

    /// For every pair, both directions: (pair index, query side, other side, role).
    fn directions(&self) -> Vec<(usize, usize, usize, &'static str)> {
        let mut out = Vec::new();
        for (p, &(s, t)) in self.manifest.pairs.iter().enumerate() {
            out.push((p, s, t, "src"));
            out.push((p, t, s, "tgt"));
        }
        out
    }

    /// The inverted file of pair `p`, if it searches one.
    fn ivf(&self, p: usize) -> Option<IvfParams> {
        match self.manifest.search[p] {
            Knn::Ivf(ip) => Some(ip),
            _ => None,
        }
    }

    fn centroids_file(&self, p: usize) -> String {
        format!("train/{}.centroids.npy", self.pair_name(p))
    }

    /// Train stage (one task): for every pair with an inverted file, k-means on the rows of
    /// the target side that `run --knn approx` samples → `train/PAIR.centroids.npy`.
    pub fn train(&self, obs: &dyn Observer) -> Result<Outcome> {
        if !self.indexes() {
            return Ok(Outcome::NotNeeded);
        }
        self.check_inputs()?;
        self.require("embed")?;
        self.run_shard("train", 0, || {
            let mut files = Vec::new();
            let mut rows = 0;
            for (p, &(_, t)) in self.manifest.pairs.iter().enumerate() {
                let Some(ip) = self.ivf(p) else { continue };
                let parts = self.parts(t)?;
                let refs: Vec<score::Part<'_>> = parts.iter().map(|(a, e)| (*a, e)).collect();
                let y = Pieces::new(&refs);
                let picks = ivf::sample(y.len(), ip.lists, &ip);
                let bar = obs.stage(
                    &format!("training {} ({} lists)", self.pair_name(p), ip.lists),
                    None,
                    Unit::Items,
                );
                let mut data = Vec::with_capacity(picks.len() * y.dim());
                for &i in &picks {
                    data.extend_from_slice(y.row(i));
                }
                let sample = Embeddings::new(y.dim(), data)?;
                let centroids = ivf::train_on(&sample, ip.lists, &ip);
                drop(bar);
                let name = self.centroids_file(p);
                write_npy(&self.dir.join(&name), &centroids)?;
                files.push(name);
                rows += picks.len();
            }
            Ok((files, rows))
        })
    }

    /// Assign stage, one shard: for every pair with an inverted file, the lists each source
    /// row of the shard searches (its `probe` nearest centroids) and the list each target
    /// row belongs to → `assign/PAIR.src.I.bin`, `.tgt.`.
    pub fn assign(&self, shard: usize, obs: &dyn Observer) -> Result<Outcome> {
        if !self.indexes() {
            return Ok(Outcome::NotNeeded);
        }
        self.check_inputs()?;
        self.require("embed")?;
        self.require("train")?;
        self.run_shard("assign", shard, || {
            let mut files = Vec::new();
            let mut rows = 0;
            for (p, q, _, role) in self.directions() {
                let Some(ip) = self.ivf(p) else { continue };
                let centroids = Embeddings::read_npy(&self.dir.join(self.centroids_file(p)))?;
                let qr = self.rows(q, shard);
                let x = Self::gather(&self.parts(q)?, qr.clone())?;
                let n = if role == "src" {
                    ip.probe.clamp(1, ip.lists)
                } else {
                    ip.assign.clamp(1, ip.lists)
                };
                let bar = obs.stage(
                    &format!("assigning {} {role} shard {shard}", self.pair_name(p)),
                    None,
                    Unit::Items,
                );
                let lists = ivf::assign(&x, &centroids, n);
                drop(bar);
                let name = format!("assign/{}.{role}.{shard}.bin", self.pair_name(p));
                write_lists(&self.dir.join(&name), &lists)?;
                files.push(name);
                rows += qr.len();
            }
            Ok((files, rows))
        })
    }

    /// The partition that answers `role`'s queries of shard `shard` for pair `p`: that
    /// shard's rows of the query side (indexed from 0) with every row of the other side.
    fn partition(
        &self,
        p: usize,
        role: &str,
        shard: usize,
        lists: usize,
    ) -> Result<ivf::Partition> {
        let name = self.pair_name(p);
        let read = |r: &str, shards: Range<usize>| -> Result<Vec<Vec<u32>>> {
            let mut out = Vec::new();
            for i in shards {
                out.extend(read_lists(
                    &self.dir.join(format!("assign/{name}.{r}.{i}.bin")),
                    lists,
                )?);
            }
            Ok(out)
        };
        let (x, y) = if role == "src" {
            (
                read("src", shard..shard + 1)?,
                read("tgt", 0..self.manifest.shards)?,
            )
        } else {
            (
                read("src", 0..self.manifest.shards)?,
                read("tgt", shard..shard + 1)?,
            )
        };
        Ok(ivf::Partition::new(
            lists,
            x.iter().enumerate(),
            y.iter().enumerate(),
        ))
    }

    /// k-NN stage, one shard: for every pair, the shard's rows of each side against the
    /// other side's whole set (or, with an inverted file, its rows in the probed lists) →
    /// each row's average cosine to its k nearest neighbours (`knn/PAIR.src.I.npy` for the
    /// source side, `.tgt.` for the target side); with the confidence ranking also each
    /// row's [`confidence::CANDIDATES`] nearest rows (`knn/PAIR.ROLE.I.nbr`).
    pub fn knn(&self, shard: usize, obs: &dyn Observer) -> Result<Outcome> {
        self.check_inputs()?;
        self.require("embed")?;
        self.require("assign")?;
        self.run_shard("knn", shard, || {
            let mut files = Vec::new();
            let mut rows = 0;
            let k = self.manifest.params.k;
            let candidates = self.manifest.params.rank == Rank::Confidence;
            let dirs = self.directions();
            for (p, q, o, role) in dirs {
                let qr = self.rows(q, shard);
                let x = Self::gather(&self.parts(q)?, qr.clone())?;
                let parts = self.parts(o)?;
                let refs: Vec<score::Part<'_>> = parts.iter().map(|(a, e)| (*a, e)).collect();
                let other = Pieces::new(&refs);
                let bar = obs.stage(
                    &format!("k-NN {} {role} shard {shard}", self.pair_name(p)),
                    Some(x.len() as u64),
                    Unit::Items,
                );
                let wide = if candidates {
                    k.max(confidence::CANDIDATES)
                } else {
                    k
                };
                let found = match self.ivf(p) {
                    None => score::knn_rows(&x, &refs, wide, &*bar),
                    Some(ip) => {
                        let part = self.partition(p, role, shard, ip.lists)?;
                        match role {
                            "src" => score::ivf_knn(&x, &other, k, &part, true, &*bar),
                            _ => score::ivf_knn(&other, &x, k, &part, false, &*bar),
                        }
                    }
                };
                drop(bar);
                let means = first(&found, k.min(other.len())).means();
                let name = format!("knn/{}.{role}.{shard}.npy", self.pair_name(p));
                write_npy(&self.dir.join(&name), &Embeddings::new(1, means)?)?;
                files.push(name);
                if candidates {
                    let near = first(&found, confidence::CANDIDATES.min(other.len()));
                    let name = format!("knn/{}.{role}.{shard}.nbr", self.pair_name(p));
                    write_neighbours(&self.dir.join(&name), &near)?;
                    files.push(name);
                }
                rows += qr.len();
            }
            Ok((files, rows))
        })
    }

    /// One side's neighbourhood averages for pair `p`, every shard concatenated.
    fn means(&self, p: usize, role: &str) -> Result<Vec<f32>> {
        let mut out = Vec::new();
        for i in 0..self.manifest.shards {
            let path = self
                .dir
                .join(format!("knn/{}.{role}.{i}.npy", self.pair_name(p)));
            out.extend(read_means(&path)?);
        }
        Ok(out)
    }

    /// One side's candidate lists for pair `p` (confidence ranking), every shard
    /// concatenated.
    fn candidates(&self, p: usize, role: &str) -> Result<Neighbours> {
        let mut all: Option<Neighbours> = None;
        for i in 0..self.manifest.shards {
            let path = self
                .dir
                .join(format!("knn/{}.{role}.{i}.nbr", self.pair_name(p)));
            let n = read_neighbours(&path)?;
            match &mut all {
                None => all = Some(n),
                Some(a) if a.k == n.k => {
                    a.idx.extend(n.idx);
                    a.sim.extend(n.sim);
                }
                Some(_) => return Err(Error::input(path.display(), "lists of another width")),
            }
        }
        Ok(all.unwrap_or(Neighbours {
            k: 0,
            idx: Vec::new(),
            sim: Vec::new(),
        }))
    }

    /// Best-partner stage, one shard: for every pair, the shard's rows of each side against
    /// the other side's whole set (or its rows in the probed lists), scored with every
    /// row's neighbourhood average → `best/PAIR.src.I.bin` and `.tgt.` (per row: partner,
    /// score, cosine).
    pub fn best(&self, shard: usize, obs: &dyn Observer) -> Result<Outcome> {
        self.check_inputs()?;
        self.require("embed")?;
        self.require("knn")?;
        self.run_shard("best", shard, || {
            let mut files = Vec::new();
            let mut rows = 0;
            let score = self.manifest.params.best_score();
            for (p, q, o, role) in self.directions() {
                let qr = self.rows(q, shard);
                let x = Self::gather(&self.parts(q)?, qr.clone())?;
                let parts = self.parts(o)?;
                let refs: Vec<score::Part<'_>> = parts.iter().map(|(a, e)| (*a, e)).collect();
                let other = if role == "src" { "tgt" } else { "src" };
                let q_mean = self.means(p, role)?;
                let o_mean = self.means(p, other)?;
                let bar = obs.stage(
                    &format!("best {} {role} shard {shard}", self.pair_name(p)),
                    Some(x.len() as u64),
                    Unit::Items,
                );
                let xm = &q_mean[qr.clone()];
                let hits = match self.ivf(p) {
                    None => score::best_rows(&x, xm, &refs, &o_mean, score, &*bar),
                    Some(ip) => {
                        let part = self.partition(p, role, shard, ip.lists)?;
                        let whole = Pieces::new(&refs);
                        match role {
                            "src" => {
                                score::ivf_best(&x, xm, &whole, &o_mean, score, &part, true, &*bar)
                            }
                            _ => {
                                score::ivf_best(&whole, &o_mean, &x, xm, score, &part, false, &*bar)
                            }
                        }
                    }
                };
                drop(bar);
                let name = format!("best/{}.{role}.{shard}.bin", self.pair_name(p));
                write_hits(&self.dir.join(&name), &hits)?;
                files.push(name);
                rows += qr.len();
            }
            Ok((files, rows))
        })
    }

    /// The documents again, as `shard init` read them (same names, languages, splitting).
    pub fn documents(&self, obs: &dyn Observer) -> Result<Vec<Document>> {
        self.check_inputs()?;
        let m = &self.manifest;
        let files: Vec<PathBuf> = m.inputs.iter().map(|i| i.path.clone()).collect();
        let opts = LoadOptions {
            langs: m.inputs.iter().map(|i| i.lang.clone()).collect(),
            presplit: m.presplit,
            lossy: m.lossy,
            allow_empty: false,
            text_field: None,
        };
        let mut docs = document::load(&files, &opts, obs)?;
        for (d, i) in docs.iter_mut().zip(&m.inputs) {
            if d.sentences.len() != i.sentences {
                return Err(Error::input(
                    i.path.display(),
                    "splits differently since `shard init`",
                ));
            }
            d.name = i.name.clone();
        }
        Ok(docs)
    }

    /// Merge: every pair's candidates from the shards' averages and partners, chosen,
    /// thresholded and filtered as [`crate::mine::mine_embedded`] does; the caller writes
    /// the corpus ([`crate::corpus::CorpusWriter`]) and then [`Work::mark_merged`].
    pub fn mine(&self, docs: &[Document], obs: &dyn Observer) -> Result<Mined> {
        self.require("embed")?;
        self.require("knn")?;
        self.require("best")?;
        let cfg = self.manifest.params.config();
        let plan = cfg.plan(docs)?;
        let params = cfg.params();
        let pools = pool::group(docs)?;
        let start = Instant::now();
        let mut pairs = Vec::new();
        for (p, &pair) in plan.pairs.iter().enumerate() {
            let t0 = Instant::now();
            let bar = obs.stage(&format!("merging {}", self.pair_name(p)), None, Unit::Items);
            let (x_mean, y_mean) = (self.means(p, "src")?, self.means(p, "tgt")?);
            let (fwd, bwd) = (self.hits(p, "src")?, self.hits(p, "tgt")?);
            let cands = match params.min_confidence {
                None => mine::select(&fwd, &bwd, &x_mean, &y_mean, params.mode),
                Some(_) => {
                    let (nx, ny) = (self.candidates(p, "src")?, self.candidates(p, "tgt")?);
                    let texts = |side: usize| -> Vec<&str> {
                        pools[side]
                            .rows
                            .iter()
                            .map(|&(d, i)| docs[d].sentences[i].text.as_str())
                            .collect()
                    };
                    let (src, tgt) = (texts(pair.0), texts(pair.1));
                    let found = confidence::Found {
                        x_mean: &x_mean,
                        y_mean: &y_mean,
                        fwd: &fwd,
                        bwd: &bwd,
                        nx: &nx,
                        ny: &ny,
                    };
                    confidence::rank_found(&found, &mine::evidence::Evidence::new(&src, &tgt))
                }
            };
            drop(bar);
            // What `run` records for the pair: the search `auto` settles for its sizes,
            // with the inverted file's list count.
            let (nx, ny) = (pools[pair.0].rows.len(), pools[pair.1].rows.len());
            pairs.push(pool::judge(
                docs,
                &pools,
                pair,
                cands,
                &params,
                &cfg.filters,
                self::search(&cfg, nx, ny),
                t0,
            ));
        }
        Ok(Mined::assemble(pools, pairs, &plan, &cfg, start))
    }

    /// Marks `mined`'s kept pairs `parallel` / `partial` ([`Mined::mark_partial`]) with the
    /// vectors of the embed stage (or the given files), read in place.
    pub fn mark_partial(
        &self,
        docs: &[Document],
        mined: &mut Mined,
        embedder: &Embedder,
        obs: &dyn Observer,
    ) -> Result<()> {
        // Pools and sides are both languages in order of first appearance; matched by name.
        let parts: Vec<Vec<(usize, Embeddings)>> = mined
            .pools
            .iter()
            .map(|p| {
                let side = self.manifest.sides.iter().position(|s| s.lang == p.lang);
                self.parts(side.expect("a pool per side"))
            })
            .collect::<Result<_>>()?;
        let vector = |_: &[pool::Pool], p: usize, row: usize| {
            Ok(Self::gather(&parts[p], row..row + 1)?.row(0).to_vec())
        };
        mined.mark_partial_with(docs, embedder, vector, obs)
    }

    fn hits(&self, p: usize, role: &str) -> Result<Vec<Option<Hit>>> {
        let mut out = Vec::new();
        for i in 0..self.manifest.shards {
            let path = self
                .dir
                .join(format!("best/{}.{role}.{i}.bin", self.pair_name(p)));
            out.extend(read_hits(&path)?);
        }
        Ok(out)
    }

    /// Whether the corpus was written and is still as written.
    pub fn is_merged(&self) -> bool {
        Marker::valid(&self.dir, "merge.done", true).is_some()
    }

    /// Marks the merge done: the corpus files (relative to the output directory) stamped.
    pub fn mark_merged(&self, files: &[String]) -> Result<()> {
        let out = &self.manifest.out;
        let stamps: Vec<Stamp> = files.iter().map(|f| stamp(out, f)).collect::<Result<_>>()?;
        let m = Marker {
            stage: "merge".into(),
            shard: 0,
            files: stamps
                .into_iter()
                .map(|s| Stamp {
                    file: out.join(&s.file).display().to_string(),
                    ..s
                })
                .collect(),
        };
        let json = serde_json::to_vec_pretty(&m).map_err(anyhow::Error::from)?;
        AtomicFile::write_all(self.dir.join("merge.done"), &json)?;
        Ok(())
    }

    /// Per stage, the shards whose markers hold (checksums read).
    pub fn status(&self) -> Vec<(&'static str, Vec<usize>)> {
        STAGES
            .iter()
            .map(|&s| {
                let done = (0..self.tasks(s)).filter(|&i| self.is_done(s, i)).collect();
                (s, done)
            })
            .collect()
    }
}

/// The first `k` entries of every list (`k` at most the lists' width).
fn first(n: &Neighbours, k: usize) -> Neighbours {
    let k = k.min(n.k);
    let rows = n.len();
    let take = |v: &[usize]| -> Vec<usize> {
        v.chunks_exact(n.k.max(1))
            .flat_map(|r| r[..k].to_vec())
            .collect()
    };
    let sim = n
        .sim
        .chunks_exact(n.k.max(1))
        .flat_map(|r| r[..k].to_vec())
        .collect::<Vec<f32>>();
    let out = Neighbours {
        k,
        idx: take(&n.idx),
        sim,
    };
    debug_assert_eq!(out.idx.len(), rows * k);
    out
}

/// A k-NN stage's means (`.npy`, one column). NaN is a value here, unlike in embeddings:
/// the mean of a row for which an inverted file found no neighbour, as in the single run
/// (its scores are NaN, so it is never chosen).
fn read_means(path: &Path) -> Result<Vec<f32>> {
    let bad = |m: String| Error::input(path.display(), m);
    let b = std::fs::read(path).map_err(|e| bad(format!("cannot read: {e}")))?;
    let npy = npyz::NpyFile::new(&b[..]).map_err(|e| bad(format!("not a .npy: {e}")))?;
    let n = npy.shape().first().copied().unwrap_or(0);
    if npy.shape().get(1).is_some_and(|&w| w != 1) {
        return Err(bad("not one column of means".into()));
    }
    let v: Vec<f32> = npy
        .into_vec()
        .map_err(|e| bad(format!("not float32 means: {e}")))?;
    if v.len() as u64 != n {
        return Err(bad("fewer values than its shape says".into()));
    }
    Ok(v)
}

fn write_npy(path: &Path, e: &Embeddings) -> Result<()> {
    let mut f = AtomicFile::create(path)?;
    e.write_npy(&mut f).map_err(|err| io_out(path, err))?;
    f.commit()?;
    Ok(())
}

const HITS_MAGIC: &[u8; 8] = b"BAHITS1\0";

/// Best partners: magic, row count (u64), then per row partner (u64, `u64::MAX` for none),
/// score and cosine (f32), little-endian.
fn write_hits(path: &Path, hits: &[Option<Hit>]) -> Result<()> {
    let mut f = AtomicFile::create(path)?;
    let mut buf = Vec::with_capacity(16 + hits.len() * 16);
    buf.extend_from_slice(HITS_MAGIC);
    buf.extend_from_slice(&(hits.len() as u64).to_le_bytes());
    for h in hits {
        let (i, s, c) = match h {
            Some(h) => (h.idx as u64, h.score, h.cos),
            None => (u64::MAX, f32::NAN, f32::NAN),
        };
        buf.extend_from_slice(&i.to_le_bytes());
        buf.extend_from_slice(&s.to_le_bytes());
        buf.extend_from_slice(&c.to_le_bytes());
    }
    f.write_all(&buf).map_err(|e| io_out(path, e))?;
    f.commit()?;
    Ok(())
}

fn read_hits(path: &Path) -> Result<Vec<Option<Hit>>> {
    let b = std::fs::read(path)
        .map_err(|e| Error::input(path.display(), format!("cannot read: {e}")))?;
    let bad = || Error::input(path.display(), "not a best-partner file of this version");
    if b.len() < 16 || &b[..8] != HITS_MAGIC {
        return Err(bad());
    }
    let n = u64::from_le_bytes(b[8..16].try_into().expect("8 bytes")) as usize;
    if b.len() != 16 + n * 16 {
        return Err(bad());
    }
    Ok(b[16..]
        .chunks_exact(16)
        .map(|r| {
            let i = u64::from_le_bytes(r[..8].try_into().expect("8 bytes"));
            let f = |a: usize| f32::from_le_bytes(r[a..a + 4].try_into().expect("4 bytes"));
            (i != u64::MAX).then(|| Hit {
                idx: i as usize,
                score: f(8),
                cos: f(12),
            })
        })
        .collect())
}

const LISTS_MAGIC: &[u8; 8] = b"BALIST1\0";

/// Each row's lists of an inverted file: magic, row count and width (u64), then per row
/// `width` list numbers (u32, little-endian).
fn write_lists(path: &Path, lists: &[Vec<u32>]) -> Result<()> {
    let width = lists.first().map_or(0, Vec::len);
    let mut buf = Vec::with_capacity(24 + lists.len() * width * 4);
    buf.extend_from_slice(LISTS_MAGIC);
    buf.extend_from_slice(&(lists.len() as u64).to_le_bytes());
    buf.extend_from_slice(&(width as u64).to_le_bytes());
    for l in lists {
        debug_assert_eq!(l.len(), width, "every row has `probe` lists");
        for c in l {
            buf.extend_from_slice(&c.to_le_bytes());
        }
    }
    let mut f = AtomicFile::create(path)?;
    f.write_all(&buf).map_err(|e| io_out(path, e))?;
    f.commit()?;
    Ok(())
}

/// [`write_lists`]' file back; every list number below `lists`.
fn read_lists(path: &Path, lists: usize) -> Result<Vec<Vec<u32>>> {
    let b = std::fs::read(path)
        .map_err(|e| Error::input(path.display(), format!("cannot read: {e}")))?;
    let bad = || Error::input(path.display(), "not a list-assignment file of this version");
    if b.len() < 24 || &b[..8] != LISTS_MAGIC {
        return Err(bad());
    }
    let word = |a: usize| u64::from_le_bytes(b[a..a + 8].try_into().expect("8 bytes")) as usize;
    let (n, w) = (word(8), word(16));
    if b.len() != 24 + n * w * 4 {
        return Err(bad());
    }
    let all: Vec<u32> = b[24..]
        .chunks_exact(4)
        .map(|c| u32::from_le_bytes(c.try_into().expect("4 bytes")))
        .collect();
    if all.iter().any(|&c| c as usize >= lists) {
        return Err(bad());
    }
    Ok(all.chunks(w.max(1)).take(n).map(<[u32]>::to_vec).collect())
}

const NEIGHBOURS_MAGIC: &[u8; 8] = b"BANBRS1\0";

/// Nearest-neighbour lists: magic, row count and width (u64), then per entry the
/// neighbour (u64, `u64::MAX` for none) and its cosine (f32), little-endian.
fn write_neighbours(path: &Path, n: &Neighbours) -> Result<()> {
    let mut buf = Vec::with_capacity(24 + n.idx.len() * 12);
    buf.extend_from_slice(NEIGHBOURS_MAGIC);
    buf.extend_from_slice(&(n.len() as u64).to_le_bytes());
    buf.extend_from_slice(&(n.k as u64).to_le_bytes());
    for (&i, &s) in n.idx.iter().zip(&n.sim) {
        buf.extend_from_slice(&(i as u64).to_le_bytes());
        buf.extend_from_slice(&s.to_le_bytes());
    }
    let mut f = AtomicFile::create(path)?;
    f.write_all(&buf).map_err(|e| io_out(path, e))?;
    f.commit()?;
    Ok(())
}

fn read_neighbours(path: &Path) -> Result<Neighbours> {
    let b = std::fs::read(path)
        .map_err(|e| Error::input(path.display(), format!("cannot read: {e}")))?;
    let bad = || Error::input(path.display(), "not a neighbour-list file of this version");
    if b.len() < 24 || &b[..8] != NEIGHBOURS_MAGIC {
        return Err(bad());
    }
    let word = |a: usize| u64::from_le_bytes(b[a..a + 8].try_into().expect("8 bytes")) as usize;
    let (n, k) = (word(8), word(16));
    if b.len() != 24 + n * k * 12 {
        return Err(bad());
    }
    let (mut idx, mut sim) = (Vec::with_capacity(n * k), Vec::with_capacity(n * k));
    for e in b[24..].chunks_exact(12) {
        idx.push(u64::from_le_bytes(e[..8].try_into().expect("8 bytes")) as usize);
        sim.push(f32::from_le_bytes(e[8..].try_into().expect("4 bytes")));
    }
    Ok(Neighbours { k, idx, sim })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_cover_every_row_once() {
        for (n, k) in [(0, 3), (1, 3), (10, 3), (20_000, 7), (5, 5)] {
            let r: Vec<Range<usize>> = (0..k).map(|i| range(n, k, i)).collect();
            assert_eq!(r[0].start, 0);
            assert_eq!(r[k - 1].end, n);
            assert!(r.windows(2).all(|w| w[0].end == w[1].start));
            assert!(r.iter().all(|x| x.len() == n / k || x.len() == n / k + 1));
        }
    }

    #[test]
    fn shard_specs() {
        assert_eq!(parse_shard("2", 4).unwrap(), [2]);
        assert_eq!(parse_shard("2/4", 4).unwrap(), [2]);
        assert_eq!(parse_shard("all", 3).unwrap(), [0, 1, 2]);
        assert!(parse_shard("4", 4)
            .unwrap_err()
            .to_string()
            .contains("does not exist"));
        assert!(parse_shard("1/3", 4)
            .unwrap_err()
            .to_string()
            .contains("4 shards"));
        assert!(parse_shard("env:BITALIGN_TEST_UNSET_VAR", 4)
            .unwrap_err()
            .to_string()
            .contains("not set"));
    }

    #[test]
    fn hits_round_trip_and_a_torn_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("h.bin");
        let hits = vec![
            Some(Hit {
                idx: 7,
                score: 1.25,
                cos: 0.5,
            }),
            None,
            Some(Hit {
                idx: 0,
                score: -0.0,
                cos: 0.75,
            }),
        ];
        write_hits(&p, &hits).unwrap();
        assert_eq!(read_hits(&p).unwrap(), hits);
        let mut b = std::fs::read(&p).unwrap();
        b.pop();
        std::fs::write(&p, &b).unwrap();
        assert!(read_hits(&p).is_err());
    }

    #[test]
    fn a_marker_fails_when_a_file_changes() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a"), b"hello").unwrap();
        Marker::write(dir.path(), "m.done", "embed", 0, &["a".into()]).unwrap();
        assert!(Marker::valid(dir.path(), "m.done", true).is_some());
        std::fs::write(dir.path().join("a"), b"hellp").unwrap();
        assert!(
            Marker::valid(dir.path(), "m.done", false).is_some(),
            "same size"
        );
        assert!(Marker::valid(dir.path(), "m.done", true).is_none());
        std::fs::remove_file(dir.path().join("a")).unwrap();
        assert!(Marker::valid(dir.path(), "m.done", false).is_none());
    }
}
