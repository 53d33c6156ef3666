//! The native half of the `bitalign` Python package: thin calls into the bitalign library.
//!
//! Everything here converts arguments, releases the GIL around the library call and turns
//! errors into the package's exceptions (defined in `bitalign/errors.py`, so they can also
//! subclass `ValueError`/`OSError`). Python-facing conveniences (NumPy arrays, dataclasses,
//! docstrings) live in `bitalign/__init__.py`.

use std::sync::Arc;

use bitalign::embed::Embedder;
use bitalign::model::{Engine, Model as CoreModel, ModelSource, Quantize};
use bitalign::progress::Progress;
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyDict};

/// An exception of `bitalign.errors` by class name, with the library's one-line message.
fn error(py: Python<'_>, kind: &str, msg: impl Into<String>) -> PyErr {
    let msg = msg.into();
    let class = py.import("bitalign.errors").and_then(|m| m.getattr(kind));
    match class.and_then(|c| c.call1((msg.clone(),))) {
        Ok(e) => PyErr::from_value(e),
        Err(e) => e,
    }
}

/// The one-line message the CLI prints after `error: ` (the error and its causes).
fn message(e: &anyhow::Error) -> String {
    format!("{e:#}")
}

/// A loaded model with the way sentences are fed to it (prefix, batch size).
#[pyclass(frozen, module = "bitalign._native")]
struct Model {
    embedder: Arc<Embedder>,
}

#[pymethods]
impl Model {
    #[new]
    #[pyo3(signature = (model, *, revision=None, offline=false, prefix=None, quantize=None, batch=bitalign::embed::DEFAULT_BATCH))]
    fn new(
        py: Python<'_>,
        model: String,
        revision: Option<String>,
        offline: bool,
        prefix: Option<String>,
        quantize: Option<String>,
        batch: usize,
    ) -> PyResult<Self> {
        let quantize = match quantize.as_deref() {
            None | Some("none") => Quantize::None,
            Some("q8") => Quantize::Q8,
            Some(q) => {
                return Err(error(
                    py,
                    "ConfigError",
                    format!("quantize: '{q}' is not one of None, 'q8'"),
                ))
            }
        };
        if batch == 0 {
            return Err(error(py, "ConfigError", "batch must be at least 1"));
        }
        let src = ModelSource {
            model,
            revision: revision.unwrap_or_else(|| "main".into()),
            offline: ModelSource::offline_requested(offline),
        };
        let loaded = py.detach(|| {
            let m = CoreModel::load_with(&src, Engine::default(), quantize, &quiet())?;
            Embedder::new(m, prefix, batch)
        });
        let embedder = loaded.map_err(|e| error(py, "ModelError", message(&e)))?;
        Ok(Self {
            embedder: Arc::new(embedder),
        })
    }

    /// Embeds `texts`; returns `(bytearray of float32 rows, rows, dim)`.
    fn embed_raw<'py>(
        &self,
        py: Python<'py>,
        texts: Vec<String>,
    ) -> PyResult<(Bound<'py, PyByteArray>, usize, usize)> {
        let dim = self.embedder.dim();
        let emb = if texts.is_empty() {
            Vec::new()
        } else {
            let embedder = self.embedder.clone();
            py.detach(move || embedder.embed(&texts, &quiet()))
                .map_err(|e| error(py, "Error", message(&e)))?
                .into_vec()
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

/// The library reports nothing on its own yet; the Python side stays silent.
fn quiet() -> Progress {
    Progress::new(true)
}

/// Splits `text` into sentences with the rules for `lang`; `(text, start, end)` triples
/// with offsets in characters (code points), so that `text[start:end]` in Python is the
/// sentence.
#[pyfunction]
#[pyo3(signature = (text, lang, *, presplit=false))]
fn split_raw(
    py: Python<'_>,
    text: String,
    lang: String,
    presplit: bool,
) -> PyResult<Vec<(String, usize, usize)>> {
    let code = bitalign::lang::normalize(lang.trim()).ok_or_else(|| {
        error(
            py,
            "ConfigError",
            format!("lang: '{lang}' is not a language code (use ISO 639-1 like en, vi, id)"),
        )
    })?;
    // A blank text has no sentences (a file would be refused as an empty document).
    if text.chars().all(|c| c.is_whitespace() || c == '\u{feff}') {
        return Ok(Vec::new());
    }
    let out = py.detach(|| -> anyhow::Result<_> {
        let decoded = bitalign::segment::decode("text", text.into_bytes(), false)?;
        let (sentences, _) = bitalign::segment::split_document(&decoded, 0, &code, presplit);
        let spans: Vec<_> = sentences.iter().map(|s| s.span.clone()).collect();
        let chars = char_offsets(&decoded.text, &spans);
        Ok(sentences
            .into_iter()
            .zip(chars)
            .map(|(s, (start, end))| (s.text, start, end))
            .collect())
    });
    out.map_err(|e| error(py, "InputError", message(&e)))
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

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Model>()?;
    m.add_function(wrap_pyfunction!(split_raw, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
