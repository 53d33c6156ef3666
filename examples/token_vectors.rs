//! Contextual token vectors per sentence (the encoder's last hidden layer, before mean
//! pooling), for BERTScore-style token coverage of alignment links (docs/align.md, "Token
//! coverage"). Each line of each input file is embedded alone, as `bitalign embed
//! --presplit` embeds it (model's default prefix, special tokens), through the ragged
//! encoder; the rows of the special tokens and of the prefix are dropped.
//!
//!     cargo run --release --example token_vectors -- --model models/multilingual-e5-small-q4 \
//!         --out DIR [--check EMB.o1.npy] [--all-lines] FILE…
//!
//! Writes, per input `FILE` (named by its base name `B`): `DIR/B.tok.npy` (f32, one row per
//! kept token, the lines' tokens end to end) and `DIR/B.ntok.npy` (kept tokens per line, a
//! float32 column). Lines are the non-empty trimmed lines, as align_npy reads them (`--all-lines`:
//! every line, an empty one getting 0 tokens). `--check NPY` (one input only) compares the
//! normalised mean of every token row (specials and prefix included) with the rows of
//! `bitalign embed`'s output for the same lines and prints the largest difference.

use anyhow::{bail, Context, Result};
use bitalign::embed::Embeddings;
use bitalign::model::{Encoder, Model, ModelSource};
use bitalign::observe::Silent;
use rayon::prelude::*;
use std::io::Write;
use std::path::{Path, PathBuf};

/// One tokenized line: ids, and which positions are kept (not special, not prefix).
struct Line {
    ids: Vec<u32>,
    keep: Vec<bool>,
}

fn tokenize(model: &Model, prefix: &str, lines: &[String]) -> Result<Vec<Line>> {
    // A token belongs to the prefix when it starts inside the prefix's non-space part: the
    // sentence's first piece carries the prefix's trailing space ("▁Der" starts at 8 or 9).
    let cut = prefix.trim_end().len();
    let inputs: Vec<String> = lines.iter().map(|t| format!("{prefix}{t}")).collect();
    let encs = model
        .tokenizer
        .encode_batch(inputs, true)
        .map_err(|e| anyhow::anyhow!("tokenizer failed: {e}"))?;
    Ok(encs
        .into_iter()
        .map(|e| {
            let keep = e
                .get_special_tokens_mask()
                .iter()
                .zip(e.get_offsets())
                .map(|(&special, &(start, _))| special == 0 && start >= cut)
                .collect();
            Line {
                ids: e.get_ids().to_vec(),
                keep,
            }
        })
        .collect())
}

/// Token states of every line (`[len, hidden]` each), in batches of similar length.
fn states(enc: &bitalign::model::ragged::RaggedEncoder, lines: &[Line]) -> Vec<Vec<f32>> {
    let mut order: Vec<usize> = (0..lines.len()).collect();
    order.sort_by_key(|&i| lines[i].ids.len());
    let h = enc.cfg.hidden_size;
    let batches: Vec<Vec<(usize, Vec<f32>)>> = order
        .chunks(32)
        .collect::<Vec<_>>()
        .par_iter()
        .map(|batch| {
            let seqs: Vec<&[u32]> = batch.iter().map(|&i| lines[i].ids.as_slice()).collect();
            let x = enc.forward(&seqs);
            let mut t = 0;
            batch
                .iter()
                .map(|&i| {
                    let n = lines[i].ids.len();
                    let rows = x[t * h..(t + n) * h].to_vec();
                    t += n;
                    (i, rows)
                })
                .collect()
        })
        .collect();
    let mut out = vec![Vec::new(); lines.len()];
    for (i, rows) in batches.into_iter().flatten() {
        out[i] = rows;
    }
    out
}

/// `m` as `.npy`, through the library's writer.
fn save(path: &Path, m: &Embeddings) -> Result<()> {
    let mut w = std::io::BufWriter::new(std::fs::File::create(path)?);
    m.write_npy(&mut w)?;
    w.flush()?;
    Ok(())
}

fn main() -> Result<()> {
    let mut model_dir = PathBuf::from("models/multilingual-e5-small-q4");
    let mut out = None;
    let mut check = None;
    let mut all_lines = false;
    let mut files = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--model" => model_dir = PathBuf::from(args.next().context("--model DIR")?),
            "--out" => out = Some(PathBuf::from(args.next().context("--out DIR")?)),
            "--check" => check = Some(PathBuf::from(args.next().context("--check NPY")?)),
            "--all-lines" => all_lines = true,
            f => files.push(PathBuf::from(f)),
        }
    }
    let out = out.context("--out DIR")?;
    std::fs::create_dir_all(&out)?;
    if check.is_some() && files.len() != 1 {
        bail!("--check takes one input file");
    }
    let src = ModelSource {
        model: model_dir.to_string_lossy().into_owned(),
        revision: "main".into(),
        offline: true,
    };
    let model = Model::load(&src, &Silent)?;
    let Encoder::Ragged(enc) = &model.encoder else {
        bail!("{}: not run by the ragged encoder", model_dir.display());
    };
    let h = enc.cfg.hidden_size;
    let prefix = model.default_prefix.clone();
    for file in &files {
        let text = std::fs::read_to_string(file).with_context(|| format!("{}", file.display()))?;
        let lines: Vec<String> = text
            .lines()
            .map(|l| l.trim().to_string())
            .filter(|l| all_lines || !l.is_empty())
            .collect();
        let toks = tokenize(&model, &prefix, &lines)?;
        let t0 = std::time::Instant::now();
        let st = states(enc, &toks);
        let mut kept = Vec::new();
        let mut counts = Vec::with_capacity(lines.len());
        let mut dropped = Vec::new();
        for ((line, rows), text) in toks.iter().zip(&st).zip(&lines) {
            let mut n = 0i64;
            for (row, &k) in rows.chunks_exact(h).zip(&line.keep) {
                if k && !text.is_empty() {
                    kept.extend_from_slice(row);
                    n += 1;
                }
            }
            counts.push(n);
            dropped.push(line.ids.len() - n as usize);
        }
        let base = file.file_name().context("file name")?.to_string_lossy();
        let total = counts.iter().sum::<i64>() as usize;
        save(
            &out.join(format!("{base}.tok.npy")),
            &Embeddings::new(h, kept)?,
        )?;
        // Counts as a float32 column (exact below 2^24 tokens a line).
        let column = counts.iter().map(|&c| c as f32).collect();
        save(
            &out.join(format!("{base}.ntok.npy")),
            &Embeddings::new(1, column)?,
        )?;
        dropped.sort_unstable();
        println!(
            "{base}: {} lines, {total} tokens kept, dropped per line {}..{} ({:.1}s)",
            lines.len(),
            dropped.first().unwrap_or(&0),
            dropped.last().unwrap_or(&0),
            t0.elapsed().as_secs_f32()
        );
        if let Some(npy) = &check {
            // Each line's vector rebuilt from the file just written (its kept rows) plus the
            // dropped rows (specials, prefix), mean-pooled and normalised, against `bitalign
            // embed`'s row for the line.
            let e = Embeddings::read_npy(npy)?;
            anyhow::ensure!(e.len() == lines.len(), "{}: rows", npy.display());
            let back = Embeddings::read_npy(&out.join(format!("{base}.tok.npy")))?;
            let mut worst = 0f32;
            let mut at = 0;
            for (i, (line, rows)) in toks.iter().zip(&st).enumerate() {
                let mut sum = vec![0f64; h];
                let n = counts[i] as usize;
                for r in at..at + n {
                    sum.iter_mut()
                        .zip(back.row(r))
                        .for_each(|(s, x)| *s += *x as f64);
                }
                at += n;
                for (row, &k) in rows.chunks_exact(h).zip(&line.keep) {
                    if !k {
                        sum.iter_mut().zip(row).for_each(|(s, x)| *s += *x as f64);
                    }
                }
                let norm = sum.iter().map(|x| x * x).sum::<f64>().sqrt();
                for (a, b) in sum.iter().zip(e.row(i)) {
                    worst = worst.max((a / norm - *b as f64).abs() as f32);
                }
            }
            println!(
                "check {}: largest |rebuilt - embed| over {} lines = {worst:.2e}",
                npy.display(),
                lines.len()
            );
        }
    }
    Ok(())
}
