//! The output side: one record type for mined pairs and aligned links, one writer
//! ("sink") per format, and atomic file output shared by all of them.

mod atomic;
pub mod vecalign;

pub use atomic::AtomicFile;

use serde::Serialize;

/// One side of a record: 0..n consecutive sentences of one document.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Side {
    pub lang: String,
    /// The document as the user named it (path, or `-` for stdin).
    pub doc: String,
    /// Sentence indices within the document, ascending; empty for an insertion/deletion.
    pub indices: Vec<usize>,
    /// The sentences joined by a space.
    pub text: String,
    /// Byte span in the original file, from the first sentence's start to the last one's end.
    pub span: Option<(usize, usize)>,
}

/// A mined pair or an aligned link, with its scores.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Record {
    pub src: Side,
    pub tgt: Side,
    pub cosine: f32,
    /// Ratio margin (mining); absent for alignment links.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub margin: Option<f32>,
    /// Alignment cost of the link (lower is better); absent for mined pairs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cost: Option<f32>,
}

/// An output format. Records arrive in output order; `finish` flushes and commits.
pub trait Sink {
    fn write(&mut self, record: &Record) -> anyhow::Result<()>;
    fn finish(self: Box<Self>) -> anyhow::Result<()>;
}
