//! The native half of the `bitalign` Python package: thin calls into the bitalign library.
//!
//! Each function converts its arguments, releases the GIL around one library entry point
//! and turns the library's typed errors into the package's exceptions (classes defined in
//! `bitalign/errors.py`, so that they can also subclass `ValueError`/`OSError`).
//! Python-facing conveniences (NumPy arrays, dataclasses, docstrings, argument checks)
//! live in `bitalign/__init__.py`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bitalign::align::{align_translated_documents, AlignConfig};
use bitalign::document::{Document, Language};
use bitalign::embed::{DiskCache, EmbedOptions, Embedder};
use bitalign::mine::{mine_documents_translated, Filter, Filters, MineConfig, Mode};
use bitalign::model::{ModelSource, Quantize};
use bitalign::observe::{Observer, Stage, Unit};
use bitalign::score::Score;
use bitalign::translate::{translate_cached, TranslateOptions};
use bitalign::Error;
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyDict};

/// The exception class of `bitalign.errors` for a library error.
fn class_of(e: &Error) -> &'static str {
    match e {
        Error::Input { .. } | Error::EmptyDocument { .. } | Error::UnknownLanguage { .. } => {
            "InputError"
        }
        Error::ModelNotCached { .. } => "ModelNotCachedError",
        Error::HubUnreachable { .. } => "HubUnreachableError",
        Error::Model { .. } => "ModelError",
        Error::Config { .. } => "ConfigError",
        Error::OutputExists { .. } | Error::Output { .. } => "OutputError",
        Error::Other(_) => "Error",
    }
}

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

/// A library error as the package's exception, with the library's message.
fn to_py(py: Python<'_>, e: Error) -> PyErr {
    raise(py, class_of(&e), e.to_string())
}

fn config(py: Python<'_>, what: &str, msg: impl std::fmt::Display) -> PyErr {
    to_py(py, Error::config(what, msg.to_string()))
}

/// Progress and notes from the library, passed on to Python: stages to the optional
/// `progress(stage, done, total)` callback (at most every 100 ms, and once at the end),
/// notes to the `bitalign` logger. An exception in the callback stops nothing but is
/// raised when the call returns.
struct PyObserver {
    callback: Option<Py<PyAny>>,
    failed: Mutex<Option<PyErr>>,
}

impl PyObserver {
    fn new(callback: Option<Py<PyAny>>) -> Self {
        Self {
            callback,
            failed: Mutex::new(None),
        }
    }

    fn report(&self, what: &str, done: u64, total: Option<u64>) {
        let Some(cb) = &self.callback else { return };
        Python::attach(|py| {
            if let Err(e) = cb.call1(py, (what, done, total)) {
                self.failed.lock().unwrap().get_or_insert(e);
            }
        });
    }

    /// The call's result, or the first exception the callback raised.
    fn finish<T>(self, py: Python<'_>, r: Result<T, Error>) -> PyResult<T> {
        let value = r.map_err(|e| to_py(py, e))?;
        match self.failed.into_inner().unwrap() {
            Some(e) => Err(e),
            None => Ok(value),
        }
    }
}

impl Observer for PyObserver {
    fn stage(&self, what: &str, total: Option<u64>, _unit: Unit) -> Box<dyn Stage + '_> {
        self.report(what, 0, total);
        Box::new(PyStage {
            obs: self,
            what: what.to_string(),
            total: AtomicU64::new(total.unwrap_or(u64::MAX)),
            done: AtomicU64::new(0),
            last: Mutex::new(Instant::now()),
        })
    }

    fn note(&self, message: &str) {
        Python::attach(|py| {
            let logged = py
                .import("logging")
                .and_then(|l| l.call_method1("getLogger", ("bitalign",)))
                .and_then(|log| log.call_method1("info", ("%s", message)));
            if let Err(e) = logged {
                self.failed.lock().unwrap().get_or_insert(e);
            }
        });
    }
}

struct PyStage<'a> {
    obs: &'a PyObserver,
    what: String,
    /// `u64::MAX` while unknown.
    total: AtomicU64,
    done: AtomicU64,
    last: Mutex<Instant>,
}

impl PyStage<'_> {
    fn total(&self) -> Option<u64> {
        Some(self.total.load(Ordering::Relaxed)).filter(|&t| t != u64::MAX)
    }
}

impl Stage for PyStage<'_> {
    fn advance(&self, n: u64) {
        let done = self.done.fetch_add(n, Ordering::Relaxed) + n;
        let due = {
            let mut last = self.last.lock().unwrap();
            let due = last.elapsed() >= Duration::from_millis(100);
            if due {
                *last = Instant::now();
            }
            due
        };
        if due {
            self.obs.report(&self.what, done, self.total());
        }
    }

    fn set_total(&self, total: u64) {
        self.total.store(total, Ordering::Relaxed);
    }
}

impl Drop for PyStage<'_> {
    fn drop(&mut self) {
        let done = self.done.load(Ordering::Relaxed);
        self.obs.report(&self.what, done, self.total());
    }
}

/// A loaded model with the way sentences are fed to it (prefix, batch size, threads).
#[pyclass(frozen, module = "bitalign._native")]
struct Model {
    embedder: Arc<Embedder>,
}

#[pymethods]
impl Model {
    #[new]
    #[pyo3(signature = (model, *, revision=None, offline=false, prefix=None, quantize=None, batch=bitalign::embed::DEFAULT_BATCH, threads=None, embed_cache=None, progress=None))]
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
        embed_cache: Option<std::path::PathBuf>,
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
        let opts = EmbedOptions {
            revision: revision.unwrap_or_else(|| "main".into()),
            offline,
            prefix,
            batch,
            quantize,
            threads,
            cache_dir: DiskCache::from_setting(embed_cache.as_deref()).map(|c| c.dir().into()),
            ..EmbedOptions::default()
        };
        let obs = PyObserver::new(progress);
        let loaded = py.detach(|| Embedder::load(&model, &opts, &obs));
        let embedder = obs.finish(py, loaded)?;
        Ok(Self {
            embedder: Arc::new(embedder),
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
        let obs = PyObserver::new(progress);
        let emb = if texts.is_empty() {
            Vec::new()
        } else {
            let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
            let r = py.detach(|| self.embedder.embed_cached(&refs, &obs).map_err(Error::from));
            obs.finish(py, r)?.into_vec()
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

/// A loaded Marian (OPUS-MT) translation model with its decoding options.
#[pyclass(frozen, module = "bitalign._native")]
struct Translator {
    translator: Arc<bitalign::translate::Translator>,
    opts: TranslateOptions,
}

#[pymethods]
impl Translator {
    #[new]
    #[pyo3(signature = (model, *, revision=None, offline=false, to=None, beam=None, max_length=None, batch_size=None, progress=None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        model: String,
        revision: Option<String>,
        offline: bool,
        to: Option<String>,
        beam: Option<usize>,
        max_length: Option<usize>,
        batch_size: Option<usize>,
        progress: Option<Py<PyAny>>,
    ) -> PyResult<Self> {
        let src = ModelSource {
            model,
            revision: revision.unwrap_or_else(|| "main".into()),
            offline: ModelSource::offline_requested(offline),
        };
        let opts = TranslateOptions {
            to,
            beams: beam,
            max_length,
            batch_size: batch_size.unwrap_or(TranslateOptions::default().batch_size),
            ..TranslateOptions::default()
        };
        let obs = PyObserver::new(progress);
        let loaded = py.detach(|| {
            let t = bitalign::translate::Translator::load(&src, &obs)?;
            t.check(&opts)?;
            Ok(t)
        });
        let translator = obs.finish(py, loaded)?;
        Ok(Self {
            translator: Arc::new(translator),
            opts,
        })
    }

    /// Translates `texts` (one sentence each; an empty one stays empty), through the
    /// on-disk translation cache as the CLI.
    #[pyo3(signature = (texts, progress=None))]
    fn translate(
        &self,
        py: Python<'_>,
        texts: Vec<String>,
        progress: Option<Py<PyAny>>,
    ) -> PyResult<Vec<String>> {
        let obs = PyObserver::new(progress);
        let r = py.detach(|| self.run(&texts, &obs));
        obs.finish(py, r)
    }

    /// The model's name (repo id or directory).
    #[getter]
    fn name(&self) -> String {
        self.translator.name.clone()
    }
}

impl Translator {
    fn run<S: AsRef<str> + Sync>(
        &self,
        texts: &[S],
        obs: &dyn Observer,
    ) -> Result<Vec<String>, Error> {
        let dir = bitalign::translate::cache_dir();
        Ok(translate_cached(&self.translator, texts, &self.opts, dir.as_deref(), obs)?.lines)
    }

    /// `doc`'s sentences translated, as the translation a document pair uses.
    fn of(&self, doc: &Document, obs: &dyn Observer) -> Result<bitalign::mt::Translations, Error> {
        let lines = self.run(&doc.texts(), obs)?;
        bitalign::mt::Translations::from_lines(&lines, doc)
    }
}

/// A language code as the library takes it (`None` or `"und"`: unknown).
fn language(py: Python<'_>, what: &str, code: Option<&str>) -> PyResult<Language> {
    match code {
        None => Ok(Language::unknown()),
        Some(c) => Language::parse(c).ok_or_else(|| {
            config(
                py,
                what,
                format!("'{c}' is not a language code (use ISO 639-1 like en, vi, id)"),
            )
        }),
    }
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
    let doc = py.detach(|| Document::from_text("text", text, lang, presplit, 0));
    let doc = doc.map_err(|e| to_py(py, e))?;
    let spans: Vec<_> = doc.sentences.iter().map(|s| s.span.clone()).collect();
    Ok(doc
        .sentences
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
) -> PyResult<Vec<Document>> {
    let mut docs = Vec::with_capacity(inputs.len());
    for (i, (name, lang, content)) in inputs.into_iter().enumerate() {
        let lang = language(py, &format!("{name}: language"), lang.as_deref())?;
        let doc = match content {
            Content::Text(t) => Document::from_text(name, t, lang, presplit, i),
            Content::Sentences(s) => Ok(Document::from_sentences(name, &s, lang, i)),
        };
        docs.push(doc.map_err(|e| to_py(py, e))?);
    }
    Ok(docs)
}

/// Records (as JSON lines, exactly the JSONL writer's) in Python.
fn json_records(records: &[bitalign::corpus::Record]) -> Vec<String> {
    records
        .iter()
        .map(|r| serde_json::to_string(r).expect("records serialise"))
        .collect()
}

/// Mines `docs` (`(name, lang, text or sentences)`) with `model`; the kept pairs of every
/// language pair as JSON records, pair after pair, and the multi-way tuples.
#[pyfunction]
#[pyo3(signature = (model, docs, *, presplit=false, k=None, score=None, mode=None, threshold=None, filters=None, max_length_ratio=None, pairs=None, pivot=None, partial=true, translations=None, mt_model=None, progress=None))]
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
    partial: bool,
    translations: Option<Vec<(usize, String, Vec<String>)>>,
    mt_model: Option<PyRef<'_, Translator>>,
    progress: Option<Py<PyAny>>,
) -> PyResult<(Vec<String>, Vec<String>)> {
    let mut cfg = MineConfig {
        partial,
        ..MineConfig::default()
    };
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
    let docs = documents(py, docs, presplit)?;
    // Given translations: `(document position, target language, lines)`.
    let mut given = bitalign::align::CorpusTranslations::new();
    for (i, lang, lines) in translations.unwrap_or_default() {
        let Some(doc) = docs.get(i) else {
            return Err(config(py, "translations", format!("no document {i}")));
        };
        let t = bitalign::mt::Translations::from_lines(&lines, doc).map_err(|e| to_py(py, e))?;
        given.insert((i, lang), t);
    }
    let obs = PyObserver::new(progress);
    let mt = mt_model.as_deref();
    let mined = py.detach(|| {
        if let Some(t) = mt {
            let wanted = cfg.plan(&docs)?.translation_targets(&docs);
            let made =
                bitalign::mt::translate_sources(&docs, &wanted, |d| t.run(&d.texts(), &obs))?;
            given.extend(made);
        }
        mine_documents_translated(&docs, &model.embedder, &given, &cfg, &obs)
    });
    let mined = obs.finish(py, mined)?;
    let records = json_records(&mined.all_records(&docs));
    let tuples = mined
        .tuple_sides(&docs)
        .iter()
        .map(|sides| {
            serde_json::to_string(&serde_json::json!({ "sentences": sides }))
                .expect("tuples serialise")
        })
        .collect();
    Ok((records, tuples))
}

/// Aligns a document with its translation; every link as a JSON record (unaligned
/// sentences as links with an empty side), in source order.
#[pyfunction]
#[pyo3(signature = (model, src, tgt, *, presplit=false, max_size=None, max_overlap=None, threshold=None, scorer=None, absorb=None, absorb_off=false, uncross=None, uncross_off=false, moved=None, moved_off=false, adapt=None, translation=None, mt_model=None, progress=None))]
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
    scorer: Option<String>,
    absorb: Option<f32>,
    absorb_off: bool,
    uncross: Option<f32>,
    uncross_off: bool,
    moved: Option<(usize, f32, bool)>,
    moved_off: bool,
    adapt: Option<f32>,
    translation: Option<Vec<String>>,
    mt_model: Option<PyRef<'_, Translator>>,
    progress: Option<Py<PyAny>>,
) -> PyResult<Vec<String>> {
    let mut cfg = AlignConfig::default();
    if let Some(name) = scorer {
        cfg.scorer = bitalign::align::Scorer::from_name(&name).ok_or_else(|| {
            config(
                py,
                "scorer",
                format!("'{name}' is not a scorer: tuned, hand or bertalign"),
            )
        })?;
    }
    if absorb_off {
        cfg.absorb = None;
    } else if let Some(t) = absorb {
        cfg.absorb = Some(bitalign::align::Absorb {
            tolerance: t,
            ..Default::default()
        });
    }
    if uncross_off {
        cfg.uncross = None;
    } else if uncross.is_some() {
        cfg.uncross = uncross;
    }
    if moved_off {
        cfg.moved = None;
    } else if let Some((window, margin, ends)) = moved {
        cfg.moved = Some(bitalign::align::Moved {
            window,
            margin,
            ends,
        });
    }
    if let Some(w) = adapt {
        cfg.adapt = w;
    }
    if let Some(n) = max_size {
        cfg.max_size = n;
    }
    if let Some(n) = max_overlap {
        cfg.max_overlap = n;
    }
    if let Some(t) = threshold {
        cfg.threshold = t;
    }
    let docs = documents(py, vec![src, tgt], presplit)?;
    let translation = translation
        .map(|lines| bitalign::mt::Translations::from_lines(&lines, &docs[0]))
        .transpose()
        .map_err(|e| to_py(py, e))?;
    if translation.is_some() && mt_model.is_some() {
        return Err(config(
            py,
            "mt_model",
            "translation and mt_model both give a translation of src: choose one",
        ));
    }
    let obs = PyObserver::new(progress);
    let mt = mt_model.as_deref();
    let al = py.detach(|| {
        let made = mt.map(|t| t.of(&docs[0], &obs)).transpose()?;
        align_translated_documents(
            &docs[0],
            &docs[1],
            translation.as_ref().or(made.as_ref()),
            &model.embedder,
            &cfg,
            &obs,
        )
    });
    let al = obs.finish(py, al)?;
    Ok(json_records(&al.records(&docs[0], &docs[1])))
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Model>()?;
    m.add_class::<Translator>()?;
    m.add_function(wrap_pyfunction!(split_raw, m)?)?;
    m.add_function(wrap_pyfunction!(mine_raw, m)?)?;
    m.add_function(wrap_pyfunction!(align_raw, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
