//! bitalign: parallel corpora from documents in several languages.
//!
//! Data flows one way, one module per stage:
//! [`document`]s (read, language settled, split by [`segment`]) → [`embed`] (with a
//! [`model`]) → [`score`] → [`mine`] (comparable documents) or [`align`] (translations)
//! → [`corpus`] files and the run's manifest. [`eval`] measures results against gold data.
//! Long calls report through an [`observe::Observer`]; errors are [`error::Error`].
//!
//! One call per job:
//! - [`document::load`] files, or [`document::Document::from_text`] / `from_sentences`;
//! - [`embed::Embedder::load`] a model, then [`embed::Embedder::embed`] texts;
//! - [`mine::mine_documents`] → [`mine::Mined`] (pairs per language pair, tuples, records);
//! - [`align::align_documents`] → [`align::Alignment`], or [`align::align_corpus`];
//!   [`align::align_translated_documents`] adds a machine translation of the source
//!   ([`mt::Translations::load`]) as evidence;
//! - [`shard::Work`]: the same mining as stages addressable by shard, for clusters;
//! - [`corpus::CorpusWriter`] writes a run's files all together, with a [`corpus::Manifest`].

pub mod align;
pub mod cache;
pub mod corpus;
pub mod document;
pub mod embed;
pub mod error;
pub mod eval;
pub mod lang;
pub mod mine;
pub mod model;
pub mod mt;
pub mod observe;
pub mod report;
pub mod score;
pub mod segment;
pub mod shard;
pub mod simd;
pub mod translate;

pub use error::{Error, Result};
