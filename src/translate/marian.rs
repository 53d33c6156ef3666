//! The Marian encoder-decoder (transformers' `MarianMTModel`, the architecture of every
//! OPUS-MT model) on candle tensors. candle-transformers' `models::marian` has no padding
//! mask (its encoder attends to the pads of shorter sentences, so a batch translates
//! differently from one sentence alone), recomputes the cross-attention keys at every step
//! and keeps its cache inside the model; this one takes masks, computes the encoder's
//! keys and values once per batch and keeps the decoding state outside the weights, so
//! batches can run on several threads over one model.

use anyhow::{anyhow, bail, Result};
use candle_core::{DType, Device, Module, Tensor};
use candle_nn::{Embedding, LayerNorm, Linear, VarBuilder};
use serde::Deserialize;

/// `config.json` of a Marian model (the fields used; others are ignored).
#[derive(Clone, Debug, Deserialize)]
pub struct MarianConfig {
    pub vocab_size: usize,
    #[serde(default)]
    pub decoder_vocab_size: Option<usize>,
    pub d_model: usize,
    pub encoder_layers: usize,
    pub decoder_layers: usize,
    pub encoder_attention_heads: usize,
    pub decoder_attention_heads: usize,
    pub encoder_ffn_dim: usize,
    pub decoder_ffn_dim: usize,
    #[serde(default = "swish")]
    pub activation_function: String,
    pub max_position_embeddings: usize,
    #[serde(default)]
    pub scale_embedding: bool,
    pub pad_token_id: u32,
    pub eos_token_id: u32,
    pub decoder_start_token_id: u32,
    #[serde(default)]
    pub forced_eos_token_id: Option<u32>,
    #[serde(default = "yes")]
    pub share_encoder_decoder_embeddings: bool,
    #[serde(default)]
    pub model_type: Option<String>,
    // Generation defaults that older repos keep in config.json (newer ones in
    // generation_config.json, which takes precedence).
    #[serde(default)]
    pub num_beams: Option<usize>,
    #[serde(default)]
    pub max_length: Option<usize>,
    #[serde(default)]
    pub bad_words_ids: Option<Vec<Vec<u32>>>,
}

fn swish() -> String {
    "swish".into()
}
fn yes() -> bool {
    true
}

impl MarianConfig {
    pub fn target_vocab(&self) -> usize {
        self.decoder_vocab_size.unwrap_or(self.vocab_size)
    }

    /// Checks what the model code relies on, so that a bad config is one clear error.
    pub fn validate(&self) -> Result<()> {
        if let Some(t) = &self.model_type {
            if t != "marian" {
                bail!(
                    "model_type is {t:?}, not \"marian\" (only Marian / OPUS-MT models translate)"
                );
            }
        }
        for (heads, what) in [
            (self.encoder_attention_heads, "encoder_attention_heads"),
            (self.decoder_attention_heads, "decoder_attention_heads"),
        ] {
            if heads == 0 || !self.d_model.is_multiple_of(heads) {
                bail!(
                    "d_model {} is not divisible by {what} {heads}",
                    self.d_model
                );
            }
        }
        if !self.share_encoder_decoder_embeddings {
            bail!("separate encoder and decoder vocabularies (share_encoder_decoder_embeddings false) are not supported");
        }
        activation(&self.activation_function)?;
        Ok(())
    }
}

#[derive(Clone, Copy, Debug)]
enum Act {
    Silu,
    Relu,
    Gelu,
}

fn activation(name: &str) -> Result<Act> {
    Ok(match name {
        "swish" | "silu" => Act::Silu,
        "relu" => Act::Relu,
        "gelu" => Act::Gelu,
        other => bail!("activation_function {other:?} is not supported"),
    })
}

impl Act {
    fn apply(self, x: &Tensor) -> candle_core::Result<Tensor> {
        match self {
            Act::Silu => x.silu(),
            Act::Relu => x.relu(),
            Act::Gelu => x.gelu_erf(),
        }
    }
}

fn linear(dim_in: usize, dim_out: usize, vb: VarBuilder) -> candle_core::Result<Linear> {
    let w = vb.get((dim_out, dim_in), "weight")?;
    let b = vb.get(dim_out, "bias")?;
    Ok(Linear::new(w, Some(b)))
}

fn layer_norm(dim: usize, vb: VarBuilder) -> candle_core::Result<LayerNorm> {
    let w = vb.get(dim, "weight")?;
    let b = vb.get(dim, "bias")?;
    Ok(LayerNorm::new(w, b, 1e-5))
}

struct Attention {
    q: Linear,
    k: Linear,
    v: Linear,
    out: Linear,
    heads: usize,
    head_dim: usize,
}

impl Attention {
    fn new(d: usize, heads: usize, vb: VarBuilder) -> candle_core::Result<Self> {
        Ok(Self {
            q: linear(d, d, vb.pp("q_proj"))?,
            k: linear(d, d, vb.pp("k_proj"))?,
            v: linear(d, d, vb.pp("v_proj"))?,
            out: linear(d, d, vb.pp("out_proj"))?,
            heads,
            head_dim: d / heads,
        })
    }

    /// `[b, t, d]` → `[b, heads, t, head_dim]`.
    fn split(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let (b, t, _) = x.dims3()?;
        x.reshape((b, t, self.heads, self.head_dim))?
            .transpose(1, 2)?
            .contiguous()
    }

    fn keys_values(&self, x: &Tensor) -> candle_core::Result<(Tensor, Tensor)> {
        Ok((
            self.split(&self.k.forward(x)?)?,
            self.split(&self.v.forward(x)?)?,
        ))
    }

    /// Attention of `x` over keys and values already split into heads; `mask` is added to
    /// the scores (0 or −∞, broadcast to `[b, heads, tq, tk]`).
    fn attend(
        &self,
        x: &Tensor,
        k: &Tensor,
        v: &Tensor,
        mask: Option<&Tensor>,
    ) -> candle_core::Result<Tensor> {
        let (b, t, d) = x.dims3()?;
        let scale = (self.head_dim as f64).powf(-0.5);
        let q = self.split(&(self.q.forward(x)? * scale)?)?;
        let scores = q.matmul(&k.transpose(2, 3)?.contiguous()?)?;
        let scores = match mask {
            Some(m) => scores.broadcast_add(m)?,
            None => scores,
        };
        let probs = candle_nn::ops::softmax_last_dim(&scores)?;
        let ctx = probs.matmul(v)?.transpose(1, 2)?.reshape((b, t, d))?;
        self.out.forward(&ctx)
    }
}

struct EncoderLayer {
    attn: Attention,
    attn_norm: LayerNorm,
    fc1: Linear,
    fc2: Linear,
    norm: LayerNorm,
}

struct DecoderLayer {
    attn: Attention,
    attn_norm: LayerNorm,
    cross: Attention,
    cross_norm: LayerNorm,
    fc1: Linear,
    fc2: Linear,
    norm: LayerNorm,
}

/// A loaded Marian model. Immutable: the decoding state lives in [`State`].
pub struct Marian {
    pub config: MarianConfig,
    shared: Embedding,
    /// `shared`'s weights, `[vocab, d]`, as the output projection (tied, as in transformers).
    lm_head: Tensor,
    final_logits_bias: Tensor,
    positions: Tensor,
    encoder: Vec<EncoderLayer>,
    decoder: Vec<DecoderLayer>,
    embed_scale: f64,
    act: Act,
}

/// The decoding state of one batch: the encoder's keys and values for every decoder
/// layer's cross-attention, the self-attention cache, and the source padding mask.
#[derive(Clone)]
pub struct State {
    cross: Vec<(Tensor, Tensor)>,
    cache: Vec<Option<(Tensor, Tensor)>>,
    /// `[b, 1, 1, src]`: 0 for tokens, −∞ for padding.
    src_mask: Tensor,
    /// Decoded positions so far.
    pub step: usize,
}

impl State {
    /// Keeps rows `rows` (in that order) of the batch: beam search's reordering, and
    /// dropping the rows that are done.
    pub fn select(&mut self, rows: &[u32]) -> Result<()> {
        let rows = Tensor::new(rows, self.src_mask.device())?;
        let sel = |t: &Tensor| t.index_select(&rows, 0);
        for c in self.cache.iter_mut().flatten() {
            *c = (sel(&c.0)?, sel(&c.1)?);
        }
        for c in self.cross.iter_mut() {
            *c = (sel(&c.0)?, sel(&c.1)?);
        }
        self.src_mask = sel(&self.src_mask)?;
        Ok(())
    }

    /// Repeats every row of the state `n` times (row i → rows i·n … i·n+n−1): beams.
    pub fn expand(&mut self, n: usize) -> Result<()> {
        let rows: Vec<u32> = (0..self.rows() as u32)
            .flat_map(|i| std::iter::repeat_n(i, n))
            .collect();
        self.select(&rows)
    }

    /// Rows in the batch.
    pub fn rows(&self) -> usize {
        self.src_mask.dims()[0]
    }
}

/// The sinusoidal position table of transformers' `MarianSinusoidalPositionalEmbedding`:
/// sines in the first half of the columns, cosines in the second, computed in f64 as
/// numpy does there.
fn sinusoids(n: usize, d: usize, device: &Device) -> candle_core::Result<Tensor> {
    let half = d / 2 + d % 2;
    let mut table = vec![0f32; n * d];
    for pos in 0..n {
        for j in 0..d {
            let angle = pos as f64 / 10000f64.powf((2 * (j / 2)) as f64 / d as f64);
            // Column 2i's angle goes to column i (sin), column 2i+1's to half + i (cos).
            let (col, v) = if j % 2 == 0 {
                (j / 2, angle.sin())
            } else {
                (half + j / 2, angle.cos())
            };
            table[pos * d + col] = v as f32;
        }
    }
    Tensor::from_vec(table, (n, d), device)
}

impl Marian {
    /// Builds the model from `model.safetensors`' weights (transformers' names).
    pub fn new(config: MarianConfig, vb: VarBuilder) -> Result<Self> {
        config.validate()?;
        let d = config.d_model;
        let act = activation(&config.activation_function)?;
        let m = vb.pp("model");
        let shared_w = m.get((config.vocab_size, d), "shared.weight")?;
        let shared = Embedding::new(shared_w.clone(), d);
        let final_logits_bias = vb
            .get((1, config.target_vocab()), "final_logits_bias")?
            .squeeze(0)?;
        let mut encoder = Vec::new();
        for i in 0..config.encoder_layers {
            let l = m.pp(format!("encoder.layers.{i}"));
            encoder.push(EncoderLayer {
                attn: Attention::new(d, config.encoder_attention_heads, l.pp("self_attn"))?,
                attn_norm: layer_norm(d, l.pp("self_attn_layer_norm"))?,
                fc1: linear(d, config.encoder_ffn_dim, l.pp("fc1"))?,
                fc2: linear(config.encoder_ffn_dim, d, l.pp("fc2"))?,
                norm: layer_norm(d, l.pp("final_layer_norm"))?,
            });
        }
        let mut decoder = Vec::new();
        for i in 0..config.decoder_layers {
            let l = m.pp(format!("decoder.layers.{i}"));
            decoder.push(DecoderLayer {
                attn: Attention::new(d, config.decoder_attention_heads, l.pp("self_attn"))?,
                attn_norm: layer_norm(d, l.pp("self_attn_layer_norm"))?,
                cross: Attention::new(d, config.decoder_attention_heads, l.pp("encoder_attn"))?,
                cross_norm: layer_norm(d, l.pp("encoder_attn_layer_norm"))?,
                fc1: linear(d, config.decoder_ffn_dim, l.pp("fc1"))?,
                fc2: linear(config.decoder_ffn_dim, d, l.pp("fc2"))?,
                norm: layer_norm(d, l.pp("final_layer_norm"))?,
            });
        }
        let positions = sinusoids(config.max_position_embeddings, d, vb.device())?;
        let embed_scale = if config.scale_embedding {
            (d as f64).sqrt()
        } else {
            1.0
        };
        // Tied to the shared embeddings in every OPUS-MT model; a separate head if saved.
        let lm_head = if vb.contains_tensor("lm_head.weight") {
            vb.get((config.target_vocab(), d), "lm_head.weight")?
        } else {
            shared_w.narrow(0, 0, config.target_vocab())?
        };
        Ok(Self {
            config,
            shared,
            lm_head,
            final_logits_bias,
            positions,
            encoder,
            decoder,
            embed_scale,
            act,
        })
    }

    fn embed(&self, ids: &Tensor, start: usize) -> candle_core::Result<Tensor> {
        let t = ids.dim(1)?;
        let x = (self.shared.forward(ids)? * self.embed_scale)?;
        x.broadcast_add(&self.positions.narrow(0, start, t)?.unsqueeze(0)?)
    }

    fn ffn(&self, x: &Tensor, fc1: &Linear, fc2: &Linear) -> candle_core::Result<Tensor> {
        fc2.forward(&self.act.apply(&fc1.forward(x)?)?)
    }

    /// Runs the encoder on right-padded `ids` (`lens[i]` real tokens in row i) and
    /// prepares the decoder's state.
    pub fn encode(&self, ids: &[Vec<u32>]) -> Result<State> {
        let dev = self.positions.device();
        let b = ids.len();
        let len = ids.iter().map(Vec::len).max().unwrap_or(0);
        if len == 0 {
            bail!("empty batch");
        }
        if len > self.config.max_position_embeddings {
            bail!(
                "{len} tokens, more than the model's {} positions",
                self.config.max_position_embeddings
            );
        }
        let pad = self.config.pad_token_id;
        let mut flat = Vec::with_capacity(b * len);
        let mut mask = Vec::with_capacity(b * len);
        for row in ids {
            flat.extend(row.iter().copied());
            flat.extend(std::iter::repeat_n(pad, len - row.len()));
            mask.extend(std::iter::repeat_n(0f32, row.len()));
            mask.extend(std::iter::repeat_n(f32::NEG_INFINITY, len - row.len()));
        }
        let ids = Tensor::from_vec(flat, (b, len), dev)?;
        let src_mask = Tensor::from_vec(mask, (b, 1, 1, len), dev)?;
        let mut x = self.embed(&ids, 0)?;
        for l in &self.encoder {
            let (k, v) = l.attn.keys_values(&x)?;
            let a = l.attn.attend(&x, &k, &v, Some(&src_mask))?;
            x = l.attn_norm.forward(&(a + &x)?)?;
            let f = self.ffn(&x, &l.fc1, &l.fc2)?;
            x = l.norm.forward(&(f + &x)?)?;
        }
        let cross = self
            .decoder
            .iter()
            .map(|l| l.cross.keys_values(&x))
            .collect::<candle_core::Result<Vec<_>>>()?;
        Ok(State {
            cross,
            cache: vec![None; self.decoder.len()],
            src_mask,
            step: 0,
        })
    }

    /// One decoding step: `tokens[i]` is the last token of row i; returns the logits of the
    /// next token, `[b, target vocab]`, and advances the state.
    pub fn step(&self, state: &mut State, tokens: &[u32]) -> Result<Tensor> {
        let dev = self.positions.device();
        if state.step >= self.config.max_position_embeddings {
            return Err(anyhow!(
                "the decoder is past the model's {} positions",
                self.config.max_position_embeddings
            ));
        }
        let ids = Tensor::from_vec(tokens.to_vec(), (tokens.len(), 1), dev)?;
        let mut x = self.embed(&ids, state.step)?;
        for (i, l) in self.decoder.iter().enumerate() {
            let (k, v) = l.attn.keys_values(&x)?;
            let (k, v) = match &state.cache[i] {
                Some((pk, pv)) => (Tensor::cat(&[pk, &k], 2)?, Tensor::cat(&[pv, &v], 2)?),
                None => (k, v),
            };
            // One new position attends to every earlier one: no causal mask needed.
            let a = l.attn.attend(&x, &k, &v, None)?;
            state.cache[i] = Some((k, v));
            x = l.attn_norm.forward(&(a + &x)?)?;
            let (ck, cv) = &state.cross[i];
            let a = l.cross.attend(&x, ck, cv, Some(&state.src_mask))?;
            x = l.cross_norm.forward(&(a + &x)?)?;
            let f = self.ffn(&x, &l.fc1, &l.fc2)?;
            x = l.norm.forward(&(f + &x)?)?;
        }
        state.step += 1;
        let h = x.squeeze(1)?;
        let logits = h.matmul(&self.lm_head.t()?)?;
        Ok(logits.broadcast_add(&self.final_logits_bias)?)
    }

    pub fn dtype(&self) -> DType {
        self.positions.dtype()
    }
}

/// Row `i` of a `[b, v]` tensor as a vector (for the search, which works on the CPU side).
pub fn rows(t: &Tensor) -> Result<Vec<Vec<f32>>> {
    Ok(t.to_dtype(DType::F32)?.to_vec2::<f32>()?)
}
