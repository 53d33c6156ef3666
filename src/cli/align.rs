//! `bitalign align SRC TGT`: aligns a document with its translation
//! ([`bitalign::align::align_cached`]). Output options behave as `run`'s: several
//! formats at once go into a directory claimed at start-up; one format goes to stdout or
//! to `--out FILE`; nothing existing is replaced without `--force`, an input never.

use super::{InputArgs, ModelArgs, Progress};
use anyhow::{bail, ensure, Result};
use bitalign::align::{align_cached, AlignConfig, Alignment};
use bitalign::corpus::vecalign::format_link;
use bitalign::corpus::{
    AtomicFile, CorpusWriter, Format, InputRecord, Manifest, ModelRecord, PairRecord, ParamsRecord,
    Record, TranslationRecord,
};
use bitalign::document::{self, Document};
use bitalign::embed::CachedEmbedder;
use bitalign::mt::Translations;
use bitalign::report;
use clap::Args;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Args, Debug)]
pub struct AlignArgs {
    /// The source document then its translation (`-` reads stdin for one of them).
    #[command(flatten)]
    pub input: InputArgs,
    #[command(flatten)]
    pub model: ModelArgs,
    /// Where to write. One format: a file (default: stdout). moses, or several formats: a
    /// directory, created and claimed at start-up as `run --out` (SRC-TGT.jsonl,
    /// corpus.SRC-TGT.SRC, …, run.json). An existing FILE|DIR is refused unless --force; an
    /// input, always.
    #[arg(long, short, value_name = "FILE|DIR")]
    pub out: Option<PathBuf>,
    /// Replace an existing --out (a file) or write into it (a directory).
    #[arg(long)]
    pub force: bool,
    /// Output formats (several allowed, as for `run`): vecalign (`[i, j]:[k]:cost`, every
    /// link), jsonl (every link; unaligned sentences have an empty side), tsv, moses and
    /// tmx (links with both sides only).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "vecalign",
        value_parser = ["vecalign", "jsonl", "tsv", "moses", "tmx"]
    )]
    pub format: Vec<String>,
    /// Most sentences in one link, both sides together.
    #[arg(long, value_name = "N", default_value_t = AlignConfig::default().max_size)]
    pub max_size: usize,
    /// Most sentences on one side of a link (each size is one more embedding pass).
    #[arg(long, value_name = "N", default_value_t = AlignConfig::default().max_overlap)]
    pub max_overlap: usize,
    /// Price of one more link, in similarity units: higher merges more, lower splits more.
    #[arg(long, value_name = "X", default_value_t = AlignConfig::default().threshold,
          value_parser = super::args::finite_f32, allow_negative_numbers = true)]
    pub threshold: f32,
    /// A machine translation of SRC into TGT's language, one line per SRC sentence (or per
    /// SRC line with --presplit, blank lines included), from any MT system. Each link is
    /// then also scored in TGT's language: chrF and the embedding similarity of the
    /// translated SRC side to the TGT side, trusted as far as the translation matches TGT
    /// near the diagonal (a weak one counts less). jsonl output gets the translation used
    /// for each link. An empty line stands for "no translation" (the SRC sentence is used).
    #[arg(long, value_name = "FILE")]
    pub translations: Option<PathBuf>,
    /// Or translate SRC here with a Marian (OPUS-MT) model into TGT's language and use that
    /// as --translations (cached on disk; see `bitalign translate --help`).
    #[command(flatten)]
    pub mt: super::translate::MtArgs,
    /// Also write a report into DIR (created if needed; refused if it already holds
    /// one): report.html with the dot plot of the similarity matrix, the path and its
    /// link types and the links side by side, the plots as SVG, and report.json.
    #[arg(long, value_name = "DIR")]
    pub report: Option<PathBuf>,
    #[command(flatten)]
    pub scoring: super::args::ScorerArgs,
}

/// Where the links go, settled before anything is read.
enum Target {
    /// One format on stdout.
    Stdout(String),
    /// One format into one file.
    File(String, PathBuf),
    /// Every format into a claimed directory.
    Dir(CorpusWriter, Vec<String>),
}

/// The corpus format of a format name (`vecalign` is not one: written by hand).
fn corpus_format(name: &str) -> Option<Format> {
    match name {
        "jsonl" => Some(Format::Jsonl),
        "tsv" => Some(Format::Tsv),
        "moses" => Some(Format::Moses),
        "tmx" => Some(Format::Tmx),
        _ => None,
    }
}

/// Whether a format holds every link (else only links with both sides).
fn every_link(format: &str) -> bool {
    matches!(format, "vecalign" | "jsonl")
}

/// Whether two paths name the same file (the same path, or the same file on disk).
fn same_file(a: &Path, b: &Path) -> bool {
    a == b
        || match (a.canonicalize(), b.canonicalize()) {
            (Ok(x), Ok(y)) => x == y,
            _ => false,
        }
}

fn target(a: &AlignArgs) -> Result<Target> {
    let mut formats: Vec<String> = Vec::new();
    for f in &a.format {
        if !formats.contains(f) {
            formats.push(f.clone());
        }
    }
    if let Some(out) = &a.out {
        if let Some(input) = a
            .input
            .files
            .iter()
            .chain(&a.translations)
            .find(|f| same_file(f, out))
        {
            bail!(
                "{}: is an input; choose another --out",
                bitalign::error::quoted(&input.display().to_string())
            );
        }
    }
    let to_dir = formats.len() > 1 || formats[0] == "moses";
    if to_dir {
        let Some(dir) = &a.out else {
            bail!(
                "--format {} writes several files: give --out DIR",
                formats.join(",")
            );
        };
        let corpus: Vec<Format> = formats.iter().filter_map(|f| corpus_format(f)).collect();
        return Ok(Target::Dir(
            CorpusWriter::create(dir, &corpus, a.force)?,
            formats,
        ));
    }
    let format = formats.remove(0);
    Ok(match &a.out {
        None => Target::Stdout(format),
        Some(path) => {
            if path.is_dir() {
                bail!(
                    "{}: is a directory; one format is written to a file (several, or moses, to a directory)",
                    path.display()
                );
            }
            if path.exists() && !a.force {
                bail!(
                    "{}: already exists; choose another --out or pass --force to replace it",
                    path.display()
                );
            }
            Target::File(format, path.clone())
        }
    })
}

/// One format's bytes for these links.
fn render(format: &str, recs: &[Record], src_lang: &str, tgt_lang: &str) -> Result<Vec<u8>> {
    let keep = |r: &&Record| {
        every_link(format) || (!r.src.indices.is_empty() && !r.tgt.indices.is_empty())
    };
    if format == "vecalign" {
        let mut out = Vec::new();
        for r in recs.iter().filter(keep) {
            writeln!(out, "{}", format_link(r))?;
        }
        return Ok(out);
    }
    let f = corpus_format(format).expect("a corpus format");
    // The writers write files: render into a private directory and read back.
    let dir = tempfile::tempdir()?;
    let mut w = CorpusWriter::create(&dir.path().join("o"), &[f], false)?;
    let kept: Vec<&Record> = recs.iter().filter(keep).collect();
    w.write_pair(src_lang, tgt_lang, kept)?;
    let name = w.files()[0].clone();
    let done = w.commit(&Manifest::default())?;
    Ok(std::fs::read(done.with_file_name(name))?)
}

pub fn run(a: AlignArgs, progress: &Progress) -> Result<()> {
    ensure!(
        a.input.files.len() == 2,
        "align takes two documents, SRC and TGT (got {})",
        a.input.files.len()
    );
    let cfg = a.scoring.apply(AlignConfig {
        max_size: a.max_size,
        max_overlap: a.max_overlap,
        threshold: a.threshold,
        ..AlignConfig::default()
    });
    cfg.validate()?;
    a.scoring
        .check_translation(a.translations.is_some() || a.mt.mt_model.is_some())?;
    let target = target(&a)?;
    if let Some(dir) = &a.report {
        report::check_free(dir)
            .map_err(|e| anyhow::anyhow!("{e}; choose another --report directory"))?;
    }
    // A file that holds no text is an empty side (every sentence of the other document
    // unaligned), not an error as it is for the other commands.
    let opts = document::LoadOptions {
        allow_empty: true,
        ..a.input.options()
    };
    let docs = document::load(&a.input.files, &opts, progress)?;
    if docs.len() != 2 {
        bail!(
            "align takes one document per side, but the inputs hold {} (a directory or a .jsonl \
             file); align many documents with `bitalign run --mode align`",
            docs.len()
        );
    }
    let (src, tgt) = (&docs[0], &docs[1]);
    // Checked against SRC's sentences before the model loads.
    let translation = match &a.translations {
        Some(_) if a.mt.mt_model.is_some() => {
            bail!("--translations and --mt-model both give a translation of SRC: choose one")
        }
        None if a.mt.mt_model.is_some() => {
            let t = a.mt.load(a.model.offline, progress)?;
            let texts: Vec<&str> = src.sentences.iter().map(|s| s.text.as_str()).collect();
            let out = a.mt.translate(&t, &texts, progress)?;
            // As a translation file's empty lines: the source sentence stands in.
            Some(Translations::from_lines(&out.lines, src)?)
        }
        Some(path) => {
            let t = Translations::load(path, src)?;
            if t.empty > 0 {
                progress.say(format!(
                    "{}: {} empty lines (their source sentences stand in)",
                    path.display(),
                    t.empty
                ));
            }
            Some(t)
        }
        None => None,
    };
    // Two empty sides need no model (nor the hub), unless a report wants it.
    let model = if src.sentences.is_empty() && tgt.sentences.is_empty() && a.report.is_none() {
        None
    } else {
        Some(a.model.embedder(progress)?)
    };
    let cache = model.as_ref().map(CachedEmbedder::new);
    let alignment = match &cache {
        Some(cache) => align_cached(src, tgt, translation.as_ref(), cache, &cfg, progress)?,
        None => {
            cfg.validate()?;
            Alignment::default()
        }
    };
    let recs = alignment.records(src, tgt);
    let (sl, tl) = (src.lang.tag(), tgt.lang.tag());
    match target {
        Target::Stdout(f) => {
            let bytes = render(&f, &recs, sl, tl)?;
            let mut out = std::io::stdout().lock();
            out.write_all(&bytes)
                .and_then(|()| out.flush())
                .map_err(|e| anyhow::anyhow!("stdout: cannot write ({e})"))?;
        }
        Target::File(f, path) => {
            AtomicFile::write_all(&path, &render(&f, &recs, sl, tl)?)?;
        }
        Target::Dir(mut w, formats) => {
            write_dir(&mut w, &formats, &recs, (src, tgt), &alignment)?;
            let translations = a
                .translations
                .iter()
                .map(|f| TranslationRecord {
                    src: src.name.clone(),
                    lang: tl.to_string(),
                    file: f.display().to_string(),
                })
                .collect();
            let manifest = manifest(
                &w,
                &docs,
                model.as_ref(),
                &cfg,
                &alignment,
                &recs,
                translations,
            );
            w.commit(&manifest)?;
        }
    }
    let links = alignment.links.len();
    let aligned = alignment.aligned();
    progress.say(format!(
        "{links} links ({aligned} with both sides, {} unaligned sentences)",
        links - aligned
    ));
    if let (Some(dir), Some(embedder), Some(cache)) = (&a.report, &model, &cache) {
        let model = serde_json::to_value(ModelRecord::of(embedder, None))?;
        let params = serde_json::json!({
            "max_size": cfg.max_size,
            "max_overlap": cfg.max_overlap,
            "threshold": cfg.threshold,
            "format": a.format,
        });
        let mut data =
            report::build::run_data(&super::report::command_line(), &docs, &model, &params);
        data.aligned = vec![report::AlignedPair {
            src: sl.to_string(),
            tgt: tl.to_string(),
            docs: vec![report::build::aligned_cached(
                &docs,
                (0, 1),
                &alignment.links,
                cache,
                progress,
            )?],
        }];
        let written = report::write_new(dir, &data, &report::Limits::default())?;
        super::report::say_written(&written, progress);
    }
    Ok(())
}

/// Every format into the claimed directory: the corpus formats through the writer (jsonl
/// with every link, the others with links that have both sides), vecalign by hand.
fn write_dir(
    w: &mut CorpusWriter,
    formats: &[String],
    recs: &[Record],
    (src, tgt): (&Document, &Document),
    _al: &Alignment,
) -> Result<()> {
    let (sl, tl) = (src.lang.tag(), tgt.lang.tag());
    let both: Vec<&Record> = recs
        .iter()
        .filter(|r| !r.src.indices.is_empty() && !r.tgt.indices.is_empty())
        .collect();
    for f in formats {
        match corpus_format(f) {
            Some(Format::Jsonl) => w.write_pair_as(&[Format::Jsonl], sl, tl, recs)?,
            Some(c) => w.write_pair_as(&[c], sl, tl, both.iter().copied())?,
            None => w.write_file(&format!("{sl}-{tl}.vecalign"), &render(f, recs, sl, tl)?)?,
        }
    }
    Ok(())
}

fn manifest(
    w: &CorpusWriter,
    docs: &[Document],
    embedder: Option<&bitalign::embed::Embedder>,
    cfg: &AlignConfig,
    al: &Alignment,
    recs: &[Record],
    translations: Vec<TranslationRecord>,
) -> Manifest {
    let (us, ut) = al.unaligned();
    Manifest {
        mode: Some("align".into()),
        model: embedder.map(|e| ModelRecord::of(e, None)),
        inputs: InputRecord::of(docs),
        params: Some(ParamsRecord::align(cfg, translations)),
        formats: w.formats().to_vec(),
        pairs: vec![PairRecord::Aligned {
            src: docs[0].lang.tag().to_string(),
            tgt: docs[1].lang.tag().to_string(),
            documents: 1,
            links: al.links.len(),
            written: recs
                .iter()
                .filter(|r| !r.src.indices.is_empty() && !r.tgt.indices.is_empty())
                .count(),
            unaligned_src: us,
            unaligned_tgt: ut,
        }],
        files: w.files().to_vec(),
        timings: BTreeMap::new(),
        ..Manifest::new()
    }
}
