//! `bitalign report DIR` (rebuild a run's page from its `report.json`), and the glue that
//! `--report` on `run` and `align` shares: write the data, the page and the plots.

use super::Progress;
use anyhow::Result;
use bitalign::corpus::CorpusWriter;
use bitalign::report::{self, Limits, RunData};
use clap::Args;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct ReportArgs {
    /// A directory written by `bitalign run --report` or `bitalign align --report DIR`
    /// (it holds report.json); report.html and report-plots/ are rewritten there.
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,

    /// Rows per mined language pair and group: the best and the worst kept pairs, the
    /// best below the threshold and the best filtered, this many each.
    #[arg(long, value_name = "N", default_value_t = Limits::default().rows)]
    pub rows: usize,

    /// Links shown per aligned document pair (the first ones).
    #[arg(long, value_name = "N", default_value_t = Limits::default().links)]
    pub links: usize,
}

pub fn run(a: ReportArgs, progress: &Progress) -> Result<()> {
    let data = report::read_data(&a.dir)?;
    let limits = Limits {
        rows: a.rows,
        links: a.links,
    };
    let files = report::write(&a.dir, &data, &limits)?;
    say_written(&files, progress);
    Ok(())
}

/// The command line as typed, without the program name (shown on the page).
pub(super) fn command_line() -> String {
    std::env::args().skip(1).collect::<Vec<_>>().join(" ")
}

/// `--report`: `report.json`, the plots and the page, among the run's files (they appear
/// with the corpus at commit); returns their final paths for [`say_written`].
pub(super) fn write_all(w: &mut CorpusWriter, data: &RunData) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for (name, bytes) in report::files(data, &Limits::default())? {
        w.write_file(&name, &bytes)?;
        out.push(w.dir().join(name));
    }
    Ok(out)
}

pub(super) fn say_written(files: &[PathBuf], progress: &Progress) {
    if let Some(page) = files.iter().find(|f| f.ends_with(report::HTML_FILE)) {
        let plots = files
            .iter()
            .filter(|f| f.extension().is_some_and(|e| e == "svg"))
            .count();
        progress.say(format!(
            "report: {} (open it in a browser; {plots} plots as SVG in {})",
            page.display(),
            page.with_file_name(report::SVG_DIR).display()
        ));
    }
}
