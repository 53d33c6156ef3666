//! `run.json`: what a run read, with which model and parameters, what it wrote and how
//! long it took, so that a corpus can be reproduced. One struct, serialised with its keys
//! in sorted order (as every earlier `run.json`).

use crate::document::Document;
use crate::embed::{EmbedStats, Embedder};
use crate::mine::{Filters, Mined, Params};
use serde::Serialize;
use std::collections::BTreeMap;

use super::Format;

/// The manifest of a run (mining or alignment).
#[derive(Clone, Debug, Default, Serialize)]
pub struct Manifest {
    /// The bitalign version that wrote it.
    pub bitalign: String,
    /// `align` for runs that align translations; absent for mining.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    pub model: Option<ModelRecord>,
    pub inputs: Vec<InputRecord>,
    pub params: Option<ParamsRecord>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filters: Option<Filters>,
    pub formats: Vec<Format>,
    /// Which score the TSV files' first column holds (`margin`, `cosine`, `distance`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tsv_score: Option<String>,
    /// Per format, the sentence sides whose text the format had to change to hold it.
    pub altered_sides: BTreeMap<String, usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pivot: Option<String>,
    pub threads: usize,
    pub pairs: Vec<PairRecord>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tuples: Option<usize>,
    pub files: Vec<String>,
    /// Seconds per stage (`load_split_s`, `model_load_s`, `embed_s`, …, `total_s`).
    pub timings: BTreeMap<String, f64>,
}

/// What embedded the sentences.
#[derive(Clone, Debug, Serialize)]
#[serde(untagged)]
pub enum ModelRecord {
    Model {
        id: String,
        path: String,
        revision: Option<String>,
        prefix: String,
        dim: usize,
        /// The digest the embedding cache keys on (model files, engine, quantization).
        fingerprint: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        max_tokens: Option<usize>,
        #[serde(skip_serializing_if = "Option::is_none")]
        stats: Option<EmbedStats>,
    },
    /// Embeddings read from files instead of a model.
    Precomputed { embeddings: Vec<String> },
}

impl ModelRecord {
    /// The embedder's identity; `stats` when the run reports them.
    pub fn of(e: &Embedder, stats: Option<EmbedStats>) -> Self {
        let m = e.model();
        Self::Model {
            id: m.id().to_string(),
            path: m.name.clone(),
            revision: m.revision.clone(),
            prefix: e.prefix().to_string(),
            dim: e.dim(),
            fingerprint: m.fingerprint.clone(),
            max_tokens: stats.is_some().then_some(m.max_len),
            stats,
        }
    }
}

/// One input document.
#[derive(Clone, Debug, Serialize)]
pub struct InputRecord {
    pub file: String,
    pub lang: String,
    pub sentences: usize,
}

impl InputRecord {
    pub fn of(docs: &[Document]) -> Vec<Self> {
        docs.iter()
            .map(|d| Self {
                file: d.name.clone(),
                lang: d.lang.tag().to_string(),
                sentences: d.sentences.len(),
            })
            .collect()
    }
}

/// The parameters of the run.
#[derive(Clone, Debug, Serialize)]
#[serde(untagged)]
pub enum ParamsRecord {
    Mine {
        #[serde(flatten)]
        params: Params,
        /// Machine translations that re-scored the candidates.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        translations: Vec<TranslationRecord>,
    },
    Align {
        max_size: usize,
        max_overlap: usize,
        threshold: f64,
        /// `tuned`, `hand` or `bertalign`.
        scorer: String,
        /// The absorb pass's tolerance; `null` when off.
        absorb: Option<f64>,
        /// The crossing pass's margin; `null` when off (with `moved` null too, links strictly
        /// in order).
        uncross: Option<f64>,
        /// The moved-block pass, `{"window": W, "margin": M, "ends": B}`; `null` when off.
        moved: Option<MovedRecord>,
        /// Weight of the per-document link price; 0 when the document is aligned once.
        adapt: f64,
        /// Machine translations used as evidence.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        translations: Vec<TranslationRecord>,
    },
}

/// The moved-block pass's parameters in run.json.
#[derive(Clone, Debug, Serialize)]
pub struct MovedRecord {
    pub window: usize,
    pub margin: f64,
    /// Whether the end sentences of links may be paired too (not only unaligned ones).
    pub ends: bool,
}

/// A translation file given as evidence: which document it translates, into which language.
#[derive(Clone, Debug, Serialize)]
pub struct TranslationRecord {
    /// The source document (as in `inputs`).
    pub src: String,
    pub lang: String,
    /// The translation file, or `mt-model:NAME` for a translation made by `--mt-model`.
    pub file: String,
}

impl ParamsRecord {
    /// The parameters of an alignment run.
    /// The passes after the DP are recorded as they ran: off for bertalign's method, which
    /// has none.
    pub fn align(cfg: &crate::align::AlignConfig, translations: Vec<TranslationRecord>) -> Self {
        let passes = cfg.scorer != crate::align::Scorer::Bertalign;
        Self::Align {
            max_size: cfg.max_size,
            max_overlap: cfg.max_overlap,
            threshold: decimal(cfg.threshold),
            scorer: cfg.scorer.name().to_string(),
            absorb: cfg
                .absorb
                .as_ref()
                .filter(|_| passes)
                .map(|a| decimal(a.tolerance)),
            uncross: cfg.uncross.filter(|_| passes).map(decimal),
            moved: cfg.moved.as_ref().filter(|_| passes).map(|m| MovedRecord {
                window: m.window,
                margin: decimal(m.margin),
                ends: m.ends,
            }),
            adapt: if passes { decimal(cfg.adapt) } else { 0.0 },
            translations,
        }
    }
}

/// An f32 parameter as the decimal it was written as (0.05, not 0.05000000074505806, which
/// is what widening the f32 to JSON's f64 would print).
fn decimal(v: f32) -> f64 {
    v.to_string().parse().unwrap_or(f64::from(v))
}

/// `serialize_with` for f32 parameters: written as [`decimal`].
pub(crate) fn serialize_decimal<S: serde::Serializer>(v: &f32, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(decimal(*v))
}

/// `serialize_with` for optional f32 parameters: written as [`decimal`].
pub(crate) fn serialize_decimal_opt<S: serde::Serializer>(
    v: &Option<f32>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match v {
        Some(v) => s.serialize_some(&decimal(*v)),
        None => s.serialize_none(),
    }
}

/// What one language pair gave.
#[derive(Clone, Debug, Serialize)]
#[serde(untagged)]
pub enum PairRecord {
    Mined {
        src: String,
        tgt: String,
        candidates: usize,
        below_threshold: usize,
        filtered: BTreeMap<&'static str, usize>,
        kept: usize,
        /// The search used (`auto` decided for this pair's sizes).
        knn: crate::score::Knn,
        seconds: f64,
    },
    Aligned {
        src: String,
        tgt: String,
        documents: usize,
        links: usize,
        written: usize,
        unaligned_src: usize,
        unaligned_tgt: usize,
    },
}

impl PairRecord {
    /// Every mined pair's counts.
    pub fn mined(m: &Mined) -> Vec<Self> {
        m.pairs
            .iter()
            .map(|r| Self::Mined {
                src: m.lang(r.src).to_string(),
                tgt: m.lang(r.tgt).to_string(),
                candidates: r.candidates.len(),
                below_threshold: r.below_threshold,
                filtered: r.filtered.iter().map(|(f, n)| (f.name(), *n)).collect(),
                kept: r.kept.len(),
                knn: r.knn,
                seconds: r.seconds,
            })
            .collect()
    }
}

impl Manifest {
    /// A manifest with the version and thread count filled in.
    pub fn new() -> Self {
        Self {
            bitalign: env!("CARGO_PKG_VERSION").to_string(),
            threads: rayon::current_num_threads(),
            ..Self::default()
        }
    }

    /// Pretty JSON, keys sorted.
    pub fn to_json(&self) -> crate::error::Result<Vec<u8>> {
        let value = serde_json::to_value(self).map_err(anyhow::Error::from)?;
        Ok(serde_json::to_vec_pretty(&value).map_err(anyhow::Error::from)?)
    }
}

/// `embed.json`: what `embed` wrote, with the model that wrote it.
#[derive(Clone, Debug, Serialize)]
pub struct EmbedManifest {
    pub model: String,
    pub model_path: String,
    pub revision: Option<String>,
    pub prefix: String,
    pub dim: usize,
    pub pooling: String,
    pub max_tokens: usize,
    pub files: Vec<EmbedFileRecord>,
    pub stats: EmbedStats,
}

/// One input of `embed` and the stem of its output files.
#[derive(Clone, Debug, Serialize)]
pub struct EmbedFileRecord {
    pub input: String,
    pub lang: String,
    pub name: String,
    pub sentences: usize,
}

impl EmbedManifest {
    pub fn new(e: &Embedder, files: Vec<EmbedFileRecord>, stats: EmbedStats) -> Self {
        let m = e.model();
        Self {
            model: m.id().to_string(),
            model_path: m.name.clone(),
            revision: m.revision.clone(),
            prefix: e.prefix().to_string(),
            dim: e.dim(),
            pooling: m.pipeline.pooling.to_string(),
            max_tokens: m.max_len,
            files,
            stats,
        }
    }

    /// Pretty JSON, keys sorted, no trailing newline.
    pub fn to_json(&self) -> crate::error::Result<Vec<u8>> {
        let value = serde_json::to_value(self).map_err(anyhow::Error::from)?;
        Ok(serde_json::to_vec_pretty(&value).map_err(anyhow::Error::from)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::align::{AlignConfig, Scorer};

    #[test]
    fn align_params_record_the_passes_that_ran() {
        let json = |cfg: &AlignConfig| serde_json::to_value(ParamsRecord::align(cfg, vec![]));
        let ours = json(&AlignConfig::default()).unwrap();
        assert_eq!(ours["absorb"], 0.01);
        assert_eq!(ours["uncross"], 0.0);
        assert_eq!(
            ours["moved"],
            serde_json::json!({"window": 20, "margin": 0.05, "ends": false})
        );
        assert_eq!(ours["adapt"], 0.05);
        // Bertalign's method has no passes after its DP.
        let bertalign = AlignConfig {
            scorer: Scorer::Bertalign,
            ..AlignConfig::default()
        };
        let theirs = json(&bertalign).unwrap();
        assert_eq!(theirs["scorer"], "bertalign");
        for key in ["absorb", "uncross", "moved"] {
            assert!(theirs[key].is_null(), "{key}: {theirs}");
        }
        assert_eq!(theirs["adapt"], 0.0);
    }
}
