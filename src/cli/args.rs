//! Flag groups shared by several subcommands, and the progress/verbosity switch.

use clap::Args;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::path::PathBuf;

/// Which model embeds the sentences, and how.
#[derive(Args, Debug, Clone)]
pub struct ModelArgs {
    /// A Hugging Face repo id, or a local directory in the hub's layout (config.json,
    /// model.safetensors, tokenizer.json, modules.json, …).
    #[arg(long, value_name = "ID|DIR", default_value = crate::model::DEFAULT_MODEL, env = "BITALIGN_MODEL")]
    pub model: String,

    /// Hub revision (branch, tag or commit) when --model is a repo id.
    #[arg(long, default_value = "main")]
    pub revision: String,

    /// Read the Hugging Face cache only; never touch the network (also HF_HUB_OFFLINE=1).
    #[arg(long)]
    pub offline: bool,

    /// Text put before every sentence (default: the model registry's, e.g. "passage: " for e5).
    #[arg(long, value_name = "TEXT")]
    pub prefix: Option<String>,

    /// Sentences per batch (batches are formed from sentences of similar length).
    #[arg(long, value_name = "N", default_value_t = crate::embed::DEFAULT_BATCH)]
    pub batch: usize,
}

/// Documents to read.
#[derive(Args, Debug, Clone)]
pub struct InputArgs {
    /// Input documents (UTF-8 text); `-` reads stdin.
    #[arg(value_name = "FILE", required = true)]
    pub files: Vec<PathBuf>,

    /// Inputs are already split: one sentence per line (what vecalign/bertalign users have).
    #[arg(long)]
    pub presplit: bool,
}

/// Whether to draw progress bars and summaries. Bars appear only on a terminal.
#[derive(Clone, Copy, Debug)]
pub struct Progress {
    pub quiet: bool,
}

impl Progress {
    pub fn new(quiet: bool) -> Self {
        Self { quiet }
    }

    fn draws(&self) -> bool {
        !self.quiet && std::io::stderr().is_terminal()
    }

    /// A bar over `len` items with a per-second rate, hidden when quiet or not on a terminal.
    pub fn bar(&self, len: u64, what: &str) -> ProgressBar {
        if !self.draws() {
            return ProgressBar::hidden();
        }
        let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template(&format!(
                "{{spinner}} {what} [{{bar:30}}] {{pos}}/{{len}} ({{per_sec}}, eta {{eta}})"
            ))
            .expect("valid template")
            .progress_chars("=> "),
        );
        bar
    }

    /// A line for the user on stderr unless quiet.
    pub fn say(&self, msg: impl AsRef<str>) {
        if !self.quiet {
            eprintln!("{}", msg.as_ref());
        }
    }
}
