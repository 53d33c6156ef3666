//! The transformer encoders, chosen from `config.json`'s `model_type`: our ragged
//! encoder ([`super::ragged`]) where it reproduces the model, else candle-transformers'.

use anyhow::{anyhow, bail, Context, Result};
use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::{bert, xlm_roberta};
use std::path::Path;

use super::ragged::RaggedEncoder;

pub enum Encoder {
    Bert(bert::BertModel),
    XlmRoberta(xlm_roberta::XLMRobertaModel),
    Ragged(Box<RaggedEncoder>),
}

/// Precision of the encoder's matrix products.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum Quantize {
    /// f32 throughout.
    #[default]
    None,
    /// int8 weights (per output channel) and activations (per token), AVX-512 VNNI.
    Q8,
}

/// Which implementation runs the encoder.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum Engine {
    /// Our ragged encoder with fused kernels (BERT/XLM-R with erf GELU), else candle.
    #[default]
    Native,
    /// candle-transformers' BertModel / XLMRobertaModel on padded batches.
    Candle,
}

/// What the rest of the pipeline needs to know about an encoder.
#[derive(Clone, Debug)]
pub struct EncoderInfo {
    pub model_type: String,
    pub hidden_size: usize,
    /// Feed-forward width and layer count, for FLOP counts.
    pub intermediate_size: usize,
    pub layers: usize,
    pub pad_token_id: u32,
    /// Longest input the position embeddings allow (XLM-R spends two rows on its offset).
    pub max_positions: usize,
    /// `_name_or_path`, which hub exports and our converter fill with the repo id.
    pub name_or_path: Option<String>,
}

#[derive(serde::Deserialize)]
struct Header {
    model_type: Option<String>,
    #[serde(default)]
    architectures: Vec<String>,
    #[serde(rename = "_name_or_path")]
    name_or_path: Option<String>,
}

impl Encoder {
    pub fn load(
        config_path: &Path,
        weights_path: &Path,
        device: &Device,
        engine: Engine,
        quantize: Quantize,
    ) -> Result<(Self, EncoderInfo)> {
        let cfg_text = std::fs::read_to_string(config_path)
            .with_context(|| format!("{}: cannot read", config_path.display()))?;
        let bad = |e: serde_json::Error| {
            anyhow!("{}: not a valid model config: {e}", config_path.display())
        };
        let mut value: serde_json::Value = serde_json::from_str(&cfg_text).map_err(bad)?;
        // Training-only fields that newer transformers versions no longer write but
        // candle's configs require; they do not change inference.
        if let Some(obj) = value.as_object_mut() {
            for (k, v) in [
                ("position_embedding_type", serde_json::json!("absolute")),
                ("hidden_dropout_prob", serde_json::json!(0.1)),
                ("attention_probs_dropout_prob", serde_json::json!(0.1)),
                ("initializer_range", serde_json::json!(0.02)),
            ] {
                obj.entry(k).or_insert(v);
            }
        }
        let header: Header = serde_json::from_value(value.clone()).map_err(bad)?;
        let model_type = header
            .model_type
            .clone()
            .or_else(|| header.architectures.first().map(|a| a.to_lowercase()))
            .ok_or_else(|| anyhow!("{}: no model_type", config_path.display()))?;
        let native = engine == Engine::Native && RaggedEncoder::supports(&value, &model_type);
        if quantize == Quantize::Q8 && !native {
            bail!(
                "{}: --quantize q8 needs the native engine and a BERT/XLM-R model with erf GELU",
                config_path.display()
            );
        }
        if native {
            let mut enc = RaggedEncoder::load(value, &model_type, weights_path)
                .map_err(|e| anyhow!("{}: {e:#}", config_path.display()))?;
            if quantize == Quantize::Q8 {
                enc.quantize_q8()?;
            }
            let info = EncoderInfo {
                model_type,
                hidden_size: enc.cfg.hidden_size,
                intermediate_size: enc.cfg.intermediate_size,
                layers: enc.cfg.num_hidden_layers,
                pad_token_id: enc.cfg.pad_token_id as u32,
                max_positions: enc.max_positions(),
                name_or_path: header.name_or_path,
            };
            return Ok((Self::Ragged(Box::new(enc)), info));
        }
        // SAFETY: the file is mapped read-only and not modified while the model lives.
        let vb =
            unsafe { VarBuilder::from_mmaped_safetensors(&[weights_path], DType::F32, device) }
                .map_err(|e| {
                    anyhow!(
                        "{}: not a readable safetensors file: {e}",
                        weights_path.display()
                    )
                })?;
        let weights_err = |e: candle_core::Error| {
            anyhow!(
                "{}: weights do not match {}: {e}",
                weights_path.display(),
                config_path.display()
            )
        };
        let (encoder, (hidden_size, intermediate_size, layers), pad, max_positions) =
            match model_type.as_str() {
                "bert" | "bertmodel" => {
                    let cfg: bert::Config = serde_json::from_value(value).map_err(bad)?;
                    let m = bert::BertModel::load(vb, &cfg).map_err(weights_err)?;
                    (
                        Self::Bert(m),
                        (
                            cfg.hidden_size,
                            cfg.intermediate_size,
                            cfg.num_hidden_layers,
                        ),
                        cfg.pad_token_id as u32,
                        cfg.max_position_embeddings,
                    )
                }
                "xlm-roberta" | "roberta" | "xlmrobertamodel" => {
                    let cfg: xlm_roberta::Config = serde_json::from_value(value).map_err(bad)?;
                    let vb = if vb.contains_tensor("roberta.embeddings.word_embeddings.weight") {
                        vb.pp("roberta")
                    } else {
                        vb
                    };
                    let m = xlm_roberta::XLMRobertaModel::new(&cfg, vb).map_err(weights_err)?;
                    let max = cfg
                        .max_position_embeddings
                        .saturating_sub(cfg.pad_token_id as usize + 1);
                    (
                        Self::XlmRoberta(m),
                        (
                            cfg.hidden_size,
                            cfg.intermediate_size,
                            cfg.num_hidden_layers,
                        ),
                        cfg.pad_token_id,
                        max,
                    )
                }
                other => bail!(
                    "{}: model_type '{other}' is not supported (supported: bert, xlm-roberta)",
                    config_path.display()
                ),
            };
        let info = EncoderInfo {
            model_type,
            hidden_size,
            intermediate_size,
            layers,
            pad_token_id: pad,
            max_positions,
            name_or_path: header.name_or_path,
        };
        Ok((encoder, info))
    }

    /// Token states `[batch, len, hidden]` for right-padded `ids` with `mask` (1 = token).
    pub fn forward(
        &self,
        ids: &Tensor,
        type_ids: &Tensor,
        mask: &Tensor,
    ) -> candle_core::Result<Tensor> {
        match self {
            Self::Bert(m) => m.forward(ids, type_ids, Some(mask)),
            Self::XlmRoberta(m) => m.forward(ids, mask, type_ids, None, None, None),
            Self::Ragged(_) => Err(candle_core::Error::Msg(
                "the ragged encoder takes unpadded sequences (Encoder::forward_ragged)".into(),
            )),
        }
    }
}
