//! Flag groups shared by several subcommands.

use super::Progress;
use bitalign::corpus::Format;
use bitalign::document::{self, Document, LoadOptions};
use bitalign::embed::{EmbedOptions, Embedder};
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

/// A finite number, or `off`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct OffOr(pub Option<f32>);

impl std::fmt::Display for OffOr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            Some(v) => write!(f, "{v}"),
            None => f.write_str("off"),
        }
    }
}

pub fn off_or_finite_f32(s: &str) -> Result<OffOr, String> {
    if s.trim() == "off" {
        return Ok(OffOr(None));
    }
    finite_f32(s).map(|v| OffOr(Some(v)))
}

/// `off`, or `WINDOW:MARGIN[:ends]` for the moved-block pass.
#[derive(Clone, Debug, PartialEq)]
pub struct MovedArg(pub Option<bitalign::align::Moved>);

pub fn moved_arg(s: &str) -> Result<MovedArg, String> {
    if s.trim() == "off" {
        return Ok(MovedArg(None));
    }
    s.parse().map(|m| MovedArg(Some(m)))
}

/// How alignments score links (`bitalign align`, `run --mode align`).
#[derive(Args, Debug, Clone)]
pub struct ScorerArgs {
    /// Link scorer: `tuned` (embedding similarity, length and numbers that must match,
    /// weights chosen on Text+Berg dev; the default), `hand` (embedding similarity and
    /// length only), or `bertalign` (bertalign's own two-pass method, for comparison; none
    /// of the passes below, and no translation).
    #[arg(long, value_parser = ["tuned", "hand", "bertalign"])]
    pub scorer: Option<String>,
    /// After the best path is found, an unaligned sentence joins the link next to it when
    /// the link's similarity drops by at most X and the sentence alone resembles the
    /// link's other side: translations often condense two sentences into one, which the
    /// length penalty otherwise turns into a spurious insertion. `off` keeps the path.
    /// [default: 0.01]
    #[arg(long, value_name = "X|off", value_parser = off_or_finite_f32, allow_negative_numbers = true)]
    pub absorb: Option<OffOr>,
    /// Then a link with two or more sentences a side whose parts match crosswise (its
    /// first source sentences with its last target ones, and the rest with the rest) is
    /// split into those two crossing links when they are worth more than the link by X:
    /// a monotone search can only merge two swapped sentences. `off` (with `--moved off`)
    /// keeps every link after the previous one on both sides. [default: 0]
    #[arg(long, value_name = "X|off", value_parser = off_or_finite_f32, allow_negative_numbers = true)]
    pub uncross: Option<OffOr>,
    /// Then an unaligned source sentence and an unaligned target sentence at most WINDOW
    /// sentences from each other's place on the path become a 1-1 link when it is worth
    /// more than leaving both out by MARGIN: a sentence or two that the translation moved
    /// a few sentences away is out of a monotone search's reach, which leaves both ends
    /// unaligned. With `:ends`, the other sentence may also be the first or last of a
    /// link's side of two or more (a moved sentence merged into a neighbour), which then
    /// leaves that link. The link is written at the source sentence's place. `off` leaves
    /// them. [default: 20:0.05]
    #[arg(long, value_name = "WINDOW:MARGIN[:ends]|off", value_parser = moved_arg)]
    pub moved: Option<MovedArg>,
    /// Per-document link price: a first pass counts the share of 1-1 links, and the final
    /// pass aligns with the link price lowered by W × (share − 0.589, Text+Berg dev's
    /// share): a translation that keeps sentence boundaries gets smaller links, one that
    /// joins and splits sentences larger ones. `off` (or 0) aligns once. [default: 0.05]
    #[arg(long, value_name = "W|off", value_parser = off_or_finite_f32, allow_negative_numbers = true)]
    pub adapt: Option<OffOr>,
}

impl ScorerArgs {
    /// `cfg` with the scorer and the passes after the DP asked for (defaults where not given).
    pub fn apply(&self, cfg: bitalign::align::AlignConfig) -> bitalign::align::AlignConfig {
        use bitalign::align::{Absorb, Scorer};
        bitalign::align::AlignConfig {
            scorer: self
                .scorer
                .as_deref()
                .and_then(Scorer::from_name)
                .unwrap_or_default(),
            absorb: match self.absorb {
                Some(OffOr(None)) => None,
                Some(OffOr(Some(tolerance))) => Some(Absorb {
                    tolerance,
                    ..Absorb::default()
                }),
                None => Some(Absorb::default()),
            },
            uncross: match self.uncross {
                Some(OffOr(v)) => v,
                None => bitalign::align::AlignConfig::default().uncross,
            },
            moved: match &self.moved {
                Some(MovedArg(v)) => v.clone(),
                None => bitalign::align::AlignConfig::default().moved,
            },
            adapt: match self.adapt {
                Some(OffOr(v)) => v.unwrap_or(0.0),
                None => bitalign::align::AlignConfig::default().adapt,
            },
            ..cfg
        }
    }

    /// Refuses a translation with `--scorer bertalign`: bertalign's method has no place for
    /// it, and ignoring it silently would misreport what the links rest on.
    pub fn check_translation(&self, wants_mt: bool) -> anyhow::Result<()> {
        if wants_mt && self.scorer.as_deref() == Some("bertalign") {
            anyhow::bail!(
                "--scorer bertalign does not use a translation: drop --translations/--mt-model, \
                 or use --scorer tuned or hand"
            );
        }
        Ok(())
    }

    /// Whether any flag was given (they mean nothing to mining).
    pub fn given(&self) -> bool {
        self.scorer.is_some()
            || self.absorb.is_some()
            || self.uncross.is_some()
            || self.moved.is_some()
            || self.adapt.is_some()
    }
}

/// Which model embeds the sentences, and how.
#[derive(Args, Debug, Clone)]
pub struct ModelArgs {
    /// A Hugging Face repo id, or a local directory in the hub's layout (config.json,
    /// model.safetensors, tokenizer.json, modules.json, …).
    #[arg(long, value_name = "ID|DIR", default_value = bitalign::model::DEFAULT_MODEL, env = "BITALIGN_MODEL")]
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
    #[arg(long, value_name = "N", default_value_t = bitalign::embed::DEFAULT_BATCH)]
    pub batch: usize,

    /// Matrix products in int8 (q8: weights per output channel, activations per token;
    /// AVX-512 VNNI where available), about twice as fast, cosine ≥ 0.99 to f32.
    #[arg(long, value_enum, default_value_t = bitalign::model::Quantize::None)]
    pub quantize: bitalign::model::Quantize,
}

impl ModelArgs {
    pub fn options(&self) -> EmbedOptions {
        EmbedOptions {
            revision: self.revision.clone(),
            offline: self.offline,
            prefix: self.prefix.clone(),
            batch: self.batch,
            quantize: self.quantize,
            ..EmbedOptions::default()
        }
    }

    /// Loads the model (downloading it on first use unless offline) and wraps it for embedding.
    pub fn embedder(&self, progress: &Progress) -> anyhow::Result<Embedder> {
        Ok(Embedder::load(&self.model, &self.options(), progress)?)
    }
}

/// Documents to read, their languages, and how to split them.
#[derive(Args, Debug, Clone)]
pub struct InputArgs {
    /// Input documents: UTF-8 text files (one document each), directories (every file
    /// under them, in name order; a folder named by a language code, like `corpus/vi/`,
    /// gives its files' language) and JSON Lines files (`.jsonl`/`.ndjson`: one document
    /// per record, text in --text-field), any of them gzip/xz/zstd-compressed (told by
    /// content); `-` reads stdin. Blank lines and line breaks always end a sentence.
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

    /// The field holding the text in .jsonl inputs (records without it are an error,
    /// records where it is empty or null are skipped). Outputs name a record `FILE:LINE`
    /// and give spans within its text.
    #[arg(long, value_name = "NAME", default_value = "text")]
    pub text_field: String,
}

impl InputArgs {
    pub fn options(&self) -> LoadOptions {
        LoadOptions {
            langs: self.lang.clone(),
            presplit: self.presplit,
            lossy: self.lossy,
            allow_empty: false,
            text_field: Some(self.text_field.clone()),
        }
    }

    /// Reads every input, settles its language and splits it (see [`document::load`]).
    pub fn load(&self, progress: &Progress) -> anyhow::Result<Vec<Document>> {
        Ok(document::load(&self.files, &self.options(), progress)?)
    }
}

/// Where and how a run's corpus files are written.
#[derive(Args, Debug, Clone)]
pub struct OutputArgs {
    /// Output directory (refused if it exists, unless --force).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,

    /// Write into an existing output directory, replacing files of the same name.
    #[arg(long)]
    pub force: bool,

    /// Output formats (several allowed).
    #[arg(long, value_enum, value_delimiter = ',', default_value = "jsonl")]
    pub format: Vec<Format>,
}
