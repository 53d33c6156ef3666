//! A BERT / XLM-R encoder of our own for inference on the CPU: the same weights (by
//! candle-transformers' / transformers' names) and the same arithmetic, but run on a
//! *ragged* batch — every sentence's tokens packed end to end, no padding — with the
//! dense layers as single matmuls over all tokens of the batch (gemm's AVX-512/AVX2
//! kernels, picked at run time) and the element-wise work fused in [`super::kernels`].
//! Padding and candle's per-op passes and thread pools were most of the time lost to
//! ONNX Runtime; without padding a sentence's result also cannot depend on its batch.
//!
//! Each batch runs single-threaded; parallelism is across batches, so results are the
//! same bit for bit whatever the thread count.

use anyhow::{anyhow, bail, Context, Result};
use memmap2::Mmap;
use std::collections::HashMap;
use std::path::Path;

use super::int8::{qmatmul, QWeight};
use super::kernels;

/// Configuration fields the encoder needs (from `config.json`).
#[derive(Clone, Debug, serde::Deserialize)]
pub struct RaggedConfig {
    pub hidden_size: usize,
    pub num_hidden_layers: usize,
    pub num_attention_heads: usize,
    pub intermediate_size: usize,
    #[serde(default = "default_act")]
    pub hidden_act: String,
    #[serde(default = "default_eps")]
    pub layer_norm_eps: f64,
    #[serde(default)]
    pub pad_token_id: usize,
    pub max_position_embeddings: usize,
}

fn default_act() -> String {
    "gelu".into()
}
fn default_eps() -> f64 {
    1e-12
}

/// Weights are stored transposed (`[in, out]`), see [`matmul`].
struct Layer {
    /// Query, key and value weights side by side: `[hidden, 3·hidden]`.
    qkv_w: Vec<f32>,
    qkv_b: Vec<f32>,
    out_w: Vec<f32>,
    out_b: Vec<f32>,
    ln1_g: Vec<f32>,
    ln1_b: Vec<f32>,
    up_w: Vec<f32>,
    up_b: Vec<f32>,
    down_w: Vec<f32>,
    down_b: Vec<f32>,
    ln2_g: Vec<f32>,
    ln2_b: Vec<f32>,
    /// Int8 copies of the four weights (`--quantize q8`), used instead when present.
    q8: Option<[QWeight; 4]>,
}

/// Word embeddings stay in the memory-mapped file when stored as f32: only the rows of
/// tokens actually seen are paged in (the 250k-token table is most of e5's 470 MB).
enum WordTable {
    Mapped { map: Mmap, offset: usize },
    Owned(Vec<f32>),
}

/// Scratch buffers for one batch, reused across layers.
pub struct Workspace {
    tokens: usize,
    qkv: Vec<f32>,
    ctx: Vec<f32>,
    tmp: Vec<f32>,
    up: Vec<f32>,
    scores: Vec<f32>,
    quantized: (Vec<u8>, Vec<f32>),
}

impl Workspace {
    /// Room for sequences of `lens` tokens.
    pub fn new(cfg: &RaggedConfig, lens: &[usize]) -> Self {
        let total: usize = lens.iter().sum();
        let h = cfg.hidden_size;
        Self {
            tokens: total,
            qkv: vec![0.0; total * 3 * h],
            ctx: vec![0.0; total * h],
            tmp: vec![0.0; total * h],
            up: vec![0.0; total * cfg.intermediate_size],
            scores: vec![
                0.0;
                kernels::attention_scratch(
                    lens.iter().copied().max().unwrap_or(0),
                    h,
                    cfg.num_attention_heads.max(1),
                )
            ],
            quantized: Default::default(),
        }
    }
}

pub struct RaggedEncoder {
    pub cfg: RaggedConfig,
    /// XLM-R numbers positions from `pad_token_id + 1`; BERT from 0.
    position_offset: usize,
    words: WordTable,
    vocab: usize,
    positions: Vec<f32>,
    token_type0: Vec<f32>,
    emb_ln_g: Vec<f32>,
    emb_ln_b: Vec<f32>,
    layers: Vec<Layer>,
}

/// A safetensors file mapped in memory, read by tensor name.
struct Tensors {
    map: Mmap,
    data_start: usize,
    index: HashMap<String, (String, Vec<usize>, usize, usize)>,
}

impl Tensors {
    fn open(path: &Path) -> Result<Self> {
        let file = std::fs::File::open(path)
            .with_context(|| format!("{}: cannot open", path.display()))?;
        // SAFETY: read-only mapping of a file not modified while the model lives.
        let map = unsafe { Mmap::map(&file) }
            .with_context(|| format!("{}: cannot map", path.display()))?;
        let bad = || anyhow!("{}: not a readable safetensors file", path.display());
        let n = u64::from_le_bytes(map.get(..8).ok_or_else(bad)?.try_into()?) as usize;
        let data_start = n.checked_add(8).ok_or_else(bad)?;
        let header: serde_json::Map<String, serde_json::Value> =
            serde_json::from_slice(map.get(8..data_start).ok_or_else(bad)?).map_err(|_| bad())?;
        let mut index = HashMap::new();
        for (name, v) in header {
            if name == "__metadata__" {
                continue;
            }
            let dtype = v["dtype"].as_str().ok_or_else(bad)?.to_string();
            let shape: Vec<usize> = v["shape"]
                .as_array()
                .ok_or_else(bad)?
                .iter()
                .map(|d| d.as_u64().map(|d| d as usize))
                .collect::<Option<_>>()
                .ok_or_else(bad)?;
            let off = v["data_offsets"].as_array().ok_or_else(bad)?;
            let (a, b) = (
                off.first().and_then(|x| x.as_u64()).ok_or_else(bad)? as usize,
                off.get(1).and_then(|x| x.as_u64()).ok_or_else(bad)? as usize,
            );
            if a > b || b > map.len() - data_start {
                bail!(
                    "{}: tensor {name}'s data ({a}..{b}) lies outside the file's {} data bytes",
                    path.display(),
                    map.len() - data_start
                );
            }
            // The data must hold exactly the shape's values, or reading a row would run
            // past the tensor (a header claiming [250037, 384] over 1000 rows).
            let width = match dtype.as_str() {
                "F64" | "I64" | "U64" => Some(8),
                "F32" | "I32" | "U32" => Some(4),
                "F16" | "BF16" | "I16" | "U16" => Some(2),
                "I8" | "U8" | "BOOL" => Some(1),
                _ => None,
            };
            if let Some(w) = width {
                let want = shape
                    .iter()
                    .try_fold(w, |acc: usize, &d| acc.checked_mul(d));
                if want != Some(b - a) {
                    bail!(
                        "{}: tensor {name} claims shape {shape:?} of {dtype} but holds {} bytes",
                        path.display(),
                        b - a
                    );
                }
            }
            index.insert(name, (dtype, shape, a, b));
        }
        Ok(Self {
            map,
            data_start,
            index,
        })
    }

    fn has(&self, name: &str) -> bool {
        self.index.contains_key(name)
    }

    /// The tensor as f32 values, checked against the expected shape.
    fn get(&self, name: &str, shape: &[usize]) -> Result<Vec<f32>> {
        let (dtype, got, a, b) = self
            .index
            .get(name)
            .ok_or_else(|| anyhow!("tensor {name} is missing"))?;
        if got != shape {
            bail!("tensor {name} has shape {got:?}, expected {shape:?}");
        }
        let bytes = &self.map[self.data_start + a..self.data_start + b];
        let n: usize = shape.iter().product();
        let out: Vec<f32> = match dtype.as_str() {
            "F32" => bytes
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
                .collect(),
            "F16" => bytes
                .chunks_exact(2)
                .map(|c| half::f16::from_le_bytes(c.try_into().unwrap()).to_f32())
                .collect(),
            "BF16" => bytes
                .chunks_exact(2)
                .map(|c| half::bf16::from_le_bytes(c.try_into().unwrap()).to_f32())
                .collect(),
            other => bail!("tensor {name} has dtype {other} (supported: F32, F16, BF16)"),
        };
        if out.len() != n {
            bail!("tensor {name}: {} values for shape {shape:?}", out.len());
        }
        Ok(out)
    }
}

impl RaggedEncoder {
    /// Whether this encoder reproduces the model described by `config.json`'s value
    /// (BERT or XLM-R with absolute positions and erf GELU); others go through candle.
    pub fn supports(value: &serde_json::Value, model_type: &str) -> bool {
        let act = value["hidden_act"].as_str().unwrap_or("gelu");
        let pos = value["position_embedding_type"]
            .as_str()
            .unwrap_or("absolute");
        matches!(
            model_type,
            "bert" | "bertmodel" | "xlm-roberta" | "roberta" | "xlmrobertamodel"
        ) && act == "gelu"
            && pos == "absolute"
    }

    pub fn load(value: serde_json::Value, model_type: &str, weights: &Path) -> Result<Self> {
        let cfg: RaggedConfig =
            serde_json::from_value(value).map_err(|e| anyhow!("not a valid model config: {e}"))?;
        let t = Tensors::open(weights)?;
        let wrap = |e: anyhow::Error| anyhow!("{}: weights do not match: {e}", weights.display());
        let prefix = ["", "bert.", "roberta.", "model."]
            .into_iter()
            .find(|p| t.has(&format!("{p}embeddings.word_embeddings.weight")))
            .ok_or_else(|| {
                wrap(anyhow!(
                    "tensor embeddings.word_embeddings.weight is missing"
                ))
            })?;
        let (h, inter) = (cfg.hidden_size, cfg.intermediate_size);
        if cfg.num_attention_heads == 0 || h % cfg.num_attention_heads != 0 {
            bail!(
                "hidden_size {h} is not a multiple of num_attention_heads {}",
                cfg.num_attention_heads
            );
        }
        let name = |n: &str| format!("{prefix}{n}");
        let ln = |n: &str| -> Result<(Vec<f32>, Vec<f32>)> {
            let (w, b) = if t.has(&name(&format!("{n}.weight"))) {
                ("weight", "bias")
            } else {
                ("gamma", "beta")
            };
            Ok((
                t.get(&name(&format!("{n}.{w}")), &[h])?,
                t.get(&name(&format!("{n}.{b}")), &[h])?,
            ))
        };
        let word_name = name("embeddings.word_embeddings.weight");
        let (wdtype, wshape, wa, _) = t.index[&word_name].clone();
        if wshape.len() != 2 || wshape[1] != h {
            return Err(wrap(anyhow!("tensor {word_name} has shape {wshape:?}")));
        }
        let vocab = wshape[0];
        let build = || -> Result<Self> {
            let positions = t.get(
                &name("embeddings.position_embeddings.weight"),
                &[cfg.max_position_embeddings, h],
            )?;
            let tt = name("embeddings.token_type_embeddings.weight");
            let token_type0 = match t.index.get(&tt) {
                Some((_, s, _, _)) if s.len() == 2 && s[0] >= 1 && s[1] == h => {
                    t.get(&tt, &s.clone())?[..h].to_vec()
                }
                Some((_, s, _, _)) => bail!("tensor {tt} has shape {s:?}, expected [_, {h}]"),
                None => vec![0.0; h],
            };
            let (emb_ln_g, emb_ln_b) = ln("embeddings.LayerNorm")?;
            // The last layer must exist before anything is allocated per layer: a config
            // claiming 10⁹ layers is an error, not a 672 GB allocation.
            if cfg.num_hidden_layers > 0 {
                let last = name(&format!(
                    "encoder.layer.{}.attention.self.query.weight",
                    cfg.num_hidden_layers - 1
                ));
                if !t.has(&last) {
                    bail!(
                        "tensor {last} is missing (config.json says num_hidden_layers {})",
                        cfg.num_hidden_layers
                    );
                }
            }
            let mut layers = Vec::new();
            for i in 0..cfg.num_hidden_layers {
                let p = |n: &str| name(&format!("encoder.layer.{i}.{n}"));
                let mut qkv_w = Vec::with_capacity(3 * h * h);
                let mut qkv_b = Vec::with_capacity(3 * h);
                for part in ["query", "key", "value"] {
                    qkv_w.extend(t.get(&p(&format!("attention.self.{part}.weight")), &[h, h])?);
                    qkv_b.extend(t.get(&p(&format!("attention.self.{part}.bias")), &[h])?);
                }
                let (ln1_g, ln1_b) = ln(&format!("encoder.layer.{i}.attention.output.LayerNorm"))?;
                let (ln2_g, ln2_b) = ln(&format!("encoder.layer.{i}.output.LayerNorm"))?;
                layers.push(Layer {
                    qkv_w: transpose(&qkv_w, 3 * h, h),
                    qkv_b,
                    out_w: transpose(&t.get(&p("attention.output.dense.weight"), &[h, h])?, h, h),
                    out_b: t.get(&p("attention.output.dense.bias"), &[h])?,
                    ln1_g,
                    ln1_b,
                    up_w: transpose(
                        &t.get(&p("intermediate.dense.weight"), &[inter, h])?,
                        inter,
                        h,
                    ),
                    up_b: t.get(&p("intermediate.dense.bias"), &[inter])?,
                    down_w: transpose(&t.get(&p("output.dense.weight"), &[h, inter])?, h, inter),
                    down_b: t.get(&p("output.dense.bias"), &[h])?,
                    ln2_g,
                    ln2_b,
                    q8: None,
                });
            }
            let words = if wdtype == "F32" {
                WordTable::Owned(Vec::new())
            } else {
                WordTable::Owned(t.get(&word_name, &[vocab, h])?)
            };
            Ok(Self {
                position_offset: 0,
                words,
                vocab,
                positions,
                token_type0,
                emb_ln_g,
                emb_ln_b,
                layers,
                cfg: cfg.clone(),
            })
        };
        let mut enc = build().map_err(wrap)?;
        if matches!(model_type, "xlm-roberta" | "roberta" | "xlmrobertamodel") {
            enc.position_offset = cfg
                .pad_token_id
                .checked_add(1)
                .filter(|&o| o < cfg.max_position_embeddings)
                .ok_or_else(|| {
                    anyhow!(
                        "pad_token_id {} leaves no positions of max_position_embeddings {}",
                        cfg.pad_token_id,
                        cfg.max_position_embeddings
                    )
                })?;
        }
        if wdtype == "F32" {
            enc.words = WordTable::Mapped {
                offset: t.data_start + wa,
                map: t.map,
            };
        }
        Ok(enc)
    }

    /// Switches the four matrix products of every layer to int8 (`--quantize q8`).
    /// Needs widths that are multiples of 16 (all BERT-family models).
    pub fn quantize_q8(&mut self) -> Result<()> {
        let (h, inter) = (self.cfg.hidden_size, self.cfg.intermediate_size);
        if h % 16 != 0 || inter % 16 != 0 {
            bail!("--quantize q8 needs hidden and intermediate sizes that are multiples of 16 (got {h}, {inter})");
        }
        for l in &mut self.layers {
            // Back to PyTorch's [out, in] layout for the per-output-channel scales.
            l.q8 = Some([
                QWeight::new(&transpose(&l.qkv_w, h, 3 * h), 3 * h, h),
                QWeight::new(&transpose(&l.out_w, h, h), h, h),
                QWeight::new(&transpose(&l.up_w, h, inter), inter, h),
                QWeight::new(&transpose(&l.down_w, inter, h), h, inter),
            ]);
            for w in [&mut l.qkv_w, &mut l.out_w, &mut l.up_w, &mut l.down_w] {
                *w = Vec::new();
            }
        }
        Ok(())
    }

    /// Longest sequence the position table allows.
    pub fn max_positions(&self) -> usize {
        self.cfg
            .max_position_embeddings
            .saturating_sub(self.position_offset)
    }

    fn word_row(&self, id: u32, out: &mut [f32]) {
        let h = self.cfg.hidden_size;
        // Out-of-range ids cannot come from the model's own tokenizer; map them to row 0
        // rather than read out of bounds.
        let id = if (id as usize) < self.vocab {
            id as usize
        } else {
            0
        };
        match &self.words {
            WordTable::Mapped { map, offset } => {
                let bytes = &map[offset + id * h * 4..][..h * 4];
                for (o, c) in out.iter_mut().zip(bytes.chunks_exact(4)) {
                    *o = f32::from_le_bytes(c.try_into().unwrap());
                }
            }
            WordTable::Owned(v) => out.copy_from_slice(&v[id * h..(id + 1) * h]),
        }
    }

    /// Token states `[Σ len, hidden]` for the sequences `seqs` (token ids, unpadded),
    /// packed end to end in order.
    pub fn forward(&self, seqs: &[&[u32]]) -> Vec<f32> {
        let lens: Vec<usize> = seqs.iter().map(|s| s.len()).collect();
        let mut x = self.embed_tokens(seqs);
        let mut ws = Workspace::new(&self.cfg, &lens);
        for i in 0..self.layers.len() {
            self.layer(i, &mut x, &lens, &mut ws);
        }
        x
    }

    /// The embedding layer: word + position + token type 0, layer-normed.
    pub fn embed_tokens(&self, seqs: &[&[u32]]) -> Vec<f32> {
        let h = self.cfg.hidden_size;
        let total: usize = seqs.iter().map(|s| s.len()).sum();
        let mut x = vec![0f32; total * h];
        let mut row = vec![0f32; h];
        let mut t = 0;
        for s in seqs {
            for (i, &id) in s.iter().enumerate() {
                self.word_row(id, &mut row);
                let pos = &self.positions[(i + self.position_offset) * h..][..h];
                let out = &mut x[t * h..(t + 1) * h];
                for c in 0..h {
                    out[c] = row[c] + self.token_type0[c] + pos[c];
                }
                t += 1;
            }
        }
        kernels::layer_norm(
            &mut x,
            &self.emb_ln_g,
            &self.emb_ln_b,
            self.cfg.layer_norm_eps as f32,
        );
        x
    }

    /// Encoder layer `i` in place on packed token states `x` of sequences of `lens` tokens.
    pub fn layer(&self, i: usize, x: &mut [f32], lens: &[usize], ws: &mut Workspace) {
        let l = &self.layers[i];
        let h = self.cfg.hidden_size;
        let inter = self.cfg.intermediate_size;
        let heads = self.cfg.num_attention_heads;
        let eps = self.cfg.layer_norm_eps as f32;
        let total: usize = lens.iter().sum();
        assert!(
            x.len() == total * h
                && ws.tokens >= total
                && ws.scores.len() >= lens.iter().copied().max().unwrap_or(0) * (h / heads + 1)
        );
        let (qkv, ctx, tmp, up) = (
            &mut ws.qkv[..total * 3 * h],
            &mut ws.ctx[..total * h],
            &mut ws.tmp[..total * h],
            &mut ws.up[..total * inter],
        );
        let mm = |a: &[f32],
                  w: &[f32],
                  o: &mut [f32],
                  k: usize,
                  n: usize,
                  which: usize,
                  qs: &mut (Vec<u8>, Vec<f32>)| match &l.q8 {
            Some(q) => qmatmul(a, &q[which], o, total, qs),
            None => matmul(a, w, o, total, k, n),
        };
        mm(x, &l.qkv_w, qkv, h, 3 * h, 0, &mut ws.quantized);
        kernels::add_bias(qkv, &l.qkv_b);
        let mut start = 0;
        for &n in lens {
            kernels::attention(
                &qkv[start * 3 * h..(start + n) * 3 * h],
                &mut ctx[start * h..(start + n) * h],
                n,
                h,
                heads,
                &mut ws.scores,
            );
            start += n;
        }
        mm(ctx, &l.out_w, tmp, h, h, 1, &mut ws.quantized);
        kernels::bias_residual_layer_norm(tmp, &l.out_b, x, &l.ln1_g, &l.ln1_b, eps);
        mm(x, &l.up_w, up, h, inter, 2, &mut ws.quantized);
        kernels::bias_gelu(up, &l.up_b);
        mm(up, &l.down_w, tmp, inter, h, 3, &mut ws.quantized);
        kernels::bias_residual_layer_norm(tmp, &l.down_b, x, &l.ln2_g, &l.ln2_b, eps);
    }

    /// FLOPs per token (2 per multiply-add) of a sequence of `len` tokens, for GFLOP/s
    /// reports: dense layers plus attention scores and weighted sums.
    pub fn flops(&self, len: usize) -> f64 {
        let (h, i) = (
            self.cfg.hidden_size as f64,
            self.cfg.intermediate_size as f64,
        );
        let dense = 2.0 * (4.0 * h * h + 2.0 * h * i);
        let attention = 4.0 * len as f64 * h;
        self.cfg.num_hidden_layers as f64 * (dense + attention)
    }
}

/// `out[m × n] = a[m × k] · w`, `w` being a PyTorch weight stored transposed (`[k × n]`,
/// see [`transpose`]); one thread. In that layout gemm reads the weight panels as they
/// are instead of gathering them element by element on every call (10 % of the time).
pub fn matmul(a: &[f32], w: &[f32], out: &mut [f32], m: usize, k: usize, n: usize) {
    assert!(a.len() >= m * k && w.len() >= n * k && out.len() >= m * n);
    if m == 0 {
        return;
    }
    // SAFETY: the slices hold the m×k, n×k and m×n elements the strides address.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            out.as_mut_ptr(),
            1,
            n as isize,
            false,
            a.as_ptr(),
            1,
            k as isize,
            w.as_ptr(),
            1,
            n as isize,
            0.0f32,
            1.0f32,
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
}

/// `[rows, cols]` → `[cols, rows]`.
pub fn transpose(w: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    let mut out = vec![0f32; w.len()];
    for r in 0..rows {
        for c in 0..cols {
            out[c * rows + r] = w[r * cols + c];
        }
    }
    out
}
