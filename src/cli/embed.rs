use super::{InputArgs, ModelArgs, Progress};
use clap::Args;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct EmbedArgs {
    #[command(flatten)]
    pub input: InputArgs,
    #[command(flatten)]
    pub model: ModelArgs,
    /// Output directory.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
}

pub fn run(_args: EmbedArgs, _progress: &Progress) -> anyhow::Result<()> {
    anyhow::bail!("embed: not wired yet (skeleton)")
}
