//! The native half of the `bitalign` Python package: thin calls into the bitalign library.
//!
//! Each function converts its arguments, releases the GIL around the library call and turns
//! errors into the package's exceptions (classes defined in `bitalign/errors.py`, so that
//! they can also subclass `ValueError`/`OSError`). Python-facing conveniences (NumPy
//! arrays, dataclasses, docstrings, argument checks) live in `bitalign/__init__.py`.
//!
//! Written against the library as it is before issue 9's entry points
//! (`mine_documents`, `align_documents`, `Document::from_text`, `Observer`, typed
//! errors): the few steps those will do are done here, each in one small function
//! (`documents`, `mine_docs`, `align_docs`, `link_records`), so that re-pointing them is a
//! matter of replacing those bodies.

use std::sync::Arc;

use bitalign::align::{align_sentences, AlignParams, Link};
use bitalign::corpus::{Record, Side};
use bitalign::embed::Embedder;
use bitalign::mine::pool;
use bitalign::mine::{Filter, Filters, Mode, Params};
use bitalign::model::{Engine, Model as CoreModel, ModelSource, Quantize};
use bitalign::progress::Progress;
use bitalign::score::Score;
use bitalign::segment::{Document, Sentence};
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyDict};

/// An exception of `bitalign.errors` by class name, with a one-line message.
fn raise(py: Python<'_>, class: &str, msg: impl Into<String>) -> PyErr {
    let msg = msg.into();
    let made = py
        .import("bitalign.errors")
        .and_then(|m| m.getattr(class))
        .and_then(|c| c.call1((msg,)));
    match made {
        Ok(e) => PyErr::from_value(e),
        Err(e) => e,
    }
}

/// An error of one kind, with the message the CLI prints after `error: `.
fn to_py(py: Python<'_>, class: &str, e: anyhow::Error) -> PyErr {
    raise(py, class, format!("{e:#}"))
}

fn config(py: Python<'_>, what: &str, msg: impl std::fmt::Display) -> PyErr {
    raise(py, "ConfigError", format!("{what}: {msg}"))
}

/// The library reports through `Progress` (stderr), which the package keeps quiet; the
/// optional Python callback hears where each stage starts and ends.
fn quiet() -> Progress {
    Progress::new(true)
}

/// `progress(stage, done, total)` if a callback was given.
fn report(
    py: Python<'_>,
    cb: &Option<Py<PyAny>>,
    what: &str,
    done: usize,
    total: usize,
) -> PyResult<()> {
    match cb {
        Some(cb) => cb.call1(py, (what, done, total)).map(|_| ()),
        None => Ok(()),
    }
}

/// A loaded model with the way sentences are fed to it (prefix, batch size, threads).
#[pyclass(frozen, module = "bitalign._native")]
struct Model {
    embedder: Arc<Embedder>,
    /// Worker threads of this model, when not all cores.
    pool: Option<Arc<rayon::ThreadPool>>,
}

impl Model {
    /// Runs `f` on this model's threads.
    fn install<T: Send>(&self, f: impl FnOnce() -> T + Send) -> T {
        match &self.pool {
            Some(p) => p.install(f),
            None => f(),
        }
    }

    /// Embeds texts, reporting the stage to `cb` (GIL released in between).
    fn embed_texts<S: AsRef<str> + Sync>(
        &self,
        py: Python<'_>,
        texts: &[S],
        cb: &Option<Py<PyAny>>,
    ) -> PyResult<bitalign::embed::Embeddings> {
        report(py, cb, "embedding", 0, texts.len())?;
        let e = py.detach(|| self.install(|| self.embedder.embed(texts, &quiet())));
        let e = e.map_err(|e| to_py(py, "Error", e))?;
        report(py, cb, "embedding", texts.len(), texts.len())?;
        Ok(e)
    }
}

#[pymethods]
impl Model {
    #[new]
    #[pyo3(signature = (model, *, revision=None, offline=false, prefix=None, quantize=None, batch=bitalign::embed::DEFAULT_BATCH, threads=None, progress=None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        model: String,
        revision: Option<String>,
        offline: bool,
        prefix: Option<String>,
        quantize: Option<String>,
        batch: usize,
        threads: Option<usize>,
        progress: Option<Py<PyAny>>,
    ) -> PyResult<Self> {
        let quantize = match quantize.as_deref() {
            None | Some("none") => Quantize::None,
            Some("q8") => Quantize::Q8,
            Some(q) => {
                return Err(config(
                    py,
                    "quantize",
                    format!("'{q}' is not one of None, 'q8'"),
                ))
            }
        };
        if batch == 0 {
            return Err(config(py, "batch", "must be at least 1"));
        }
        let pool = match threads {
            None => None,
            Some(0) => return Err(config(py, "threads", "must be at least 1")),
            Some(n) => Some(Arc::new(
                rayon::ThreadPoolBuilder::new()
                    .num_threads(n)
                    .build()
                    .map_err(|e| config(py, "threads", format!("cannot start {n}: {e}")))?,
            )),
        };
        let src = ModelSource {
            model,
            revision: revision.unwrap_or_else(|| "main".into()),
            offline: ModelSource::offline_requested(offline),
        };
        report(py, &progress, "loading model", 0, 1)?;
        let loaded = py.detach(|| {
            let m = CoreModel::load_with(&src, Engine::default(), quantize, &quiet())?;
            Embedder::new(m, prefix, batch)
        });
        let embedder = loaded.map_err(|e| to_py(py, "ModelError", e))?;
        report(py, &progress, "loading model", 1, 1)?;
        Ok(Self {
            embedder: Arc::new(embedder),
            pool,
        })
    }

    /// Embeds `texts`; returns `(bytearray of float32 rows, rows, dim)`.
    #[pyo3(signature = (texts, progress=None))]
    fn embed_raw<'py>(
        &self,
        py: Python<'py>,
        texts: Vec<String>,
        progress: Option<Py<PyAny>>,
    ) -> PyResult<(Bound<'py, PyByteArray>, usize, usize)> {
        let dim = self.embedder.dim();
        let emb = if texts.is_empty() {
            Vec::new()
        } else {
            self.embed_texts(py, &texts, &progress)?.into_vec()
        };
        let rows = emb.len() / dim;
        let bytes: Vec<u8> = emb.iter().flat_map(|v| v.to_ne_bytes()).collect();
        Ok((PyByteArray::new(py, &bytes), rows, dim))
    }

    /// Facts about the model, as `embed.json` records them.
    fn info<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let m = self.embedder.model();
        let d = PyDict::new(py);
        d.set_item("model", m.id())?;
        d.set_item("model_path", &m.name)?;
        d.set_item("revision", &m.revision)?;
        d.set_item("prefix", self.embedder.prefix())?;
        d.set_item("dim", self.embedder.dim())?;
        d.set_item("pooling", m.pipeline.pooling.to_string())?;
        d.set_item("max_tokens", m.max_len)?;
        Ok(d)
    }
}

/// A language code normalised as the CLI's `--lang` (`None`: unknown, `und`).
fn language(py: Python<'_>, what: &str, code: Option<&str>) -> PyResult<String> {
    match code {
        None => Ok(bitalign::lang::UNDETERMINED.to_string()),
        Some(c) => bitalign::lang::normalize(c.trim()).ok_or_else(|| {
            config(
                py,
                what,
                format!("'{c}' is not a language code (use ISO 639-1 like en, vi, id)"),
            )
        }),
    }
}

/// A document from text in memory, split as the CLI splits a file.
fn from_text(
    name: String,
    text: String,
    lang: String,
    presplit: bool,
    index: usize,
) -> anyhow::Result<(Document, Vec<Sentence>)> {
    let decoded = bitalign::segment::decode(&name, text.into_bytes(), false)?;
    let (sentences, _) = bitalign::segment::split_document(&decoded, index, &lang, presplit);
    anyhow::ensure!(
        !sentences.is_empty(),
        "{name}: no sentences (the document is empty)"
    );
    let doc = Document {
        name,
        lang,
        text: decoded.text,
    };
    Ok((doc, sentences))
}

/// A document already split: each sentence kept as one, the text their lines.
fn from_sentences(
    name: String,
    sentences: Vec<String>,
    lang: String,
    index: usize,
) -> (Document, Vec<Sentence>) {
    let mut text = String::new();
    let mut out = Vec::with_capacity(sentences.len());
    for (i, s) in sentences.into_iter().enumerate() {
        if i > 0 {
            text.push('\n');
        }
        let start = text.len();
        text.push_str(&s);
        out.push(Sentence {
            doc: index,
            index: i,
            span: start..text.len(),
            text: s,
        });
    }
    (Document { name, lang, text }, out)
}

/// Splits `text` into sentences with the rules for `lang`; `(text, start, end)` triples
/// with offsets in characters (code points), so that `text[start:end]` in Python is the
/// sentence.
#[pyfunction]
#[pyo3(signature = (text, lang, *, presplit=false))]
fn split_raw(
    py: Python<'_>,
    text: String,
    lang: &str,
    presplit: bool,
) -> PyResult<Vec<(String, usize, usize)>> {
    let lang = language(py, "lang", Some(lang))?;
    // A blank text has no sentences (a file would be refused as an empty document).
    if text.chars().all(|c| c.is_whitespace() || c == '\u{feff}') {
        return Ok(Vec::new());
    }
    let doc = py.detach(|| from_text("text".into(), text, lang, presplit, 0));
    let (doc, sentences) = doc.map_err(|e| to_py(py, "InputError", e))?;
    let spans: Vec<_> = sentences.iter().map(|s| s.span.clone()).collect();
    Ok(sentences
        .iter()
        .zip(char_offsets(&doc.text, &spans))
        .map(|(s, (start, end))| (s.text.clone(), start, end))
        .collect())
}

/// Byte ranges of `text` (ascending, on char boundaries) as code-point ranges, in one pass.
fn char_offsets(text: &str, spans: &[std::ops::Range<usize>]) -> Vec<(usize, usize)> {
    let (mut byte, mut chars) = (0, 0);
    let mut to_char = |b: usize| {
        chars += text[byte..b].chars().count();
        byte = b;
        chars
    };
    spans
        .iter()
        .map(|r| (to_char(r.start), to_char(r.end)))
        .collect()
}

/// One input document from Python: a text to split, or sentences (`presplit` lists).
#[derive(FromPyObject)]
enum Content {
    Text(String),
    Sentences(Vec<String>),
}

/// Documents from `(name, lang, content)` triples, in order.
fn documents(
    py: Python<'_>,
    inputs: Vec<(String, Option<String>, Content)>,
    presplit: bool,
) -> PyResult<Vec<(Document, Vec<Sentence>)>> {
    let mut docs = Vec::with_capacity(inputs.len());
    for (i, (name, lang, content)) in inputs.into_iter().enumerate() {
        let lang = language(py, &format!("{name}: language"), lang.as_deref())?;
        let doc = match content {
            Content::Text(t) => from_text(name, t, lang, presplit, i),
            Content::Sentences(s) => Ok(from_sentences(name, s, lang, i)),
        };
        docs.push(doc.map_err(|e| to_py(py, "InputError", e))?);
    }
    Ok(docs)
}

/// Records (as JSON lines, exactly the JSONL writer's) in Python.
fn json_records(records: &[Record]) -> Vec<String> {
    records
        .iter()
        .map(|r| serde_json::to_string(r).expect("records serialise"))
        .collect()
}

/// Mines `docs` (`(name, lang, text or sentences)`) with `model`; the kept pairs of every
/// language pair as JSON records, pair after pair, and the multi-way tuples.
#[pyfunction]
#[pyo3(signature = (model, docs, *, presplit=false, k=None, score=None, mode=None, threshold=None, filters=None, max_length_ratio=None, pairs=None, pivot=None, progress=None))]
#[allow(clippy::too_many_arguments)]
fn mine_raw(
    py: Python<'_>,
    model: &Model,
    docs: Vec<(String, Option<String>, Content)>,
    presplit: bool,
    k: Option<usize>,
    score: Option<String>,
    mode: Option<String>,
    threshold: Option<f32>,
    filters: Option<Vec<String>>,
    max_length_ratio: Option<f32>,
    pairs: Option<Vec<String>>,
    pivot: Option<String>,
    progress: Option<Py<PyAny>>,
) -> PyResult<(Vec<String>, Vec<String>)> {
    let mut cfg = MineCfg::default();
    if let Some(k) = k {
        cfg.k = k;
    }
    if let Some(s) = score {
        cfg.score = match s.as_str() {
            "margin" => Score::Margin,
            "cosine" => Score::Cosine,
            "distance" => Score::Distance,
            _ => {
                return Err(config(
                    py,
                    "score",
                    format!("'{s}' is not one of margin, cosine, distance"),
                ))
            }
        };
    }
    if let Some(m) = mode {
        cfg.mode = match m.as_str() {
            "forward" => Mode::Forward,
            "backward" => Mode::Backward,
            "intersect" => Mode::Intersect,
            "max" => Mode::Max,
            _ => {
                return Err(config(
                    py,
                    "mode",
                    format!("'{m}' is not one of forward, backward, intersect, max"),
                ))
            }
        };
    }
    cfg.threshold = threshold;
    if let Some(names) = filters {
        let mut f = Filters::none();
        for n in names {
            match n.as_str() {
                "all" => f.on.extend(Filter::ALL),
                "none" => {}
                _ => match Filter::ALL.into_iter().find(|f| f.name() == n) {
                    Some(one) => {
                        f.on.insert(one);
                    }
                    None => {
                        return Err(config(
                            py,
                            "filters",
                            format!(
                                "'{n}' is not one of length, identical, numbers, lang, all, none"
                            ),
                        ))
                    }
                },
            }
        }
        cfg.filters = f;
    }
    if let Some(r) = max_length_ratio {
        cfg.filters.max_length_ratio = r;
    }
    cfg.pairs = pairs.unwrap_or_default();
    cfg.pivot = pivot;
    cfg.check(py)?;
    let docs = documents(py, docs, presplit)?;
    let (records, tuples) = mine_docs(py, model, &docs, &cfg, &progress)?;
    Ok((json_records(&records), tuples))
}

/// How documents are mined (the CLI's `run` flags, with its defaults).
struct MineCfg {
    k: usize,
    score: Score,
    mode: Mode,
    threshold: Option<f32>,
    filters: Filters,
    pairs: Vec<String>,
    pivot: Option<String>,
}

impl Default for MineCfg {
    fn default() -> Self {
        Self {
            k: bitalign::score::DEFAULT_K,
            score: Score::Margin,
            mode: Mode::Max,
            threshold: None,
            filters: Filters::default(),
            pairs: Vec::new(),
            pivot: None,
        }
    }
}

impl MineCfg {
    fn check(&self, py: Python<'_>) -> PyResult<()> {
        if self.k == 0 {
            return Err(config(py, "k", "must be at least 1"));
        }
        if self.threshold.is_some_and(|t| !t.is_finite()) {
            return Err(config(py, "threshold", "must be a finite number"));
        }
        let r = self.filters.max_length_ratio;
        if r < 1.0 || r.is_nan() {
            return Err(config(py, "max_length_ratio", "must be at least 1"));
        }
        Ok(())
    }

    fn params(&self) -> Params {
        Params {
            k: self.k,
            score: self.score,
            mode: self.mode,
            threshold: self.threshold.unwrap_or(match self.score {
                Score::Margin => bitalign::mine::DEFAULT_THRESHOLD,
                Score::Cosine => bitalign::mine::DEFAULT_COSINE_THRESHOLD,
                Score::Distance => bitalign::mine::DEFAULT_DISTANCE_THRESHOLD,
            }),
        }
    }
}

/// Mines every requested language pair of `docs` as `bitalign run` does: sentences embedded
/// once, pooled per language, each pair mined and filtered; the kept pairs as records, and
/// the multi-way tuples as JSON lines.
fn mine_docs(
    py: Python<'_>,
    model: &Model,
    docs: &[(Document, Vec<Sentence>)],
    cfg: &MineCfg,
    progress: &Option<Py<PyAny>>,
) -> PyResult<(Vec<Record>, Vec<String>)> {
    let mut langs: Vec<&str> = Vec::new();
    for (d, _) in docs {
        if !langs.contains(&d.lang.as_str()) {
            langs.push(&d.lang);
        }
    }
    if langs.len() < 2 {
        let names: Vec<&str> = docs.iter().map(|(d, _)| d.name.as_str()).collect();
        return Err(raise(
            py,
            "InputError",
            format!(
                "{}: all inputs are in `{}`; mining needs documents in at least two languages",
                names.join(", "),
                langs.first().copied().unwrap_or("?")
            ),
        ));
    }
    let pairs = if cfg.pairs.is_empty() {
        pool::all_pairs(langs.len())
    } else {
        pool::parse_pairs(&cfg.pairs, &langs).map_err(|e| to_py(py, "ConfigError", e))?
    };
    let pivot = match &cfg.pivot {
        None => 0,
        Some(l) => langs
            .iter()
            .position(|x| x == l)
            .ok_or_else(|| config(py, &format!("pivot {l}"), "no input is in that language"))?,
    };
    let texts: Vec<&str> = docs
        .iter()
        .flat_map(|(_, s)| s.iter().map(|s| s.text.as_str()))
        .collect();
    let emb = model.embed_texts(py, &texts, progress)?;
    let params = cfg.params();
    let mined = py.detach(|| -> anyhow::Result<_> {
        let pools = pool::pools(docs, &emb)?;
        let results: Vec<_> = pairs
            .iter()
            .map(|&pair| pool::mine_pair(docs, &pools, pair, &params, &cfg.filters, &quiet()))
            .collect();
        let tuples = if pools.len() >= 3 {
            pool::tuples(&pools, &results, pivot)
        } else {
            Vec::new()
        };
        let records: Vec<Record> = results
            .iter()
            .flat_map(|r| r.kept.iter().map(|p| pool::record(docs, &pools, r, p)))
            .collect();
        let tuples = tuples
            .iter()
            .map(|t| {
                let sides: Vec<Side> = t
                    .iter()
                    .enumerate()
                    .filter_map(|(l, r)| r.map(|r| pool::side(docs, &pools[l], r)))
                    .collect();
                serde_json::json!({ "sentences": sides }).to_string()
            })
            .collect();
        Ok((records, tuples))
    });
    mined.map_err(|e| to_py(py, "Error", e))
}

/// Aligns a document with its translation; every link as a JSON record (unaligned
/// sentences as links with an empty side), in order.
#[pyfunction]
#[pyo3(signature = (model, src, tgt, *, presplit=false, max_size=None, max_overlap=None, threshold=None, progress=None))]
#[allow(clippy::too_many_arguments)]
fn align_raw(
    py: Python<'_>,
    model: &Model,
    src: (String, Option<String>, Content),
    tgt: (String, Option<String>, Content),
    presplit: bool,
    max_size: Option<usize>,
    max_overlap: Option<usize>,
    threshold: Option<f32>,
    progress: Option<Py<PyAny>>,
) -> PyResult<Vec<String>> {
    let mut cfg = AlignParams::default();
    if let Some(n) = max_size {
        cfg.max_size = n;
    }
    if let Some(n) = max_overlap {
        cfg.max_overlap = n;
    }
    if let Some(t) = threshold {
        cfg.threshold = t;
    }
    if cfg.max_size < 2 {
        return Err(config(py, "max_size", "must be at least 2"));
    }
    if cfg.max_overlap < 1 {
        return Err(config(py, "max_overlap", "must be at least 1"));
    }
    if !cfg.threshold.is_finite() {
        return Err(config(py, "threshold", "must be a finite number"));
    }
    let docs = documents(py, vec![src, tgt], presplit)?;
    let (s, t) = (&docs[0], &docs[1]);
    let texts = |d: &[Sentence]| d.iter().map(|x| x.text.clone()).collect::<Vec<_>>();
    // The overlaps are embedded inside the aligner; the callback hears the whole call.
    let total = s.1.len() + t.1.len();
    report(py, &progress, "aligning", 0, total)?;
    let links = py.detach(|| {
        model.install(|| {
            align_sentences(
                &texts(&s.1),
                &texts(&t.1),
                |overlaps| model.embedder.embed(overlaps, &quiet()),
                &cfg,
            )
        })
    });
    let links = links.map_err(|e| to_py(py, "Error", e))?;
    report(py, &progress, "aligning", total, total)?;
    Ok(json_records(&link_records(&links, s, t)))
}

/// Links as output records (as `bitalign align --format jsonl` writes them): sentence texts
/// joined by a space, byte spans into the documents, empty sides for unaligned sentences.
fn link_records(
    links: &[Link],
    src: &(Document, Vec<Sentence>),
    tgt: &(Document, Vec<Sentence>),
) -> Vec<Record> {
    let side = |(doc, sents): &(Document, Vec<Sentence>), r: &std::ops::Range<usize>| {
        let s = &sents[r.clone()];
        Side {
            lang: doc.lang.clone(),
            doc: doc.name.clone(),
            indices: r.clone().collect(),
            text: s
                .iter()
                .map(|x| x.text.as_str())
                .collect::<Vec<_>>()
                .join(" "),
            span: s
                .first()
                .zip(s.last())
                .map(|(a, b)| (a.span.start, b.span.end)),
        }
    };
    links
        .iter()
        .map(|l| Record {
            src: side(src, &l.src),
            tgt: side(tgt, &l.tgt),
            cosine: l.cosine,
            margin: None,
            cost: Some(l.cost),
        })
        .collect()
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Model>()?;
    m.add_function(wrap_pyfunction!(split_raw, m)?)?;
    m.add_function(wrap_pyfunction!(mine_raw, m)?)?;
    m.add_function(wrap_pyfunction!(align_raw, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
