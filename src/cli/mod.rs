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
mod translate;

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
    /// Align a document with its translation (two FILEs: source, then target): 1-1 … n-m
    /// links with insertions/deletions in order (but for swapped or moved sentences), in
    /// vecalign's format.
    Align(align::AlignArgs),
    /// Translate a text, one sentence per line, with a Marian (OPUS-MT) model on the CPU
    /// (--mt-model ID|DIR): one translation per line.
    Translate(translate::TranslateArgs),
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
    /// Kubernetes indexed Jobs): init, embed, train, assign, knn, best, merge, status.
    Shard(shard::ShardArgs),
    /// Measure embedding throughput (sentences/s, tokens/s, GFLOP/s against the CPU's FMA
    /// peak, peak memory) on a fixed corpus; `bench mine`: mining throughput.
    Bench(bench::BenchArgs),
}

/// Parses the command line, runs it, and returns the process exit code.
/// Errors are one line on stderr (`error: …` with its causes), never a panic trace.
pub fn main() -> i32 {
    // A signal ends the process without destructors: remove unfinished output first.
    let _ = ctrlc::set_handler(|| {
        let n = bitalign::corpus::remove_pending();
        eprintln!(
            "error: interrupted{}",
            if n > 0 {
                format!("; removed {n} unfinished output file(s)")
            } else {
                String::new()
            }
        );
        std::process::exit(130);
    });
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return flag_error(e),
    };
    match run(cli) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("error: {}", one_line(&message(&e)));
            1
        }
    }
}

/// Prints a clap error as the one-line `error: …` every other error is, exit code 1
/// (`--help` and `--version` print as usual, exit 0).
fn flag_error(e: clap::Error) -> i32 {
    use clap::error::ErrorKind;
    if matches!(
        e.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        let _ = e.print();
        return if e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
            1
        } else {
            0
        };
    }
    eprintln!("{}", clap_one_line(&e.render().to_string()));
    1
}

/// clap's multi-line message (error, details, tips, usage) as one line: everything before
/// the usage, joined.
fn clap_one_line(text: &str) -> String {
    let mut parts = Vec::new();
    for line in text.lines() {
        let t = line.trim();
        if t.starts_with("Usage:") || t.starts_with("For more information") {
            break;
        }
        if !t.is_empty() {
            parts.push(t);
        }
    }
    let mut out = parts.join(" ");
    if !out.starts_with("error:") {
        out.insert_str(0, "error: ");
    }
    out.push_str(" (see --help)");
    out
}

/// A message with control characters escaped (a newline in a file name must not split
/// the error line).
fn one_line(msg: &str) -> String {
    msg.chars()
        .flat_map(|c| {
            if c.is_control() {
                c.escape_default().collect::<Vec<_>>()
            } else {
                vec![c]
            }
        })
        .collect()
}

/// `--threads` is capped at this many per core.
const MAX_THREADS_PER_CORE: usize = 4;

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
    let progress = Progress::new(cli.quiet);
    if let Err(e) = bitalign::simd::requested() {
        anyhow::bail!("{e}");
    }
    // More threads than a few per core only add switching (10000 threads took 80× longer).
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let cap = MAX_THREADS_PER_CORE * cores;
    let threads = if threads > cap {
        progress.say(format!(
            "note: {threads} threads requested; using {cap} ({MAX_THREADS_PER_CORE} per core, {cores} cores)"
        ));
        cap
    } else {
        threads
    };
    // candle sizes its matmul parallelism from this variable, not from rayon's pool.
    std::env::set_var("RAYON_NUM_THREADS", threads.to_string());
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build_global()
        .map_err(|e| anyhow::anyhow!("cannot start {threads} threads: {e}"))?;
    match cli.command {
        Command::Embed(a) => embed::run(a, &progress),
        Command::Run(a) => run::run(a, &progress),
        Command::Eval(a) => eval::run(a, &progress),
        Command::Split(a) => split::run(a, &progress),
        Command::Align(a) => align::run(a, &progress),
        Command::Translate(a) => translate::run(a, &progress),
        Command::Bench(a) => bench::run(a, threads, &progress),
        Command::Report(a) => report::run(a, &progress),
        Command::Shard(a) => shard::run(a, &progress),
    }
}
