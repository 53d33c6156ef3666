//! Turning sentences into vectors: identical texts embedded once, batches of similar
//! length. Our encoder packs a batch without padding (each sentence attends only to
//! itself); candle's fallback pads on the right with a mask. Either way a sentence's
//! vector does not depend on its batch-mates, the batch size or the thread count.

mod cache;
mod matrix;

pub use cache::DiskCache;
pub use matrix::Embeddings;

use anyhow::{anyhow, Result};
use rayon::prelude::*;
use serde::Serialize;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use crate::model::{Engine, Model, ModelSource, Quantize};
use crate::observe::{Observer, Unit};

/// Sentences per batch unless the options say otherwise.
pub const DEFAULT_BATCH: usize = 32;

/// How to load and run an embedding model. `Default` is the library's choice.
#[derive(Clone, Debug)]
pub struct EmbedOptions {
    /// Hub revision (branch, tag or commit) when the source is a repo id.
    pub revision: String,
    /// Read the Hugging Face cache only (also when `HF_HUB_OFFLINE` is set).
    pub offline: bool,
    /// Text put before every sentence; `None` takes the model's (`passage: ` for e5).
    pub prefix: Option<String>,
    /// Sentences per batch (batches group sentences of similar length).
    pub batch: usize,
    /// Matrix products in int8.
    pub quantize: Quantize,
    /// Which encoder implementation runs the model.
    pub engine: Engine,
    /// Worker threads for this embedder (`None`: the caller's rayon pool).
    pub threads: Option<usize>,
    /// Where [`Embedder::embed_documents`] keeps embeddings between runs (`None`: nowhere).
    pub cache_dir: Option<std::path::PathBuf>,
}

impl Default for EmbedOptions {
    fn default() -> Self {
        Self {
            revision: "main".into(),
            offline: false,
            prefix: None,
            batch: DEFAULT_BATCH,
            quantize: Quantize::None,
            engine: Engine::default(),
            threads: None,
            cache_dir: None,
        }
    }
}

/// What one `embed` call did, for summaries and `run.json`.
#[derive(Clone, Debug, Default, Serialize)]
pub struct EmbedStats {
    pub sentences: usize,
    /// Distinct texts actually run through the model.
    pub unique: usize,
    /// Real tokens (special tokens and prefix included).
    pub tokens: usize,
    /// Tokens including padding, as computed.
    pub padded_tokens: usize,
    /// Texts longer than the model's limit, cut to it.
    pub truncated: usize,
    pub seconds: f64,
    /// Sentences read from the on-disk cache instead of embedded.
    pub cached: usize,
}

impl EmbedStats {
    pub fn sentences_per_second(&self) -> f64 {
        self.sentences as f64 / self.seconds.max(1e-9)
    }
}

/// A model plus the way documents are fed to it.
pub struct Embedder {
    model: Model,
    prefix: String,
    batch: usize,
    pool: Option<rayon::ThreadPool>,
    cache: Option<DiskCache>,
    /// Seconds spent loading the model (0 when built from a loaded one).
    pub load_seconds: f64,
}

impl Embedder {
    /// `prefix`: `None` takes the model's default (e.g. `passage: ` for e5).
    pub fn new(model: Model, prefix: Option<String>, batch: usize) -> Result<Self> {
        if batch == 0 {
            return Err(crate::error::Error::config("batch", "must be at least 1").into());
        }
        let prefix = prefix.unwrap_or_else(|| model.default_prefix.clone());
        Ok(Self {
            model,
            prefix,
            batch,
            pool: None,
            cache: None,
            load_seconds: 0.0,
        })
    }

    /// Loads a model from a Hugging Face repo id or a local directory (downloading it on
    /// first use unless offline) and wraps it for embedding.
    pub fn load(
        source: &str,
        opts: &EmbedOptions,
        obs: &dyn Observer,
    ) -> crate::error::Result<Self> {
        use crate::error::Error;
        if opts.batch == 0 {
            return Err(Error::config("batch", "must be at least 1"));
        }
        if opts.threads == Some(0) {
            return Err(Error::config("threads", "must be at least 1"));
        }
        let start = Instant::now();
        let src = ModelSource {
            model: source.to_string(),
            revision: opts.revision.clone(),
            offline: ModelSource::offline_requested(opts.offline),
        };
        let model =
            Model::load_with(&src, opts.engine, opts.quantize, obs).map_err(
                |e| match Error::from(e) {
                    Error::Other(e) => Error::Model {
                        message: format!("{e:#}"),
                    },
                    typed => typed,
                },
            )?;
        let mut e = Self::new(model, opts.prefix.clone(), opts.batch)?;
        if let Some(n) = opts.threads {
            e.pool = Some(
                rayon::ThreadPoolBuilder::new()
                    .num_threads(n)
                    .build()
                    .map_err(|err| Error::config("threads", format!("cannot start {n}: {err}")))?,
            );
        }
        e.cache = opts.cache_dir.clone().map(DiskCache::new);
        e.load_seconds = start.elapsed().as_secs_f64();
        Ok(e)
    }

    /// Keeps [`Embedder::embed_documents`]'s results in `cache` between runs.
    pub fn with_cache(mut self, cache: Option<DiskCache>) -> Self {
        self.cache = cache;
        self
    }

    pub fn cache(&self) -> Option<&DiskCache> {
        self.cache.as_ref()
    }

    /// Embeds documents given as their sentences: rows of every document, in order. With a
    /// disk cache, a document embedded before (same model, prefix and sentences) is read
    /// back, the others are embedded together and stored; a cache that cannot be written
    /// is noted and the run goes on.
    pub fn embed_documents(
        &self,
        docs: &[Vec<&str>],
        obs: &dyn Observer,
    ) -> Result<(Embeddings, EmbedStats)> {
        let Some(cache) = &self.cache else {
            return self.embed_with_stats(&docs.concat(), obs);
        };
        let dim = self.dim();
        let keys: Vec<String> = docs
            .iter()
            .map(|d| DiskCache::key(&self.model.fingerprint, &self.prefix, d))
            .collect();
        let mut found: Vec<Option<Embeddings>> = docs
            .iter()
            .zip(&keys)
            .map(|(d, k)| match d.is_empty() {
                true => Embeddings::new(dim, Vec::new()).ok(),
                false => cache.get(k, d.len(), dim),
            })
            .collect();
        let missing: Vec<usize> = (0..docs.len()).filter(|&i| found[i].is_none()).collect();
        let texts: Vec<&str> = missing
            .iter()
            .flat_map(|&i| docs[i].iter().copied())
            .collect();
        let (fresh, mut stats) = self.embed_with_stats(&texts, obs)?;
        let mut at = 0;
        let mut unwritable = None;
        for &i in &missing {
            let e = fresh.select(&(at..at + docs[i].len()).collect::<Vec<_>>());
            at += docs[i].len();
            if unwritable.is_none() {
                unwritable = cache.put(&keys[i], &e).err();
            }
            found[i] = Some(e);
        }
        if let Some(err) = unwritable {
            obs.note(&format!(
                "warning: cannot write the embedding cache in {} ({err}); going on without it",
                cache.dir().display()
            ));
        }
        stats.sentences = docs.iter().map(Vec::len).sum();
        stats.cached = stats.sentences - texts.len();
        if stats.cached > 0 {
            obs.note(&format!(
                "{} of {} documents ({} sentences) read from the embedding cache in {}",
                docs.len() - missing.len(),
                docs.len(),
                stats.cached,
                cache.dir().display()
            ));
        }
        let data: Vec<f32> = found
            .into_iter()
            .flat_map(|e| e.unwrap().into_vec())
            .collect();
        Ok((Embeddings::new(dim, data)?, stats))
    }

    pub fn model(&self) -> &Model {
        &self.model
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    pub fn dim(&self) -> usize {
        self.model.dim()
    }

    /// Embeds `texts` (rows in the same order). Truncation is reported as a note.
    pub fn embed<S: AsRef<str> + Sync>(
        &self,
        texts: &[S],
        obs: &dyn Observer,
    ) -> Result<Embeddings> {
        let (e, stats) = self.embed_with_stats(texts, obs)?;
        if stats.truncated > 0 {
            obs.note(&format!(
                "note: {} of {} texts were longer than {} tokens and were truncated",
                stats.truncated, stats.unique, self.model.max_len
            ));
        }
        Ok(e)
    }

    pub fn embed_with_stats<S: AsRef<str> + Sync>(
        &self,
        texts: &[S],
        obs: &dyn Observer,
    ) -> Result<(Embeddings, EmbedStats)> {
        match &self.pool {
            Some(pool) => pool.install(|| self.embed_here(texts, obs)),
            None => self.embed_here(texts, obs),
        }
    }

    fn embed_here<S: AsRef<str> + Sync>(
        &self,
        texts: &[S],
        obs: &dyn Observer,
    ) -> Result<(Embeddings, EmbedStats)> {
        let start = Instant::now();
        let mut first_of: HashMap<&str, usize> = HashMap::new();
        let mut unique: Vec<&str> = Vec::new();
        let slot: Vec<usize> = texts
            .iter()
            .map(|t| {
                *first_of.entry(t.as_ref()).or_insert_with(|| {
                    unique.push(t.as_ref());
                    unique.len() - 1
                })
            })
            .collect();
        let encodings = self.tokenize(&unique)?;
        let mut stats = EmbedStats {
            sentences: texts.len(),
            unique: unique.len(),
            tokens: encodings.iter().map(|e| e.ids.len()).sum(),
            truncated: encodings.iter().filter(|e| e.truncated).count(),
            ..Default::default()
        };

        // Longest first: the slowest batches start early and the bar's rate is honest.
        let mut order: Vec<usize> = (0..unique.len()).collect();
        order.sort_by_key(|&i| (std::cmp::Reverse(encodings[i].ids.len()), i));
        let batches: Vec<&[usize]> = order.chunks(self.batch).collect();
        let backend = self.model.backend();
        stats.padded_tokens = batches
            .iter()
            .map(|b| {
                let lens: Vec<usize> = b.iter().map(|&i| encodings[i].ids.len()).collect();
                backend.computed_tokens(&lens)
            })
            .sum();

        let bar = obs.stage("embedding", Some(unique.len() as u64), Unit::Items);
        let dim = self.dim();
        let one = |b: &&[usize]| {
            let seqs: Vec<&[u32]> = b.iter().map(|&i| encodings[i].ids.as_slice()).collect();
            let out = backend.embed_batch(&seqs);
            bar.advance(b.len() as u64);
            out
        };
        // Our encoder runs each batch on one thread: batches go in parallel. candle's runs
        // its ops on all threads: batches go one after the other inside its pool (measured
        // on 2 cores, 600 Tatoeba sentences: 2280-2500 tokens/s against 2010-2090 with
        // rayon over batches).
        let results: Vec<Result<Vec<f32>>> = if backend.parallel_batches() {
            batches.par_iter().map(one).collect()
        } else {
            self.model
                .device
                .with_context(|| batches.iter().map(one).collect())
        };
        drop(bar);

        let mut data = vec![0f32; unique.len() * dim];
        for (b, r) in batches.iter().zip(results) {
            let flat = r?;
            for (k, &i) in b.iter().enumerate() {
                data[i * dim..(i + 1) * dim].copy_from_slice(&flat[k * dim..(k + 1) * dim]);
            }
        }
        let unique_emb = Embeddings::new(dim, data)?;
        stats.seconds = start.elapsed().as_secs_f64();
        Ok((unique_emb.select(&slot), stats))
    }

    fn tokenize(&self, texts: &[&str]) -> Result<Vec<Encoded>> {
        let inputs: Vec<String> = texts
            .iter()
            .map(|t| format!("{}{t}", self.prefix))
            .collect();
        let encs = self
            .model
            .tokenizer
            .encode_batch(inputs, true)
            .map_err(|e| anyhow!("tokenizer failed: {e}"))?;
        Ok(encs
            .into_iter()
            .map(|e| Encoded {
                truncated: !e.get_overflowing().is_empty(),
                ids: e.get_ids().to_vec(),
            })
            .collect())
    }

    /// Token counts of `texts` with the prefix (special tokens included).
    pub fn token_lengths<S: AsRef<str>>(&self, texts: &[S]) -> Result<Vec<usize>> {
        let t: Vec<&str> = texts.iter().map(|t| t.as_ref()).collect();
        Ok(self.tokenize(&t)?.iter().map(|e| e.ids.len()).collect())
    }
}

/// An embedder with a memory of the texts it has embedded: a text asked for again is not
/// run through the model again. A sentence's vector does not depend on its batch-mates, so
/// the cache changes no number; it saves the work when documents share overlaps (aligning
/// one document against several translations).
pub struct CachedEmbedder<'a> {
    embedder: &'a Embedder,
    rows: Mutex<HashMap<String, Vec<f32>>>,
    seconds: Mutex<f64>,
}

impl<'a> CachedEmbedder<'a> {
    pub fn new(embedder: &'a Embedder) -> Self {
        Self {
            embedder,
            rows: Mutex::new(HashMap::new()),
            seconds: Mutex::new(0.0),
        }
    }

    pub fn embedder(&self) -> &Embedder {
        self.embedder
    }

    /// Rows for `texts`, in order; only texts not seen before reach the model.
    pub fn embed<S: AsRef<str>>(&self, texts: &[S], obs: &dyn Observer) -> Result<Embeddings> {
        let mut rows = self.rows.lock().unwrap_or_else(|e| e.into_inner());
        let mut missing: Vec<&str> = texts
            .iter()
            .map(|t| t.as_ref())
            .filter(|t| !rows.contains_key(*t))
            .collect();
        missing.sort_unstable();
        missing.dedup();
        if !missing.is_empty() {
            let start = Instant::now();
            let m = self.embedder.embed(&missing, obs)?;
            for (t, row) in missing.iter().zip(m.rows()) {
                rows.insert(t.to_string(), row.to_vec());
            }
            *self.seconds.lock().unwrap_or_else(|e| e.into_inner()) +=
                start.elapsed().as_secs_f64();
        }
        let out: Vec<&[f32]> = texts.iter().map(|t| rows[t.as_ref()].as_slice()).collect();
        Embeddings::from_rows(self.embedder.dim(), &out)
    }

    /// Distinct texts embedded so far.
    pub fn len(&self) -> usize {
        self.rows.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Seconds spent in the model so far.
    pub fn seconds(&self) -> f64 {
        *self.seconds.lock().unwrap_or_else(|e| e.into_inner())
    }
}

struct Encoded {
    ids: Vec<u32>,
    truncated: bool,
}

/// Precomputed sentence embeddings, one `.npy` per document in the same order (e.g. from
/// `bitalign embed`), as one matrix: documents then sentences, as [`Embedder::embed`] of
/// all sentences would give.
pub fn read_embeddings(
    files: &[std::path::PathBuf],
    width: Option<usize>,
    docs: &[crate::document::Document],
) -> crate::error::Result<Embeddings> {
    use crate::error::Error;
    if files.len() != docs.len() {
        return Err(Error::config(
            "embeddings",
            format!(
                "{} files for {} inputs; give one file per input, in the same order",
                files.len(),
                docs.len()
            ),
        ));
    }
    let mut dim = 0;
    let mut data = Vec::new();
    for (f, doc) in files.iter().zip(docs) {
        let e = Embeddings::read(f, width).map_err(|e| {
            let name = f.display().to_string();
            let msg = format!("{e:#}");
            let msg = msg.strip_prefix(&format!("{name}: ")).unwrap_or(&msg);
            Error::input(&name, msg)
        })?;
        if e.len() != doc.sentences.len() {
            return Err(Error::input(
                f.display(),
                format!(
                    "{} rows, but {} has {} sentences",
                    e.len(),
                    doc.name,
                    doc.sentences.len()
                ),
            ));
        }
        if dim != 0 && e.dim() != dim {
            return Err(Error::input(
                f.display(),
                format!("width {} differs from the other files' {dim}", e.dim()),
            ));
        }
        dim = e.dim();
        data.extend(e.into_vec());
    }
    Ok(Embeddings::new(dim.max(1), data)?)
}
