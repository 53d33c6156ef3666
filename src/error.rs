//! Errors at the library boundary: a caller can tell a bad input file from a model that is
//! not in the offline cache without matching strings. Messages name the file or the model
//! and what is wrong; they never mention command-line flags (the binary adds those hints).
//!
//! Inside the library, stages still build errors with `anyhow` and context; a typed error
//! raised deep inside (e.g. [`Error::Input`] from the reader) travels through `anyhow`
//! and comes back out typed at the entry points, through `From<anyhow::Error>`.

use std::path::PathBuf;

/// What went wrong, by kind.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An input file (document, embeddings, gold file) is missing, unreadable or malformed.
    #[error("{}: {message}", quoted(path))]
    Input { path: String, message: String },
    /// A document holds no text at all (only whitespace, or a byte-order mark).
    #[error("{}: empty document (no text, only whitespace)", quoted(path))]
    EmptyDocument { path: String },
    /// A document's language could neither be read from its name nor detected.
    #[error("{}: language unknown (not given and not detectable)", quoted(path))]
    UnknownLanguage { path: String },
    /// The model is not in the local Hugging Face cache and downloading is not allowed.
    #[error("{model}: {file} is not in the Hugging Face cache ({}) and downloading is off", cache.display())]
    ModelNotCached {
        model: String,
        file: String,
        cache: PathBuf,
    },
    /// The hub could not be reached (or refused) while a model file was needed.
    #[error("{model}: cannot download {file} from the Hugging Face hub ({reason})")]
    HubUnreachable {
        model: String,
        file: String,
        reason: String,
    },
    /// The model's files are missing or not what they claim (config, weights, tokenizer).
    #[error("{message}")]
    Model { message: String },
    /// A parameter is out of range or inconsistent: `what` names it as the config field
    /// does, `value` is the offending value when one entry of several is at fault.
    #[error("{what}{}: {message}", value.as_deref().map(|v| format!(" {v}")).unwrap_or_default())]
    Config {
        what: String,
        value: Option<String>,
        message: String,
    },
    /// The output directory exists and overwriting was not asked for.
    #[error("{}: already exists", quoted(path))]
    OutputExists { path: String },
    /// An output cannot be created, written or committed.
    #[error("{}: {message}", quoted(path))]
    Output { path: String, message: String },
    /// Anything else, with its chain of causes.
    #[error("{0:#}")]
    Other(anyhow::Error),
}

/// The library's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn input(path: impl std::fmt::Display, message: impl Into<String>) -> Self {
        Self::Input {
            path: path.to_string(),
            message: message.into(),
        }
    }

    pub fn config(what: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Config {
            what: what.into(),
            value: None,
            message: message.into(),
        }
    }

    /// A bad entry `value` of parameter `what`.
    pub fn config_value(
        what: impl Into<String>,
        value: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Self::Config {
            what: what.into(),
            value: Some(value.into()),
            message: message.into(),
        }
    }

    pub fn output(path: impl std::fmt::Display, message: impl Into<String>) -> Self {
        Self::Output {
            path: path.to_string(),
            message: message.into(),
        }
    }
}

impl From<anyhow::Error> for Error {
    /// A typed error raised inside a stage comes back typed; context added on the way is
    /// kept in front of the message of an `Other`.
    fn from(e: anyhow::Error) -> Self {
        match e.downcast::<Error>() {
            Ok(typed) => typed,
            Err(e) => Error::Other(e),
        }
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::Other(e.into())
    }
}

/// A file name as printed in messages: as typed, unless it holds a line break or other
/// control character, then quoted so that the message stays on one line.
pub fn quoted(path: &str) -> String {
    if path.chars().any(char::is_control) {
        format!("{path:?}")
    } else {
        path.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_errors_survive_anyhow() {
        let e: anyhow::Error = Error::input("a.txt", "no such file").into();
        let back = Error::from(e);
        assert!(matches!(back, Error::Input { ref path, .. } if path == "a.txt"));
        assert_eq!(back.to_string(), "a.txt: no such file");
        let other = Error::from(anyhow::anyhow!("boom").context("while x"));
        assert_eq!(other.to_string(), "while x: boom");
    }

    #[test]
    fn names_with_line_breaks_are_quoted() {
        let e = Error::input("a\nb.txt", "no such file");
        assert_eq!(e.to_string(), "\"a\\nb.txt\": no such file");
    }
}
