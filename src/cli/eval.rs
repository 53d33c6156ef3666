//! `bitalign eval mining|align`: measure against others' gold data.

use super::{ModelArgs, Progress};
use anyhow::{ensure, Result};
use bitalign::embed::Embeddings;
use bitalign::eval::align::{check_same_sentences, read_gold, read_links, Tally};
use bitalign::eval::mining;
use bitalign::score::DEFAULT_K;
use clap::{Args, Subcommand};
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct EvalArgs {
    #[command(subcommand)]
    pub command: EvalCommand,
}

#[derive(Subcommand, Debug)]
pub enum EvalCommand {
    /// Retrieval accuracy on line-aligned translations (Tatoeba layout: line i of SRC
    /// translates line i of TGT), both directions, by cosine and by ratio margin.
    Mining(MiningArgs),
    /// Alignment links against gold links (vecalign's score.py: strict and lax P/R/F1).
    Align(EvalAlignArgs),
}

#[derive(Args, Debug)]
pub struct MiningArgs {
    /// Source sentences, one per line (or a .npy of their embeddings).
    #[arg(value_name = "SRC")]
    pub src: PathBuf,
    /// Their translations, line by line (or a .npy of their embeddings).
    #[arg(value_name = "TGT")]
    pub tgt: PathBuf,
    #[command(flatten)]
    pub model: ModelArgs,
    /// Neighbours per sentence for the margin.
    #[arg(long, default_value_t = DEFAULT_K, value_name = "N")]
    pub k: usize,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
    /// SRC and TGT are raw float32 embedding rows of this width (`embed`'s `.f32`).
    #[arg(long, value_name = "N")]
    pub dim: Option<usize>,
}

#[derive(Args, Debug)]
pub struct EvalAlignArgs {
    /// Gold alignments, vecalign format (`[0, 1]:[2]` a line); one per document.
    #[arg(long, value_name = "FILE", num_args = 1.., required = true)]
    pub gold: Vec<PathBuf>,
    /// Test alignments, same format (a trailing `:cost` is ignored), in the order of --gold.
    #[arg(long, value_name = "FILE", num_args = 1.., required = true)]
    pub test: Vec<PathBuf>,
}

pub fn run(args: EvalArgs, progress: &Progress) -> Result<()> {
    match args.command {
        EvalCommand::Mining(a) => run_mining(a, progress),
        EvalCommand::Align(a) => run_align(a, progress),
    }
}

fn is_npy(p: &std::path::Path) -> bool {
    p.extension().is_some_and(|e| e == "npy")
}

/// Line-aligned sentences: every line counts (an empty line is still a sentence slot).
fn read_lines(path: &std::path::Path) -> Result<Vec<String>> {
    let name = path.display().to_string();
    let text = bitalign::segment::read_text(&name)?;
    let lines: Vec<String> = text
        .lines()
        .map(|l| l.trim_end_matches('\r').to_string())
        .collect();
    ensure!(
        !lines.is_empty(),
        "{name}: empty; expected one sentence per line"
    );
    Ok(lines)
}

fn run_mining(a: MiningArgs, progress: &Progress) -> Result<()> {
    ensure!(a.k > 0, "--k must be at least 1");
    let (x, y) = if (is_npy(&a.src) && is_npy(&a.tgt)) || a.dim.is_some() {
        (
            Embeddings::read(&a.src, a.dim)?,
            Embeddings::read(&a.tgt, a.dim)?,
        )
    } else {
        let (s, t) = (read_lines(&a.src)?, read_lines(&a.tgt)?);
        ensure!(
            s.len() == t.len(),
            "{} has {} lines but {} has {}; line-aligned files need the same number",
            a.src.display(),
            s.len(),
            a.tgt.display(),
            t.len()
        );
        let both: Vec<&str> = s.iter().chain(&t).map(String::as_str).collect();
        let e = embed_with_model(&a.model, &both, progress)?;
        let (n, d) = (s.len(), e.dim());
        let v = e.into_vec();
        (
            Embeddings::new(d, v[..n * d].to_vec())?,
            Embeddings::new(d, v[n * d..].to_vec())?,
        )
    };
    ensure!(
        x.dim() == y.dim(),
        "the two sides have embeddings of width {} and {}",
        x.dim(),
        y.dim()
    );
    let acc = mining::accuracy(&x, &y, a.k)?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&acc)?);
    } else {
        println!(
            "{} ↔ {}: {} sentences, margin over k = {}\naccuracy %   src→tgt  tgt→src\ncosine       {:7.1}  {:7.1}\nmargin       {:7.1}  {:7.1}",
            a.src.display(),
            a.tgt.display(),
            acc.n,
            acc.k,
            acc.cosine.src_to_tgt,
            acc.cosine.tgt_to_src,
            acc.margin.src_to_tgt,
            acc.margin.tgt_to_src
        );
    }
    Ok(())
}

fn embed_with_model(model: &ModelArgs, texts: &[&str], progress: &Progress) -> Result<Embeddings> {
    model.embedder(progress)?.embed(texts, progress)
}

fn run_align(a: EvalAlignArgs, _progress: &Progress) -> anyhow::Result<()> {
    anyhow::ensure!(
        a.gold.len() == a.test.len(),
        "--gold names {} files but --test names {}; give one test file per gold file",
        a.gold.len(),
        a.test.len()
    );
    let mut tally = Tally::default();
    let many = a.gold.len() > 1;
    for (g, t) in a.gold.iter().zip(&a.test) {
        let gold = read_gold(g)?;
        let test = read_links(t)?;
        check_same_sentences(
            &gold,
            &test,
            &g.display().to_string(),
            &t.display().to_string(),
        )?;
        let s = tally.add(&gold, &test);
        if many {
            println!("{}\t{s}", t.display());
        }
    }
    let s = tally.scores();
    if many {
        println!(
            "all ({} documents, micro-averaged as score.py)",
            a.gold.len()
        );
    }
    println!("            strict    lax");
    println!(
        "precision   {:.4}    {:.4}",
        s.precision_strict, s.precision_lax
    );
    println!("recall      {:.4}    {:.4}", s.recall_strict, s.recall_lax);
    println!("f1          {:.4}    {:.4}", s.f1_strict, s.f1_lax);
    Ok(())
}
