//! `bitalign align SRC TGT`: aligns a document with its translation.
//! (`bitalign run --mode align`, in `run_align.rs`, does the same for many documents and
//! every language pair, through [`records`].)

use super::{InputArgs, ModelArgs, Progress};
use crate::align::{align_sentences, AlignParams, Link};
use crate::corpus::vecalign::VecalignSink;
use crate::corpus::{AtomicFile, JsonlSink, MosesSink, Record, Side, Sink, TmxSink, TsvSink};
use crate::segment::{Document, Sentence};
use clap::Args;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct AlignArgs {
    /// The source document then its translation (`-` reads stdin for one of them).
    #[command(flatten)]
    pub input: InputArgs,
    #[command(flatten)]
    pub model: ModelArgs,
    /// Write here (atomically) instead of stdout; required by the file formats (a
    /// directory for moses, which writes corpus.SRC-TGT.SRC and .TGT there).
    #[arg(long, short, value_name = "FILE|DIR")]
    pub out: Option<PathBuf>,
    /// Output format: vecalign (`[i, j]:[k]:cost`, every link), or the corpus formats of
    /// `run` (jsonl keeps unaligned sentences as links with an empty side; tsv, moses and
    /// tmx hold only links with both sides).
    #[arg(long, default_value = "vecalign", value_parser = ["vecalign", "jsonl", "tsv", "moses", "tmx"])]
    pub format: String,
    /// Most sentences in one link, both sides together.
    #[arg(long, value_name = "N", default_value_t = AlignParams::default().max_size)]
    pub max_size: usize,
    /// Most sentences on one side of a link (each size is one more embedding pass).
    #[arg(long, value_name = "N", default_value_t = AlignParams::default().max_overlap)]
    pub max_overlap: usize,
    /// Price of one more link, in similarity units: higher merges more, lower splits more.
    #[arg(long, value_name = "X", default_value_t = AlignParams::default().threshold,
          value_parser = super::args::finite_f32, allow_negative_numbers = true)]
    pub threshold: f32,
}

/// Links as output records: sentence texts joined by a space, byte spans into the files.
pub fn records(
    links: &[Link],
    src: (&Document, &[Sentence]),
    tgt: (&Document, &[Sentence]),
) -> Vec<Record> {
    let side = |(doc, sents): (&Document, &[Sentence]), r: &std::ops::Range<usize>| {
        let s = &sents[r.clone()];
        Side {
            lang: doc.lang.clone(),
            doc: doc.name.clone(),
            indices: r.clone().collect(),
            text: s
                .iter()
                .map(|x| x.text.as_str())
                .collect::<Vec<_>>()
                .join(" "),
            span: s
                .first()
                .zip(s.last())
                .map(|(a, b)| (a.span.start, b.span.end)),
        }
    };
    links
        .iter()
        .map(|l| Record {
            src: side(src, &l.src),
            tgt: side(tgt, &l.tgt),
            cosine: l.cosine,
            score: None,
            margin: None,
            cost: Some(l.cost),
        })
        .collect()
}

/// Both documents; a file that holds no text is an empty side (every sentence of the other
/// document unaligned), not an error as it is for the other commands.
fn load_pair(
    input: &InputArgs,
    progress: &Progress,
) -> anyhow::Result<Vec<(Document, Vec<Sentence>)>> {
    let blank = |f: &PathBuf| {
        f.as_os_str() != "-" && std::fs::read(f).is_ok_and(|b| crate::segment::is_blank(&b))
    };
    let empty: Vec<bool> = input.files.iter().map(blank).collect();
    if !empty.contains(&true) {
        return input.load(progress);
    }
    fn keep<T: Clone>(v: &[T], empty: &[bool]) -> Vec<T> {
        v.iter()
            .zip(empty)
            .filter(|(_, e)| !**e)
            .map(|(x, _)| x.clone())
            .collect()
    }
    let mut rest = input.clone();
    rest.files = keep(&input.files, &empty);
    if input.lang.len() == input.files.len() {
        rest.lang = keep(&input.lang, &empty);
    }
    let mut loaded = if rest.files.is_empty() {
        Vec::new()
    } else {
        rest.load(progress)?
    }
    .into_iter();
    Ok(input
        .files
        .iter()
        .zip(&empty)
        .map(|(f, &e)| {
            if e {
                let name = f.display().to_string();
                progress.say(format!(
                    "{name}: empty; all sentences of the other side stay unaligned"
                ));
                (
                    Document {
                        name,
                        lang: "und".into(),
                        text: String::new(),
                    },
                    Vec::new(),
                )
            } else {
                loaded
                    .next()
                    .expect("one loaded document per non-empty file")
            }
        })
        .collect())
}

pub fn run(a: AlignArgs, progress: &Progress) -> anyhow::Result<()> {
    anyhow::ensure!(
        a.input.files.len() == 2,
        "align takes two documents, SRC and TGT (got {})",
        a.input.files.len()
    );
    let params = AlignParams {
        max_size: a.max_size,
        max_overlap: a.max_overlap,
        threshold: a.threshold,
        ..AlignParams::default()
    };
    params.validate()?;
    let docs = load_pair(&a.input, progress)?;
    let (src, tgt) = (&docs[0], &docs[1]);
    let texts = |s: &[Sentence]| s.iter().map(|x| x.text.clone()).collect::<Vec<_>>();
    let links = align_sentences(
        &texts(&src.1),
        &texts(&tgt.1),
        |overlaps| {
            progress.say(format!(
                "embedding {} overlaps of {} + {} sentences",
                overlaps.len(),
                src.1.len(),
                tgt.1.len()
            ));
            a.model.embedder(progress)?.embed(overlaps, progress)
        },
        &params,
    )?;
    let recs = records(&links, (&src.0, &src.1), (&tgt.0, &tgt.1));
    let (sl, tl) = (src.0.lang.as_str(), tgt.0.lang.as_str());
    let mut sink: Box<dyn Sink> = match (a.format.as_str(), &a.out) {
        ("vecalign", Some(path)) => Box::new(VecalignSink::new(
            AtomicFile::create(path)?,
            Some(Box::new(|f: AtomicFile| f.commit())),
        )),
        ("vecalign", None) => Box::new(VecalignSink::new(std::io::stdout().lock(), None)),
        ("jsonl", Some(path)) => Box::new(JsonlSink::create(path)?),
        ("tsv", Some(path)) => Box::new(TsvSink::create(path)?),
        ("tmx", Some(path)) => Box::new(TmxSink::create(path, sl)?),
        ("moses", Some(dir)) => {
            anyhow::ensure!(
                dir.is_dir(),
                "{}: --format moses writes into a directory; this is not one",
                dir.display()
            );
            Box::new(MosesSink::create(dir, sl, tl)?)
        }
        (f, _) => anyhow::bail!("--format {f} writes files: give --out (a directory for moses)"),
    };
    let every_link = matches!(a.format.as_str(), "vecalign" | "jsonl");
    for r in recs
        .iter()
        .filter(|r| every_link || (!r.src.indices.is_empty() && !r.tgt.indices.is_empty()))
    {
        sink.write(r)?;
    }
    sink.finish()?;
    let aligned = links
        .iter()
        .filter(|l| !l.src.is_empty() && !l.tgt.is_empty())
        .count();
    progress.say(format!(
        "{} links ({aligned} with both sides, {} unaligned sentences)",
        links.len(),
        links.len() - aligned
    ));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(name: &str, lang: &str, text: &str) -> (Document, Vec<Sentence>) {
        let sents = crate::segment::split_lines(text, 0);
        (
            Document {
                name: name.into(),
                lang: lang.into(),
                text: text.into(),
            },
            sents,
        )
    }

    #[test]
    fn records_carry_texts_spans_and_empty_sides() {
        let (sd, ss) = doc("a.de", "de", "Eins.\nZwei.\nDrei.\n");
        let (td, ts) = doc("b.fr", "fr", "Un et deux.\n");
        let links = vec![
            Link {
                src: 0..2,
                tgt: 0..1,
                cosine: 0.9,
                cost: 0.1,
            },
            Link {
                src: 2..3,
                tgt: 1..1,
                cosine: 0.0,
                cost: 0.96,
            },
        ];
        let r = records(&links, (&sd, &ss), (&td, &ts));
        assert_eq!(r[0].src.text, "Eins. Zwei.");
        assert_eq!(r[0].src.span, Some((0, 11)));
        assert_eq!(r[0].src.indices, vec![0, 1]);
        assert_eq!(r[0].tgt.text, "Un et deux.");
        assert_eq!(r[0].cost, Some(0.1));
        assert_eq!(r[1].src.indices, vec![2]);
        assert!(r[1].tgt.indices.is_empty());
        assert_eq!(r[1].tgt.span, None);
        assert_eq!(r[1].tgt.text, "");
        assert_eq!(r[1].tgt.lang, "fr");
    }
}
