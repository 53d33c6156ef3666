//! Progress bars and notes on stderr (indicatif), silenced by `--quiet`: the binary's
//! [`Observer`].

use bitalign::observe::{NoStage, Observer, Stage, Unit};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;

/// Whether to draw progress bars and print notes. Bars appear only on a terminal.
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

    /// A line for the user on stderr unless quiet.
    pub fn say(&self, msg: impl AsRef<str>) {
        if !self.quiet {
            eprintln!("{}", msg.as_ref());
        }
    }
}

/// A bar, cleared when the stage ends.
struct Bar(ProgressBar);

impl Stage for Bar {
    fn advance(&self, n: u64) {
        self.0.inc(n);
    }
    fn set_total(&self, total: u64) {
        self.0.set_length(total);
    }
}

impl Drop for Bar {
    fn drop(&mut self) {
        self.0.finish_and_clear();
    }
}

impl Observer for Progress {
    fn stage(&self, what: &str, total: Option<u64>, unit: Unit) -> Box<dyn Stage + '_> {
        if !self.draws() {
            return Box::new(NoStage);
        }
        let bar =
            ProgressBar::with_draw_target(Some(total.unwrap_or(0)), ProgressDrawTarget::stderr());
        let template = match unit {
            Unit::Items => format!(
                "{{spinner}} {what} [{{bar:30}}] {{pos}}/{{len}} ({{per_sec}}, eta {{eta}})"
            ),
            Unit::Bytes => {
                bar.set_message(what.to_string());
                "{msg} [{bar:30}] {bytes}/{total_bytes} ({bytes_per_sec}, eta {eta})".to_string()
            }
        };
        bar.set_style(
            ProgressStyle::with_template(&template)
                .expect("valid template")
                .progress_chars("=> "),
        );
        Box::new(Bar(bar))
    }

    fn note(&self, message: &str) {
        self.say(message);
    }
}
