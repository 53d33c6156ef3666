//! `bitalign embed`: sentences and their vectors, per input, for other tools.

use super::{InputArgs, ModelArgs, Progress};
use anyhow::{bail, Result};
use bitalign::corpus::{CorpusWriter, EmbedFileRecord, EmbedManifest};
use clap::Args;
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Args, Debug)]
#[command(after_help = "For each input NAME.txt, writes to DIR:\n  \
    NAME.sentences.txt  one sentence per line (newlines inside a sentence become spaces)\n  \
    NAME.npy            float32 matrix [sentences × dim], NumPy format\n  \
    NAME.f32            the same rows as raw little-endian float32 (LASER/vecalign layout)\n\
    and embed.json with the model, prefix, dimension and counts.")]
pub struct EmbedArgs {
    #[command(flatten)]
    pub input: InputArgs,
    #[command(flatten)]
    pub model: ModelArgs,
    /// Output directory (created if missing; other files in it are left alone). The files
    /// of one run appear together, embed.json last, or none of them.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Overwrite files already in the output directory.
    #[arg(long)]
    pub force: bool,
}

pub fn run(args: EmbedArgs, progress: &Progress) -> Result<()> {
    let docs = args.input.load(progress)?;
    let stems: Vec<String> = docs.iter().map(|d| stem(&d.name)).collect();
    for (i, s) in stems.iter().enumerate() {
        if let Some(j) = stems[..i].iter().position(|t| t == s) {
            bail!(
                "{} and {}: both would be written as {s}.*; rename one",
                docs[j].name,
                docs[i].name
            );
        }
    }
    let targets: Vec<PathBuf> = stems
        .iter()
        .flat_map(|s| {
            ["sentences.txt", "npy", "f32"].map(|ext| args.out.join(format!("{s}.{ext}")))
        })
        .chain([args.out.join("embed.json")])
        .collect();
    if !args.force {
        if let Some(t) = targets.iter().find(|t| t.exists()) {
            bail!("{}: already exists (use --force to overwrite)", t.display());
        }
    }
    // Claimed now (created if missing): the files are staged inside and appear together,
    // embed.json last, or not at all (a failed write, a full disk, a signal).
    let mut writer = CorpusWriter::create(&args.out, &[], true)?;
    let embedder = args.model.embedder(progress)?;
    let texts: Vec<&str> = docs
        .iter()
        .flat_map(|d| d.sentences.iter().map(|s| s.text.as_str()))
        .collect();
    let (all, stats) = embedder.embed_with_stats(&texts, progress)?;

    let mut row = 0;
    let mut files = Vec::new();
    for (doc, stem) in docs.iter().zip(&stems) {
        let sentences = &doc.sentences;
        // A view of the rows (of the mapped file when they were spilled), not a copy.
        let m = all.slice(row..row + sentences.len());
        row += sentences.len();
        let mut txt = writer.create_file(&format!("{stem}.sentences.txt"))?;
        for s in sentences {
            writeln!(
                txt,
                "{}",
                s.text.split_whitespace().collect::<Vec<_>>().join(" ")
            )?;
        }
        txt.commit()?;
        let mut npy = writer.create_file(&format!("{stem}.npy"))?;
        m.write_npy(&mut npy)?;
        npy.commit()?;
        let mut raw = writer.create_file(&format!("{stem}.f32"))?;
        m.write_raw(&mut raw)?;
        raw.commit()?;
        files.push(EmbedFileRecord {
            input: doc.name.clone(),
            lang: doc.lang.tag().to_string(),
            name: stem.clone(),
            sentences: sentences.len(),
        });
    }
    let meta = EmbedManifest::new(&embedder, files, stats.clone());
    writer.commit_as("embed.json", &meta.to_json()?)?;
    progress.say(format!(
        "embedded {} sentences ({} distinct, {} tokens, {} truncated) in {:.1} s: {:.0} sentences/s, {:.0} tokens/s → {}",
        stats.sentences,
        stats.unique,
        stats.tokens,
        stats.truncated,
        stats.seconds,
        stats.sentences_per_second(),
        stats.tokens as f64 / stats.seconds.max(1e-9),
        args.out.display()
    ));
    Ok(())
}

/// `news/story.en.txt` → `story.en`; stdin → `stdin`; `story.en.txt.gz` → `story.en`;
/// record 3 of `news.vi.jsonl` → `news.vi.3`.
fn stem(name: &str) -> String {
    if name == "-" {
        return "stdin".into();
    }
    if let Some((file, line)) = name.rsplit_once(':') {
        if bitalign::document::is_jsonl(file) && line.parse::<usize>().is_ok() {
            return format!("{}.{line}", stem(file));
        }
    }
    let p = Path::new(bitalign::segment::strip_compression(name));
    let file = p
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_else(|| name.to_string());
    for ext in [".txt", ".jsonl", ".ndjson"] {
        match file.strip_suffix(ext) {
            Some(s) if !s.is_empty() => return s.to_string(),
            _ => {}
        }
    }
    file
}

#[cfg(test)]
mod tests {
    #[test]
    fn stems() {
        for (name, want) in [
            ("news/story.en.txt", "story.en"),
            ("-", "stdin"),
            ("a/b.vi.txt.zst", "b.vi"),
            ("c.id.jsonl.gz:12", "c.id.12"),
            ("notes", "notes"),
            ("x:y.txt", "x:y"),
        ] {
            assert_eq!(super::stem(name), want);
        }
    }
}
