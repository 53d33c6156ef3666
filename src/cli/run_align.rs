//! `bitalign run --mode align`: many documents that are translations of each other → a
//! parallel corpus per language pair, by the monotonic aligner of `bitalign align`.
//!
//! The i-th document of each language is taken as the translation of the i-th document of
//! every other language (input order). Every document's overlaps are embedded once, however
//! many language pairs it takes part in: a cache sits between the aligner and the embedder
//! (a sentence's vector does not depend on its batch-mates, so this changes no number).

use super::align::records;
use super::run::{check_languages, check_out, RunArgs};
use super::Progress;
use crate::align::{align_sentences, AlignParams, Link};
use crate::corpus::{AtomicFile, MultiSink, Sink};
use crate::embed::{Embedder, Embeddings};
use crate::mine::pool as mc;
use crate::segment::{Document, Sentence};
use anyhow::{bail, Context, Result};
use serde_json::json;
use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Instant;

/// Vectors of texts already embedded, so shared overlaps are embedded once per run.
struct Cache<'a> {
    embedder: &'a Embedder,
    rows: HashMap<String, Vec<f32>>,
    seconds: f64,
}

impl Cache<'_> {
    fn embed(&mut self, texts: &[String], progress: &Progress) -> Result<Embeddings> {
        let mut missing: Vec<&str> = texts
            .iter()
            .map(String::as_str)
            .filter(|t| !self.rows.contains_key(*t))
            .collect();
        missing.sort_unstable();
        missing.dedup();
        if !missing.is_empty() {
            let start = Instant::now();
            let m = self.embedder.embed(&missing, progress)?;
            for (t, row) in missing.iter().zip(m.rows()) {
                self.rows.insert(t.to_string(), row.to_vec());
            }
            self.seconds += start.elapsed().as_secs_f64();
        }
        let rows: Vec<&[f32]> = texts.iter().map(|t| self.rows[t].as_slice()).collect();
        Embeddings::from_rows(self.embedder.dim(), &rows)
    }
}

/// What aligning one language pair did.
struct PairStats {
    src: String,
    tgt: String,
    documents: usize,
    links: usize,
    /// Links with sentences on both sides: what the corpus files hold.
    written: usize,
    unaligned_src: usize,
    unaligned_tgt: usize,
}

pub fn run(args: RunArgs, progress: &Progress) -> Result<()> {
    let t0 = Instant::now();
    if !args.embeddings.is_empty() {
        bail!("--embeddings holds sentence embeddings; --mode align embeds overlaps of sentences, so it runs the model");
    }
    let params = AlignParams {
        threshold: args.threshold.unwrap_or(AlignParams::default().threshold),
        ..AlignParams::default()
    };
    params.validate()?;
    let formats = args.formats();
    check_out(&args.out, args.force)?;

    let docs = args.input.load(progress)?;
    check_languages(&docs)?;
    // Languages in input order, each with its documents in input order.
    let mut langs: Vec<(String, Vec<usize>)> = Vec::new();
    for (i, (d, _)) in docs.iter().enumerate() {
        match langs.iter_mut().find(|(l, _)| *l == d.lang) {
            Some((_, v)) => v.push(i),
            None => langs.push((d.lang.clone(), vec![i])),
        }
    }
    let n = langs[0].1.len();
    if let Some((l, v)) = langs.iter().find(|(_, v)| v.len() != n) {
        bail!(
            "--mode align pairs the i-th document of each language with the i-th of the others, \
             but `{}` has {n} document(s) and `{l}` has {}",
            langs[0].0,
            v.len()
        );
    }
    let names: Vec<&str> = langs.iter().map(|(l, _)| l.as_str()).collect();
    let pairs = if args.pairs.is_empty() {
        mc::all_pairs(names.len())
    } else {
        mc::parse_pairs(&args.pairs, &names)?
    };

    let t_load = Instant::now();
    let embedder = args.model.embedder(progress)?;
    let load_seconds = t_load.elapsed().as_secs_f64();
    let mut cache = Cache {
        embedder: &embedder,
        rows: HashMap::new(),
        seconds: 0.0,
    };

    // Align every document pair of every language pair; write as we go, atomically.
    let t_align = Instant::now();
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("{}: cannot create the output directory", args.out.display()))?;
    let mut stats = Vec::new();
    let mut files: Vec<PathBuf> = Vec::new();
    let mut altered = std::collections::BTreeMap::new();
    for &(a, b) in &pairs {
        let (sl, tl) = (&langs[a].0, &langs[b].0);
        let mut sink = Box::new(MultiSink::open(&formats, &args.out, sl, tl)?);
        let mut st = PairStats {
            src: sl.clone(),
            tgt: tl.clone(),
            documents: n,
            links: 0,
            written: 0,
            unaligned_src: 0,
            unaligned_tgt: 0,
        };
        for k in 0..n {
            let (src, tgt) = (&docs[langs[a].1[k]], &docs[langs[b].1[k]]);
            let links = align_docs(src, tgt, &mut cache, &params, progress)?;
            st.links += links.len();
            st.unaligned_src += links
                .iter()
                .filter(|l| l.tgt.is_empty())
                .map(|l| l.src.len())
                .sum::<usize>();
            st.unaligned_tgt += links
                .iter()
                .filter(|l| l.src.is_empty())
                .map(|l| l.tgt.len())
                .sum::<usize>();
            for r in records(&links, (&src.0, &src.1), (&tgt.0, &tgt.1)) {
                if !r.src.indices.is_empty() && !r.tgt.indices.is_empty() {
                    sink.write(&r)?;
                    st.written += 1;
                }
            }
        }
        super::run::add_altered(&mut altered, sink.altered());
        sink.finish()?;
        for f in &formats {
            files.extend(f.paths(&args.out, sl, tl));
        }
        stats.push(st);
    }
    // Formats may skip a pair with no rows (hf): list only what was written.
    files.retain(|f| f.is_file());
    let align_seconds = t_align.elapsed().as_secs_f64() - cache.seconds;

    let m = embedder.model();
    let manifest = json!({
        "bitalign": env!("CARGO_PKG_VERSION"),
        "mode": "align",
        "model": {"id": m.id(), "path": m.name, "revision": m.revision, "prefix": embedder.prefix(), "dim": embedder.dim()},
        "inputs": docs.iter().map(|(d, s)| json!({"file": d.name, "lang": d.lang, "sentences": s.len()})).collect::<Vec<_>>(),
        "params": {"max_size": params.max_size, "max_overlap": params.max_overlap, "threshold": params.threshold},
        "formats": formats,
        "tsv_score": "cosine",
        "altered_sides": altered,
        "threads": rayon::current_num_threads(),
        "pairs": stats.iter().map(|s| json!({
            "src": s.src, "tgt": s.tgt, "documents": s.documents, "links": s.links,
            "written": s.written, "unaligned_src": s.unaligned_src, "unaligned_tgt": s.unaligned_tgt,
        })).collect::<Vec<_>>(),
        "files": files.iter().map(|f| f.file_name().map(|n| n.to_string_lossy().into_owned())).collect::<Vec<_>>(),
        "timings": {
            "model_load_s": load_seconds,
            "embed_s": cache.seconds,
            "align_s": align_seconds,
            "total_s": t0.elapsed().as_secs_f64(),
        },
    });
    let mut bytes = serde_json::to_vec_pretty(&manifest)?;
    bytes.push(b'\n');
    AtomicFile::write_all(args.out.join("run.json"), &bytes)?;
    super::run::say_altered(&altered, progress);

    for s in &stats {
        progress.say(format!(
            "{}-{}: {} links with both sides from {} document pair(s); unaligned sentences: {} {}, {} {}",
            s.src, s.tgt, s.written, s.documents, s.unaligned_src, s.src, s.unaligned_tgt, s.tgt
        ));
    }
    progress.say(format!(
        "time: model load {load_seconds:.2} s, embed {:.2} s ({} overlaps), align {align_seconds:.2} s, total {:.2} s\nwrote {}",
        cache.seconds,
        cache.rows.len(),
        t0.elapsed().as_secs_f64(),
        args.out.display()
    ));
    Ok(())
}

fn align_docs(
    src: &(Document, Vec<Sentence>),
    tgt: &(Document, Vec<Sentence>),
    cache: &mut Cache,
    params: &AlignParams,
    progress: &Progress,
) -> Result<Vec<Link>> {
    let texts = |s: &[Sentence]| s.iter().map(|x| x.text.clone()).collect::<Vec<_>>();
    align_sentences(
        &texts(&src.1),
        &texts(&tgt.1),
        |o| cache.embed(o, progress),
        params,
    )
    .with_context(|| format!("aligning {} with {}", src.0.name, tgt.0.name))
}
