//! How the library reports progress and notes without printing: the caller passes an
//! [`Observer`] (the binary draws indicatif bars and prints notes on stderr; the Python
//! package calls back into Python; tests pass [`Silent`]).

/// Receives progress and notes from a long call. Must be shareable across threads: stages
/// advance from rayon workers.
pub trait Observer: Sync {
    /// A stage of work starts (`what`: e.g. "embedding", "mining en-vi"), with `total`
    /// units if known. The stage ends when the returned handle is dropped.
    fn stage(&self, what: &str, total: Option<u64>, unit: Unit) -> Box<dyn Stage + '_>;

    /// Something the user should know (a document's language, a repaired input, a
    /// truncation); one line, no trailing newline.
    fn note(&self, message: &str);
}

/// What a stage counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    /// Sentences, rows, overlaps: plain counts.
    Items,
    /// Bytes (downloads).
    Bytes,
}

/// A running stage: advanced as work completes, finished when dropped.
pub trait Stage: Sync + Send {
    /// `n` more units are done.
    fn advance(&self, n: u64);
    /// The total became known (or changed).
    fn set_total(&self, _total: u64) {}
}

/// Reports nothing: for tests, benchmarks and callers that do not want progress.
#[derive(Clone, Copy, Debug, Default)]
pub struct Silent;

impl Observer for Silent {
    fn stage(&self, _: &str, _: Option<u64>, _: Unit) -> Box<dyn Stage + '_> {
        Box::new(NoStage)
    }
    fn note(&self, _: &str) {}
}

/// A stage nobody watches.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoStage;

impl Stage for NoStage {
    fn advance(&self, _: u64) {}
}

/// Notes collected in memory, stages ignored: for tests that check what was said.
#[derive(Debug, Default)]
pub struct Notes(pub std::sync::Mutex<Vec<String>>);

impl Observer for Notes {
    fn stage(&self, _: &str, _: Option<u64>, _: Unit) -> Box<dyn Stage + '_> {
        Box::new(NoStage)
    }
    fn note(&self, message: &str) {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(message.to_string());
    }
}
