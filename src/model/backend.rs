//! The encoder behind one small trait over ragged batches: a batch is a list of token-id
//! sequences of any lengths, the answer one sentence vector per sequence. Our ragged
//! encoder runs them unpadded; candle's encoders pad on the right with a mask. Callers
//! (embedding, benchmarks) never need to know which one runs.

use super::{Encoder, Model, Pipeline};
use crate::model::ragged::RaggedEncoder;
use anyhow::{Context, Result};
use candle_core::{Device, Tensor};

/// Sentence vectors from token ids, one batch at a time.
pub trait Backend: Sync {
    /// Vectors (`dim` floats each, concatenated) for each sequence of `seqs`, in order.
    fn embed_batch(&self, seqs: &[&[u32]]) -> Result<Vec<f32>>;

    /// Token positions computed for a batch of these lengths (padding included).
    fn computed_tokens(&self, lens: &[usize]) -> usize;

    /// Whether batches should run side by side, one thread each (true), or one after
    /// another with every thread on each (false, candle's ops are parallel inside).
    fn parallel_batches(&self) -> bool;
}

/// Our encoder: packed token states, pooled per sentence.
struct Native<'a> {
    enc: &'a RaggedEncoder,
    pipeline: &'a Pipeline,
    device: &'a Device,
}

impl Backend for Native<'_> {
    fn embed_batch(&self, seqs: &[&[u32]]) -> Result<Vec<f32>> {
        let lens: Vec<usize> = seqs.iter().map(|s| s.len()).collect();
        let states = self.enc.forward(seqs);
        self.pipeline
            .apply_packed(&states, &lens, self.enc.cfg.hidden_size, self.device)
            .context("model forward pass failed")
    }

    fn computed_tokens(&self, lens: &[usize]) -> usize {
        lens.iter().sum()
    }

    fn parallel_batches(&self) -> bool {
        true
    }
}

/// candle-transformers' encoders: right-padded batches with a mask.
struct Candle<'a> {
    enc: &'a Encoder,
    pipeline: &'a Pipeline,
    device: &'a Device,
    pad: u32,
}

impl Backend for Candle<'_> {
    fn embed_batch(&self, seqs: &[&[u32]]) -> Result<Vec<f32>> {
        let len = seqs.iter().map(|s| s.len()).max().unwrap_or(0);
        let mut ids = Vec::with_capacity(seqs.len() * len);
        let mut mask = Vec::with_capacity(seqs.len() * len);
        for s in seqs {
            ids.extend_from_slice(s);
            ids.extend(std::iter::repeat_n(self.pad, len - s.len()));
            mask.extend(std::iter::repeat_n(1u32, s.len()));
            mask.extend(std::iter::repeat_n(0u32, len - s.len()));
        }
        let run = || -> candle_core::Result<Vec<f32>> {
            let mask = Tensor::from_vec(mask, (seqs.len(), len), self.device)?;
            let ids = Tensor::from_vec(ids, (seqs.len(), len), self.device)?;
            let types = ids.zeros_like()?;
            let hidden = self.enc.forward(&ids, &types, &mask)?;
            self.pipeline
                .apply(&hidden, &mask)?
                .flatten_all()?
                .to_vec1::<f32>()
        };
        run().context("model forward pass failed")
    }

    fn computed_tokens(&self, lens: &[usize]) -> usize {
        lens.len() * lens.iter().copied().max().unwrap_or(0)
    }

    fn parallel_batches(&self) -> bool {
        false
    }
}

impl Model {
    /// The backend that runs this model's encoder and pooling.
    pub fn backend(&self) -> Box<dyn Backend + '_> {
        match &self.encoder {
            Encoder::Ragged(enc) => Box::new(Native {
                enc,
                pipeline: &self.pipeline,
                device: &self.device,
            }),
            enc => Box::new(Candle {
                enc,
                pipeline: &self.pipeline,
                device: &self.device,
                pad: self.info.pad_token_id,
            }),
        }
    }
}
