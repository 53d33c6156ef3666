//! Progress bars and user-facing notes on stderr, silenced by `--quiet`.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;

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

impl Progress {
    /// A byte-count bar for downloads.
    pub fn bytes_bar(&self, what: &str) -> ProgressBar {
        if !self.draws() {
            return ProgressBar::hidden();
        }
        let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template(
                "{msg} [{bar:30}] {bytes}/{total_bytes} ({bytes_per_sec}, eta {eta})",
            )
            .expect("valid template")
            .progress_chars("=> "),
        );
        bar.set_message(what.to_string());
        bar
    }
}
