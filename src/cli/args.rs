//! Flag groups shared by several subcommands, and the progress/verbosity switch.

use crate::lang::{self, LangSource};
use crate::progress::Progress;
use crate::segment::{self, Document, Segmenter, Sentence};
use clap::Args;
use std::path::PathBuf;

/// Clap parser for a real-valued flag: any finite number, negative ones included
/// (`nan` and `inf` are refused: they would silently keep or drop everything).
pub fn finite_f32(s: &str) -> Result<f32, String> {
    match s.trim().parse::<f32>() {
        Ok(v) if v.is_finite() => Ok(v),
        Ok(_) => Err(format!("'{s}' is not a finite number")),
        Err(_) => Err(format!("'{s}' is not a number")),
    }
}

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

    /// Matrix products in int8 (q8: weights per output channel, activations per token;
    /// AVX-512 VNNI where available), about twice as fast, cosine ≥ 0.99 to f32.
    #[arg(long, value_enum, default_value_t = crate::model::Quantize::None)]
    pub quantize: crate::model::Quantize,
}

/// Documents to read, their languages, and how to split them.
#[derive(Args, Debug, Clone)]
pub struct InputArgs {
    /// Input documents (UTF-8 text, one document per file); `-` reads stdin.
    /// Blank lines and line breaks always end a sentence.
    #[arg(value_name = "FILE", required = true)]
    pub files: Vec<PathBuf>,

    /// Language of the inputs (ISO 639-1 like en, vi, id; 639-3 accepted): one code for
    /// all files, one per file in order, or FILE:LANG for some of them (repeatable, or
    /// comma-separated). Without it, a name like `story.vi.txt` decides; else the
    /// language is detected among the run's languages (those named plus en, vi, id).
    #[arg(long, value_name = "LANG|FILE:LANG", value_delimiter = ',')]
    pub lang: Vec<String>,

    /// Inputs are already split: one sentence per line (what vecalign/bertalign users have).
    #[arg(long)]
    pub presplit: bool,

    /// Replace invalid UTF-8 with U+FFFD (and say how many) instead of failing.
    #[arg(long)]
    pub lossy: bool,
}

impl InputArgs {
    /// Reads every input, settles its language and splits it into sentences (one per
    /// line with `--presplit`), in input order. Says on stderr (unless quiet) which
    /// language each document got and why, and anything repaired on the way.
    pub fn load(&self, progress: &Progress) -> anyhow::Result<Vec<(Document, Vec<Sentence>)>> {
        let names: Vec<String> = self.files.iter().map(|f| f.display().to_string()).collect();
        let given = self.given_langs(&names)?;
        let mut decoded = Vec::with_capacity(names.len());
        for name in &names {
            decoded.push(segment::read_input(name, self.lossy)?);
        }
        // The run's languages: whatever was named, plus those with their own rules.
        let mut candidates: Vec<String> = lang::WITH_RULES.iter().map(|s| s.to_string()).collect();
        for l in given.iter().flatten() {
            if !candidates.contains(&l.0) {
                candidates.push(l.0.clone());
            }
        }
        let mut generic_noted: Vec<String> = Vec::new();
        let mut out = Vec::with_capacity(names.len());
        for (i, (name, d)) in names.into_iter().zip(decoded).enumerate() {
            let (code, how) = match &given[i] {
                Some((code, how)) => (code.clone(), how.clone()),
                None => lang::detect(&d.text, &candidates),
            };
            let (sentences, forced) = segment::split_document(&d, i, &code, self.presplit);
            anyhow::ensure!(
                !sentences.is_empty(),
                "{name}: no sentences (the document is empty)"
            );
            let n = sentences.len();
            let plural = if n == 1 { "" } else { "s" };
            let mut note = format!("{name}: {code} ({how}), {n} sentence{plural}");
            if self.presplit {
                note.push_str(" (one per line)");
            }
            if d.replaced > 0 {
                note.push_str(&format!(
                    "; {} invalid UTF-8 sequence{} replaced",
                    d.replaced,
                    if d.replaced == 1 { "" } else { "s" }
                ));
            }
            if forced > 0 && self.presplit {
                note.push_str(&format!(
                    "; {forced} line{} over {} bytes kept whole (the model reads their start)",
                    if forced == 1 { "" } else { "s" },
                    segment::MAX_SENTENCE_BYTES
                ));
            } else if forced > 0 {
                note.push_str(&format!(
                    "; {forced} over-long stretch{} without a stop cut at {} bytes",
                    if forced == 1 { "" } else { "es" },
                    segment::MAX_SENTENCE_BYTES
                ));
            }
            progress.say(note);
            if !self.presplit {
                if let Some(lines) = segment::looks_line_split(&d.text, n) {
                    progress.say(format!(
                        "warning: {name} looks like one sentence per line ({lines} lines) but \
                         was split into {n} sentences, so sentence numbers no longer match \
                         line numbers; add --presplit to keep each line as one sentence"
                    ));
                }
            }
            if !self.presplit
                && code != lang::UNDETERMINED
                && !Segmenter::new(&code).has_own_rules()
                && !generic_noted.contains(&code)
            {
                progress.say(format!(
                    "note: no sentence rules for '{code}'; using the generic rules \
                     (stops, initials, numbers, common abbreviations)"
                ));
                generic_noted.push(code.clone());
            }
            out.push((
                Document {
                    name,
                    lang: code,
                    text: d.text,
                },
                sentences,
            ));
        }
        Ok(out)
    }

    /// Languages given with `--lang` or by file name, per input (`None`: detect).
    fn given_langs(&self, names: &[String]) -> anyhow::Result<Vec<Option<(String, LangSource)>>> {
        let mut by_flag: Vec<Option<String>> = vec![None; names.len()];
        let mut plain = Vec::new();
        for v in &self.lang {
            let v = v.trim();
            if v.is_empty() {
                continue;
            }
            // FILE:LANG, split at the last colon so that paths with colons still work.
            if let Some((file, code)) = v.rsplit_once(':') {
                let code = parse_lang(code)?;
                let hits: Vec<usize> = names
                    .iter()
                    .enumerate()
                    .filter(|(_, n)| same_file(n, file))
                    .map(|(i, _)| i)
                    .collect();
                anyhow::ensure!(
                    !hits.is_empty(),
                    "--lang {v}: '{file}' is not one of the input files"
                );
                for i in hits {
                    by_flag[i] = Some(code.clone());
                }
            } else {
                plain.push(parse_lang(v)?);
            }
        }
        match plain.len() {
            0 => {}
            1 => {
                for slot in by_flag.iter_mut().filter(|s| s.is_none()) {
                    *slot = Some(plain[0].clone());
                }
            }
            n if n == names.len() => {
                for (slot, code) in by_flag.iter_mut().zip(plain) {
                    slot.get_or_insert(code);
                }
            }
            n => anyhow::bail!(
                "--lang: {n} languages for {} files; give one for all, one per file, or FILE:LANG",
                names.len()
            ),
        }
        Ok(by_flag
            .into_iter()
            .zip(names)
            .map(|(flag, name)| match flag {
                Some(code) => Some((code, LangSource::Flag)),
                None => lang::from_file_name(name).map(|c| (c, LangSource::FileName)),
            })
            .collect())
    }
}

/// A `--lang` value as a normalised code, or a one-line error.
fn parse_lang(v: &str) -> anyhow::Result<String> {
    lang::normalize(v.trim()).ok_or_else(|| {
        anyhow::anyhow!("--lang: '{v}' is not a language code (use ISO 639-1 like en, vi, id)")
    })
}

/// Whether the FILE of a FILE:LANG names this input: the same path as typed, or the same
/// file name when the user gave only that.
fn same_file(input: &str, file: &str) -> bool {
    input == file
        || std::path::Path::new(input)
            .file_name()
            .is_some_and(|n| n.to_str() == Some(file))
}

impl ModelArgs {
    /// Loads the model (downloading it on first use unless offline) and wraps it for embedding.
    pub fn embedder(
        &self,
        progress: &crate::progress::Progress,
    ) -> anyhow::Result<crate::embed::Embedder> {
        let src = crate::model::ModelSource {
            model: self.model.clone(),
            revision: self.revision.clone(),
            offline: crate::model::ModelSource::offline_requested(self.offline),
        };
        let model = crate::model::Model::load_with(
            &src,
            crate::model::Engine::default(),
            self.quantize,
            progress,
        )?;
        crate::embed::Embedder::new(model, self.prefix.clone(), self.batch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(files: &[&str], langs: &[&str]) -> InputArgs {
        InputArgs {
            files: files.iter().map(PathBuf::from).collect(),
            lang: langs.iter().map(|s| s.to_string()).collect(),
            presplit: false,
            lossy: false,
        }
    }

    fn resolved(files: &[&str], langs: &[&str]) -> Vec<Option<String>> {
        let a = args(files, langs);
        let names: Vec<String> = files.iter().map(|s| s.to_string()).collect();
        a.given_langs(&names)
            .unwrap()
            .into_iter()
            .map(|o| o.map(|(c, _)| c))
            .collect()
    }

    #[test]
    fn lang_flags() {
        let s = |v: &str| Some(v.to_string());
        assert_eq!(resolved(&["a.txt", "b.vi.txt"], &[]), [None, s("vi")]);
        assert_eq!(
            resolved(&["a.txt", "b.vi.txt"], &["id"]),
            [s("id"), s("id")]
        );
        assert_eq!(
            resolved(&["a.txt", "b.txt"], &["en", "vie"]),
            [s("en"), s("vi")]
        );
        assert_eq!(
            resolved(&["d/a.txt", "b.txt"], &["a.txt:id"]),
            [s("id"), None]
        );
        assert_eq!(
            resolved(&["a.txt", "b.en.txt", "c.txt"], &["c.txt:vi"]),
            [None, s("en"), s("vi")]
        );
        let names = vec!["a".to_string(), "b".to_string(), "c".to_string()];
        let e = |langs: &[&str]| {
            format!(
                "{:#}",
                args(&["a", "b", "c"], langs)
                    .given_langs(&names)
                    .unwrap_err()
            )
        };
        assert!(e(&["en", "vi"]).contains("2 languages for 3 files"));
        assert!(e(&["english"]).contains("not a language code"));
        assert!(e(&["x.txt:en"]).contains("not one of the input files"));
    }
}
