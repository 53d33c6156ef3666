//! Command-line interface: flags are parsed here, the work is done by the library.
//! One file per subcommand; shared flag groups live in `args`.

mod args;
mod embed;
mod eval;

pub use crate::progress::Progress;
pub use args::{InputArgs, ModelArgs};

use clap::{Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(
    name = "bitalign",
    version,
    about = "Build parallel corpora: split documents into sentences, embed them with a \
             multilingual model on the CPU, and mine or align cross-lingual pairs.",
    after_help = "Run `bitalign <COMMAND> --help` for the flags of each command."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,

    /// Worker threads (default: all cores). Results do not depend on it.
    #[arg(long, global = true, value_name = "N")]
    pub threads: Option<usize>,

    /// No progress bars or summaries on stderr (errors are still printed).
    #[arg(short, long, global = true)]
    pub quiet: bool,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Embed every sentence of each input and write the matrices (.npy and raw float32).
    Embed(embed::EmbedArgs),
    /// Score output against gold data.
    #[command(subcommand)]
    Eval(eval::EvalCommand),
}

/// Parses the command line, runs it, and returns the process exit code.
/// Errors are one line on stderr (`error: …` with its causes), never a panic trace.
pub fn main() -> i32 {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("error: {e:#}");
            1
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    if let Some(n) = cli.threads {
        anyhow::ensure!(n > 0, "--threads must be at least 1");
        rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build_global()
            .map_err(|e| anyhow::anyhow!("cannot start {n} threads: {e}"))?;
    }
    let progress = Progress::new(cli.quiet);
    match cli.command {
        Command::Embed(a) => embed::run(a, &progress),
        Command::Eval(c) => eval::run(c, &progress),
    }
}
