//! Models: where they come from (hub or disk), what they are (config), and the
//! sentence-transformers pipeline around the encoder.

/// The model used when `--model` is not given.
pub const DEFAULT_MODEL: &str = "intfloat/multilingual-e5-small";
