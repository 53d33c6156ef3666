//! The sentence-transformers module chain after the transformer (Pooling → Dense* →
//! Normalize), read from the model's own `modules.json`, so e5 (mean) and LaBSE
//! (CLS → Dense+tanh → Normalize) go through one code path.

use anyhow::{anyhow, bail, Context, Result};
use candle_core::{DType, Device, Tensor, D};
use candle_nn::{Linear, Module, VarBuilder};
use serde::Deserialize;

use super::hub::{read_json, ModelFiles};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pooling {
    Mean,
    Cls,
    Max,
}

impl std::fmt::Display for Pooling {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Mean => "mean",
            Self::Cls => "cls",
            Self::Max => "max",
        })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Activation {
    Identity,
    Tanh,
}

struct Dense {
    linear: Linear,
    activation: Activation,
}

/// The modules after the transformer, plus where the transformer's own files live.
pub struct Pipeline {
    /// Sub-directory of the Transformer module (`""` on current hub exports).
    pub transformer_dir: String,
    pub pooling: Pooling,
    dense: Vec<Dense>,
    pub normalize: bool,
    /// `max_seq_length` from `sentence_bert_config.json`, if present.
    pub max_seq_length: Option<usize>,
    /// Output width after the last Dense layer.
    pub out_dim: Option<usize>,
}

#[derive(Deserialize)]
struct ModuleEntry {
    #[serde(default)]
    path: String,
    #[serde(rename = "type")]
    kind: String,
}

#[derive(Deserialize)]
struct PoolingConfig {
    #[serde(default)]
    pooling_mode_cls_token: bool,
    #[serde(default)]
    pooling_mode_mean_tokens: bool,
    #[serde(default)]
    pooling_mode_max_tokens: bool,
    #[serde(default)]
    pooling_mode_mean_sqrt_len_tokens: bool,
    #[serde(default)]
    pooling_mode_weightedmean_tokens: bool,
    #[serde(default)]
    pooling_mode_lasttoken: bool,
    /// sentence-transformers 6 names the mode in one string instead of flags.
    pooling_mode: Option<String>,
    #[serde(default = "yes")]
    include_prompt: bool,
}

#[derive(Deserialize)]
struct DenseConfig {
    in_features: usize,
    out_features: usize,
    #[serde(default = "yes")]
    bias: bool,
    #[serde(default)]
    activation_function: String,
}

fn yes() -> bool {
    true
}

#[derive(Deserialize)]
struct SbertConfig {
    max_seq_length: Option<usize>,
}

impl Pipeline {
    /// Reads `modules.json` and the files it names. Without `modules.json` (a plain
    /// transformers export), `fallback` pooling and normalisation are used.
    pub fn load(files: &ModelFiles, fallback: Pooling, device: &Device) -> Result<Self> {
        let Some(modules_path) = files.optional("modules.json")? else {
            let max_seq_length = read_sbert(files, "")?;
            return Ok(Self {
                transformer_dir: String::new(),
                pooling: fallback,
                dense: Vec::new(),
                normalize: true,
                max_seq_length,
                out_dim: None,
            });
        };
        let modules: Vec<ModuleEntry> = read_json(&modules_path)?;
        let mut p = Self {
            transformer_dir: String::new(),
            pooling: fallback,
            dense: Vec::new(),
            normalize: false,
            max_seq_length: None,
            out_dim: None,
        };
        let mut seen_transformer = false;
        let mut seen_pooling = false;
        for m in &modules {
            let kind = m.kind.rsplit('.').next().unwrap_or(&m.kind);
            let file = |name: &str| join(&m.path, name);
            match kind {
                "Transformer" => {
                    seen_transformer = true;
                    p.transformer_dir = m.path.clone();
                    p.max_seq_length = read_sbert(files, &m.path)?;
                }
                "Pooling" => {
                    seen_pooling = true;
                    let path = files.required(&file("config.json"))?;
                    let c: PoolingConfig = read_json(&path)?;
                    if !c.include_prompt {
                        bail!("{}: include_prompt = false is not supported", path.display());
                    }
                    let named = |n: &str| c.pooling_mode.as_deref().is_some_and(|m| m.trim_end_matches("_tokens") == n);
                    let modes = [
                        (c.pooling_mode_mean_tokens || named("mean"), Some(Pooling::Mean), "mean"),
                        (c.pooling_mode_cls_token || named("cls"), Some(Pooling::Cls), "cls"),
                        (c.pooling_mode_max_tokens || named("max"), Some(Pooling::Max), "max"),
                        (c.pooling_mode_mean_sqrt_len_tokens || named("mean_sqrt_len"), None, "mean_sqrt_len"),
                        (c.pooling_mode_weightedmean_tokens || named("weightedmean"), None, "weightedmean"),
                        (c.pooling_mode_lasttoken || named("lasttoken"), None, "lasttoken"),
                    ];
                    let on: Vec<_> = modes.iter().filter(|m| m.0).collect();
                    p.pooling = match on[..] {
                        [(_, Some(mode), _)] => *mode,
                        [(_, None, name)] => bail!(
                            "{}: pooling mode {name} is not supported (supported: mean, cls, max)",
                            path.display()
                        ),
                        [] => bail!(
                            "{}: no supported pooling mode (supported: mean, cls, max)",
                            path.display()
                        ),
                        _ => bail!(
                            "{}: several pooling modes at once are not supported (found: {})",
                            path.display(),
                            on.iter().map(|m| m.2).collect::<Vec<_>>().join(", ")
                        ),
                    };
                }
                "Dense" => {
                    let cpath = files.required(&file("config.json"))?;
                    let c: DenseConfig = read_json(&cpath)?;
                    let activation = match c.activation_function.rsplit('.').next().unwrap_or("") {
                        "Tanh" => Activation::Tanh,
                        "Identity" | "" => Activation::Identity,
                        other => bail!("{}: activation {other} is not supported (Tanh, Identity)", cpath.display()),
                    };
                    let wpath = files.optional(&file("model.safetensors"))?.ok_or_else(|| {
                        anyhow!(
                            "{}: the Dense module's weights are missing (only model.safetensors is read; \
                             convert a pytorch_model.bin with safetensors' convert tool)",
                            file("model.safetensors")
                        )
                    })?;
                    // SAFETY: read-only mapping of a file not modified while in use.
                    let vb = unsafe { VarBuilder::from_mmaped_safetensors(&[&wpath], DType::F32, device) }
                        .map_err(|e| anyhow!("{}: not a readable safetensors file: {e}", wpath.display()))?;
                    let linear = if c.bias {
                        candle_nn::linear(c.in_features, c.out_features, vb.pp("linear"))
                    } else {
                        candle_nn::linear_no_bias(c.in_features, c.out_features, vb.pp("linear"))
                    }
                    .map_err(|e| anyhow!("{}: {e}", wpath.display()))?;
                    p.out_dim = Some(c.out_features);
                    p.dense.push(Dense { linear, activation });
                }
                "Normalize" => p.normalize = true,
                other => bail!(
                    "{}: module type {other} is not supported (Transformer, Pooling, Dense, Normalize)",
                    modules_path.display()
                ),
            }
        }
        if !seen_transformer || !seen_pooling {
            bail!(
                "{}: expected a Transformer and a Pooling module",
                modules_path.display()
            );
        }
        Ok(p)
    }

    /// Sentence vectors `[batch, dim]` from token states `[batch, len, hidden]` and the
    /// 0/1 `mask` `[batch, len]`; padded positions never contribute.
    pub fn apply(&self, hidden: &Tensor, mask: &Tensor) -> candle_core::Result<Tensor> {
        let mut x = match self.pooling {
            Pooling::Cls => hidden.narrow(1, 0, 1)?.squeeze(1)?,
            Pooling::Mean => {
                let m = mask.to_dtype(DType::F32)?.unsqueeze(2)?;
                let sum = hidden.broadcast_mul(&m)?.sum(1)?;
                let count = m.sum(1)?.clamp(1e-9, f64::MAX)?;
                sum.broadcast_div(&count)?
            }
            Pooling::Max => {
                // As sentence-transformers: padded positions set to -1e9 before the max.
                let m = mask.to_dtype(DType::F32)?.unsqueeze(2)?;
                let neg = ((m.ones_like()? - &m)? * -1e9)?;
                hidden.broadcast_mul(&m)?.broadcast_add(&neg)?.max(1)?
            }
        };
        for d in &self.dense {
            x = d.linear.forward(&x)?;
            if d.activation == Activation::Tanh {
                x = x.tanh()?;
            }
        }
        if self.normalize {
            // torch.nn.functional.normalize: x / max(‖x‖, 1e-12).
            let norm = x
                .sqr()?
                .sum_keepdim(D::Minus1)?
                .sqrt()?
                .clamp(1e-12, f64::MAX)?;
            x = x.broadcast_div(&norm)?;
        }
        Ok(x)
    }
}

impl Pipeline {
    /// As [`Pipeline::apply`], from packed unpadded token states (`[Σ lens, hidden]`, the
    /// ragged encoder's output): pooling and normalisation without candle's per-op cost,
    /// Dense layers (LaBSE) through candle. Rows of the output are `lens.len()` vectors.
    pub fn apply_packed(
        &self,
        states: &[f32],
        lens: &[usize],
        hidden: usize,
        device: &Device,
    ) -> candle_core::Result<Vec<f32>> {
        let mut pooled = vec![0f32; lens.len() * hidden];
        let mut t = 0;
        for (out, &n) in pooled.chunks_exact_mut(hidden).zip(lens) {
            let rows = &states[t * hidden..(t + n) * hidden];
            t += n;
            if n == 0 {
                continue;
            }
            match self.pooling {
                Pooling::Cls => out.copy_from_slice(&rows[..hidden]),
                Pooling::Mean => {
                    for row in rows.chunks_exact(hidden) {
                        for (o, v) in out.iter_mut().zip(row) {
                            *o += v;
                        }
                    }
                    let count = n as f32;
                    for o in out.iter_mut() {
                        *o /= count;
                    }
                }
                Pooling::Max => {
                    out.copy_from_slice(&rows[..hidden]);
                    for row in rows.chunks_exact(hidden).skip(1) {
                        for (o, v) in out.iter_mut().zip(row) {
                            *o = o.max(*v);
                        }
                    }
                }
            }
        }
        let (mut x, width) = if self.dense.is_empty() {
            (pooled, hidden)
        } else {
            let mut t = Tensor::from_vec(pooled, (lens.len(), hidden), device)?;
            for d in &self.dense {
                t = d.linear.forward(&t)?;
                if d.activation == Activation::Tanh {
                    t = t.tanh()?;
                }
            }
            let width = t.dim(1)?;
            (t.flatten_all()?.to_vec1::<f32>()?, width)
        };
        if self.normalize {
            for row in x.chunks_exact_mut(width) {
                let norm = row.iter().map(|v| v * v).sum::<f32>().sqrt().max(1e-12);
                for v in row.iter_mut() {
                    *v /= norm;
                }
            }
        }
        Ok(x)
    }
}

fn join(dir: &str, file: &str) -> String {
    if dir.is_empty() {
        file.to_string()
    } else {
        format!("{}/{file}", dir.trim_end_matches('/'))
    }
}

fn read_sbert(files: &ModelFiles, dir: &str) -> Result<Option<usize>> {
    match files.optional(&join(dir, "sentence_bert_config.json"))? {
        Some(p) => Ok(read_json::<SbertConfig>(&p)
            .with_context(|| "sentence_bert_config.json".to_string())?
            .max_seq_length),
        None => Ok(None),
    }
}
