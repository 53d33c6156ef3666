//! A run seen in a browser: one self-contained `report.html` (inline CSS, SVG and a little
//! JS; no network) and the same plots as standalone SVG files for papers.
//!
//! The page is built from plain data ([`RunData`]): the inputs, model and parameters, and
//! per language pair either every mining candidate with its fate or the alignment links
//! with a downsampled similarity matrix. That data is saved as `report.json` next to the
//! corpus, so `bitalign report DIR` can rebuild the page (with other row limits) without
//! the model or the input files.

pub mod build;
mod html;
mod svg;

use crate::corpus::AtomicFile;
use crate::embed::Embeddings;
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Version of `report.json`; bumped when a field changes meaning.
pub const DATA_VERSION: u32 = 1;
/// The data file a report is rebuilt from.
pub const DATA_FILE: &str = "report.json";
/// The page.
pub const HTML_FILE: &str = "report.html";
/// Folder of the standalone SVG plots.
pub const SVG_DIR: &str = "report-plots";

/// Everything a report shows about one run.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct RunData {
    pub version: u32,
    /// The command that made the run (`run`, `run --mode align`, `align`).
    pub command: String,
    pub bitalign: String,
    pub inputs: Vec<Input>,
    /// Model facts in display order (`id`, `revision`, `prefix`, …).
    pub model: Vec<(String, String)>,
    /// Parameters in display order.
    pub params: Vec<(String, String)>,
    /// Mined language pairs (empty for alignments).
    #[serde(default)]
    pub mined: Vec<MinedPair>,
    /// Aligned language pairs (empty for mining).
    #[serde(default)]
    pub aligned: Vec<AlignedPair>,
}

/// One input document.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Input {
    pub file: String,
    pub lang: String,
    /// How the language was chosen (flag, file name, detection with its confidence).
    pub lang_source: String,
    pub sentences: usize,
}

/// One sentence of a candidate: its input document, index there and text.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct SentenceRef {
    pub doc: usize,
    pub index: usize,
    pub text: String,
}

/// What happened to a mining candidate.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Fate {
    Kept,
    BelowThreshold,
    /// Above the threshold, removed by the named filter.
    Filtered(String),
}

impl Fate {
    fn label(&self) -> String {
        match self {
            Fate::Kept => "kept".into(),
            Fate::BelowThreshold => "below threshold".into(),
            Fate::Filtered(f) => format!("filtered: {f}"),
        }
    }

    /// CSS class and legend group.
    fn class(&self) -> &'static str {
        match self {
            Fate::Kept => "kept",
            Fate::BelowThreshold => "below",
            Fate::Filtered(_) => "filtered",
        }
    }
}

/// A candidate pair proposed by the retrieval mode.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Candidate {
    pub src: SentenceRef,
    pub tgt: SentenceRef,
    pub cosine: f32,
    pub margin: f32,
    /// The ranking score (the confidence, or the margin, cosine or distance of the run's `score`).
    pub score: f32,
    pub fate: Fate,
}

/// One mined language pair: every candidate, best first.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct MinedPair {
    pub src: String,
    pub tgt: String,
    /// Name of the ranking score (`confidence`, `margin`, `cosine`, `distance`).
    pub score: String,
    pub threshold: f32,
    pub candidates: Vec<Candidate>,
}

impl MinedPair {
    fn name(&self) -> String {
        format!("{}-{}", self.src, self.tgt)
    }

    fn count(&self, class: &str) -> usize {
        self.candidates
            .iter()
            .filter(|c| c.fate.class() == class)
            .count()
    }
}

/// One alignment link: sentence ranges on both sides (either may be empty).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct LinkData {
    pub src: [usize; 2],
    pub tgt: [usize; 2],
    pub cosine: f32,
    pub cost: f32,
}

impl LinkData {
    fn kind(&self) -> String {
        format!(
            "{}-{}",
            self.src[1] - self.src[0],
            self.tgt[1] - self.tgt[0]
        )
    }

    fn unaligned(&self) -> bool {
        self.src[0] == self.src[1] || self.tgt[0] == self.tgt[1]
    }
}

/// Sentence similarity of two documents in at most `rows × cols` cells: cell (r, c) is
/// the highest cosine of the sentences `r·row_step ..` × `c·col_step ..` it covers,
/// quantised to 0..=255 between `lo` and `hi`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Similarity {
    pub rows: usize,
    pub cols: usize,
    pub row_step: usize,
    pub col_step: usize,
    pub lo: f32,
    pub hi: f32,
    pub values: Vec<u8>,
}

/// One aligned document pair.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct AlignedDoc {
    /// Input documents (positions in [`RunData::inputs`]).
    pub src_doc: usize,
    pub tgt_doc: usize,
    pub src_sentences: Vec<String>,
    pub tgt_sentences: Vec<String>,
    pub links: Vec<LinkData>,
    pub similarity: Option<Similarity>,
}

/// One aligned language pair (one document pair per position in the input).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct AlignedPair {
    pub src: String,
    pub tgt: String,
    pub docs: Vec<AlignedDoc>,
}

/// How much of a big run the page shows.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Per mined pair and group: the best and the worst kept pairs, the best below the
    /// threshold, the best filtered, this many each.
    pub rows: usize,
    /// Links shown per aligned document pair (the first ones, in document order).
    pub links: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            rows: 250,
            links: 2000,
        }
    }
}

/// Cells per side of the similarity matrix kept for the dot plot.
pub const MAX_CELLS: usize = 160;

/// The similarity of `src` and `tgt` (rows of L2-normalised vectors) downsampled to at
/// most `max_cells` a side. Up to 4M sentence pairs every cosine is computed and each
/// cell keeps its highest; beyond, each block of sentences is averaged into one vector
/// first, so the cost stays linear in the document lengths.
pub fn similarity(src: &Embeddings, tgt: &Embeddings, max_cells: usize) -> Option<Similarity> {
    let (n, m) = (src.len(), tgt.len());
    if n == 0 || m == 0 || max_cells == 0 {
        return None;
    }
    let row_step = n.div_ceil(max_cells);
    let col_step = m.div_ceil(max_cells);
    let (rows, cols) = (n.div_ceil(row_step), m.div_ceil(col_step));
    let dot = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f32>();
    let mut cells = vec![f32::NEG_INFINITY; rows * cols];
    if n * m <= 4_000_000 {
        for i in 0..n {
            for j in 0..m {
                let c = &mut cells[(i / row_step) * cols + j / col_step];
                *c = c.max(dot(src.row(i), tgt.row(j)));
            }
        }
    } else {
        let means = |e: &Embeddings, step: usize, count: usize| -> Vec<Vec<f32>> {
            (0..count)
                .map(|b| {
                    let mut v = vec![0f32; e.dim()];
                    for i in b * step..((b + 1) * step).min(e.len()) {
                        v.iter_mut().zip(e.row(i)).for_each(|(a, x)| *a += x);
                    }
                    let norm = dot(&v, &v).sqrt().max(1e-12);
                    v.iter_mut().for_each(|a| *a /= norm);
                    v
                })
                .collect()
        };
        let (a, b) = (means(src, row_step, rows), means(tgt, col_step, cols));
        for (r, x) in a.iter().enumerate() {
            for (c, y) in b.iter().enumerate() {
                cells[r * cols + c] = dot(x, y);
            }
        }
    }
    let lo = cells.iter().copied().fold(f32::INFINITY, f32::min);
    let hi = cells.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let span = (hi - lo).max(1e-6);
    let values = cells
        .iter()
        .map(|v| (((v - lo) / span) * 255.0).round().clamp(0.0, 255.0) as u8)
        .collect();
    Some(Similarity {
        rows,
        cols,
        row_step,
        col_step,
        lo,
        hi,
        values,
    })
}

/// The page and its plots, ready to write.
pub struct Rendered {
    pub html: String,
    /// (file name, SVG document).
    pub plots: Vec<(String, String)>,
}

/// Builds the page and the standalone plots.
pub fn render(data: &RunData, limits: &Limits) -> Rendered {
    html::page(data, limits)
}

/// `report.json`: the data the page is rebuilt from.
pub fn data_bytes(data: &RunData) -> Result<Vec<u8>> {
    let mut bytes = serde_json::to_vec(data).map_err(anyhow::Error::from)?;
    bytes.push(b'\n');
    Ok(bytes)
}

/// The report's files as (path relative to the run's directory, bytes): the plots
/// (`report-plots/*.svg`), then `report.html`.
pub fn page_files(data: &RunData, limits: &Limits) -> Vec<(String, Vec<u8>)> {
    let r = render(data, limits);
    let mut out: Vec<(String, Vec<u8>)> = r
        .plots
        .into_iter()
        .map(|(name, svg)| (format!("{SVG_DIR}/{name}"), svg.into_bytes()))
        .collect();
    out.push((HTML_FILE.to_string(), r.html.into_bytes()));
    out
}

/// Every file of a run's report: `report.json`, the plots, `report.html`.
pub fn files(data: &RunData, limits: &Limits) -> Result<Vec<(String, Vec<u8>)>> {
    let mut out = vec![(DATA_FILE.to_string(), data_bytes(data)?)];
    out.extend(page_files(data, limits));
    Ok(out)
}

/// Reads `DIR/report.json`, naming the file in every error.
pub fn read_data(dir: &Path) -> Result<RunData> {
    let path = dir.join(DATA_FILE);
    if !dir.is_dir() {
        return Err(Error::input(dir.display(), "not a directory"));
    }
    if !path.is_file() {
        return Err(Error::input(
            path.display(),
            "missing; a report is rebuilt from the data a run writes with --report \
             (run the command again with --report)",
        ));
    }
    let bytes = std::fs::read(&path)
        .map_err(|e| Error::input(path.display(), format!("cannot read ({e})")))?;
    let data: RunData = serde_json::from_slice(&bytes).map_err(|e| {
        Error::input(
            path.display(),
            format!("not a bitalign report data file ({e})"),
        )
    })?;
    if data.version != DATA_VERSION {
        return Err(Error::input(
            path.display(),
            format!(
                "data version {} (this bitalign reads version {DATA_VERSION}); rerun with --report",
                data.version
            ),
        ));
    }
    Ok(data)
}

/// Writes a new report into `dir` (created if needed): `report.json`, the plots and the
/// page; returns the paths. Refuses a directory that already holds a report.
pub fn write_new(dir: &Path, data: &RunData, limits: &Limits) -> Result<Vec<PathBuf>> {
    check_free(dir)?;
    put(dir, files(data, limits)?)
}

/// Fails if `dir` already holds a report (its page or its data).
pub fn check_free(dir: &Path) -> Result<()> {
    for f in [HTML_FILE, DATA_FILE].map(|f| dir.join(f)) {
        if f.exists() {
            return Err(Error::OutputExists {
                path: f.display().to_string(),
            });
        }
    }
    Ok(())
}

/// Rewrites `report.html` and the plots (`report-plots/*.svg`) in `dir` from `data`;
/// returns the paths. Each file is written whole or not at all.
pub fn write(dir: &Path, data: &RunData, limits: &Limits) -> Result<Vec<PathBuf>> {
    put(dir, page_files(data, limits))
}

fn put(dir: &Path, files: Vec<(String, Vec<u8>)>) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for (name, bytes) in files {
        let p = dir.join(&name);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).map_err(|e| {
                Error::output(
                    parent.display(),
                    format!("cannot create the directory ({e})"),
                )
            })?;
        }
        AtomicFile::write_all(&p, &bytes)?;
        out.push(p);
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
