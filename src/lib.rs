//! bitalign: parallel corpora from documents in several languages.
//!
//! Data flows one way, one module per stage:
//! documents → [`segment`] → sentences → [`embed`] (with a [`model`]) → embeddings →
//! [`score`] → [`mine`] (comparable documents) or [`align`] (parallel documents) →
//! [`corpus`] writers. [`eval`] measures the result against others' gold data.
//! The binary (`main.rs`) only parses flags; [`cli`] holds one file per subcommand.

pub mod align;
pub mod cli;
pub mod corpus;
pub mod embed;
pub mod eval;
pub mod lang;
pub mod mine;
pub mod model;
pub mod progress;
pub mod score;
pub mod segment;
pub mod simd;
