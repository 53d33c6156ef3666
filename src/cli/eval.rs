//! `bitalign eval …`: scores our output against others' gold data.

use super::Progress;
use crate::eval::align::{read_links, Tally};
use clap::{Args, Subcommand};
use std::path::PathBuf;

#[derive(Subcommand, Debug)]
pub enum EvalCommand {
    /// Alignment links against gold links (vecalign's score.py: strict and lax P/R/F1).
    Align(EvalAlignArgs),
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

pub fn run(cmd: EvalCommand, progress: &Progress) -> anyhow::Result<()> {
    match cmd {
        EvalCommand::Align(a) => run_align(a, progress),
    }
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
        let gold = read_links(g)?;
        let test = read_links(t)?;
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
