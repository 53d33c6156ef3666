//! `bitalign split`: the segmenter on its own, so its output can feed other aligners.

use super::{InputArgs, Progress};
use clap::Args;
use std::io::Write;

#[derive(Args, Debug)]
pub struct SplitArgs {
    #[command(flatten)]
    pub input: InputArgs,

    /// One JSON object per sentence (file, doc, lang, index, start, end, text) instead of
    /// plain lines. start/end are byte offsets into the original file.
    #[arg(long)]
    pub json: bool,
}

/// One JSON line per sentence; field order is fixed so output is byte-stable.
#[derive(serde::Serialize)]
struct Line<'a> {
    file: &'a str,
    doc: usize,
    lang: &'a str,
    index: usize,
    start: usize,
    end: usize,
    text: &'a str,
}

/// Prints one sentence per line on stdout (all documents in input order). A closed pipe
/// (`| head`) ends the output quietly rather than with an error.
pub fn run(args: SplitArgs, progress: &Progress) -> anyhow::Result<()> {
    let docs = args.input.load(progress)?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let result = (|| -> std::io::Result<()> {
        for doc in &docs {
            for s in &doc.sentences {
                if args.json {
                    let line = Line {
                        file: &doc.name,
                        doc: s.doc,
                        lang: doc.lang.tag(),
                        index: s.index,
                        start: s.span.start,
                        end: s.span.end,
                        text: &s.text,
                    };
                    serde_json::to_writer(&mut out, &line)?;
                    out.write_all(b"\n")?;
                } else {
                    writeln!(out, "{}", s.text)?;
                }
            }
        }
        out.flush()
    })();
    match result {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(anyhow::anyhow!("stdout: cannot write ({e})")),
        Ok(()) => Ok(()),
    }
}
