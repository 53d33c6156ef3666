//! Approximate k-NN by an inverted file (IVF), for sides too large to compare every pair.
//! Spherical k-means on a sample of y gives `lists` centroids; every y row goes to
//! the list of its nearest centroid, every x row searches the `probe` lists nearest to it.
//! A list is then one dense block (its x searchers × its y members) through the same
//! kernel and top-k filter as the exact pass, so every pair that is compared gets the
//! exact cosine: only pairs in lists that were not probed are missed. Results are the
//! same whatever the thread count (training and assignment are exact passes; list results
//! are merged exactly).

use super::{
    kernel, knn, offer_block, quant, rescored, Codes, Lists, Rank, Rows, TopK, BLOCK_X, BLOCK_Y,
};
use crate::embed::Embeddings;
use rayon::prelude::*;

/// Fewest rows a side per list when the list count is picked for the sizes (faiss warns
/// below 39 training points per centroid).
pub const MIN_ROWS_PER_LIST: usize = 64;

/// Rows of each side whose exact neighbours estimate the recall of a probe, when the probe
/// is chosen for a target recall ([`IvfParams::recall`]).
pub const RECALL_SAMPLE: usize = 256;

/// Index parameters of the approximate search (recorded in `run.json`).
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct IvfParams {
    /// Lists (k-means centroids); 0 picks 2^round(log2(2·√(n·probe))) for n rows a side,
    /// at most n / [`MIN_ROWS_PER_LIST`].
    pub lists: usize,
    /// Lists each x row searches.
    pub probe: usize,
    /// Lists each y row is stored in (its `assign` nearest): a y row near a list boundary
    /// is then found from either side of it, for `assign` times the list work. A pair
    /// reached through two lists is compared twice but kept once.
    #[serde(default = "one")]
    pub assign: usize,
    /// When set, `probe` is chosen per language pair as the fewest lists whose recall@k,
    /// estimated on the exact neighbours of [`RECALL_SAMPLE`] evenly spaced rows of each
    /// side, reaches this share; `run.json` records the probe chosen. The list count is
    /// still picked with the `probe` given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recall: Option<f64>,
    /// k-means training rows per list, sampled evenly from y.
    pub train_per_list: usize,
    /// k-means iterations.
    pub iterations: usize,
}

impl Default for IvfParams {
    fn default() -> Self {
        Self {
            lists: 0,
            probe: 8,
            assign: 1,
            recall: None,
            train_per_list: 32,
            iterations: 8,
        }
    }
}

fn one() -> usize {
    1
}

impl IvfParams {
    /// The list count for sides of `nx` and `ny` rows: balances the cost of assigning rows
    /// to centroids (n·lists) against that of the probed lists (n·probe·n/lists), with at
    /// least [`MIN_ROWS_PER_LIST`] rows a list: smaller lists scatter a document's
    /// neighbours over lists the probe misses (15 × 31 sentences lost their pairs with 31
    /// lists), and k-means has too few rows per centroid to place it.
    pub fn lists_for(&self, nx: usize, ny: usize) -> usize {
        let n = nx.max(ny).max(1);
        if self.lists > 0 {
            return self.lists.min(n);
        }
        let ideal = 2.0 * (n as f64 * self.probe.max(1) as f64).sqrt();
        let l = 2f64.powi(ideal.log2().round() as i32) as usize;
        l.clamp(1, (n / MIN_ROWS_PER_LIST).max(1))
    }
}

/// Rows of both sides grouped by list.
#[derive(Debug)]
pub struct Partition {
    /// x rows that search each list, ascending.
    searchers: Vec<Vec<u32>>,
    /// y rows in each list, ascending.
    members: Vec<Vec<u32>>,
}

impl Partition {
    /// The partition of `x` and `y` under `p`, and the parameters it settled (list count,
    /// and the probe when chosen for a recall@`k`).
    pub(super) fn build(
        x: &Embeddings,
        y: &Embeddings,
        p: &IvfParams,
        k: usize,
    ) -> (Self, IvfParams) {
        let lists = p.lists_for(x.len(), y.len());
        let centroids = train(y, lists, p);
        let to_y = assign(y, &centroids, p.assign.clamp(1, lists));
        let probe = match p.recall {
            Some(r) => probe_for(x, y, &centroids, &to_y, k, r),
            None => p.probe,
        }
        .clamp(1, lists);
        let to_x = assign(x, &centroids, probe);
        let part = Self::new(lists, (0..x.len()).zip(&to_x), (0..y.len()).zip(&to_y));
        (part, IvfParams { lists, probe, ..*p })
    }

    /// The partition of x rows that search the lists given with them (`(row, lists)`, rows
    /// ascending) and y rows that belong to the list given with them: what a sharded run
    /// rebuilds from its assignment files, for any subset of either side.
    pub fn new<'a>(
        lists: usize,
        x: impl IntoIterator<Item = (usize, &'a Vec<u32>)>,
        y: impl IntoIterator<Item = (usize, &'a Vec<u32>)>,
    ) -> Self {
        let mut searchers = vec![Vec::new(); lists];
        for (i, to) in x {
            for &c in to {
                searchers[c as usize].push(i as u32);
            }
        }
        let mut members = vec![Vec::new(); lists];
        for (j, to) in y {
            for &c in to {
                members[c as usize].push(j as u32);
            }
        }
        Self { searchers, members }
    }
}

/// The `n` nearest centroids (lists) of every row, nearest first: the lists an x row
/// searches (`n` = probe) or the one a y row belongs to (`n` = 1). Exact, so a row's lists
/// do not depend on the other rows it is assigned with.
pub fn assign(rows: &Embeddings, centroids: &Embeddings, n: usize) -> Vec<Vec<u32>> {
    let near = super::knn_rows(rows, &[(0, centroids)], n, &crate::observe::NoStage);
    (0..rows.len())
        .map(|i| near.of(i).map(|(c, _)| c as u32).collect())
        .collect()
}

/// The fewest lists an x row must probe for the k-NN lists of both directions to reach
/// `target` recall, estimated on up to [`RECALL_SAMPLE`] evenly spaced rows of each side:
/// a true neighbour pair (x_i, y_j) is compared when one of y_j's lists (`to_y`) is among
/// the first p of x_i's lists by centroid similarity, so the probe each pair needs is that
/// list's rank, and the probe returned is the quantile of those ranks at `target` plus two
/// standard errors of the estimate. Exact
/// passes only: the same probe on any thread count.
fn probe_for(
    x: &Embeddings,
    y: &Embeddings,
    centroids: &Embeddings,
    to_y: &[Vec<u32>],
    k: usize,
    target: f64,
) -> usize {
    let lists = centroids.len();
    let every = |n: usize| -> Vec<usize> {
        let m = n.min(RECALL_SAMPLE);
        (0..m).map(|t| t * n / m).collect()
    };
    // Rank of every list for each of `rows` of x (0 = nearest centroid).
    let ranks = |rows: &[usize]| -> Vec<Vec<u32>> {
        let e = x.select(rows);
        let mut sims = vec![0.0f32; lists];
        (0..e.len())
            .map(|r| {
                super::similarity_block(&e, r..r + 1, centroids, 0..lists, &mut sims);
                let mut order: Vec<u32> = (0..lists as u32).collect();
                order.sort_by(|&a, &b| {
                    sims[b as usize]
                        .total_cmp(&sims[a as usize])
                        .then(a.cmp(&b))
                });
                let mut rank = vec![0u32; lists];
                for (at, &c) in order.iter().enumerate() {
                    rank[c as usize] = at as u32;
                }
                rank
            })
            .collect()
    };
    let need = |rank: &[u32], j: usize| -> usize {
        to_y[j]
            .iter()
            .map(|&c| rank[c as usize] as usize + 1)
            .min()
            .unwrap_or(lists)
    };
    let mut needs = Vec::new();
    // x → y: sampled x rows, their exact neighbours among y.
    let xs = every(x.len());
    let near = super::knn_rows(&x.select(&xs), &[(0, y)], k, &crate::observe::NoStage);
    for (r, rank) in ranks(&xs).iter().enumerate() {
        needs.extend(near.of(r).map(|(j, _)| need(rank, j)));
    }
    // y → x: sampled y rows, their exact neighbours among x, ranked by those x rows.
    let ys = every(y.len());
    let near = super::knn_rows(&y.select(&ys), &[(0, x)], k, &crate::observe::NoStage);
    let pairs: Vec<(usize, usize)> = (0..ys.len())
        .flat_map(|r| near.of(r).map(|(i, _)| (i, ys[r])).collect::<Vec<_>>())
        .collect();
    let xi: Vec<usize> = pairs.iter().map(|p| p.0).collect();
    for (rank, &(_, j)) in ranks(&xi).iter().zip(&pairs) {
        needs.push(need(rank, j));
    }
    if needs.is_empty() {
        return 1;
    }
    needs.sort_unstable();
    // Two standard errors above the target, so the whole side reaches it (not just the
    // sample): 0.99 over 2048 sampled neighbours asks 0.9944 of the sample.
    let (t, n) = (target.clamp(0.0, 1.0), needs.len() as f64);
    let t = (t + 2.0 * (t * (1.0 - t) / n).sqrt()).min(1.0);
    let at = ((t * n).ceil() as usize).max(1);
    needs[at.min(needs.len()) - 1]
}

/// The rows of an indexed side of `ny` rows that k-means trains on for `lists` lists:
/// evenly spaced, at most `train_per_list` a list.
pub fn sample(ny: usize, lists: usize, p: &IvfParams) -> Vec<usize> {
    let want = (lists * p.train_per_list.max(1)).min(ny);
    (0..want).map(|t| t * ny / want.max(1)).collect()
}

/// Spherical k-means on evenly spaced rows of `y` (the side that is indexed, as FAISS
/// trains on the indexed vectors): centroids are normalised means of their members. Trained
/// on both sides, cross-lingual embeddings form lists per language, and a source sentence's
/// nearest lists then hold few target sentences. Starts from evenly spaced sample rows; a
/// list left empty keeps its centroid.
fn train(y: &Embeddings, lists: usize, p: &IvfParams) -> Embeddings {
    train_on(&y.select(&sample(y.len(), lists, p)), lists, p)
}

/// k-means on the rows [`sample`] picked (in its order): the centroids of the lists.
pub fn train_on(sample: &Embeddings, lists: usize, p: &IvfParams) -> Embeddings {
    let d = sample.dim();
    let n = sample.len();
    let init: Vec<usize> = (0..lists).map(|t| t * n / lists).collect();
    let mut centroids = sample.select(&init);
    for _ in 0..p.iterations {
        let (near, _) = knn(sample, &centroids, 1);
        let mut members = vec![Vec::new(); lists];
        for s in 0..n {
            if let Some((c, _)) = near.of(s).next() {
                members[c].push(s);
            }
        }
        let rows: Vec<Vec<f32>> = members
            .par_iter()
            .enumerate()
            .map(|(c, m)| {
                if m.is_empty() {
                    return centroids.row(c).to_vec();
                }
                let mut sum = vec![0.0f64; d];
                for &s in m {
                    for (a, &v) in sum.iter_mut().zip(sample.row(s)) {
                        *a += v as f64;
                    }
                }
                let norm = sum.iter().map(|a| a * a).sum::<f64>().sqrt().max(1e-30);
                sum.iter().map(|a| (a / norm) as f32).collect()
            })
            .collect();
        centroids = Embeddings::from_rows(d, &rows).expect("rows of width d");
    }
    centroids
}

/// Which lists a scan keeps: the x rows' (`rows`), the y rows' (`cols`) or both. A sharded
/// run wants one side's lists per pass, and the other side may be a whole corpus.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Want {
    pub rows: bool,
    pub cols: bool,
}

impl Want {
    pub const BOTH: Want = Want {
        rows: true,
        cols: true,
    };
}

/// [`super::scan`] restricted to the pairs the partition compares; a side not wanted
/// gets no lists (an empty vector).
#[allow(clippy::too_many_arguments)]
pub(super) fn scan(
    x: &dyn Rows,
    y: &dyn Rows,
    k: usize,
    rank: Rank<'_>,
    part: &Partition,
    want: Want,
    codes: Codes<'_>,
    bar: &dyn crate::observe::Stage,
) -> (Vec<TopK>, Vec<TopK>) {
    let keep = codes.precision().keep(k);
    let lists = scan_lists(x, y, keep, rank, part, want, codes, bar);
    rescored(lists, k, rank, codes, x, y)
}

#[allow(clippy::too_many_arguments)]
fn scan_lists(
    x: &dyn Rows,
    y: &dyn Rows,
    k: usize,
    rank: Rank<'_>,
    part: &Partition,
    want: Want,
    codes: Codes<'_>,
    bar: &dyn crate::observe::Stage,
) -> (Vec<TopK>, Vec<TopK>) {
    let (nx, ny, d) = (x.len(), y.len(), x.dim());
    let (rk, ck) = (if want.rows { k } else { 0 }, if want.cols { k } else { 0 });
    if nx == 0 || ny == 0 || k == 0 {
        let none = |n: usize, k: usize, w: bool| if w { vec![TopK::new(k); n] } else { Vec::new() };
        return (none(nx, rk, want.rows), none(ny, ck, want.cols));
    }
    let lists = part.members.len();
    let groups = rayon::current_num_threads().clamp(1, lists);
    // A side not wanted has one list of none, which every block row (column) shares.
    let (row_lists, col_lists) = (
        if want.rows { nx } else { 1 },
        if want.cols { ny } else { 1 },
    );
    let zeros = vec![0u32; BLOCK_X.max(BLOCK_Y)];
    let parts: Vec<(Vec<TopK>, Vec<TopK>)> = (0..groups)
        .into_par_iter()
        .map(|g| {
            let mut rows = vec![TopK::new(rk); row_lists];
            let mut cols = vec![TopK::new(ck); col_lists];
            let no_col = if want.cols {
                f32::NEG_INFINITY
            } else {
                f32::INFINITY
            };
            let mut col_floor = vec![no_col; col_lists];
            let mut buf = vec![0.0f32; BLOCK_X * BLOCK_Y];
            let mut scores = Vec::with_capacity(BLOCK_Y);
            let (mut xs, mut ys) = (Vec::new(), Vec::new());
            let (mut qxs, mut qys) = (quant::Gathered::default(), quant::Gathered::default());
            // Lists dealt round-robin, so each thread gets large and small ones.
            for c in (g..lists).step_by(groups) {
                let (who, what) = (&part.searchers[c], &part.members[c]);
                if who.is_empty() || what.is_empty() {
                    continue;
                }
                for y_ids in what.chunks(BLOCK_Y) {
                    let qy = match codes {
                        Codes::F32 | Codes::Screened(..) => {
                            gather(y, y_ids, &mut ys);
                            None
                        }
                        Codes::Int8(_, q) => Some(q.gather(y_ids, &mut qys)),
                    };
                    for x_ids in who.chunks(BLOCK_X) {
                        let out = &mut buf[..x_ids.len() * y_ids.len()];
                        match (codes, &qy) {
                            (Codes::Int8(q, _), Some(qy)) => {
                                quant::block(&q.gather(x_ids, &mut qxs), qy, out)
                            }
                            _ => {
                                gather(x, x_ids, &mut xs);
                                kernel::block(&xs, &ys, d, out);
                            }
                        }
                        let lists = Lists {
                            rows: &mut rows,
                            row_slot: if want.rows {
                                x_ids
                            } else {
                                &zeros[..x_ids.len()]
                            },
                            row_id: x_ids,
                            cols: &mut cols,
                            col_floor: &mut col_floor,
                            col_slot: if want.cols {
                                y_ids
                            } else {
                                &zeros[..y_ids.len()]
                            },
                            col_id: y_ids,
                        };
                        offer_block(out, rank, lists, &mut scores);
                    }
                }
                bar.advance(who.len() as u64);
            }
            (rows, cols)
        })
        .collect();
    let mut merged: Option<(Vec<TopK>, Vec<TopK>)> = None;
    for (r, c) in parts {
        match &mut merged {
            None => merged = Some((r, c)),
            Some((ar, ac)) => {
                ar.iter_mut().zip(&r).for_each(|(a, b)| a.merge(b));
                ac.iter_mut().zip(&c).for_each(|(a, b)| a.merge(b));
            }
        }
    }
    let (mut rows, mut cols) = merged.expect("at least one group");
    if !want.rows {
        rows = Vec::new();
    }
    if !want.cols {
        cols = Vec::new();
    }
    (rows, cols)
}

/// Copies rows `ids` of `e` into `out`, contiguous.
fn gather(e: &dyn Rows, ids: &[u32], out: &mut Vec<f32>) {
    out.clear();
    for &i in ids {
        out.extend_from_slice(e.row(i as usize));
    }
}
