//! Machine translation on the CPU with Marian models (every Helsinki-NLP OPUS-MT model):
//! a translation of the source document for `align --mt-model`, or `bitalign translate`.
//!
//! A model is a hub repo id or a directory in the hub's layout, read as transformers'
//! `MarianMTModel` and `MarianTokenizer` read it: `config.json` (+ `generation_config.json`
//! for the decoding defaults), `model.safetensors` or `pytorch_model.bin`, `source.spm` and
//! `target.spm` (SentencePiece models, [`spm`]) and `vocab.json` (piece → model id).
//! Sentences are encoded with the source model, batched by length, translated with greedy
//! or beam search ([`search`]) on rayon's threads (one batch per thread; batches are made
//! from the input alone, so the output does not depend on the thread count) and decoded
//! from the pieces of the output ids.

mod cache;
pub mod marian;
pub mod search;
pub mod spm;

pub use cache::{cache_dir, translate_cached};
pub use search::Search;

use crate::error::Error;
use crate::model::hub::read_json;
use crate::model::{ModelFiles, ModelSource};
use crate::observe::{Observer, Unit};
use anyhow::{anyhow, Context};
use candle_core::{DType, Device};
use candle_nn::VarBuilder;
use marian::{Marian, MarianConfig};
use rayon::prelude::*;
use serde::Deserialize;
use spm::SentencePiece;
use std::collections::{HashMap, HashSet};
use std::time::Instant;

/// How to translate; `None` takes the model's default (generation_config.json).
#[derive(Clone, Debug, PartialEq)]
pub struct TranslateOptions {
    /// Target language of a multilingual model (`fra` for the `>>fra<<` token).
    pub to: Option<String>,
    /// Beam size (1: greedy).
    pub beams: Option<usize>,
    /// Most output tokens, the start token included.
    pub max_length: Option<usize>,
    pub length_penalty: Option<f32>,
    /// Sentences per batch.
    pub batch_size: usize,
}

impl Default for TranslateOptions {
    fn default() -> Self {
        Self {
            to: None,
            beams: None,
            max_length: None,
            length_penalty: None,
            batch_size: 16,
        }
    }
}

/// What a translation run did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TranslateStats {
    pub sentences: usize,
    /// Distinct non-empty sentences run through the model.
    pub unique: usize,
    /// Source tokens (end-of-sentence included) and generated tokens (end included).
    pub tokens_in: usize,
    pub tokens_out: usize,
    /// Sentences cut to the model's longest input.
    pub truncated: usize,
    pub seconds: f64,
    /// Whether the result came from the on-disk cache.
    pub cached: bool,
}

/// Translations, one per input sentence, in order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Translated {
    pub lines: Vec<String>,
    pub stats: TranslateStats,
}

#[derive(Deserialize, Default)]
struct GenerationConfig {
    num_beams: Option<usize>,
    max_length: Option<usize>,
    length_penalty: Option<f32>,
    bad_words_ids: Option<Vec<Vec<u32>>>,
    early_stopping: Option<serde_json::Value>,
    forced_eos_token_id: Option<u32>,
}

#[derive(Deserialize, Default)]
struct TokenizerConfig {
    model_max_length: Option<f64>,
    #[serde(default)]
    separate_vocabs: bool,
}

/// A loaded Marian model with its tokenizer.
pub struct Translator {
    /// The repo id or directory the user named.
    pub name: String,
    /// The hub revision, for repo ids.
    pub revision: Option<String>,
    model: Marian,
    source: SentencePiece,
    target: SentencePiece,
    vocab: HashMap<String, u32>,
    tokens: HashMap<u32, String>,
    special: HashSet<u32>,
    unk: u32,
    /// The model's decoding defaults (generation_config.json, else config.json, else
    /// transformers' defaults).
    pub defaults: Search,
    /// Longest input in tokens, end-of-sentence included; longer ones are cut.
    pub max_input: usize,
    /// Target languages of a multilingual model (the `>>xx<<` tokens), empty otherwise.
    pub languages: Vec<String>,
    /// Identifies the model for the cache: a digest of config.json, the weights and vocab.json.
    pub fingerprint: String,
}

impl Translator {
    /// Loads a Marian model from a repo id or a directory (downloading on first use unless
    /// offline). Missing or malformed files are an [`Error::Model`] naming the file.
    pub fn load(src: &ModelSource, obs: &dyn Observer) -> crate::error::Result<Self> {
        Self::load_inner(src, obs).map_err(|e| match Error::from(e) {
            Error::Other(e) => Error::Model {
                message: format!("{e:#}"),
            },
            typed => typed,
        })
    }

    fn load_inner(src: &ModelSource, obs: &dyn Observer) -> anyhow::Result<Self> {
        let files = ModelFiles::open(src, obs)?;
        let name = files.name();
        let config_path = files.required("config.json")?;
        let config: MarianConfig = read_json(&config_path)?;
        config
            .validate()
            .map_err(|e| anyhow!("{}: {e:#}", config_path.display()))?;
        let gen: GenerationConfig = match files.optional("generation_config.json")? {
            Some(p) => read_json(&p)?,
            None => GenerationConfig::default(),
        };
        let tok_cfg: TokenizerConfig = match files.optional("tokenizer_config.json")? {
            Some(p) => read_json(&p)?,
            None => TokenizerConfig::default(),
        };
        if tok_cfg.separate_vocabs {
            anyhow::bail!("{name}: separate source and target vocabularies are not supported");
        }
        let spm = |file: &str| -> anyhow::Result<SentencePiece> {
            let p = files.required(file)?;
            let bytes =
                std::fs::read(&p).with_context(|| format!("{}: cannot read", p.display()))?;
            SentencePiece::from_bytes(&bytes).map_err(|e| anyhow!("{}: {e:#}", p.display()))
        };
        let source = spm("source.spm")?;
        let target = spm("target.spm")?;
        let vocab_path = files.required("vocab.json")?;
        let vocab: HashMap<String, u32> = read_json(&vocab_path)?;
        let unk = *vocab
            .get("<unk>")
            .ok_or_else(|| anyhow!("{}: no <unk> token", vocab_path.display()))?;
        if let Some((t, &id)) = vocab
            .iter()
            .find(|(_, &id)| id as usize >= config.vocab_size)
        {
            anyhow::bail!(
                "{}: token {t:?} has id {id}, beyond the model's {} rows",
                vocab_path.display(),
                config.vocab_size
            );
        }
        let tokens: HashMap<u32, String> = vocab.iter().map(|(t, &i)| (i, t.clone())).collect();
        let mut languages: Vec<String> = vocab
            .keys()
            .filter_map(|t| t.strip_prefix(">>")?.strip_suffix("<<").map(str::to_string))
            .collect();
        languages.sort();
        let special: HashSet<u32> = ["</s>", "<unk>", "<pad>"]
            .iter()
            .filter_map(|t| vocab.get(*t).copied())
            .chain([config.eos_token_id, config.pad_token_id])
            .collect();

        let (weights, pth) = match files.optional("model.safetensors")? {
            Some(p) => (p, false),
            None => (
                files.required("pytorch_model.bin").map_err(|_| {
                    anyhow!("{name}: no model.safetensors and no pytorch_model.bin")
                })?,
                true,
            ),
        };
        let device = Device::Cpu;
        let vb = if pth {
            VarBuilder::from_pth(&weights, DType::F32, &device)
        } else {
            unsafe { VarBuilder::from_mmaped_safetensors(&[&weights], DType::F32, &device) }
        }
        .map_err(|e| anyhow!("{}: cannot read the weights: {e}", weights.display()))?;
        let fingerprint = crate::cache::files_digest(&[&config_path, &weights, &vocab_path], "")
            .with_context(|| format!("{}: cannot read", weights.display()))?;
        let max_pos = config.max_position_embeddings;
        let mut config = config;
        // transformers: generation_config.json first, then config.json, then its defaults.
        let forced = gen.forced_eos_token_id.or(config.forced_eos_token_id);
        config.forced_eos_token_id = forced;
        let bad = gen
            .bad_words_ids
            .or(config.bad_words_ids.clone())
            .unwrap_or_default();
        if let Some(v) = &gen.early_stopping {
            if v != &serde_json::Value::Bool(false) {
                obs.note(&format!(
                    "{name}: generation_config.json asks for early_stopping {v}; bitalign's beam search stops as transformers does with early_stopping=false"
                ));
            }
        }
        let defaults = Search {
            beams: gen.num_beams.or(config.num_beams).unwrap_or(1).max(1),
            max_length: gen.max_length.or(config.max_length).unwrap_or(20),
            length_penalty: gen.length_penalty.unwrap_or(1.0),
            bad: bad.iter().filter(|w| w.len() == 1).map(|w| w[0]).collect(),
        };
        let model = Marian::new(config, vb)
            .map_err(|e| anyhow!("{}: not a Marian model: {e:#}", weights.display()))?;
        let max_input = tok_cfg
            .model_max_length
            .filter(|m| (2.0..1e9).contains(m))
            .map_or(512, |m| m as usize)
            .min(max_pos);
        Ok(Self {
            name,
            revision: (!files.is_local()).then(|| src.revision.clone()),
            model,
            source,
            target,
            vocab,
            tokens,
            special,
            unk,
            defaults,
            max_input,
            languages,
            fingerprint,
        })
    }

    pub fn config(&self) -> &MarianConfig {
        &self.model.config
    }

    /// Checks the options against the model, before any work: the target language of a
    /// multilingual model, and the numbers.
    pub fn check(&self, opts: &TranslateOptions) -> crate::error::Result<()> {
        if opts.batch_size == 0 {
            return Err(Error::config("batch_size", "must be at least 1"));
        }
        if opts.beams == Some(0) {
            return Err(Error::config("beam", "must be at least 1"));
        }
        if let Some(m) = opts.max_length {
            if m < 2 || m > self.model.config.max_position_embeddings {
                return Err(Error::config_value(
                    "max_length",
                    m.to_string(),
                    format!(
                        "must be 2..={} (the model's positions)",
                        self.model.config.max_position_embeddings
                    ),
                ));
            }
        }
        match (&opts.to, self.languages.is_empty()) {
            (Some(to), false) if !self.languages.contains(to) => Err(Error::config_value(
                "to",
                to,
                format!(
                    "{} translates into {}",
                    self.name,
                    self.languages.join(", ")
                ),
            )),
            (Some(to), true) => Err(Error::config_value(
                "to",
                to,
                format!(
                    "{} has one target language (no >>xx<< tokens); leave out the target language",
                    self.name
                ),
            )),
            _ => Ok(()),
        }
    }

    /// The decoding parameters for these options.
    pub fn search(&self, opts: &TranslateOptions) -> Search {
        let d = &self.defaults;
        Search {
            beams: opts.beams.unwrap_or(d.beams),
            max_length: opts
                .max_length
                .unwrap_or(d.max_length)
                .min(self.model.config.max_position_embeddings),
            length_penalty: opts.length_penalty.unwrap_or(d.length_penalty),
            bad: d.bad.clone(),
        }
    }

    /// The model's input ids for `text` (as `MarianTokenizer(text, truncation=True)`), with
    /// the `>>to<<` token first when `to` is given, and whether it was cut.
    pub fn encode(&self, text: &str, to: Option<&str>) -> anyhow::Result<(Vec<u32>, bool)> {
        let mut ids = Vec::new();
        let mut text = text;
        if let Some(to) = to {
            let code = format!(">>{to}<<");
            ids.push(
                *self
                    .vocab
                    .get(&code)
                    .ok_or_else(|| anyhow!("{}: no {code} token", self.name))?,
            );
        } else if text.starts_with(">>") {
            // MarianTokenizer's remove_language_code: a leading >>xx<< is one token.
            if let Some(end) = text.find("<<") {
                let code = &text[..end + 2];
                ids.push(self.vocab.get(code).copied().unwrap_or(self.unk));
                text = &text[end + 2..];
            }
        }
        for piece in self.source.encode(text)? {
            ids.push(self.vocab.get(&piece).copied().unwrap_or(self.unk));
        }
        let truncated = ids.len() + 1 > self.max_input;
        ids.truncate(self.max_input - 1);
        ids.push(self.model.config.eos_token_id);
        Ok((ids, truncated))
    }

    /// The text of generated ids (as `MarianTokenizer.decode(ids, skip_special_tokens=True)`).
    pub fn decode(&self, ids: &[u32]) -> String {
        let mut out = String::new();
        for id in ids {
            if self.special.contains(id) {
                continue;
            }
            let Some(piece) = self.tokens.get(id) else {
                continue;
            };
            if self.target.is_control(piece) || self.source.is_control(piece) {
                continue;
            }
            out.push_str(piece);
        }
        out.replace(spm::SPACE, " ").trim().to_string()
    }

    /// Generated ids for encoded sentences run as one padded batch, as transformers'
    /// `generate` runs them (what the parity tests compare).
    pub fn generate(&self, inputs: &[Vec<u32>], search: &Search) -> anyhow::Result<Vec<Vec<u32>>> {
        search::generate(&self.model, inputs, search)
    }

    /// The model itself (tests compare its logits with transformers').
    pub fn marian(&self) -> &Marian {
        &self.model
    }

    /// Translates every text (one sentence each). An empty or blank text translates to an
    /// empty line without the model; identical texts are translated once.
    pub fn translate<S: AsRef<str> + Sync>(
        &self,
        texts: &[S],
        opts: &TranslateOptions,
        obs: &dyn Observer,
    ) -> crate::error::Result<Translated> {
        self.check(opts)?;
        if opts.to.is_none() && !self.languages.is_empty() {
            obs.note(&format!(
                "{} translates into several languages ({}) and none was chosen: the model picks one itself",
                self.name,
                self.languages.join(", ")
            ));
        }
        let start = Instant::now();
        let search = self.search(opts);
        let mut unique: Vec<&str> = texts
            .iter()
            .map(|t| t.as_ref())
            .filter(|t| !t.trim().is_empty())
            .collect();
        unique.sort_unstable();
        unique.dedup();
        let encoded = unique
            .iter()
            .map(|t| self.encode(t, opts.to.as_deref()))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let mut stats = TranslateStats {
            sentences: texts.len(),
            unique: unique.len(),
            tokens_in: encoded.iter().map(|(ids, _)| ids.len()).sum(),
            truncated: encoded.iter().filter(|(_, t)| *t).count(),
            ..TranslateStats::default()
        };
        if stats.truncated > 0 {
            obs.note(&format!(
                "{} sentences longer than the model's {} tokens were cut",
                stats.truncated, self.max_input
            ));
        }
        // Longest first (slow batches start early); ties by text, so batches depend on the
        // input only.
        let mut order: Vec<usize> = (0..unique.len()).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(encoded[i].0.len()));
        let batches: Vec<&[usize]> = order.chunks(opts.batch_size).collect();
        let bar = obs.stage("translating", Some(unique.len() as u64), Unit::Items);
        let results: Vec<anyhow::Result<Vec<Vec<u32>>>> = batches
            .par_iter()
            .map(|b| {
                let inputs: Vec<Vec<u32>> = b.iter().map(|&i| encoded[i].0.clone()).collect();
                let out = search::generate(&self.model, &inputs, &search);
                bar.advance(b.len() as u64);
                out
            })
            .collect();
        drop(bar);
        let mut by_text: HashMap<&str, String> = HashMap::with_capacity(unique.len());
        for (b, r) in batches.iter().zip(results) {
            for (&i, ids) in b.iter().zip(r?) {
                stats.tokens_out += ids.len();
                by_text.insert(unique[i], self.decode(&ids));
            }
        }
        let lines = texts
            .iter()
            .map(|t| by_text.get(t.as_ref()).cloned().unwrap_or_default())
            .collect();
        stats.seconds = start.elapsed().as_secs_f64();
        Ok(Translated { lines, stats })
    }
}
