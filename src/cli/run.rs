//! `bitalign run`: documents in several languages → a parallel corpus for every language
//! pair (the main job), mined by margin ([`bitalign::mine::mine_documents`]) or, with
//! `--mode align`, aligned as translations ([`bitalign::align::align_corpus`]).

use super::{InputArgs, ModelArgs, OutputArgs, Progress};
use anyhow::{bail, ensure, Result};
use bitalign::align::{align_corpus_translated, plan_corpus, AlignConfig, CorpusTranslations};
use bitalign::corpus::{
    tuples_jsonl, CorpusWriter, InputRecord, Manifest, ModelRecord, PairRecord, ParamsRecord,
    TranslationRecord,
};
use bitalign::document::Document;
use bitalign::embed::{read_embedding_parts, CachedEmbedder, DiskCache};
use bitalign::mine::{
    self, mine_documents_translated, mine_embedded_parts, Filter, Filters, MineConfig, Mined, Mode,
    Rank,
};
use bitalign::mt::Translations;
use bitalign::report::{self, RunData};
use bitalign::score::{Score, DEFAULT_K};
use clap::Args;
use serde_json::json;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

#[derive(Args, Debug)]
pub struct RunArgs {
    #[command(flatten)]
    pub input: InputArgs,
    #[command(flatten)]
    pub model: ModelArgs,
    #[command(flatten)]
    pub output: OutputArgs,

    /// Keep each document's embeddings on disk, keyed by the model (its files, engine,
    /// quantization), the prefix and the document's sentences, so a re-run or a re-mine
    /// with other parameters does not embed again: a directory, or `off` (default
    /// $BITALIGN_CACHE_DIR, else ~/.cache/bitalign/embeddings). The corpus is the same
    /// either way. Delete the directory to reclaim the space.
    #[arg(long, value_name = "DIR|off", env = "BITALIGN_EMBED_CACHE")]
    pub embed_cache: Option<PathBuf>,

    /// Language pairs to mine, source first (default: every pair, in input order).
    #[arg(long, value_name = "SRC-TGT,…", value_delimiter = ',')]
    pub pairs: Vec<String>,

    /// Neighbours per sentence for the margin.
    #[arg(long, default_value_t = DEFAULT_K, value_name = "N")]
    pub k: usize,

    /// How pairs are ranked and cut: `confidence` (default), the calibrated probability that
    /// a pair states the same fact (margin, shared numbers and rare names, mutual best
    /// partner), cut at --min-confidence; or `score`, the --score cut at --threshold.
    /// Without --rank, giving --threshold, --score, a --mode other than max, --knn other
    /// than exact or --knn-precision other than f32 selects `score`. See
    /// docs/mining-threshold.md.
    #[arg(long, value_enum)]
    pub rank: Option<Rank>,

    /// With the confidence ranking: keep pairs whose confidence (0–1) is at least this. See
    /// docs/mining-threshold.md for how it was calibrated and how to choose a cut.
    #[arg(long, value_name = "P", default_value_t = mine::confidence::DEFAULT_MIN_CONFIDENCE)]
    pub min_confidence: f32,

    /// Mark each kept pair `parallel` (both sides say the same) or `partial` (one side says
    /// more), with the clauses that match the other side (JSONL `correspondence`, HF `kind`
    /// and `partial` columns). On by default whenever the model is loaded (not with
    /// --embeddings, where asking for it is an error): it embeds the kept pairs' clauses.
    /// Never changes which pairs are kept. See docs/mining-threshold.md
    #[arg(long)]
    pub partial: bool,

    /// Do not mark pairs `parallel` / `partial` (saves embedding the kept pairs' clauses).
    #[arg(long, conflicts_with = "partial")]
    pub no_partial: bool,

    /// With the score ranking: how pairs are scored and ranked.
    #[arg(long, value_enum, default_value = "margin")]
    pub score: Score,

    /// Which candidates compete (LASER's modes), or `align` for documents that are
    /// translations of each other.
    #[arg(long, value_enum, default_value = "max")]
    pub mode: RunMode,

    /// With the score ranking: keep pairs scoring at least this (default: 1.02 for margin, 0.90
    /// for cosine, 0.02 for distance, calibrated for e5-small; see docs/mining-threshold.md). With
    /// `--mode align`: the price of one more link, as `bitalign align --threshold`.
    #[arg(long, value_name = "SCORE", value_parser = super::args::finite_f32, allow_negative_numbers = true)]
    pub threshold: Option<f32>,

    /// Filters to apply: length, identical, numbers, lang; `all` or `none`.
    #[arg(
        long,
        value_name = "LIST",
        value_delimiter = ',',
        default_value = "all"
    )]
    pub filters: Vec<String>,

    /// Length filter: the longer side may have at most this many times the characters.
    #[arg(long, value_name = "R", default_value_t = mine::filter::DEFAULT_MAX_LENGTH_RATIO,
          value_parser = super::args::finite_f32)]
    pub max_length_ratio: f32,

    /// Pivot language of the multi-way tuples (default: the first input language).
    #[arg(long, value_name = "LANG")]
    pub pivot: Option<String>,

    /// Also write report.html: a page to look at the run in a browser (counts, score
    /// histograms with the threshold, the pairs side by side with the nearest dropped
    /// ones; dot plots for --mode align), its plots as SVG in report-plots/, and
    /// report.json, the data `bitalign report DIR` rebuilds the page from.
    #[arg(long)]
    pub report: bool,

    /// Precomputed sentence embeddings, one file per input in the same order (e.g. from
    /// `bitalign embed`), instead of running the model: re-mine without re-embedding.
    /// `.npy` (float16/32/64, any byte order, C or Fortran order) or, with --dim, raw
    /// float32 rows (the `.f32` files of `embed`, LASER's layout). Memory-mapped.
    #[arg(long, value_name = "FILE", num_args = 1..)]
    pub embeddings: Vec<PathBuf>,

    /// Width of the raw float32 rows given to --embeddings (e.g. 384).
    #[arg(long, value_name = "N")]
    pub dim: Option<usize>,

    #[command(flatten)]
    pub knn: KnnArgs,

    /// `--mode align`: how links are scored (as `bitalign align`).
    #[command(flatten)]
    pub scoring: super::args::ScorerArgs,

    /// A directory of machine translations used as evidence. `DIR/NAME.LANG` is the
    /// translation of the input file NAME (its file name, without the directory) into
    /// LANG, one line per sentence of NAME. Mining: each source sentence's translation is
    /// compared with the target sentences in LANG (chrF) and re-scores the confidence of
    /// its candidates (confidence ranking only); the jsonl output gets the translation
    /// beside each pair. `--mode align`: as `bitalign align --translations`.
    /// Files are used where they exist; every one is checked before the model loads.
    #[arg(long, value_name = "DIR")]
    pub translations: Option<PathBuf>,

    /// Or translate the source documents here with a Marian (OPUS-MT) model and use that
    /// as --translations (cached on disk; see `bitalign translate --help`). One model
    /// translates one direction: the run must mine or align one language pair (--pairs).
    #[command(flatten)]
    pub mt: super::translate::MtArgs,
}

/// `--knn` and the index parameters of the approximate search.
#[derive(Args, Debug, Clone)]
pub struct KnnArgs {
    /// Nearest-neighbour search: `exact` compares every pair; `approx` an inverted file
    /// (k-means lists, each source sentence searches the --ivf-probe nearest lists; pairs
    /// it compares get exact cosines, pairs in lists it skips are missed); `auto` is exact
    /// up to 4·10⁹ sentence pairs per language pair (≈ 63k × 63k), approximate above.
    #[arg(long, value_enum, default_value = "exact", value_name = "SEARCH")]
    pub knn: KnnChoice,
    /// Lists of the inverted file (default: 2^round(log2(2·√(n·probe))), n the larger side, at most n/64).
    #[arg(long, value_name = "N")]
    pub ivf_lists: Option<usize>,
    /// Lists each source sentence searches (more: higher recall, slower).
    #[arg(long, value_name = "N", default_value_t = bitalign::score::IvfParams::default().probe)]
    pub ivf_probe: usize,
    /// Choose --ivf-probe per language pair for this recall@k of the neighbour lists (e.g.
    /// 0.99), estimated on the exact neighbours of 256 sentences of each side; run.json
    /// records the probe chosen. Real sentence embeddings need far more lists probed than
    /// synthetic clusters for the same recall.
    #[arg(long, value_name = "R")]
    pub ivf_recall: Option<f64>,
    /// Lists each target sentence is stored in, its nearest ones (2: a sentence near a
    /// list boundary is found from either side, for twice the list work).
    #[arg(long, value_name = "N", default_value_t = bitalign::score::IvfParams::default().assign)]
    pub ivf_assign: usize,
    /// k-means training sentences per list (sampled evenly from the target side).
    #[arg(long, value_name = "N", default_value_t = bitalign::score::IvfParams::default().train_per_list)]
    pub ivf_train_per_list: usize,
    /// k-means iterations.
    #[arg(long, value_name = "N", default_value_t = bitalign::score::IvfParams::default().iterations)]
    pub ivf_iterations: usize,
    /// Number format the search compares in: `f32` (exact), or `int8` (the embeddings
    /// centred and rounded to 8 bits, one scale per sentence: about 4× less memory traffic
    /// and, with AVX-512 VNNI, faster; each list keeps 8 more candidates than --k, whose
    /// cosines and margins are then computed in f32, so only which pairs are found can
    /// differ). Works with every --knn.
    #[arg(long, value_enum, default_value = "f32", value_name = "FORMAT")]
    pub knn_precision: bitalign::score::Precision,
}

/// `--knn`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum KnnChoice {
    Exact,
    Approx,
    Auto,
}

impl KnnArgs {
    /// The library's search choice; its parameters are checked by the mining config.
    pub fn knn(&self) -> Result<bitalign::score::Knn> {
        use bitalign::score::{IvfParams, Knn};
        // The library reads 0 lists as "pick for the sizes"; on the command line that is
        // the flag left out.
        ensure!(self.ivf_lists != Some(0), "--ivf-lists must be at least 1");
        let p = IvfParams {
            lists: self.ivf_lists.unwrap_or(0),
            probe: self.ivf_probe,
            assign: self.ivf_assign,
            recall: self.ivf_recall,
            train_per_list: self.ivf_train_per_list,
            iterations: self.ivf_iterations,
        };
        Ok(match self.knn {
            KnnChoice::Exact => Knn::Exact,
            KnnChoice::Approx => Knn::Ivf(p),
            KnnChoice::Auto => Knn::Auto(p),
        })
    }
}

/// `--mode`: how pairs are chosen.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum RunMode {
    /// Every source sentence with its best target (targets may repeat).
    Forward,
    /// Every target sentence with its best source (sources may repeat).
    Backward,
    /// Only pairs that are each other's best partner.
    Intersect,
    /// Forward and backward candidates together, best first, each sentence used at most
    /// once (default: the most pairs without reusing a sentence).
    Max,
    /// The documents are translations: the i-th document of each language is aligned
    /// monotonically with the i-th of every other (1-1 … n-m links, as `bitalign align`);
    /// --k, --score, --filters and --pivot do not apply.
    Align,
}

fn parse_filters(list: &[String], max_length_ratio: f32) -> Result<Filters> {
    let mut f = Filters::none();
    f.max_length_ratio = max_length_ratio;
    for name in list.iter().map(|s| s.trim()) {
        match name {
            "all" => f.on.extend(Filter::ALL),
            "none" | "" => {}
            n => match Filter::ALL.into_iter().find(|f| f.name() == n) {
                Some(one) => {
                    f.on.insert(one);
                }
                None => bail!(
                    "--filters {n}: unknown filter (length, identical, numbers, lang, all, none)"
                ),
            },
        }
    }
    Ok(f)
}

/// The mining configuration the flags ask for (not `--mode align`), checked.
pub fn mine_config(args: &RunArgs) -> Result<MineConfig> {
    let mode = match args.mode {
        RunMode::Align => bail!("--mode align is not mining; it has no configuration here"),
        RunMode::Forward => Mode::Forward,
        RunMode::Backward => Mode::Backward,
        RunMode::Intersect => Mode::Intersect,
        RunMode::Max => Mode::Max,
    };
    let cfg = MineConfig {
        k: args.k,
        score: args.score,
        mode,
        threshold: args.threshold,
        rank: args.rank,
        min_confidence: args.min_confidence,
        filters: parse_filters(&args.filters, args.max_length_ratio)?,
        pairs: args.pairs.clone(),
        pivot: args.pivot.clone(),
        knn: args.knn.knn()?,
        precision: args.knn.knn_precision,
        // Marking needs the model: on by default unless the embeddings are given.
        partial: !args.no_partial && (args.partial || args.embeddings.is_empty()),
    };
    cfg.validate()?;
    if args.partial && !args.embeddings.is_empty() {
        bail!("--partial embeds the clauses of the kept pairs, so it needs the model: drop --embeddings or --partial");
    }
    Ok(cfg)
}

pub fn run(args: RunArgs, progress: &Progress) -> Result<()> {
    if args.mode == RunMode::Align {
        return run_align(args, progress);
    }
    let t0 = Instant::now();
    if args.scoring.given() {
        bail!("--scorer, --absorb, --uncross, --moved and --adapt score alignments: they need --mode align");
    }
    let cfg = mine_config(&args)?;
    let wants_mt = args.translations.is_some() || args.mt.mt_model.is_some();
    if wants_mt && cfg.rank() != Rank::Confidence {
        bail!("--translations/--mt-model re-score the confidence ranking; they do not apply to the score ranking (drop --rank score, --threshold, --score, --mode and --knn)");
    }
    check_translation_args(&args)?;
    // Everything that can be checked is checked before the model loads.
    let out = &args.output;
    let mut writer = CorpusWriter::create(&out.out, &out.format, out.force)?;
    let docs = args.input.load(progress)?;
    let t_load = t0.elapsed().as_secs_f64();
    let plan = cfg.plan(&docs)?;
    let wanted = plan.translation_targets(&docs);
    let (translations, translation_records) = translations_for(&args, &docs, &wanted, progress)?;

    let (mined, model, load_seconds, embed_seconds) = if args.embeddings.is_empty() {
        let cache = DiskCache::from_setting(args.embed_cache.as_deref());
        let embedder = args.model.embedder(progress)?.with_cache(cache);
        let mined = mine_documents_translated(&docs, &embedder, &translations, &cfg, progress)?;
        let stats = mined.embed_stats.clone().unwrap_or_default();
        let secs = stats.seconds;
        let model = ModelRecord::of(&embedder, Some(stats));
        (mined, model, embedder.load_seconds, secs)
    } else {
        let start = Instant::now();
        let parts = read_embedding_parts(&args.embeddings, args.dim, &docs)?;
        let secs = start.elapsed().as_secs_f64();
        let model = ModelRecord::Precomputed {
            embeddings: args
                .embeddings
                .iter()
                .map(|f| f.display().to_string())
                .collect(),
        };
        (
            mine_embedded_parts(&docs, &parts, &translations, &cfg, progress)?,
            model,
            0.0,
            secs,
        )
    };

    let t_write = Instant::now();
    let report_files = write_mined(&mut writer, &docs, &mined, &model, args.report)?;
    let timings = timings(&[
        ("load_split_s", t_load),
        ("model_load_s", load_seconds),
        ("embed_s", embed_seconds),
        ("mine_s", mined.mine_seconds),
        ("write_s", t_write.elapsed().as_secs_f64()),
        ("total_s", t0.elapsed().as_secs_f64()),
    ]);
    let manifest = mined_manifest(&docs, &mined, model, &writer, timings, translation_records);
    writer.commit(&manifest)?;
    super::report::say_written(&report_files, progress);
    say_altered(&manifest.altered_sides, progress);

    if !progress.quiet {
        let sentences = docs.iter().map(|d| d.sentences.len()).sum();
        eprint!(
            "{}",
            summary(
                &mined,
                &manifest.timings,
                sentences,
                !args.embeddings.is_empty(),
                &out.out
            )
        );
    }
    Ok(())
}

/// Writes the mined corpus through `writer` (pairs, multi-way tuples, the report when
/// asked): what `run` and `shard merge` share. Returns the report's files.
pub fn write_mined(
    writer: &mut CorpusWriter,
    docs: &[Document],
    mined: &Mined,
    model: &ModelRecord,
    with_report: bool,
) -> Result<Vec<PathBuf>> {
    for (i, r) in mined.pairs.iter().enumerate() {
        writer.write_pair(
            mined.lang(r.src),
            mined.lang(r.tgt),
            &mined.records(docs, i),
        )?;
    }
    if mined.pools.len() >= 3 {
        writer.write_file("multi.jsonl", &tuples_jsonl(&mined.tuple_sides(docs))?)?;
    }
    if !with_report {
        return Ok(Vec::new());
    }
    let mut params = json!({
        "params": mined.params,
        "filters": mined.filters,
        "formats": writer.formats(),
    });
    if mined.pools.len() >= 3 {
        params["pivot"] = json!(mined.lang(mined.pivot));
    }
    let mut data = run_data(docs, model, &params)?;
    data.mined = report::build::mined(docs, mined);
    super::report::write_all(writer, &data)
}

/// `run.json` of a mined corpus.
pub fn mined_manifest(
    docs: &[Document],
    mined: &Mined,
    model: ModelRecord,
    writer: &CorpusWriter,
    timings: BTreeMap<String, f64>,
    translations: Vec<TranslationRecord>,
) -> Manifest {
    Manifest {
        model: Some(model),
        inputs: InputRecord::of(docs),
        params: Some(ParamsRecord::Mine {
            params: mined.params.clone(),
            translations,
        }),
        filters: Some(mined.filters.clone()),
        formats: writer.formats().to_vec(),
        tsv_score: Some(mined.params.cut().0),
        altered_sides: writer.altered().clone(),
        pivot: Some(mined.lang(mined.pivot).to_string()),
        pairs: PairRecord::mined(mined),
        tuples: Some(mined.tuples.len()),
        files: writer.files().to_vec(),
        timings,
        ..Manifest::new()
    }
}

/// `--mode align`: the i-th document of each language aligned with the i-th of every other.
fn run_align(args: RunArgs, progress: &Progress) -> Result<()> {
    let t0 = Instant::now();
    if !args.embeddings.is_empty() {
        bail!("--embeddings holds sentence embeddings; --mode align embeds overlaps of sentences, so it runs the model");
    }
    let cfg = args.scoring.apply(AlignConfig {
        threshold: args.threshold.unwrap_or(AlignConfig::default().threshold),
        ..AlignConfig::default()
    });
    cfg.validate()?;
    check_translation_args(&args)?;
    args.scoring
        .check_translation(args.translations.is_some() || args.mt.mt_model.is_some())?;
    let out = &args.output;
    let mut writer = CorpusWriter::create(&out.out, &out.format, out.force)?;
    let docs = args.input.load(progress)?;
    let plan = plan_corpus(&docs, &args.pairs)?;
    let wanted: Vec<(usize, String)> = plan
        .pairs
        .iter()
        .flat_map(|&(a, b)| {
            let lang = &plan.langs[b].0;
            plan.langs[a].1.iter().map(move |&i| (i, lang.clone()))
        })
        .collect();
    let (translations, translation_records) = translations_for(&args, &docs, &wanted, progress)?;

    let embedder = args.model.embedder(progress)?;
    let t_align = Instant::now();
    let cache = CachedEmbedder::new(&embedder);
    let corpus =
        align_corpus_translated(&docs, &cache, &args.pairs, &translations, &cfg, progress)?;
    for p in &corpus.pairs {
        writer.write_pair(&p.src, &p.tgt, &p.records)?;
    }
    let align_seconds = t_align.elapsed().as_secs_f64() - corpus.embed_seconds;
    let report_files = if args.report {
        let params = json!({
            "mode": "align",
            "max_size": cfg.max_size,
            "max_overlap": cfg.max_overlap,
            "threshold": cfg.threshold,
            "formats": writer.formats(),
        });
        let mut data = run_data(&docs, &ModelRecord::of(&embedder, None), &params)?;
        data.aligned = report::build::aligned_corpus(&docs, &corpus, &cache, progress)?;
        super::report::write_all(&mut writer, &data)?
    } else {
        Vec::new()
    };
    let timings = timings(&[
        ("model_load_s", embedder.load_seconds),
        ("embed_s", corpus.embed_seconds),
        ("align_s", align_seconds),
        ("total_s", t0.elapsed().as_secs_f64()),
    ]);
    let manifest = Manifest {
        mode: Some("align".into()),
        model: Some(ModelRecord::of(&embedder, None)),
        inputs: InputRecord::of(&docs),
        params: Some(ParamsRecord::align(&cfg, translation_records)),
        formats: writer.formats().to_vec(),
        tsv_score: Some("cosine".into()),
        altered_sides: writer.altered().clone(),
        pairs: corpus
            .pairs
            .iter()
            .map(|p| PairRecord::Aligned {
                src: p.src.clone(),
                tgt: p.tgt.clone(),
                documents: p.documents,
                links: p.links,
                written: p.records.len(),
                unaligned_src: p.unaligned_src,
                unaligned_tgt: p.unaligned_tgt,
            })
            .collect(),
        files: writer.files().to_vec(),
        timings,
        ..Manifest::new()
    };
    writer.commit(&manifest)?;
    super::report::say_written(&report_files, progress);
    say_altered(&manifest.altered_sides, progress);

    for p in &corpus.pairs {
        progress.say(format!(
            "{}-{}: {} links with both sides from {} document pair(s); unaligned sentences: {} {}, {} {}",
            p.src, p.tgt, p.records.len(), p.documents, p.unaligned_src, p.src, p.unaligned_tgt, p.tgt
        ));
    }
    progress.say(format!(
        "time: model load {:.2} s, embed {:.2} s ({} overlaps), align {align_seconds:.2} s, total {:.2} s\nwrote {}",
        embedder.load_seconds,
        corpus.embed_seconds,
        corpus.embedded,
        t0.elapsed().as_secs_f64(),
        out.out.display()
    ));
    Ok(())
}

/// `--translations` and `--mt-model` on their own: one of them, a directory.
fn check_translation_args(args: &RunArgs) -> Result<()> {
    if let Some(dir) = &args.translations {
        if args.mt.mt_model.is_some() {
            bail!(
                "--translations and --mt-model both give translations of the sources: choose one"
            );
        }
        if !dir.is_dir() {
            bail!(
                "{}: --translations takes a directory (of NAME.LANG files)",
                dir.display()
            );
        }
    }
    Ok(())
}

/// The translations the run uses for `wanted` (source document, target language), from
/// `--translations` or made by `--mt-model`; none without either.
fn translations_for(
    args: &RunArgs,
    docs: &[Document],
    wanted: &[(usize, String)],
    progress: &Progress,
) -> Result<(CorpusTranslations, Vec<TranslationRecord>)> {
    match (&args.translations, &args.mt.mt_model) {
        (Some(dir), _) => corpus_translations(dir, docs, wanted, progress),
        (None, Some(name)) => {
            bitalign::mt::check_one_direction(docs, wanted)?;
            let t = args.mt.load(args.model.offline, progress)?;
            let found = bitalign::mt::translate_sources(docs, wanted, |doc| {
                Ok(args.mt.translate(&t, &doc.texts(), progress)?.lines)
            })?;
            let records = wanted
                .iter()
                .map(|(i, lang)| TranslationRecord {
                    src: docs[*i].name.clone(),
                    lang: lang.clone(),
                    file: format!("mt-model:{name}"),
                })
                .collect();
            Ok((found, records))
        }
        (None, None) => Ok(Default::default()),
    }
}

/// The translations in `dir` for `wanted` (source document, target language):
/// `dir/NAME.LANG` for source document NAME (its file name), each checked against its
/// document.
fn corpus_translations(
    dir: &Path,
    docs: &[Document],
    wanted: &[(usize, String)],
    progress: &Progress,
) -> Result<(CorpusTranslations, Vec<TranslationRecord>)> {
    let mut found = CorpusTranslations::new();
    let mut records = Vec::new();
    let mut expected = None;
    for (i, lang) in wanted {
        let i = *i;
        let Some(name) = Path::new(&docs[i].name).file_name() else {
            continue;
        };
        let path = dir.join(format!("{}.{lang}", name.to_string_lossy()));
        expected.get_or_insert_with(|| path.clone());
        if !path.is_file() || found.contains_key(&(i, lang.clone())) {
            continue;
        }
        let t = Translations::load(&path, &docs[i])?;
        if t.empty > 0 {
            progress.say(format!(
                "{}: {} empty lines (their source sentences stand in)",
                path.display(),
                t.empty
            ));
        }
        records.push(TranslationRecord {
            src: docs[i].name.clone(),
            lang: lang.clone(),
            file: path.display().to_string(),
        });
        found.insert((i, lang.clone()), t);
    }
    if found.is_empty() {
        bail!(
            "{}: no translation of any source document (expected names like {})",
            dir.display(),
            expected.map_or("NAME.LANG".into(), |p| p.display().to_string())
        );
    }
    progress.say(format!(
        "{} translation(s) from {} used as evidence",
        found.len(),
        dir.display()
    ));
    Ok((found, records))
}

/// The report's run-level facts: the documents, the model (without the embedding
/// statistics, which vary run to run) and `params`.
fn run_data(docs: &[Document], model: &ModelRecord, params: &serde_json::Value) -> Result<RunData> {
    let mut model = serde_json::to_value(model)?;
    if let Some(m) = model.as_object_mut() {
        m.remove("stats");
    }
    Ok(report::build::run_data(
        &super::report::command_line(),
        docs,
        &model,
        params,
    ))
}

/// run.json's `timings`: seconds per step, by name.
pub(super) fn timings(steps: &[(&str, f64)]) -> BTreeMap<String, f64> {
    steps.iter().map(|&(k, v)| (k.to_string(), v)).collect()
}

/// One note for the sentence sides a format had to change (tabs, line breaks, characters
/// XML forbids), so that no text changes silently.
pub(super) fn say_altered(altered: &BTreeMap<String, usize>, progress: &Progress) {
    let parts: Vec<String> = altered
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(f, n)| {
            let what = match f.as_str() {
                "tsv" => "tabs or line breaks made spaces",
                "moses" => "line breaks made spaces",
                _ => "characters XML forbids dropped",
            };
            format!("{f} {n} ({what})")
        })
        .collect();
    if !parts.is_empty() {
        progress.say(format!(
            "note: sentence sides changed to fit the formats: {}",
            parts.join(", ")
        ));
    }
}

/// The summary on stderr: sentences per language, pairs per language pair (with what the
/// threshold and each filter removed), the score histogram and the time per stage.
pub fn summary(
    mined: &Mined,
    timings: &BTreeMap<String, f64>,
    sentences: usize,
    precomputed: bool,
    out: &std::path::Path,
) -> String {
    let (pools, results, params, filters) =
        (&mined.pools, &mined.pairs, &mined.params, &mined.filters);
    let (tuples, pivot) = (mined.tuples.len(), mined.pivot);
    let mut s = String::new();
    let langs: Vec<String> = pools
        .iter()
        .map(|p| {
            let n = p.rows.len();
            if p.docs.len() > 1 {
                format!("{} {n} ({} documents pooled)", p.lang, p.docs.len())
            } else {
                format!("{} {n}", p.lang)
            }
        })
        .collect();
    s += &format!("sentences: {}\n", langs.join(", "));
    let (score, threshold) = params.cut();
    for r in results {
        let pair = format!("{}-{}", pools[r.src].lang, pools[r.tgt].lang);
        let above = r.candidates.len() - r.below_threshold;
        if r.kept.is_empty() && above > 0 {
            // Pairs cleared the threshold but every one was removed by a filter: say so,
            // rather than imply that none scored high enough.
            let f: Vec<String> = r
                .filtered
                .iter()
                .filter(|(_, n)| **n > 0)
                .map(|(f, n)| format!("{} {n}", f.name()))
                .collect();
            s += &format!(
                "{pair}: no pairs kept: {above} candidate{} at {score} ≥ {} (best {:.3}) all \
                 removed by filters ({}); wrote empty files\n",
                if above == 1 { "" } else { "s" },
                threshold,
                r.candidates[0].score,
                f.join(", ")
            );
        } else if r.kept.is_empty() {
            let best = r
                .candidates
                .first()
                .map(|p| format!(" (best {score} {:.3})", p.score))
                .unwrap_or_default();
            s += &format!("{pair}: no pairs at {score} ≥ {threshold}{best}; wrote empty files\n");
        } else {
            s += &format!(
                "{pair}: {} pair{} kept of {} candidates ({} below {score} {})",
                r.kept.len(),
                if r.kept.len() == 1 { "" } else { "s" },
                r.candidates.len(),
                r.below_threshold,
                threshold
            );
            if !filters.on.is_empty() {
                let f: Vec<String> = filters
                    .on
                    .iter()
                    .map(|f| format!("{} {}", f.name(), r.filtered.get(f).copied().unwrap_or(0)))
                    .collect();
                s += &format!("; filtered: {}", f.join(", "));
            }
            s += "\n";
        }
    }
    if pools.len() >= 3 {
        s += &format!(
            "multi-way: {tuples} tuples across ≥ 3 languages (pivot {})\n",
            pools[pivot].lang
        );
    }
    s += &histogram(results, params);
    let t = |k: &str| timings.get(k).copied().unwrap_or(0.0);
    let embed = if precomputed {
        format!("embeddings read {:.2} s", t("embed_s"))
    } else {
        format!(
            "model load {:.2} s, embed {:.2} s ({:.1} sentences/s)",
            t("model_load_s"),
            t("embed_s"),
            sentences as f64 / t("embed_s").max(1e-9)
        )
    };
    s += &format!(
        "time: load+split {:.2} s, {embed}, mine {:.2} s, write {:.2} s, total {:.2} s\n",
        t("load_split_s"),
        t("mine_s"),
        t("write_s"),
        t("total_s")
    );
    s += &format!("wrote {}\n", out.display());
    s
}

/// Candidate scores of all pairs in ten bins, with the threshold marked.
fn histogram(results: &[mine::PairResult], params: &mine::Params) -> String {
    let scores: Vec<f32> = results
        .iter()
        .flat_map(|r| r.candidates.iter().map(|p| p.score))
        .filter(|s| s.is_finite())
        .collect();
    if scores.is_empty() {
        return String::new();
    }
    let lo = scores.iter().copied().fold(f32::INFINITY, f32::min);
    let hi = scores.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let bins = 10;
    let width = ((hi - lo) / bins as f32).max(1e-6);
    let mut count = vec![0usize; bins];
    for s in &scores {
        count[(((s - lo) / width) as usize).min(bins - 1)] += 1;
    }
    let most = *count.iter().max().unwrap_or(&1);
    let mut s = format!(
        "candidate {} scores (all pairs, {} candidates; | = threshold):\n",
        params.cut().0,
        scores.len()
    );
    for (b, &n) in count.iter().enumerate() {
        let (a, z) = (lo + b as f32 * width, lo + (b + 1) as f32 * width);
        let cut = params.cut().1;
        let mark = if a <= cut && cut < z { "|" } else { " " };
        s += &format!(
            "  {a:7.3} – {z:7.3} {mark} {:<30} {n}\n",
            "#".repeat((n * 30).div_ceil(most.max(1)))
        );
    }
    s
}
