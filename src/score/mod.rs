//! Cross-lingual similarity scores for bitext mining: cosine similarity computed in
//! blocks (the full N×M matrix never exists), k nearest neighbours in both directions,
//! and the ratio margin of Artetxe & Schwenk (2019), which discounts "hub" sentences
//! that are close to everything.
//!
//! Every result is exact and ties break by lower index, so the output does not depend
//! on block sizes or on the number of threads.

pub mod ivf;
mod kernel;
mod quant;

pub use ivf::IvfParams;
pub use kernel::dot as cosine;
use quant::Quantized;

use crate::embed::Embeddings;
use crate::observe::{NoStage, Stage};
use rayon::prelude::*;

/// Default neighbourhood size for the margin (LASER, WikiMatrix and stopes use 4).
pub const DEFAULT_K: usize = 4;

/// Rows of the first matrix per block: each row of the second matrix read from L3 serves
/// 128 rows (192 KiB with 384 dims, in L2).
const BLOCK_X: usize = 128;
/// Rows of the second matrix per block (256 × 384 × 4 B = 384 KiB): with the first
/// block and the 128 KiB of cosines it stays within a 1 MiB L2.
const BLOCK_Y: usize = 256;

/// How the nearest neighbours are found.
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase", tag = "search")]
pub enum Knn {
    /// Every pair compared (the default; results are exact).
    #[default]
    Exact,
    /// An inverted file: only pairs in the probed lists are compared.
    Ivf(IvfParams),
    /// Exact up to [`Knn::AUTO_EXACT_PAIRS`] pairs, the inverted file above.
    Auto(IvfParams),
}

impl Knn {
    /// Largest `nx · ny` that `auto` searches exactly.
    pub const AUTO_EXACT_PAIRS: u64 = 4_000_000_000;

    /// The search used for sides of `nx` and `ny` rows (`Auto` decided).
    pub fn resolve(self, nx: usize, ny: usize) -> Self {
        match self {
            Knn::Auto(p) if nx as u64 * ny as u64 > Self::AUTO_EXACT_PAIRS => Knn::Ivf(p),
            Knn::Auto(_) => Knn::Exact,
            other => other,
        }
    }

    /// Progress units of one pass over `nx` rows of x (times the probed lists for IVF).
    pub fn pass_len(&self, nx: usize, ny: usize) -> u64 {
        match self.resolve(nx, ny) {
            Knn::Ivf(p) => nx as u64 * p.probe.max(1) as u64,
            _ => nx as u64,
        }
    }
}

/// The number format the similarity pass searches in. Whatever it is, the pairs kept get
/// their cosine (and margin) from the f32 rows, so only which pairs are found can differ.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    /// The embeddings as they are (the default; results are exact).
    #[default]
    F32,
    /// Centred rows rounded to 8-bit integers with one scale per row; each list keeps
    /// [`Precision::INT8_EXTRA`] more candidates than asked, re-scored in f32.
    Int8,
}

impl Precision {
    /// Candidates an int8 list keeps beyond the `k` it returns, re-scored in f32 (2 already
    /// gave recall 1.0000 on real and synthetic sets; 8 for margin).
    pub const INT8_EXTRA: usize = 8;

    pub fn is_f32(&self) -> bool {
        *self == Precision::F32
    }

    /// The list length a pass that returns `k` searches with.
    fn keep(self, k: usize) -> usize {
        match self {
            Precision::F32 => k,
            Precision::Int8 => k + Self::INT8_EXTRA,
        }
    }
}

/// What the similarity pass reads: the f32 rows, both sides' 8-bit codes, or the codes
/// as a screen in front of the f32 rows (`Screened`: exact results, see [`screening`]).
#[derive(Clone, Copy)]
enum Codes<'a> {
    F32,
    Int8(&'a Quantized, &'a Quantized),
    Screened(&'a Quantized, &'a Quantized),
}

/// Whether exact f32 passes over at least [`SCREEN_PAIRS`] pairs are screened: each pair's
/// cosine is first estimated from 8-bit codes (VNNI, about twice the f32 kernel's speed),
/// with a proven bound on how far the estimate can be from the f32 kernel's value; only
/// pairs whose estimate plus that bound could enter a list get their f32 cosine. Lists,
/// cosines and ties are those of the plain f32 pass, bit for bit: a pair skipped could
/// not have entered. On by default where the CPU has AVX-512 VNNI; `BITALIGN_SCREEN=off`
/// (or [`set_screening`]) runs the plain f32 kernel, to measure it.
pub fn screening() -> bool {
    use std::sync::atomic::Ordering;
    match SCREEN.load(Ordering::Relaxed) {
        0 => {
            let on = std::env::var(SCREEN_ENV).map_or(true, |v| v != "off" && v != "0");
            set_screening(on);
            on && quant::vnni()
        }
        v => v == 2 && quant::vnni(),
    }
}

/// Turns screening on or off for the rest of the process (what `BITALIGN_SCREEN` sets).
pub fn set_screening(on: bool) {
    SCREEN.store(if on { 2 } else { 1 }, std::sync::atomic::Ordering::Relaxed);
}

/// The environment variable that turns screening off (`off`).
pub const SCREEN_ENV: &str = "BITALIGN_SCREEN";

/// 0: not read yet, 1: off, 2: on.
static SCREEN: std::sync::atomic::AtomicU8 = std::sync::atomic::AtomicU8::new(0);

/// Smallest pass screened: below, coding the rows costs more than it saves.
pub const SCREEN_PAIRS: u64 = 1 << 22;

impl<'a> Codes<'a> {
    /// The codes of a pass: `q` searched in 8 bits, or (`screened`) screening an f32 pass.
    fn of(q: &'a Option<std::sync::Arc<(Quantized, Quantized)>>, screened: bool) -> Self {
        match q.as_deref() {
            Some((qx, qy)) if screened => Codes::Screened(qx, qy),
            Some((qx, qy)) => Codes::Int8(qx, qy),
            None => Codes::F32,
        }
    }

    /// These codes for a pass ranked by `rank`: a screen needs every score to grow with
    /// the cosine, which a ratio margin over a non-positive neighbourhood average breaks.
    fn for_rank(self, rank: Rank<'_>) -> Self {
        match (self, rank) {
            (
                Codes::Screened(..),
                Rank::Scored {
                    score: Score::Margin,
                    x_mean,
                    y_mean,
                },
            ) => {
                let low = |m: &[f32]| m.iter().copied().fold(f32::INFINITY, f32::min);
                if low(x_mean) + low(y_mean) > 0.0 {
                    self
                } else {
                    Codes::F32
                }
            }
            _ => self,
        }
    }

    fn precision(&self) -> Precision {
        match self {
            Codes::F32 | Codes::Screened(..) => Precision::F32,
            Codes::Int8(..) => Precision::Int8,
        }
    }
}

/// How a candidate pair is scored.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum Score {
    /// cos(x,y) / mean of the two neighbourhood averages (ratio margin; default).
    Margin,
    /// Plain cosine similarity.
    Cosine,
    /// cos(x,y) minus the mean of the two neighbourhood averages.
    Distance,
}

impl Score {
    /// The score of a pair with cosine `cos` whose neighbourhood averages are `mx`, `my`.
    #[inline]
    pub fn apply(self, cos: f32, mx: f32, my: f32) -> f32 {
        match self {
            Score::Cosine => cos,
            Score::Margin => cos / ((mx + my) * 0.5),
            Score::Distance => cos - (mx + my) * 0.5,
        }
    }
}

/// One candidate: the other side's row, the score that ranked it, and its cosine.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Hit {
    pub idx: usize,
    pub score: f32,
    pub cos: f32,
}

/// Higher score first; equal scores go to the lower index.
#[inline]
fn better(score: f32, idx: u32, than_score: f32, than_idx: u32) -> bool {
    score > than_score || (score == than_score && idx < than_idx)
}

/// The best `k` hits seen so far, best first.
#[derive(Clone, Debug)]
struct TopK {
    k: usize,
    items: Vec<(f32, u32, f32)>,
}

impl TopK {
    fn new(k: usize) -> Self {
        Self {
            k,
            items: Vec::with_capacity(k),
        }
    }

    #[inline]
    fn offer(&mut self, score: f32, idx: u32, cos: f32) {
        if score.is_nan() || self.k == 0 {
            return;
        }
        if self.items.len() == self.k {
            let &(ws, wi, _) = self.items.last().expect("k > 0");
            if !better(score, idx, ws, wi) {
                return;
            }
        }
        let at = self
            .items
            .iter()
            .position(|&(s, i, _)| better(score, idx, s, i))
            .unwrap_or(self.items.len());
        // A pair met twice (an inverted file that stores a row in two lists) has the same
        // bits both times, so it sorts right after itself: kept once.
        if at > 0 && self.items[at - 1].1 == idx {
            return;
        }
        if self.items.len() == self.k {
            self.items.pop();
        }
        self.items.insert(at, (score, idx, cos));
    }

    /// Scores below this cannot enter (ties may, by index).
    #[inline]
    fn floor(&self) -> f32 {
        if self.k == 0 {
            // A list that keeps nothing: no score enters.
            f32::INFINITY
        } else if self.items.len() < self.k {
            f32::NEG_INFINITY
        } else {
            self.items.last().map_or(f32::NEG_INFINITY, |w| w.0)
        }
    }

    fn merge(&mut self, other: &TopK) {
        for &(s, i, c) in &other.items {
            self.offer(s, i, c);
        }
    }
}

/// What ranks the pairs of a pass: the cosine itself, or a score over the neighbourhood
/// averages of both sides. An enum rather than a closure so the filter can run on whole
/// registers of a block row.
#[derive(Clone, Copy)]
enum Rank<'a> {
    Cosine,
    Scored {
        score: Score,
        x_mean: &'a [f32],
        y_mean: &'a [f32],
    },
}

/// The k-best lists one block of similarities feeds: block row `r` is x row `row_id[r]`,
/// whose list is `rows[row_slot[r]]`; block column `c` is y row `col_id[c]`, list
/// `cols[col_slot[c]]` with its current k-th best score in `col_floor[col_slot[c]]`.
struct Lists<'a> {
    rows: &'a mut [TopK],
    row_slot: &'a [u32],
    row_id: &'a [u32],
    cols: &'a mut [TopK],
    col_floor: &'a mut [f32],
    col_slot: &'a [u32],
    col_id: &'a [u32],
}

/// Offers every pair of a block of cosines (`row_id.len() × col_id.len()`, row-major) to
/// the lists under `rank`, while the block is still in cache. Most pairs beat neither
/// their row's nor their column's k-th best: one comparison per 16 rejects them.
fn offer_block(cosines: &[f32], rank: Rank<'_>, l: Lists<'_>, scores: &mut Vec<f32>) {
    let w = l.col_id.len();
    scores.resize(w, 0.0);
    let mut floors = vec![0.0f32; w];
    for (c, &slot) in l.col_slot.iter().enumerate() {
        floors[c] = l.col_floor[slot as usize];
    }
    for (r, line_cos) in cosines.chunks_exact(w).enumerate() {
        let i = l.row_id[r] as usize;
        let row = &mut l.rows[l.row_slot[r] as usize];
        let line: &[f32] = match rank {
            Rank::Cosine => line_cos,
            Rank::Scored {
                score,
                x_mean,
                y_mean,
            } => {
                let xm = x_mean[i];
                for ((s, &c), &j) in scores.iter_mut().zip(line_cos).zip(l.col_id) {
                    *s = score.apply(c, xm, y_mean[j as usize]);
                }
                scores
            }
        };
        let mut row_floor = row.floor();
        for c0 in (0..w).step_by(16) {
            let c1 = (c0 + 16).min(w);
            let mut m = kernel::passing(&line[c0..c1], row_floor, &floors[c0..c1]);
            while m != 0 {
                let c = c0 + m.trailing_zeros() as usize;
                m &= m - 1;
                let s = line[c];
                let j = l.col_id[c];
                if s >= row_floor {
                    row.offer(s, j, line_cos[c]);
                    row_floor = row.floor();
                }
                if s >= floors[c] {
                    let col = &mut l.cols[l.col_slot[c] as usize];
                    col.offer(s, i as u32, line_cos[c]);
                    floors[c] = col.floor();
                }
            }
        }
    }
    for (c, &slot) in l.col_slot.iter().enumerate() {
        l.col_floor[slot as usize] = floors[c];
    }
}

/// The f32 rows behind a screened pass and their codes.
struct Screen<'a> {
    x: &'a Embeddings,
    y: &'a Embeddings,
    qx: &'a Quantized,
    qy: &'a Quantized,
}

/// [`offer_block`] over estimates: a pair is looked at when its estimate plus the bound
/// of its error ([`quant::slack`]) reaches its row's or its column's k-th best, and then
/// offered with its f32 cosine, so the lists hold exactly what the f32 pass would.
/// The bound is taken per row against the block's worst column and per column against
/// its worst row, so the test stays one comparison per 16 pairs. The candidates are
/// picked against the floors as the block starts (never higher than later, so none is
/// missed), their cosines computed four at a time, and then offered in block order
/// against the floors as they rise.
fn offer_screened(
    estimates: &[f32],
    rank: Rank<'_>,
    l: Lists<'_>,
    sc: &Screen<'_>,
    scratch: &mut ScreenScratch,
) {
    let w = l.col_id.len();
    let d = sc.x.dim();
    let worst = |q: &Quantized, ids: &[u32]| {
        ids.iter()
            .fold(quant::Bound::default(), |m, &i| m.max(*q.bound(i as usize)))
    };
    let (worst_col, worst_row) = (worst(sc.qy, l.col_id), worst(sc.qx, l.row_id));
    let lowered = |floor: f32, slack: f64| quant::down(floor as f64 - slack);
    let ScreenScratch {
        scores,
        bars,
        picked,
        cosines,
    } = scratch;
    // Cosine: estimates against floors lowered by the bound. A score over the
    // neighbourhoods: the score of the highest cosine each pair can have, against the
    // floors themselves (every score is non-decreasing in the cosine; `for_rank` checks).
    let row_slack: Vec<f64> = l
        .row_id
        .iter()
        .map(|&i| quant::slack(sc.qx.bound(i as usize), &worst_col, d))
        .collect();
    // `e ± lift` in f32 may round toward e by half an ulp: the lift carries that too
    // (|e| is at most the rows' norms' product plus the slack).
    let lift: Vec<f32> = l
        .row_id
        .iter()
        .zip(&row_slack)
        .map(|(&i, &slack)| {
            let size = sc.qx.bound(i as usize).norm as f64 * worst_col.norm as f64 + slack + 1.0;
            quant::up(slack + size * (-23f64).exp2())
        })
        .collect();
    // What a list not yet full seeds its bar from: the lowest score pair (r, c) can have,
    // or a cosine's estimate (its slack is taken off below).
    let seed_of = |r: usize, c: usize, e: f32| -> f32 {
        match rank {
            Rank::Cosine => e,
            Rank::Scored {
                score,
                x_mean,
                y_mean,
            } => {
                let (xm, ym) = (x_mean[l.row_id[r] as usize], y_mean[l.col_id[c] as usize]);
                score.apply(e - lift[r], xm, ym)
            }
        }
    };
    let scored = matches!(rank, Rank::Scored { .. });
    let col_slack: Vec<f64> = l
        .col_id
        .iter()
        .map(|&j| quant::slack(&worst_row, sc.qy.bound(j as usize), d))
        .collect();
    bars.clear();
    bars.extend(l.col_slot.iter().zip(&col_slack).map(|(&slot, &slack)| {
        let floor = l.col_floor[slot as usize];
        if scored {
            floor
        } else {
            lowered(floor, slack)
        }
    }));
    // A list not yet full has no floor: its k-th best is at least the k-th lowest-possible
    // score among this block's pairs, which stops the first block from passing whole.
    let nr = l.row_id.len();
    let short: Vec<usize> = (0..w)
        .filter(|&c| {
            let col = &l.cols[l.col_slot[c] as usize];
            col.items.len() < col.k && nr >= col.k
        })
        .collect();
    if !short.is_empty() {
        let k = l.cols[l.col_slot[short[0]] as usize].k;
        let mut best = vec![f32::NEG_INFINITY; short.len() * k];
        for (r, line) in estimates.chunks_exact(w).enumerate() {
            for (n, &c) in short.iter().enumerate() {
                insert_kth(&mut best[n * k..(n + 1) * k], seed_of(r, c, line[c]));
            }
        }
        for (n, &c) in short.iter().enumerate() {
            let kth = best[(n + 1) * k - 1];
            let seed = if scored {
                kth
            } else {
                quant::down(kth as f64 - 2.0 * col_slack[c])
            };
            bars[c] = bars[c].max(seed);
        }
    }
    scores.resize(w, 0.0);
    picked.clear();
    for (r, line_est) in estimates.chunks_exact(w).enumerate() {
        let list = &l.rows[l.row_slot[r] as usize];
        let row_floor = list.floor();
        let mut row_bar = match rank {
            Rank::Cosine => lowered(row_floor, row_slack[r]),
            Rank::Scored { .. } => row_floor,
        };
        if list.items.len() < list.k && w >= list.k {
            let mut best = vec![f32::NEG_INFINITY; list.k];
            for (c, &e) in line_est.iter().enumerate() {
                insert_kth(&mut best, seed_of(r, c, e));
            }
            let kth = best[list.k - 1];
            row_bar = row_bar.max(if scored {
                kth
            } else {
                quant::down(kth as f64 - 2.0 * row_slack[r])
            });
        }
        let line: &[f32] = if let Rank::Scored {
            score,
            x_mean,
            y_mean,
        } = rank
        {
            let (xm, up) = (x_mean[l.row_id[r] as usize], lift[r]);
            for ((s, &e), &j) in scores.iter_mut().zip(line_est).zip(l.col_id) {
                *s = score.apply(e + up, xm, y_mean[j as usize]);
            }
            scores
        } else {
            line_est
        };
        for c0 in (0..w).step_by(16) {
            let c1 = (c0 + 16).min(w);
            let mut m = kernel::passing(&line[c0..c1], row_bar, &bars[c0..c1]);
            while m != 0 {
                picked.push((r as u32, (c0 + m.trailing_zeros() as usize) as u32));
                m &= m - 1;
            }
        }
    }
    // The picked pairs' cosines, four at a time.
    let pairs: Vec<(&[f32], &[f32])> = picked
        .iter()
        .map(|&(r, c)| {
            let (i, j) = (l.row_id[r as usize], l.col_id[c as usize]);
            (sc.x.row(i as usize), sc.y.row(j as usize))
        })
        .collect();
    cosines.resize(picked.len(), 0.0);
    kernel::dots(&pairs, cosines);
    let mut floors: Vec<f32> = l
        .col_slot
        .iter()
        .map(|&s| l.col_floor[s as usize])
        .collect();
    for (&(r, c), &cos) in picked.iter().zip(cosines.iter()) {
        let (r, c) = (r as usize, c as usize);
        let (i, j) = (l.row_id[r], l.col_id[c]);
        let s = match rank {
            Rank::Cosine => cos,
            Rank::Scored {
                score,
                x_mean,
                y_mean,
            } => score.apply(cos, x_mean[i as usize], y_mean[j as usize]),
        };
        let row = &mut l.rows[l.row_slot[r] as usize];
        if s >= row.floor() {
            row.offer(s, j, cos);
        }
        if s >= floors[c] {
            let col = &mut l.cols[l.col_slot[c] as usize];
            col.offer(s, i, cos);
            floors[c] = col.floor();
        }
    }
    for (c, &slot) in l.col_slot.iter().enumerate() {
        l.col_floor[slot as usize] = floors[c];
    }
}

/// Keeps the largest values seen in `best` (descending); NaN never enters.
#[inline]
fn insert_kth(best: &mut [f32], v: f32) {
    let k = best.len();
    if v.is_nan() || v <= best[k - 1] {
        return;
    }
    let mut at = k - 1;
    while at > 0 && best[at - 1] < v {
        best[at] = best[at - 1];
        at -= 1;
    }
    best[at] = v;
}

/// Buffers a screened pass reuses from block to block.
#[derive(Default)]
struct ScreenScratch {
    scores: Vec<f32>,
    bars: Vec<f32>,
    picked: Vec<(u32, u32)>,
    cosines: Vec<f32>,
}

/// Visits every (i, j) pair once, blockwise and in parallel, keeping the best `k` per row
/// of `x` and per row of `y` under `rank`. Rows are split into one contiguous group per
/// thread; column results are merged exactly, so the grouping does not matter.
/// With int8 `codes` the lists are ranked by the estimates, each `codes.precision()`'s
/// keep long, then re-scored in f32 and cut to `k` ([`rescore`]).
fn scan(
    x: &Embeddings,
    y: &Embeddings,
    k: usize,
    rank: Rank<'_>,
    codes: Codes<'_>,
    bar: &dyn Stage,
) -> (Vec<TopK>, Vec<TopK>) {
    let keep = codes.precision().keep(k);
    let lists = scan_lists(x, y, keep, rank, true, codes, bar);
    rescored(lists, k, rank, codes, x, y)
}

/// Lists a pass over `codes` found, as the pass returns them: f32 lists as they are, int8
/// lists [`rescore`]d.
fn rescored(
    (rows, cols): (Vec<TopK>, Vec<TopK>),
    k: usize,
    rank: Rank<'_>,
    codes: Codes<'_>,
    x: &dyn Rows,
    y: &dyn Rows,
) -> (Vec<TopK>, Vec<TopK>) {
    match codes {
        Codes::F32 | Codes::Screened(..) => (rows, cols),
        Codes::Int8(..) => (
            rescore(rows, k, rank, x, y, true),
            rescore(cols, k, rank, x, y, false),
        ),
    }
}

/// Lists found on estimates, re-ranked by the f32 cosine of each candidate (the bits the
/// exact pass gives that pair) under `rank`, cut to `k`. `of_x`: the lists are x rows'
/// (candidates are y rows), else y rows'. Each list on its own, so the result does not
/// depend on the thread count.
fn rescore(
    lists: Vec<TopK>,
    k: usize,
    rank: Rank<'_>,
    x: &dyn Rows,
    y: &dyn Rows,
    of_x: bool,
) -> Vec<TopK> {
    lists
        .into_par_iter()
        .enumerate()
        .map(|(a, list)| {
            let mut out = TopK::new(k.min(list.k));
            for &(_, b, _) in &list.items {
                let (i, j) = if of_x {
                    (a, b as usize)
                } else {
                    (b as usize, a)
                };
                let cos = kernel::dot(x.row(i), y.row(j));
                let score = match rank {
                    Rank::Cosine => cos,
                    Rank::Scored {
                        score,
                        x_mean,
                        y_mean,
                    } => score.apply(cos, x_mean[i], y_mean[j]),
                };
                out.offer(score, b, cos);
            }
            out
        })
        .collect()
}

/// [`scan`]; without `cols`, the lists of `y`'s rows stay empty (their floors never let a
/// pair in), which costs nothing in the inner loop: what a query shard needs.
fn scan_lists(
    x: &Embeddings,
    y: &Embeddings,
    k: usize,
    rank: Rank<'_>,
    cols: bool,
    codes: Codes<'_>,
    bar: &dyn Stage,
) -> (Vec<TopK>, Vec<TopK>) {
    let (nx, ny, d) = (x.len(), y.len(), x.dim());
    assert_eq!(d, y.dim(), "embeddings of different widths");
    if nx == 0 || ny == 0 || k == 0 {
        return (vec![TopK::new(k); nx], vec![TopK::new(k); ny]);
    }
    let blocks = nx.div_ceil(BLOCK_X);
    let groups = rayon::current_num_threads().clamp(1, blocks);
    let per_group = blocks.div_ceil(groups);
    let all_y: Vec<u32> = (0..ny as u32).collect();
    let parts: Vec<(Vec<TopK>, Vec<TopK>)> = (0..groups)
        .into_par_iter()
        .map(|g| {
            let rows_from = (g * per_group * BLOCK_X).min(nx);
            let rows_to = ((g + 1) * per_group * BLOCK_X).min(nx);
            let mut rows = vec![TopK::new(k); rows_to - rows_from];
            let (col_k, floor) = if cols {
                (k, f32::NEG_INFINITY)
            } else {
                (0, f32::INFINITY)
            };
            let mut cols = vec![TopK::new(col_k); ny];
            let mut col_floor = vec![floor; ny];
            let mut buf = vec![0.0f32; BLOCK_X * BLOCK_Y];
            let mut scores = Vec::with_capacity(BLOCK_Y);
            let mut scratch = ScreenScratch::default();
            for x0 in (rows_from..rows_to).step_by(BLOCK_X) {
                let x1 = (x0 + BLOCK_X).min(rows_to);
                let xs = &x.as_slice()[x0 * d..x1 * d];
                let row_slot: Vec<u32> =
                    ((x0 - rows_from) as u32..(x1 - rows_from) as u32).collect();
                let row_id: Vec<u32> = (x0 as u32..x1 as u32).collect();
                for y0 in (0..ny).step_by(BLOCK_Y) {
                    let y1 = (y0 + BLOCK_Y).min(ny);
                    let out = &mut buf[..(x1 - x0) * (y1 - y0)];
                    let lists = Lists {
                        rows: &mut rows,
                        row_slot: &row_slot,
                        row_id: &row_id,
                        cols: &mut cols,
                        col_floor: &mut col_floor,
                        col_slot: &all_y[y0..y1],
                        col_id: &all_y[y0..y1],
                    };
                    match codes {
                        Codes::F32 => {
                            kernel::block(xs, &y.as_slice()[y0 * d..y1 * d], d, out);
                            offer_block(out, rank, lists, &mut scores);
                        }
                        Codes::Int8(qx, qy) => {
                            quant::block(&qx.range(x0, x1), &qy.range(y0, y1), out);
                            offer_block(out, rank, lists, &mut scores);
                        }
                        Codes::Screened(qx, qy) => {
                            quant::block(&qx.range(x0, x1), &qy.range(y0, y1), out);
                            let screen = Screen { x, y, qx, qy };
                            offer_screened(out, rank, lists, &screen, &mut scratch);
                        }
                    }
                }
                bar.advance((x1 - x0) as u64);
            }
            (rows, cols)
        })
        .collect();
    let mut rows = Vec::with_capacity(nx);
    let mut cols: Option<Vec<TopK>> = None;
    for (r, c) in parts {
        rows.extend(r);
        match &mut cols {
            None => cols = Some(c),
            Some(acc) => acc.iter_mut().zip(&c).for_each(|(a, b)| a.merge(b)),
        }
    }
    (rows, cols.unwrap_or_default())
}

/// Cosine similarities of rows `xs` of `x` with rows `ys` of `y`, row-major into `out`
/// (`xs.len() × ys.len()`): one block of the matrix, never the whole of a large one.
pub fn similarity_block(
    x: &Embeddings,
    xs: std::ops::Range<usize>,
    y: &Embeddings,
    ys: std::ops::Range<usize>,
    out: &mut [f32],
) {
    let d = x.dim();
    assert_eq!(d, y.dim(), "embeddings of different widths");
    assert_eq!(
        out.len(),
        xs.len() * ys.len(),
        "output block of the wrong size"
    );
    kernel::block(
        &x.as_slice()[xs.start * d..xs.end * d],
        &y.as_slice()[ys.start * d..ys.end * d],
        d,
        out,
    );
}

/// The `k` nearest neighbours of every row of one matrix among the rows of another.
#[derive(Clone, Debug, PartialEq)]
pub struct Neighbours {
    /// Neighbours per row: `min(k, rows of the other side)`.
    pub k: usize,
    /// Row-major `n × k` indices into the other side, nearest first.
    pub idx: Vec<usize>,
    /// The matching cosine similarities.
    pub sim: Vec<f32>,
}

impl Neighbours {
    /// Lists shorter than `k` (an approximate search that found fewer) are padded with
    /// [`Neighbours::NONE`] and a NaN similarity, which [`Neighbours::of`] and
    /// [`Neighbours::means`] skip; exact searches always fill them.
    fn from_topk(k: usize, lists: Vec<TopK>) -> Self {
        let mut idx = Vec::with_capacity(lists.len() * k);
        let mut sim = Vec::with_capacity(lists.len() * k);
        for l in lists {
            let found = l.items.len();
            for (s, i, _) in l.items {
                idx.push(i as usize);
                sim.push(s);
            }
            for _ in found..k {
                idx.push(Self::NONE);
                sim.push(f32::NAN);
            }
        }
        Self { k, idx, sim }
    }

    /// Index of a missing neighbour.
    pub const NONE: usize = usize::MAX;

    pub fn len(&self) -> usize {
        self.idx.len().checked_div(self.k).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.idx.is_empty()
    }

    pub fn of(&self, i: usize) -> impl Iterator<Item = (usize, f32)> + '_ {
        let r = i * self.k..(i + 1) * self.k;
        self.idx[r.clone()]
            .iter()
            .copied()
            .zip(self.sim[r].iter().copied())
            .filter(|&(i, _)| i != Self::NONE)
    }

    /// Average similarity of each row to its neighbourhood: the margin's denominator.
    pub fn means(&self) -> Vec<f32> {
        if self.k == 0 {
            return Vec::new();
        }
        self.sim
            .chunks_exact(self.k)
            .map(|c| {
                if c.iter().all(|v| !v.is_nan()) {
                    c.iter().sum::<f32>() / self.k as f32
                } else {
                    let found: Vec<f32> = c.iter().copied().filter(|v| !v.is_nan()).collect();
                    found.iter().sum::<f32>() / found.len() as f32
                }
            })
            .collect()
    }
}

/// k nearest neighbours by cosine in both directions (x→y, y→x), in one blocked pass.
pub fn knn(x: &Embeddings, y: &Embeddings, k: usize) -> (Neighbours, Neighbours) {
    knn_with_progress(x, y, k, &NoStage)
}

/// [`knn`], advancing `bar` by one per row of `x`.
pub fn knn_with_progress(
    x: &Embeddings,
    y: &Embeddings,
    k: usize,
    bar: &dyn Stage,
) -> (Neighbours, Neighbours) {
    let kx = k.min(y.len());
    let ky = k.min(x.len());
    let keep = kx.max(ky);
    let (rows, cols) = scan(x, y, keep, Rank::Cosine, Codes::F32, bar);
    lists_to_neighbours(rows, cols, kx, ky)
}

fn lists_to_neighbours(
    rows: Vec<TopK>,
    cols: Vec<TopK>,
    kx: usize,
    ky: usize,
) -> (Neighbours, Neighbours) {
    let trim = |mut v: Vec<TopK>, k: usize| {
        v.iter_mut().for_each(|t| t.items.truncate(k));
        v
    };
    (
        Neighbours::from_topk(kx, trim(rows, kx)),
        Neighbours::from_topk(ky, trim(cols, ky)),
    )
}

/// One piece of a side split into files: the global index of its first row, its rows.
pub type Part<'a> = (usize, &'a Embeddings);

/// Rows of one side, whole or in pieces, for the searches that gather rows by index.
pub trait Rows: Sync {
    fn len(&self) -> usize;
    fn dim(&self) -> usize;
    fn row(&self, i: usize) -> &[f32];
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Rows for Embeddings {
    fn len(&self) -> usize {
        Embeddings::len(self)
    }
    fn dim(&self) -> usize {
        Embeddings::dim(self)
    }
    fn row(&self, i: usize) -> &[f32] {
        Embeddings::row(self, i)
    }
}

/// A side given as pieces in order (a sharded run's files, memory-mapped), indexed as if
/// they were one matrix.
pub struct Pieces<'a> {
    parts: &'a [Part<'a>],
    len: usize,
    dim: usize,
}

impl<'a> Pieces<'a> {
    /// `parts` must be contiguous: each piece's offset is where the previous one ends.
    pub fn new(parts: &'a [Part<'a>]) -> Self {
        let len = parts.last().map_or(0, |(o, e)| o + e.len());
        let dim = parts
            .iter()
            .map(|p| p.1.dim())
            .find(|&d| d > 0)
            .unwrap_or(1);
        Self { parts, len, dim }
    }
}

impl Rows for Pieces<'_> {
    fn len(&self) -> usize {
        self.len
    }
    fn dim(&self) -> usize {
        self.dim
    }
    fn row(&self, i: usize) -> &[f32] {
        let at = self.parts.partition_point(|(o, _)| *o <= i) - 1;
        let (o, e) = self.parts[at];
        e.row(i - o)
    }
}

/// The `k` nearest rows by cosine that an inverted file finds, for one side's rows: x's
/// among y (`of_x`) or y's among x, as [`Scorer::with_search`] finds them with the same
/// partition; either side may be a subset of a side, so long as the partition indexes it.
/// What one shard of a sharded approximate run computes.
pub fn ivf_knn(
    x: &dyn Rows,
    y: &dyn Rows,
    k: usize,
    part: &ivf::Partition,
    of_x: bool,
    bar: &dyn Stage,
) -> Neighbours {
    let k = k.min(if of_x { y.len() } else { x.len() });
    let want = ivf::Want {
        rows: of_x,
        cols: !of_x,
    };
    let (rows, cols) = ivf::scan(x, y, k, Rank::Cosine, part, want, Codes::F32, bar);
    Neighbours::from_topk(k, if of_x { rows } else { cols })
}

/// The best partner under `score` that an inverted file finds, for one side's rows (see
/// [`ivf_knn`]); `x_mean`/`y_mean` are indexed as `x`/`y` are.
#[allow(clippy::too_many_arguments)]
pub fn ivf_best(
    x: &dyn Rows,
    x_mean: &[f32],
    y: &dyn Rows,
    y_mean: &[f32],
    score: Score,
    part: &ivf::Partition,
    of_x: bool,
    bar: &dyn Stage,
) -> Vec<Option<Hit>> {
    let rank = match score {
        Score::Cosine => Rank::Cosine,
        _ => Rank::Scored {
            score,
            x_mean,
            y_mean,
        },
    };
    let want = ivf::Want {
        rows: of_x,
        cols: !of_x,
    };
    let (rows, cols) = ivf::scan(x, y, 1, rank, part, want, Codes::F32, bar);
    first_hits(if of_x { rows } else { cols })
}

/// The `k` nearest rows of `parts` (one side, in pieces) for every row of `x`, with global
/// indices: the same lists as [`knn`] of `x` against the whole side, since every pair is
/// compared with the same kernel and lists merge exactly (ties to the lower index).
/// What one query shard of a sharded run computes.
pub fn knn_rows(x: &Embeddings, parts: &[Part<'_>], k: usize, bar: &dyn Stage) -> Neighbours {
    let total: usize = parts.iter().map(|p| p.1.len()).sum();
    let k = k.min(total);
    let mut lists = vec![TopK::new(k); x.len()];
    for &(offset, y) in parts {
        let (rows, _) = scan_lists(x, y, k, Rank::Cosine, false, Codes::F32, &NoStage);
        merge_rows(&mut lists, rows, offset);
    }
    bar.advance(x.len() as u64);
    Neighbours::from_topk(k, lists)
}

/// The best partner among `parts` of every row of `x` under `score`, as
/// [`Scorer::best`] finds it against the whole side: `x_mean` holds the neighbourhood
/// averages of `x`'s rows, `y_mean` those of every row of the parts (global order).
pub fn best_rows(
    x: &Embeddings,
    x_mean: &[f32],
    parts: &[Part<'_>],
    y_mean: &[f32],
    score: Score,
    bar: &dyn Stage,
) -> Vec<Option<Hit>> {
    let mut lists = vec![TopK::new(1); x.len()];
    for &(offset, y) in parts {
        let rank = match score {
            Score::Cosine => Rank::Cosine,
            _ => Rank::Scored {
                score,
                x_mean,
                y_mean: &y_mean[offset..offset + y.len()],
            },
        };
        let (rows, _) = scan_lists(x, y, 1, rank, false, Codes::F32, &NoStage);
        merge_rows(&mut lists, rows, offset);
    }
    bar.advance(x.len() as u64);
    first_hits(lists)
}

/// The best entry of each list (1-best lists), as hits.
fn first_hits(v: Vec<TopK>) -> Vec<Option<Hit>> {
    v.into_iter()
        .map(|t| {
            t.items.first().map(|&(score, idx, cos)| Hit {
                idx: idx as usize,
                score,
                cos,
            })
        })
        .collect()
}

/// Adds the lists of one part (indices local to it) to `into`.
fn merge_rows(into: &mut [TopK], rows: Vec<TopK>, offset: usize) {
    for (a, b) in into.iter_mut().zip(rows) {
        for (s, i, c) in b.items {
            a.offer(s, i + offset as u32, c);
        }
    }
}

/// Everything needed to score any pair between two sides: the neighbourhood averages.
#[derive(Clone, Debug)]
pub struct Scorer {
    pub score: Score,
    /// Mean cosine of each x row to its k nearest y rows.
    pub x_mean: Vec<f32>,
    /// Mean cosine of each y row to its k nearest x rows.
    pub y_mean: Vec<f32>,
    /// The nearest neighbours themselves (x→y, y→x).
    pub fwd: Neighbours,
    pub bwd: Neighbours,
    /// The search as run (see [`Scorer::search`]).
    search: Knn,
    /// The inverted file of an approximate search, reused by [`Scorer::best`].
    partition: Option<std::sync::Arc<ivf::Partition>>,
    /// Both sides' 8-bit codes of an int8 or screened search, reused by [`Scorer::best`].
    codes: Option<std::sync::Arc<(Quantized, Quantized)>>,
    /// The codes screen an exact f32 search ([`screening`]).
    screened: bool,
}

impl Scorer {
    /// Finds the k nearest neighbours both ways and their averages.
    pub fn new(x: &Embeddings, y: &Embeddings, k: usize, score: Score) -> Self {
        Self::with_progress(x, y, k, score, &NoStage)
    }

    /// [`Scorer::new`], advancing `bar` by one per row of `x`.
    pub fn with_progress(
        x: &Embeddings,
        y: &Embeddings,
        k: usize,
        score: Score,
        bar: &dyn Stage,
    ) -> Self {
        Self::with_search(x, y, k, score, &Knn::Exact, bar)
    }

    /// [`Scorer::with_progress`] with the neighbours found by `search`.
    pub fn with_search(
        x: &Embeddings,
        y: &Embeddings,
        k: usize,
        score: Score,
        search: &Knn,
        bar: &dyn Stage,
    ) -> Self {
        Self::searched(x, y, k, score, search, Precision::F32, bar)
    }

    /// [`Scorer::with_search`] in `precision` (the neighbours' cosines are f32 whatever it is).
    pub fn searched(
        x: &Embeddings,
        y: &Embeddings,
        k: usize,
        score: Score,
        search: &Knn,
        precision: Precision,
        bar: &dyn Stage,
    ) -> Self {
        let mut search = search.resolve(x.len(), y.len());
        let pairs = x.len() as u64 * y.len() as u64;
        let screen =
            precision.is_f32() && search == Knn::Exact && pairs >= SCREEN_PAIRS && screening();
        let codes = match precision {
            Precision::F32 if screen => Some(std::sync::Arc::new(Quantized::pair(x, y)))
                .filter(|q| q.0.bounded() && q.1.bounded()),
            Precision::F32 => None,
            Precision::Int8 => Some(std::sync::Arc::new(Quantized::pair(x, y))),
        };
        let screened = precision.is_f32() && codes.is_some();
        let (kx, ky) = (k.min(y.len()), k.min(x.len()));
        let keep = kx.max(ky);
        let (lists, partition) = match search {
            Knn::Exact | Knn::Auto(_) => {
                let codes = Codes::of(&codes, screened);
                (scan(x, y, keep, Rank::Cosine, codes, bar), None)
            }
            Knn::Ivf(p) => {
                let (part, settled) = ivf::Partition::build(x, y, &p, keep);
                search = Knn::Ivf(settled);
                let both = ivf::Want::BOTH;
                let lists = ivf::scan(
                    x,
                    y,
                    keep,
                    Rank::Cosine,
                    &part,
                    both,
                    Codes::of(&codes, screened),
                    bar,
                );
                (lists, Some(std::sync::Arc::new(part)))
            }
        };
        let (fwd, bwd) = lists_to_neighbours(lists.0, lists.1, kx, ky);
        Self {
            score,
            x_mean: fwd.means(),
            y_mean: bwd.means(),
            fwd,
            bwd,
            search,
            partition,
            codes,
            screened,
        }
    }

    /// Whether an exact f32 search was screened by 8-bit estimates ([`screening`]).
    pub fn screened(&self) -> bool {
        self.screened
    }

    /// The search that found the neighbours: `auto` decided, and for an inverted file its
    /// list count and probe as used.
    pub fn search(&self) -> Knn {
        self.search
    }

    /// The chosen score of x_i with y_j, whose cosine is `cos`.
    #[inline]
    pub fn pair(&self, i: usize, j: usize, cos: f32) -> f32 {
        self.score.apply(cos, self.x_mean[i], self.y_mean[j])
    }

    /// The ratio margin of x_i with y_j, reported whatever score ranks the pairs.
    pub fn margin(&self, i: usize, j: usize, cos: f32) -> f32 {
        Score::Margin.apply(cos, self.x_mean[i], self.y_mean[j])
    }

    /// The best-scoring partner of every x row among all y rows, and of every y row among
    /// all x rows. With the cosine score this is the first neighbour; with a margin it takes
    /// a second blocked pass, because the margin's best partner is not always among the
    /// cosine's k nearest (on Tatoeba vie-eng, searching all rows gains two points).
    pub fn best(&self, x: &Embeddings, y: &Embeddings) -> (Vec<Option<Hit>>, Vec<Option<Hit>>) {
        self.best_with_progress(x, y, &NoStage)
    }

    /// [`Scorer::best`], advancing `bar` by one per row of `x` when it takes a pass.
    pub fn best_with_progress(
        &self,
        x: &Embeddings,
        y: &Embeddings,
        bar: &dyn Stage,
    ) -> (Vec<Option<Hit>>, Vec<Option<Hit>>) {
        let first = |n: &Neighbours, len: usize| -> Vec<Option<Hit>> {
            (0..len)
                .map(|i| {
                    n.of(i).next().map(|(idx, cos)| Hit {
                        idx,
                        score: cos,
                        cos,
                    })
                })
                .collect()
        };
        if self.score == Score::Cosine {
            return (first(&self.fwd, x.len()), first(&self.bwd, y.len()));
        }
        let rank = Rank::Scored {
            score: self.score,
            x_mean: &self.x_mean,
            y_mean: &self.y_mean,
        };
        let codes = Codes::of(&self.codes, self.screened).for_rank(rank);
        let (rows, cols) = match &self.partition {
            None => scan(x, y, 1, rank, codes, bar),
            Some(part) => ivf::scan(x, y, 1, rank, part, ivf::Want::BOTH, codes, bar),
        };
        (first_hits(rows), first_hits(cols))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit_rows(n: usize, d: usize, seed: u64) -> Embeddings {
        let mut s = seed;
        let mut data = Vec::with_capacity(n * d);
        for _ in 0..n {
            let row: Vec<f32> = (0..d)
                .map(|_| {
                    s = s
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    ((s >> 40) as f32 / (1u64 << 24) as f32) - 0.5
                })
                .collect();
            let norm = row.iter().map(|v| v * v).sum::<f32>().sqrt();
            data.extend(row.iter().map(|v| v / norm));
        }
        Embeddings::new(d, data).unwrap()
    }

    /// The full matrix, the obvious way, for comparison.
    fn full(x: &Embeddings, y: &Embeddings) -> Vec<Vec<f32>> {
        x.rows()
            .map(|a| y.rows().map(|b| cosine(a, b)).collect())
            .collect()
    }

    fn sorted_topk(scores: &[f32], k: usize) -> Vec<(usize, f32)> {
        let mut v: Vec<(usize, f32)> = scores.iter().copied().enumerate().collect();
        v.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        v.truncate(k);
        v
    }

    #[test]
    fn knn_on_a_hand_made_matrix() {
        // x0 is closest to y1 then y0; x1 is y2 exactly.
        let x = Embeddings::from_rows(2, &[[1.0, 0.0], [0.0, 1.0]]).unwrap();
        let y = Embeddings::from_rows(2, &[[0.6, -0.8], [0.8, 0.6], [0.0, 1.0]]).unwrap();
        let (f, b) = knn(&x, &y, 2);
        assert_eq!(f.k, 2);
        assert_eq!(f.of(0).map(|p| p.0).collect::<Vec<_>>(), vec![1, 0]);
        assert_eq!(f.of(1).map(|p| p.0).collect::<Vec<_>>(), vec![2, 1]);
        assert_eq!(f.sim, vec![0.8, 0.6, 1.0, 0.6]);
        // y0: x0 (0.6) then x1 (-0.8); y1: x0 0.8, x1 0.6; y2: x1 1, x0 0.
        assert_eq!(b.idx, vec![0, 1, 0, 1, 1, 0]);
        for (m, want) in b.means().iter().zip([-0.1, 0.7, 0.5]) {
            assert!((m - want).abs() < 1e-6, "{m} vs {want}");
        }
        // k larger than the other side shrinks to its size.
        let (f, b) = knn(&x, &y, 4);
        assert_eq!((f.k, b.k), (3, 2));
    }

    #[test]
    fn ratio_margin_by_hand() {
        // cos 0.8, neighbourhoods 0.7 and 0.5: 0.8 / 0.6.
        assert!((Score::Margin.apply(0.8, 0.7, 0.5) - 0.8 / 0.6).abs() < 1e-6);
        assert!((Score::Distance.apply(0.8, 0.7, 0.5) - 0.2).abs() < 1e-6);
        assert_eq!(Score::Cosine.apply(0.8, 0.7, 0.5), 0.8);
    }

    #[test]
    fn ties_go_to_the_lower_index() {
        let x = Embeddings::from_rows(2, &[[1.0, 0.0]]).unwrap();
        let y =
            Embeddings::from_rows(2, &[[0.0, 1.0], [1.0, 0.0], [1.0, 0.0], [1.0, 0.0]]).unwrap();
        let (f, _) = knn(&x, &y, 2);
        assert_eq!(f.idx, vec![1, 2]);
    }

    #[test]
    fn blocked_knn_equals_the_full_matrix() {
        // Sizes that cross block edges in both directions; a width the folded 4×4 tiles
        // take (64) and one they leave to the plain tiles (24).
        for d in [24, 64] {
            let x = unit_rows(BLOCK_X * 2 + 5, d, 7);
            let y = unit_rows(BLOCK_Y + 37, d, 8);
            let m = full(&x, &y);
            let (f, b) = knn(&x, &y, 4);
            for (i, row) in m.iter().enumerate() {
                let want = sorted_topk(row, 4);
                assert_eq!(f.of(i).collect::<Vec<_>>(), want, "d {d} row {i}");
            }
            for j in 0..y.len() {
                let col: Vec<f32> = m.iter().map(|r| r[j]).collect();
                assert_eq!(
                    b.of(j).collect::<Vec<_>>(),
                    sorted_topk(&col, 4),
                    "d {d} col {j}"
                );
            }
        }
    }

    /// The blocked pass at the embedding width of the model (the folded, prefetching 4×4
    /// tiles) against the full matrix, on shapes that do not fill the tiles or blocks, with
    /// k larger than one side and rows repeated across blocks so that ties are decided by
    /// index.
    #[test]
    fn blocked_knn_equals_the_full_matrix_on_awkward_shapes() {
        let d = 384;
        let dup = |e: Embeddings, copies: &[(usize, usize)]| {
            let mut v = e.as_slice().to_vec();
            for &(from, to) in copies {
                v.copy_within(from * d..(from + 1) * d, to * d);
            }
            Embeddings::new(d, v).unwrap()
        };
        for (nx, ny, k) in [
            (3, 5, 7),
            (BLOCK_X + 6, 2, 4),
            (9, BLOCK_Y + 3, 4),
            (2, 1, 1),
        ] {
            let x = unit_rows(nx, d, 21);
            let y = unit_rows(ny, d, 22);
            // A row of y equal to one in another block (or tile), and an x row equal to
            // one of y (cosine 1 with a tie among its copies).
            let y = dup(y, &[(0, ny - 1)]);
            let x = Embeddings::new(d, {
                let mut v = x.as_slice().to_vec();
                v[(nx - 1) * d..].copy_from_slice(&y.as_slice()[..d]);
                v
            })
            .unwrap();
            let m = full(&x, &y);
            let (f, b) = knn(&x, &y, k);
            for (i, row) in m.iter().enumerate() {
                let want = sorted_topk(row, k);
                assert_eq!(f.of(i).collect::<Vec<_>>(), want, "{nx}x{ny} k {k} row {i}");
            }
            for j in 0..ny {
                let col: Vec<f32> = m.iter().map(|r| r[j]).collect();
                let want = sorted_topk(&col, k);
                assert_eq!(b.of(j).collect::<Vec<_>>(), want, "{nx}x{ny} k {k} col {j}");
            }
        }
    }

    /// Clustered rows, so an inverted file has something to find.
    fn clustered(n: usize, d: usize, seed: u64) -> Embeddings {
        let centres = unit_rows(8, d, 99);
        let noise = unit_rows(n, d, seed);
        let rows: Vec<Vec<f32>> = (0..n)
            .map(|i| {
                let r: Vec<f32> = centres
                    .row(i % 8)
                    .iter()
                    .zip(noise.row(i))
                    .map(|(c, e)| c + 0.5 * e)
                    .collect();
                let norm = r.iter().map(|v| v * v).sum::<f32>().sqrt();
                r.iter().map(|v| v / norm).collect()
            })
            .collect();
        Embeddings::from_rows(d, &rows).unwrap()
    }

    #[test]
    fn ivf_probing_every_list_is_exact() {
        let x = clustered(300, 32, 1);
        let y = clustered(700, 32, 2);
        // With y rows in 2 or 3 lists every pair is compared that many times, and each
        // must still be kept once.
        for assign in [1, 2, 3] {
            let ivf = IvfParams {
                lists: 16,
                probe: 16,
                assign,
                ..IvfParams::default()
            };
            for score in [Score::Margin, Score::Cosine] {
                let exact = Scorer::new(&x, &y, 4, score);
                for precision in [Precision::F32, Precision::Int8] {
                    let approx =
                        Scorer::searched(&x, &y, 4, score, &Knn::Ivf(ivf), precision, &NoStage);
                    assert_eq!(
                        (&exact.fwd, &exact.bwd),
                        (&approx.fwd, &approx.bwd),
                        "assign {assign} {precision:?}"
                    );
                    assert_eq!(exact.best(&x, &y), approx.best(&x, &y));
                }
            }
        }
    }

    #[test]
    fn ivf_finds_most_neighbours_and_ignores_the_thread_count() {
        let x = clustered(400, 32, 3);
        let y = clustered(500, 32, 4);
        let (f, _) = knn(&x, &y, 4);
        let mut recalls = Vec::new();
        for (probe, assign, floor) in [(4, 1, 0.9), (1, 1, 0.5), (1, 2, 0.5)] {
            let ivf = Knn::Ivf(IvfParams {
                lists: 16,
                probe,
                assign,
                ..IvfParams::default()
            });
            recalls.push(ivf_recall_and_threads(&x, &y, &f, &ivf, floor));
        }
        // A y row in its 2 nearest lists is found from more x rows' probes.
        assert!(recalls[2] > recalls[1], "{recalls:?}");
    }

    #[test]
    fn ivf_probe_chosen_for_a_recall_reaches_it_on_any_thread_count() {
        let x = clustered(400, 32, 3);
        let y = clustered(500, 32, 4);
        let (f, b) = knn(&x, &y, 4);
        let p = IvfParams {
            lists: 16,
            recall: Some(0.99),
            ..IvfParams::default()
        };
        let run = |threads: usize| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap()
                .install(|| Scorer::with_search(&x, &y, 4, Score::Margin, &Knn::Ivf(p), &NoStage))
        };
        let (one, three) = (run(1), run(3));
        assert_eq!(one.search(), three.search());
        assert_eq!((&one.fwd, &one.bwd), (&three.fwd, &three.bwd));
        let Knn::Ivf(settled) = one.search() else {
            panic!("{:?}", one.search())
        };
        // Fewer than all lists, and the recall asked for (both directions).
        assert!(settled.probe < 16 && settled.lists == 16, "{settled:?}");
        let hits = |got: &Neighbours, want: &Neighbours| -> usize {
            (0..want.len())
                .map(|i| {
                    let w: Vec<usize> = want.of(i).map(|p| p.0).collect();
                    got.of(i).filter(|p| w.contains(&p.0)).count()
                })
                .sum()
        };
        let recall = (hits(&one.fwd, &f) + hits(&one.bwd, &b)) as f64 / (4.0 * 900.0);
        assert!(
            recall >= 0.985,
            "recall {recall} with probe {}",
            settled.probe
        );
        // One list fewer misses it on the sample it was chosen on.
        let fewer = Knn::Ivf(IvfParams {
            probe: settled.probe - 1,
            recall: None,
            ..p
        });
        let s = Scorer::with_search(&x, &y, 4, Score::Margin, &fewer, &NoStage);
        let below = (hits(&s.fwd, &f) + hits(&s.bwd, &b)) as f64 / (4.0 * 900.0);
        assert!(below < recall, "{below} vs {recall}");
    }

    /// Recall of x's lists under `ivf` against exact `f` (at least `floor`), checking that
    /// the lists and best partners do not depend on the thread count and carry exact cosines.
    fn ivf_recall_and_threads(
        x: &Embeddings,
        y: &Embeddings,
        f: &Neighbours,
        ivf: &Knn,
        floor: f64,
    ) -> f64 {
        let run = |threads: usize| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap()
                .install(|| {
                    let s = Scorer::with_search(x, y, 4, Score::Margin, ivf, &NoStage);
                    let best = s.best(x, y);
                    (s.fwd, s.bwd, best)
                })
        };
        let one = run(1);
        assert_eq!(one, run(3));
        let hit = (0..x.len())
            .map(|i| {
                let want: Vec<usize> = f.of(i).map(|p| p.0).collect();
                one.0.of(i).filter(|p| want.contains(&p.0)).count()
            })
            .sum::<usize>();
        let recall = hit as f64 / (4 * x.len()) as f64;
        assert!(recall >= floor, "recall {recall} with {ivf:?}");
        // Every pair it reports carries the exact cosine.
        for i in 0..x.len() {
            for (j, c) in one.0.of(i) {
                assert_eq!(c, cosine(x.row(i), y.row(j)));
            }
        }
        recall
    }

    #[test]
    fn ivf_lists_of_a_subset_are_those_of_the_whole() {
        // What a shard computes: its rows' lists with the other side whole, the partition
        // rebuilt from the rows' assignments (as `Partition::build` assigns them).
        let x = clustered(300, 32, 5);
        let y = clustered(400, 32, 6);
        let p = IvfParams {
            lists: 8,
            probe: 2,
            ..IvfParams::default()
        };
        let whole = Scorer::with_search(&x, &y, 4, Score::Margin, &Knn::Ivf(p), &NoStage);
        let best = whole.best(&x, &y);
        let centroids = ivf::train_on(&y.select(&ivf::sample(400, 8, &p)), 8, &p);
        let (to_x, to_y) = (
            ivf::assign(&x, &centroids, 2),
            ivf::assign(&y, &centroids, 1),
        );
        let (xs, ys) = (100..210, 250..400);
        let sub =
            |e: &Embeddings, r: &std::ops::Range<usize>| e.select(&r.clone().collect::<Vec<_>>());
        let (x_part, y_part) = (sub(&x, &xs), sub(&y, &ys));
        let part = ivf::Partition::new(
            8,
            to_x[xs.clone()].iter().enumerate(),
            to_y.iter().enumerate(),
        );
        let fwd = ivf_knn(&x_part, &y, 4, &part, true, &NoStage);
        let xm = &whole.x_mean[xs.clone()];
        let hits = ivf_best(
            &x_part,
            xm,
            &y,
            &whole.y_mean,
            Score::Margin,
            &part,
            true,
            &NoStage,
        );
        for (r, i) in xs.clone().enumerate() {
            assert_eq!(
                fwd.of(r).collect::<Vec<_>>(),
                whole.fwd.of(i).collect::<Vec<_>>()
            );
            assert_eq!(hits[r], best.0[i]);
        }
        let part = ivf::Partition::new(
            8,
            to_x.iter().enumerate(),
            to_y[ys.clone()].iter().enumerate(),
        );
        let bwd = ivf_knn(&x, &y_part, 4, &part, false, &NoStage);
        let ym = &whole.y_mean[ys.clone()];
        let hits = ivf_best(
            &x,
            &whole.x_mean,
            &y_part,
            ym,
            Score::Margin,
            &part,
            false,
            &NoStage,
        );
        for (r, j) in ys.clone().enumerate() {
            assert_eq!(
                bwd.of(r).collect::<Vec<_>>(),
                whole.bwd.of(j).collect::<Vec<_>>()
            );
            assert_eq!(hits[r], best.1[j]);
        }
        // Pieces index like the whole.
        let (a, b) = (sub(&y, &(0..123)), sub(&y, &(123..400)));
        let parts = [(0, &a), (123, &b)];
        let pieces = Pieces::new(&parts);
        assert_eq!((pieces.len(), Rows::row(&pieces, 200)), (400, y.row(200)));
    }

    #[test]
    fn int8_search_finds_the_f32_lists_with_f32_cosines_on_any_thread_count() {
        let x = clustered(300, 64, 7);
        let y = clustered(450, 64, 8);
        let ivf = Knn::Ivf(IvfParams {
            lists: 8,
            probe: 3,
            ..IvfParams::default()
        });
        let run = |search: &Knn, precision: Precision, threads: usize| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap()
                .install(|| {
                    let s = Scorer::searched(&x, &y, 4, Score::Margin, search, precision, &NoStage);
                    let best = s.best(&x, &y);
                    (s.fwd, s.bwd, best)
                })
        };
        for search in [Knn::Exact, ivf] {
            let want = run(&search, Precision::F32, 2);
            let got = run(&search, Precision::Int8, 1);
            assert_eq!(got, run(&search, Precision::Int8, 3), "{search:?}");
            // Same neighbours, same best partners, and the f32 cosines' bits.
            assert_eq!(got, want, "{search:?}");
            for i in 0..x.len() {
                for (j, c) in got.0.of(i) {
                    assert_eq!(c.to_bits(), cosine(x.row(i), y.row(j)).to_bits());
                }
            }
        }
        // The mined pairs are those of the f32 search.
        let params = |precision| crate::mine::Params {
            precision,
            ..crate::mine::Params::default()
        };
        let f32_pairs = crate::mine::mine(&x, &y, &params(Precision::F32));
        assert!(!f32_pairs.is_empty());
        assert_eq!(
            crate::mine::mine(&x, &y, &params(Precision::Int8)),
            f32_pairs
        );
    }

    /// Rows that make a screen work hard: clusters, exact duplicates (ties broken by
    /// index), near duplicates (estimates closer than the bound), a row of `x` in `y`,
    /// rows not of unit length.
    fn hard_rows(d: usize) -> (Embeddings, Embeddings) {
        let rows = |e: Embeddings| -> Vec<Vec<f32>> { e.rows().map(|r| r.to_vec()).collect() };
        let mut rx = rows(clustered(300, d, 21));
        let mut ry = rows(clustered(410, d, 22));
        rx[5] = rx[4].clone();
        ry[7] = ry[3].clone();
        ry[9] = ry[3].iter().map(|v| v * (1.0 + 1e-6)).collect();
        ry[11] = rx[2].clone();
        rx[20].iter_mut().for_each(|v| *v *= 3.0);
        ry[30].iter_mut().for_each(|v| *v *= 0.25);
        (
            Embeddings::from_rows(d, &rx).unwrap(),
            Embeddings::from_rows(d, &ry).unwrap(),
        )
    }

    #[test]
    fn every_estimate_is_within_its_bound_of_the_f32_cosine() {
        for d in [40, 384] {
            let (x, y) = hard_rows(d);
            let (qx, qy) = Quantized::pair(&x, &y);
            let mut est = vec![0.0f32; x.len() * y.len()];
            quant::block(&qx.range(0, x.len()), &qy.range(0, y.len()), &mut est);
            let mut tightest = f64::INFINITY;
            for i in 0..x.len() {
                for j in 0..y.len() {
                    let exact = cosine(x.row(i), y.row(j)) as f64;
                    let gap = (est[i * y.len() + j] as f64 - exact).abs();
                    let bound = quant::slack(qx.bound(i), qy.bound(j), d);
                    assert!(gap <= bound, "d {d} ({i},{j}): {gap} > {bound}");
                    tightest = tightest.min(bound - gap);
                }
            }
            // The bound is not vacuous: well under the spread of the cosines.
            let typical = quant::slack(qx.bound(0), qy.bound(0), d);
            assert!(typical < 0.05, "d {d}: bound {typical}");
            assert!(tightest >= 0.0);
        }
    }

    #[test]
    fn screened_passes_equal_the_f32_pass_bit_for_bit() {
        let (x, y) = hard_rows(96);
        let (qx, qy) = Quantized::pair(&x, &y);
        let s = Scorer::new(&x, &y, 4, Score::Margin);
        let ranks = [
            Rank::Cosine,
            Rank::Scored {
                score: Score::Margin,
                x_mean: &s.x_mean,
                y_mean: &s.y_mean,
            },
            Rank::Scored {
                score: Score::Distance,
                x_mean: &s.x_mean,
                y_mean: &s.y_mean,
            },
        ];
        let pool = |n| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(n)
                .build()
                .unwrap()
        };
        let bits = |(rows, cols): (Vec<TopK>, Vec<TopK>)| -> Vec<Vec<(u32, u32, u32)>> {
            rows.iter()
                .chain(&cols)
                .map(|l| {
                    l.items
                        .iter()
                        .map(|&(s, i, c)| (s.to_bits(), i, c.to_bits()))
                        .collect()
                })
                .collect()
        };
        for (r, rank) in ranks.into_iter().enumerate() {
            for k in [1, 4] {
                let plain = pool(2).install(|| scan(&x, &y, k, rank, Codes::F32, &NoStage));
                let plain = bits(plain);
                assert!(plain.iter().all(|l| l.len() == k));
                for threads in [1, 3] {
                    let screened = pool(threads).install(|| {
                        let codes = Codes::Screened(&qx, &qy).for_rank(rank);
                        scan(&x, &y, k, rank, codes, &NoStage)
                    });
                    assert_eq!(bits(screened), plain, "rank {r}, k {k}, {threads} threads");
                }
            }
        }
    }

    /// Through the scorer, at a size that is screened: the neighbours, best partners and
    /// mined pairs of the plain f32 pass (screening is process-wide; only this test
    /// turns it off, and results do not depend on it).
    #[test]
    fn a_screened_scorer_gives_the_plain_result() {
        let n = 2100;
        assert!((n * n) as u64 >= SCREEN_PAIRS);
        let (x, y) = (clustered(n, 32, 31), clustered(n, 32, 32));
        let run = |on: bool| {
            set_screening(on);
            let s = Scorer::searched(
                &x,
                &y,
                4,
                Score::Margin,
                &Knn::Exact,
                Precision::F32,
                &NoStage,
            );
            let best = s.best(&x, &y);
            (s.screened(), s.fwd, s.bwd, best)
        };
        let (screened, fwd, bwd, best) = run(true);
        let plain = run(false);
        set_screening(true);
        assert_eq!(screened, quant::vnni());
        assert!(!plain.0);
        assert_eq!((fwd, bwd, best), (plain.1, plain.2, plain.3));
    }

    #[test]
    fn auto_is_exact_for_small_sides() {
        let p = IvfParams::default();
        assert_eq!(Knn::Auto(p).resolve(1000, 1000), Knn::Exact);
        assert_eq!(Knn::Auto(p).resolve(100_000, 100_000), Knn::Ivf(p));
        assert_eq!(p.lists_for(1_000_000, 1_000_000), 4096);
        // Small sides keep enough rows a list; a document-sized side is one list (exact).
        assert_eq!(p.lists_for(6766, 6402), 6766 / 64);
        assert_eq!(p.lists_for(15, 31), 1);
        assert_eq!(IvfParams { lists: 50, ..p }.lists_for(15, 31), 31);
    }

    #[test]
    fn best_by_margin_equals_brute_force() {
        let x = unit_rows(150, 16, 1);
        let y = unit_rows(90, 16, 2);
        let m = full(&x, &y);
        for score in [Score::Margin, Score::Distance, Score::Cosine] {
            let s = Scorer::new(&x, &y, 4, score);
            let (fwd, bwd) = s.best(&x, &y);
            for (i, row) in m.iter().enumerate() {
                let sc: Vec<f32> = row
                    .iter()
                    .enumerate()
                    .map(|(j, &c)| s.pair(i, j, c))
                    .collect();
                let (j, _) = sorted_topk(&sc, 1)[0];
                assert_eq!(fwd[i].unwrap().idx, j, "{score:?} row {i}");
                assert_eq!(fwd[i].unwrap().cos, row[j]);
            }
            for j in 0..y.len() {
                let sc: Vec<f32> = (0..x.len()).map(|i| s.pair(i, j, m[i][j])).collect();
                assert_eq!(
                    bwd[j].unwrap().idx,
                    sorted_topk(&sc, 1)[0].0,
                    "{score:?} col {j}"
                );
            }
        }
    }

    #[test]
    fn same_result_whatever_the_thread_count() {
        let x = unit_rows(BLOCK_X * 5 + 3, 32, 3);
        let y = unit_rows(700, 32, 4);
        let run = |threads: usize| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap()
                .install(|| {
                    let s = Scorer::new(&x, &y, 4, Score::Margin);
                    let best = s.best(&x, &y);
                    (s.fwd, s.bwd, best)
                })
        };
        let one = run(1);
        assert_eq!(one, run(2));
        assert_eq!(one, run(5));
    }

    #[test]
    fn empty_sides_give_empty_results() {
        let x = unit_rows(3, 8, 1);
        let y = Embeddings::new(8, vec![]).unwrap();
        let s = Scorer::new(&x, &y, 4, Score::Margin);
        assert_eq!(s.fwd.k, 0);
        let (f, b) = s.best(&x, &y);
        assert_eq!(f, vec![None; 3]);
        assert!(b.is_empty());
    }
}
