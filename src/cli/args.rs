//! Flag groups shared by several subcommands, and the progress/verbosity switch.

use crate::segment::{Document, Sentence};
use clap::Args;
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

impl InputArgs {
    /// Reads every input and splits it into sentences (`--presplit`: one per line).
    pub fn load(&self) -> anyhow::Result<Vec<(Document, Vec<Sentence>)>> {
        let mut out = Vec::new();
        for (i, f) in self.files.iter().enumerate() {
            let name = f.display().to_string();
            let text = crate::segment::read_text(&name)?;
            let sentences = crate::segment::split_lines(&text, i);
            anyhow::ensure!(
                !sentences.is_empty(),
                "{name}: no sentences (the document is empty)"
            );
            out.push((
                Document {
                    name,
                    lang: String::new(),
                    text,
                },
                sentences,
            ));
        }
        Ok(out)
    }
}

impl ModelArgs {
    /// Loads the model (downloading it on first use unless offline) and wraps it for embedding.
    pub fn embedder(&self, progress: &crate::progress::Progress) -> anyhow::Result<crate::embed::Embedder> {
        let src = crate::model::ModelSource {
            model: self.model.clone(),
            revision: self.revision.clone(),
            offline: crate::model::ModelSource::offline_requested(self.offline),
        };
        let model = crate::model::Model::load(&src, progress)?;
        crate::embed::Embedder::new(model, self.prefix.clone(), self.batch)
    }
}
