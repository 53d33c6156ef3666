//! Turning sentences into vectors: batching by length, deduplication, parallel execution.

mod matrix;

pub use matrix::Embeddings;

/// Sentences per batch unless `--batch` says otherwise.
pub const DEFAULT_BATCH: usize = 32;
