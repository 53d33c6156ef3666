//! The command line: flags are parsed here, the work is done by the library. One file per
//! subcommand; shared flag groups live in `args`, the progress bars in `progress`.

mod align;
mod args;
mod bench;
mod bench_mine;
mod embed;
mod eval;
mod progress;
mod report;
mod run;
mod shard;
mod split;

pub use args::{InputArgs, ModelArgs, OutputArgs};
pub use progress::Progress;

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
    /// Mine the corresponding sentences of documents in several languages, for every
    /// language pair, and write them as a parallel corpus (the main job).
    Run(run::RunArgs),
    /// Align a document with its translation (two FILEs: source, then target): monotone
    /// 1-1 … n-m links with insertions/deletions, in vecalign's format.
    Align(align::AlignArgs),
    /// Embed every sentence of each input and write the matrices (.npy and raw float32).
    Embed(embed::EmbedArgs),
    /// Split documents into sentences and print one per line (--json: with language,
    /// index and byte span), e.g. to feed other aligners.
    Split(split::SplitArgs),
    /// Measure quality against others' gold data.
    Eval(eval::EvalArgs),
    /// Rebuild the HTML report of an output directory written with --report (its
    /// report.json), e.g. with more rows.
    Report(report::ReportArgs),
    /// Mine as sharded, resumable stages for a cluster (Slurm job arrays, GNU parallel,
    /// Kubernetes indexed Jobs): init, embed, knn, best, merge, status.
    Shard(shard::ShardArgs),
    /// Measure embedding throughput (sentences/s, tokens/s, GFLOP/s against the CPU's FMA
    /// peak, peak memory) on a fixed corpus; `bench mine`: mining throughput.
    Bench(bench::BenchArgs),
}

/// Parses the command line, runs it, and returns the process exit code.
/// Errors are one line on stderr (`error: …` with its causes), never a panic trace.
pub fn main() -> i32 {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("error: {}", message(&e));
            1
        }
    }
}

/// How to get a model without the hub, for errors that say the hub is out of reach.
const WAY_OUT: &str = "pass a local model directory with --model DIR, or make the offline \
                       model with scripts/fetch-offline-model.sh and use --model models/multilingual-e5-small-q4";

/// The one-line message for an error: the library's, with the flags that fix it.
fn message(e: &anyhow::Error) -> String {
    use bitalign::Error;
    let Some(typed) = e.downcast_ref::<Error>() else {
        return format!("{e:#}");
    };
    let quoted = |p: &str| bitalign::error::quoted(p);
    match typed {
        Error::Config {
            what,
            value: Some(v),
            message,
        } => format!("--{} {v}: {message}", flag(what)),
        Error::Config {
            what,
            value: None,
            message,
        } => format!("--{}: {message}", flag(what)),
        Error::UnknownLanguage { path } => format!(
            "{}: language unknown; name it with --lang (e.g. --lang en,vi) or in the file name (story.en.txt)",
            quoted(path)
        ),
        Error::OutputExists { path } => format!(
            "{}: already exists; choose another --out or pass --force to write into it",
            quoted(path)
        ),
        Error::ModelNotCached { model, file, cache } => format!(
            "{model}: {file} is not in the Hugging Face cache ({}) and --offline/HF_HUB_OFFLINE \
             forbids downloading; {WAY_OUT}",
            cache.display()
        ),
        Error::HubUnreachable { .. } => {
            format!("{typed}; the hub may be unreachable from here: {WAY_OUT}")
        }
        _ => format!("{e:#}"),
    }
}

/// The flag of a config field: `max_length_ratio` → `max-length-ratio`.
fn flag(field: &str) -> String {
    field.replace('_', "-")
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let threads = match cli.threads {
        Some(0) => anyhow::bail!("--threads must be at least 1"),
        Some(n) => n,
        None => std::env::var("RAYON_NUM_THREADS")
            .ok()
            .and_then(|v| v.parse().ok())
            .filter(|&n| n > 0)
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get())),
    };
    // candle sizes its matmul parallelism from this variable, not from rayon's pool.
    std::env::set_var("RAYON_NUM_THREADS", threads.to_string());
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build_global()
        .map_err(|e| anyhow::anyhow!("cannot start {threads} threads: {e}"))?;
    let progress = Progress::new(cli.quiet);
    match cli.command {
        Command::Embed(a) => embed::run(a, &progress),
        Command::Run(a) => run::run(a, &progress),
        Command::Eval(a) => eval::run(a, &progress),
        Command::Split(a) => split::run(a, &progress),
        Command::Align(a) => align::run(a, &progress),
        Command::Bench(a) => bench::run(a, threads, &progress),
        Command::Report(a) => report::run(a, &progress),
        Command::Shard(a) => shard::run(a, &progress),
    }
}
