//! Models: where they come from (hub or disk), what they are (`config.json`), and the
//! sentence-transformers pipeline around the encoder.

mod backend;
mod encoder;
pub mod hub;
pub mod int8;
pub mod kernels;
mod pipeline;
pub mod ragged;
pub mod registry;

pub use backend::Backend;
pub use encoder::{Encoder, EncoderInfo, Engine, Quantize};
pub use hub::{ModelFiles, ModelSource};
pub use pipeline::{Pipeline, Pooling};

use anyhow::{anyhow, Result};
use candle_core::Device;
use std::collections::HashMap;
use tokenizers::Tokenizer;

use crate::observe::Observer;

/// The model used when `--model` is not given.
pub const DEFAULT_MODEL: &str = "intfloat/multilingual-e5-small";

/// A loaded sentence-embedding model: tokenizer, encoder and pooling pipeline.
pub struct Model {
    /// The repo id or directory the user named.
    pub name: String,
    /// The hub revision, for repo ids.
    pub revision: Option<String>,
    /// The registry entry, found by repo id or by `config.json`'s `_name_or_path`.
    pub entry: Option<registry::Entry>,
    /// The prefix documents get unless `--prefix` says otherwise.
    pub default_prefix: String,
    pub encoder: Encoder,
    pub info: EncoderInfo,
    pub tokenizer: Tokenizer,
    pub pipeline: Pipeline,
    /// Longest input in tokens (special tokens included); longer ones are truncated.
    pub max_len: usize,
    pub device: Device,
    /// What makes this model's vectors what they are (its files, engine and quantization),
    /// as a hex digest: the on-disk embedding cache keys on it.
    pub fingerprint: String,
}

#[derive(serde::Deserialize)]
struct TokConfig {
    model_max_length: Option<f64>,
}

#[derive(serde::Deserialize, Default)]
struct StConfig {
    #[serde(default)]
    prompts: HashMap<String, String>,
}

impl Model {
    pub fn load(src: &ModelSource, progress: &dyn Observer) -> Result<Self> {
        Self::load_with(src, Engine::default(), Quantize::None, progress)
    }

    /// As [`Model::load`], with the encoder implementation chosen (benchmarks compare them).
    pub fn load_with(
        src: &ModelSource,
        engine: Engine,
        quantize: Quantize,
        progress: &dyn Observer,
    ) -> Result<Self> {
        let device = Device::Cpu;
        let files = ModelFiles::open(src, progress)?;
        // Registry entry by repo id now; by `_name_or_path` once config.json is read.
        let mut entry = if files.is_local() {
            None
        } else {
            registry::lookup(&src.model)?
        };
        let fallback = match entry.as_ref().map(|e| e.pooling.as_str()) {
            Some(p) if p.starts_with("cls") => Pooling::Cls,
            _ => Pooling::Mean,
        };
        let pipeline = Pipeline::load(&files, fallback, &device)?;
        let dir = |f: &str| {
            if pipeline.transformer_dir.is_empty() {
                f.to_string()
            } else {
                format!("{}/{f}", pipeline.transformer_dir)
            }
        };
        let config = files.required(&dir("config.json"))?;
        let tokenizer_path = files.required(&dir("tokenizer.json"))?;
        let weights = files.required(&dir("model.safetensors"))?;
        let (encoder, info) = Encoder::load(&config, &weights, &device, engine, quantize)?;
        if entry.is_none() {
            if let Some(n) = &info.name_or_path {
                entry = registry::lookup(n)?;
            }
        }
        // sentence-transformers 6 keeps the limit in tokenizer_config.json instead.
        let tok_limit = match files.optional(&dir("tokenizer_config.json"))? {
            Some(p) => hub::read_json::<TokConfig>(&p)?
                .model_max_length
                .filter(|&n| n < 1e9)
                .map(|n| n as usize),
            None => None,
        };
        let max_len = pipeline
            .max_seq_length
            .or(tok_limit)
            .unwrap_or(info.max_positions)
            .min(info.max_positions);
        let mut tokenizer = Tokenizer::from_file(&tokenizer_path)
            .map_err(|e| anyhow!("{}: not a valid tokenizer: {e}", tokenizer_path.display()))?;
        tokenizer.with_padding(None);
        tokenizer
            .with_truncation(Some(tokenizers::TruncationParams {
                max_length: max_len,
                ..Default::default()
            }))
            .map_err(|e| {
                anyhow!(
                    "{}: cannot truncate to {max_len}: {e}",
                    tokenizer_path.display()
                )
            })?;
        let mut decisive = vec![
            config.as_path(),
            tokenizer_path.as_path(),
            weights.as_path(),
        ];
        let modules = files.optional("modules.json")?;
        decisive.extend(modules.as_deref());
        let fingerprint =
            crate::cache::files_digest(&decisive, &format!("{engine:?} {quantize:?} {max_len}"))
                .map_err(|e| anyhow!("{}: cannot read ({e})", weights.display()))?;
        let st: StConfig = match files.optional("config_sentence_transformers.json")? {
            Some(p) => hub::read_json(&p)?,
            None => StConfig::default(),
        };
        let default_prefix = match &entry {
            Some(e) => e.prefix.clone(),
            None => st
                .prompts
                .get("passage")
                .or_else(|| st.prompts.get("document"))
                .cloned()
                .unwrap_or_default(),
        };
        Ok(Self {
            name: files.name(),
            revision: (!files.is_local()).then(|| src.revision.clone()),
            entry,
            default_prefix,
            encoder,
            info,
            tokenizer,
            pipeline,
            max_len,
            device,
            fingerprint,
        })
    }

    /// Width of the sentence vectors.
    pub fn dim(&self) -> usize {
        self.pipeline.out_dim.unwrap_or(self.info.hidden_size)
    }

    /// The registry's id for this model, or its name.
    pub fn id(&self) -> &str {
        self.entry
            .as_ref()
            .map(|e| e.id.as_str())
            .unwrap_or(&self.name)
    }
}
