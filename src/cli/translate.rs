//! `bitalign translate FILE --mt-model ID|DIR`: one sentence per line in, one translation
//! per line out, with a built-in Marian (OPUS-MT) model ([`bitalign::translate`]); and the
//! `--mt-model` flags `align` shares.

use super::Progress;
use anyhow::{bail, Result};
use bitalign::corpus::AtomicFile;
use bitalign::document::{self, LoadOptions};
use bitalign::model::ModelSource;
use bitalign::segment;
use bitalign::translate::{cache_dir, translate_cached, TranslateOptions, Translated, Translator};
use clap::Args;
use std::io::Write;
use std::path::PathBuf;

/// How to get a translation model without the hub.
const MT_WAY_OUT: &str = "pass a local Marian model directory with --mt-model DIR (a copy of the \
                          repo: config.json, model.safetensors or pytorch_model.bin, source.spm, target.spm, vocab.json)";

/// The machine-translation model and how it decodes.
#[derive(Args, Debug, Clone)]
pub struct MtArgs {
    /// A Marian translation model: a Hugging Face repo id (Helsinki-NLP/opus-mt-de-fr) or a
    /// local directory in the hub's layout (config.json, model.safetensors or
    /// pytorch_model.bin, source.spm, target.spm, vocab.json).
    #[arg(long, value_name = "ID|DIR")]
    pub mt_model: Option<String>,
    /// Hub revision of --mt-model (branch, tag or commit).
    #[arg(long, value_name = "REV", default_value = "main")]
    pub mt_revision: String,
    /// Target language of a multilingual model (fra for its >>fra<< token).
    #[arg(long, value_name = "LANG")]
    pub to: Option<String>,
    /// Beam size; 1 is greedy search (default: the model's generation_config.json, 4 or
    /// 6 for OPUS-MT).
    #[arg(long, value_name = "N")]
    pub beam: Option<usize>,
    /// Longest translation in tokens (default: the model's, 512 for OPUS-MT).
    #[arg(long, value_name = "N")]
    pub max_length: Option<usize>,
    /// Sentences translated together (batches of similar length run on separate threads).
    #[arg(long, value_name = "N", default_value_t = TranslateOptions::default().batch_size)]
    pub batch_size: usize,
}

impl MtArgs {
    pub fn options(&self) -> TranslateOptions {
        TranslateOptions {
            to: self.to.clone(),
            beams: self.beam,
            max_length: self.max_length,
            length_penalty: None,
            batch_size: self.batch_size,
        }
    }

    /// Loads the model and checks the options against it (before any long work).
    pub fn load(&self, offline: bool, progress: &Progress) -> Result<Translator> {
        let Some(model) = &self.mt_model else {
            bail!("no translation model: give --mt-model ID|DIR (e.g. Helsinki-NLP/opus-mt-de-fr)");
        };
        let src = ModelSource {
            model: model.clone(),
            revision: self.mt_revision.clone(),
            offline: ModelSource::offline_requested(offline),
        };
        let t = Translator::load(&src, progress).map_err(|e| match e {
            bitalign::Error::ModelNotCached { model, file, cache } => anyhow::anyhow!(
                "{model}: {file} is not in the Hugging Face cache ({}) and --offline/HF_HUB_OFFLINE \
                 forbids downloading; {MT_WAY_OUT}",
                cache.display()
            ),
            bitalign::Error::HubUnreachable { .. } => {
                anyhow::anyhow!("{e}; the hub may be unreachable from here: {MT_WAY_OUT}")
            }
            e => e.into(),
        })?;
        t.check(&self.options())?;
        Ok(t)
    }

    /// Translates `texts` through the on-disk cache, saying what it did.
    pub fn translate(
        &self,
        t: &Translator,
        texts: &[&str],
        progress: &Progress,
    ) -> Result<Translated> {
        let out = translate_cached(t, texts, &self.options(), cache_dir().as_deref(), progress)?;
        let s = &out.stats;
        if !s.cached {
            progress.say(format!(
                "translated {} sentences ({} distinct) with {}: {} tokens in, {} out, {:.1} s ({:.0} tokens/s)",
                s.sentences,
                s.unique,
                t.name,
                s.tokens_in,
                s.tokens_out,
                s.seconds,
                s.tokens_out as f64 / s.seconds.max(1e-9)
            ));
        }
        Ok(out)
    }
}

#[derive(Args, Debug)]
pub struct TranslateArgs {
    /// The text to translate, one sentence per line (`-` reads stdin). Blank lines stay
    /// blank. With --split: running text, split into sentences first.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    #[command(flatten)]
    pub mt: MtArgs,
    /// Read the Hugging Face cache only; never touch the network (also HF_HUB_OFFLINE=1).
    #[arg(long)]
    pub offline: bool,
    /// Where to write the translations, one per line (default: stdout). Written whole or
    /// not at all; an existing file is refused unless --force.
    #[arg(long, short, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Replace an existing --out.
    #[arg(long)]
    pub force: bool,
    /// FILE is running text: split it into sentences (bitalign split's rules for --lang)
    /// and write one translated sentence per line.
    #[arg(long)]
    pub split: bool,
    /// Language of FILE, for --split's rules (default: from the file name, else detected).
    #[arg(long, value_name = "LANG")]
    pub lang: Option<String>,
    /// Replace invalid UTF-8 with U+FFFD instead of failing.
    #[arg(long)]
    pub lossy: bool,
}

pub fn run(a: TranslateArgs, progress: &Progress) -> Result<()> {
    if let Some(out) = &a.out {
        if out == &a.file
            || out
                .canonicalize()
                .ok()
                .is_some_and(|o| a.file.canonicalize().ok() == Some(o))
        {
            bail!("{}: is the input; choose another --out", out.display());
        }
        if out.is_dir() {
            bail!("{}: is a directory; --out is a file", out.display());
        }
        if out.exists() && !a.force {
            bail!(
                "{}: already exists; choose another --out or pass --force to replace it",
                out.display()
            );
        }
    }
    if a.mt.mt_model.is_none() {
        a.mt.load(a.offline, progress)?; // the error that says what to give
    }
    if a.lang.is_some() && !a.split {
        progress.say("note: --lang only matters with --split; lines are taken as they are");
    }
    let docs = if a.split {
        let opts = LoadOptions {
            langs: a.lang.iter().cloned().collect(),
            presplit: false,
            lossy: a.lossy,
            allow_empty: true,
            ..LoadOptions::default()
        };
        // Every document the input holds (a directory or .jsonl holds several), in order.
        document::load(std::slice::from_ref(&a.file), &opts, progress)?
            .into_iter()
            .flat_map(|d| d.sentences)
            .collect()
    } else {
        // One sentence per line, as `--presplit` reads it; no language needed.
        let name = a.file.display().to_string();
        match segment::read_input(&name, a.lossy) {
            Ok(d) => {
                if d.replaced > 0 {
                    progress.say(format!(
                        "{name}: {} invalid UTF-8 sequences replaced (--lossy)",
                        d.replaced
                    ));
                }
                segment::split_lines(&d.text, 0)
            }
            Err(e) if segment::is_empty_input(&e) => Vec::new(),
            Err(e) => return Err(e),
        }
    };
    let texts: Vec<&str> = docs.iter().map(|s| s.text.as_str()).collect();
    let t = a.mt.load(a.offline, progress)?;
    let out = a.mt.translate(&t, &texts, progress)?;
    let mut bytes = Vec::new();
    for line in &out.lines {
        // A translation is one line: a line break inside one would shift every line after it.
        let line: String = line
            .chars()
            .map(|c| if matches!(c, '\n' | '\r') { ' ' } else { c })
            .collect();
        writeln!(bytes, "{line}")?;
    }
    match &a.out {
        Some(path) => AtomicFile::write_all(path, &bytes)?,
        None => {
            let mut o = std::io::stdout().lock();
            o.write_all(&bytes)
                .and_then(|()| o.flush())
                .map_err(|e| anyhow::anyhow!("stdout: cannot write ({e})"))?;
        }
    }
    Ok(())
}
