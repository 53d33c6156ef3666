//! Turning sentences into vectors: identical texts embedded once, batches of similar
//! length. Our encoder packs a batch without padding (each sentence attends only to
//! itself); candle's fallback pads on the right with a mask. Either way a sentence's
//! vector does not depend on its batch-mates, the batch size or the thread count.

mod cache;
mod matrix;
pub mod sink;

pub use cache::DiskCache;
pub use matrix::Embeddings;
use sink::RowSink;

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
    /// is noted and the run goes on. Rows are written as they are computed, to a
    /// memory-mapped file past [`sink::spill_bytes`], so memory does not grow with them.
    pub fn embed_documents(
        &self,
        docs: &[Vec<&str>],
        obs: &dyn Observer,
    ) -> Result<(Embeddings, EmbedStats)> {
        match &self.pool {
            Some(pool) => pool.install(|| self.embed_documents_here(docs, obs)),
            None => self.embed_documents_here(docs, obs),
        }
    }

    fn embed_documents_here(
        &self,
        docs: &[Vec<&str>],
        obs: &dyn Observer,
    ) -> Result<(Embeddings, EmbedStats)> {
        let Some(cache) = &self.cache else {
            return self.embed_here(&docs.concat(), obs);
        };
        let dim = self.dim();
        let keys: Vec<String> = docs
            .iter()
            .map(|d| DiskCache::key(&self.model.fingerprint, &self.prefix, d))
            .collect();
        // Only whether each is there: holding every hit open would keep a map per document.
        let hit: Vec<bool> = docs
            .iter()
            .zip(&keys)
            .map(|(d, k)| d.is_empty() || cache.get(k, d.len(), dim).is_some())
            .collect();
        let missing = hit.iter().filter(|h| !**h).count();
        let texts: Vec<&str> = docs
            .iter()
            .zip(&hit)
            .filter(|(_, h)| !**h)
            .flat_map(|(d, _)| d.iter().copied())
            .collect();
        let total: usize = docs.iter().map(Vec::len).sum();
        let mut sink = RowSink::new(dim, total)?;
        let mut stream = Stream::new(self, &texts, obs)?;
        let mut unwritable = None;
        let mut row = vec![0f32; dim];
        for ((doc, key), &hit) in docs.iter().zip(&keys).zip(&hit) {
            if doc.is_empty() {
                continue;
            }
            if hit {
                let e = cache.get(key, doc.len(), dim).ok_or_else(|| {
                    anyhow!(
                        "{}: a cached embedding file went away during the run",
                        cache.dir().display()
                    )
                })?;
                for r in e.rows() {
                    sink.push(r)?;
                }
                continue;
            }
            let at = sink.len();
            stream.emit(doc.len(), &mut sink)?;
            if unwritable.is_none() {
                unwritable = cache
                    .put_with(key, |w| {
                        matrix::write_npy_header(w, doc.len(), dim)?;
                        for i in at..at + doc.len() {
                            sink.read_row(i, &mut row).map_err(std::io::Error::other)?;
                            for v in &row {
                                w.write_all(&v.to_le_bytes())?;
                            }
                        }
                        Ok(())
                    })
                    .err();
            }
        }
        let mut stats = stream.finish();
        if let Some(err) = unwritable {
            obs.note(&format!(
                "warning: cannot write the embedding cache in {} ({err}); going on without it",
                cache.dir().display()
            ));
        }
        stats.sentences = total;
        stats.cached = total - texts.len();
        if stats.cached > 0 {
            obs.note(&format!(
                "{} of {} documents ({} sentences) read from the embedding cache in {}",
                docs.len() - missing,
                docs.len(),
                stats.cached,
                cache.dir().display()
            ));
        }
        Ok((sink.finish()?, stats))
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
        self.note_truncated(&stats, obs);
        Ok(e)
    }

    /// [`Embedder::embed`] through the disk cache when there is one, `texts` being one
    /// document (what Python's `Model.embed` does).
    pub fn embed_cached(&self, texts: &[&str], obs: &dyn Observer) -> Result<Embeddings> {
        let (e, stats) = self.embed_documents(&[texts.to_vec()], obs)?;
        self.note_truncated(&stats, obs);
        Ok(e)
    }

    fn note_truncated(&self, stats: &EmbedStats, obs: &dyn Observer) {
        if stats.truncated > 0 {
            obs.note(&format!(
                "note: {} of {} texts were longer than {} tokens and were truncated",
                stats.truncated, stats.unique, self.model.max_len
            ));
        }
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
        let texts: Vec<&str> = texts.iter().map(|t| t.as_ref()).collect();
        let mut sink = RowSink::new(self.dim(), texts.len())?;
        let mut stream = Stream::new(self, &texts, obs)?;
        stream.emit(texts.len(), &mut sink)?;
        let stats = stream.finish();
        Ok((sink.finish()?, stats))
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

/// Distinct texts tokenized and embedded at a time: bounds the tokens and vectors held
/// in memory whatever the input's size (a larger chunk only sorts batches by length
/// over more texts). `BITALIGN_EMBED_CHUNK` overrides it (no number changes).
pub const CHUNK: usize = 16_384;

fn chunk_size() -> usize {
    std::env::var("BITALIGN_EMBED_CHUNK")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or(CHUNK)
}

/// Texts turned into rows in order, written to a [`RowSink`] as they come: identical texts
/// are embedded once (later ones copy the first one's row), distinct texts [`CHUNK`] at
/// a time, longest first within a chunk.
struct Stream<'a> {
    embedder: &'a Embedder,
    /// Distinct texts in order of first appearance.
    unique: Vec<&'a str>,
    /// The distinct text of every text.
    slot: Vec<u32>,
    /// The sink row of each distinct text once written (`usize::MAX` before).
    row_of: Vec<usize>,
    /// Vectors of distinct texts `chunk_at..chunk_at + chunk.len() / dim`.
    chunk: Vec<f32>,
    chunk_at: usize,
    chunk_size: usize,
    next: usize,
    stats: EmbedStats,
    start: Instant,
    bar: Box<dyn crate::observe::Stage + 'a>,
}

impl<'a> Stream<'a> {
    fn new(embedder: &'a Embedder, texts: &[&'a str], obs: &'a dyn Observer) -> Result<Self> {
        let start = Instant::now();
        let mut first_of: HashMap<&str, u32> = HashMap::new();
        let mut unique: Vec<&str> = Vec::new();
        let mut slot = Vec::with_capacity(texts.len());
        for &t in texts {
            let next = u32::try_from(unique.len()).map_err(|_| anyhow!("over 2^32 texts"))?;
            slot.push(*first_of.entry(t).or_insert_with(|| {
                unique.push(t);
                next
            }));
        }
        drop(first_of);
        let bar = obs.stage("embedding", Some(unique.len() as u64), Unit::Items);
        Ok(Self {
            embedder,
            row_of: vec![usize::MAX; unique.len()],
            stats: EmbedStats {
                sentences: texts.len(),
                unique: unique.len(),
                ..Default::default()
            },
            unique,
            slot,
            chunk: Vec::new(),
            chunk_at: 0,
            chunk_size: chunk_size(),
            next: 0,
            start,
            bar,
        })
    }

    /// Writes the rows of the next `n` texts to `sink`.
    fn emit(&mut self, n: usize, sink: &mut RowSink) -> Result<()> {
        let dim = self.embedder.dim();
        let mut row = vec![0f32; dim];
        for t in self.next..self.next + n {
            let u = self.slot[t] as usize;
            if self.row_of[u] != usize::MAX {
                sink.read_row(self.row_of[u], &mut row)?;
                sink.push(&row)?;
                continue;
            }
            if u >= self.chunk_at + self.chunk.len() / dim {
                // First appearances come in order: u opens the next chunk.
                self.embed_chunk(u)?;
            }
            let k = u - self.chunk_at;
            self.row_of[u] = sink.len();
            sink.push(&self.chunk[k * dim..(k + 1) * dim])?;
        }
        self.next += n;
        Ok(())
    }

    /// Embeds distinct texts `from..from + chunk_size` into `self.chunk`.
    fn embed_chunk(&mut self, from: usize) -> Result<()> {
        let e = self.embedder;
        let texts = &self.unique[from..(from + self.chunk_size).min(self.unique.len())];
        let encodings = e.tokenize(texts)?;
        self.stats.tokens += encodings.iter().map(|e| e.ids.len()).sum::<usize>();
        self.stats.truncated += encodings.iter().filter(|e| e.truncated).count();

        // Longest first: the slowest batches start early and the bar's rate is honest.
        let mut order: Vec<usize> = (0..texts.len()).collect();
        order.sort_by_key(|&i| (std::cmp::Reverse(encodings[i].ids.len()), i));
        let batches: Vec<&[usize]> = order.chunks(e.batch).collect();
        let backend = e.model.backend();
        self.stats.padded_tokens += batches
            .iter()
            .map(|b| {
                let lens: Vec<usize> = b.iter().map(|&i| encodings[i].ids.len()).collect();
                backend.computed_tokens(&lens)
            })
            .sum::<usize>();
        let bar = &self.bar;
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
            e.model
                .device
                .with_context(|| batches.iter().map(one).collect())
        };
        let dim = e.dim();
        self.chunk.clear();
        self.chunk.resize(texts.len() * dim, 0.0);
        for (b, r) in batches.iter().zip(results) {
            let flat = r?;
            for (k, &i) in b.iter().enumerate() {
                self.chunk[i * dim..(i + 1) * dim].copy_from_slice(&flat[k * dim..(k + 1) * dim]);
            }
        }
        self.chunk_at = from;
        Ok(())
    }

    fn finish(self) -> EmbedStats {
        let mut stats = self.stats;
        stats.seconds = self.start.elapsed().as_secs_f64();
        stats
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
    let mut parts = read_embedding_parts(files, width, docs)?;
    if parts.len() == 1 {
        // Kept as read: memory-mapped when the file allows it.
        return Ok(parts.pop().expect("one part"));
    }
    Ok(concat(&parts)?)
}

/// The rows of `parts` one after the other (on disk past [`sink::spill_bytes`]).
pub fn concat(parts: &[Embeddings]) -> Result<Embeddings> {
    let dim = parts.first().map_or(1, Embeddings::dim);
    let mut sink = RowSink::new(dim, parts.iter().map(Embeddings::len).sum())?;
    for r in parts.iter().flat_map(Embeddings::rows) {
        sink.push(r)?;
    }
    sink.finish()
}

/// [`read_embeddings`] a file at a time: each document's rows as read (memory-mapped when
/// the file allows it), checked against its sentences and the other files' width.
pub fn read_embedding_parts(
    files: &[std::path::PathBuf],
    width: Option<usize>,
    docs: &[crate::document::Document],
) -> crate::error::Result<Vec<Embeddings>> {
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
    let mut parts = Vec::with_capacity(files.len());
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
        if let Some(first) = parts.first().map(Embeddings::dim) {
            if e.dim() != first {
                return Err(Error::input(
                    f.display(),
                    format!("width {} differs from the other files' {first}", e.dim()),
                ));
            }
        }
        parts.push(e);
    }
    Ok(parts)
}
