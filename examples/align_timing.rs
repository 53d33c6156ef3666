//! Time and memory of the aligner alone (after embedding) at 1k, 10k and 50k sentences a
//! side, on synthetic overlap embeddings with a known alignment (1-1 links with noise,
//! 1-2/2-1 splits and insertions), so the linear-time claim is measured, not asserted.
//!
//!     cargo run --release --example align_timing [-- 1000 10000 50000] [--adapt 0] [--moved off]

use bitalign::align::{align, AlignParams, DocView, OverlapIndex, SentenceFacts};
use bitalign::embed::Embeddings;
use bitalign::eval::align::{score, GoldLink};
use std::time::Instant;

const DIM: usize = 384;

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut x = self.0;
        x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        x ^ (x >> 31)
    }
    fn unit(&mut self) -> f32 {
        (self.next() >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0
    }
    fn vec(&mut self) -> Vec<f32> {
        (0..DIM).map(|_| self.unit()).collect()
    }
}

fn normalise(v: &mut [f32]) {
    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    v.iter_mut().for_each(|x| *x /= n);
}

/// Sentence vectors (unnormalised sums) of both sides and the gold links.
fn synth(n: usize, rng: &mut Rng) -> (Vec<Vec<f32>>, Vec<Vec<f32>>, Vec<GoldLink>) {
    let (mut s, mut t, mut gold) = (Vec::new(), Vec::new(), Vec::new());
    let noisy =
        |c: &[f32], rng: &mut Rng| -> Vec<f32> { c.iter().map(|x| x + 0.8 * rng.unit()).collect() };
    while s.len() < n {
        let (i, j) = (s.len(), t.len());
        match rng.next() % 20 {
            0 => {
                let (a, b) = (rng.vec(), rng.vec());
                let ab: Vec<f32> = a.iter().zip(&b).map(|(x, y)| x + y).collect();
                s.push(noisy(&ab, rng));
                t.push(noisy(&a, rng));
                t.push(noisy(&b, rng));
                gold.push((vec![i], vec![j, j + 1]));
            }
            1 => {
                let (a, b) = (rng.vec(), rng.vec());
                let ab: Vec<f32> = a.iter().zip(&b).map(|(x, y)| x + y).collect();
                s.push(noisy(&a, rng));
                s.push(noisy(&b, rng));
                t.push(noisy(&ab, rng));
                gold.push((vec![i, i + 1], vec![j]));
            }
            2 => {
                t.push(rng.vec());
                gold.push((vec![], vec![j]));
            }
            _ => {
                let a = rng.vec();
                s.push(noisy(&a, rng));
                t.push(noisy(&a, rng));
                gold.push((vec![i], vec![j]));
            }
        }
    }
    (s, t, gold)
}

/// Overlap rows of one side stacked size by size (as `OverlapIndex::stacked` expects).
fn overlaps(sents: &[Vec<f32>], k: usize, out: &mut Vec<f32>) {
    for size in 1..=k {
        for start in 0..sents.len().saturating_sub(size - 1) {
            let mut v = vec![0f32; DIM];
            for s in &sents[start..start + size] {
                v.iter_mut().zip(s).for_each(|(a, b)| *a += b);
            }
            normalise(&mut v);
            out.extend_from_slice(&v);
        }
    }
}

/// User + system CPU seconds of this process so far (all threads), from /proc/self/stat:
/// on a shared machine wall time says more about the neighbours than about us.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the parenthesised command name; utime and stime are the 12th and 13th.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<f64> = rest
        .split_whitespace()
        .skip(11)
        .take(2)
        .filter_map(|x| x.parse().ok())
        .collect();
    f.iter().sum::<f64>() / 100.0
}

fn rss_mib(key: &str) -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with(key))
        .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        .map(|kb| kb / 1024.0)
        .unwrap_or(f64::NAN)
}

fn main() -> anyhow::Result<()> {
    // Sizes as arguments; `--adapt W` sets the per-document price's weight (0 = one pass;
    // default: the library's); `--moved off` skips the moved-block pass.
    let mut p = AlignParams::default();
    let mut sizes = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        if a == "--adapt" {
            p.adapt = args.next().unwrap_or_default().parse()?;
        } else if a == "--moved" {
            anyhow::ensure!(args.next().as_deref() == Some("off"), "--moved off");
            p.moved = None;
        } else {
            sizes.push(a.parse::<usize>()?);
        }
    }
    if sizes.is_empty() {
        sizes = vec![1000, 10_000, 50_000];
    }
    println!(
        "threads {}, max_size {}, max_overlap {}, coarse_size {}, band {}, adapt {}, moved {:?}",
        rayon::current_num_threads(),
        p.max_size,
        p.max_overlap,
        p.coarse_size,
        p.band,
        p.adapt,
        p.moved
    );
    for n in sizes {
        let mut rng = Rng(n as u64);
        let (s, t, gold) = synth(n, &mut rng);
        let k = p.max_overlap;
        let mut data = Vec::new();
        overlaps(&s, k, &mut data);
        let src_rows = data.len() / DIM;
        overlaps(&t, k, &mut data);
        let emb = Embeddings::new(DIM, data)?;
        let src = OverlapIndex::stacked(s.len(), k, 0);
        let tgt = OverlapIndex::stacked(t.len(), k, src_rows);
        let sc = SentenceFacts::from_lengths(&vec![100; s.len()]);
        let tc = SentenceFacts::from_lengths(&vec![100; t.len()]);
        drop((s, t));
        let before = rss_mib("VmRSS:");
        // Reset the peak so that it measures the aligner (Linux: "5" clears VmHWM).
        let _ = std::fs::write("/proc/self/clear_refs", "5");
        let c0 = cpu_seconds();
        let t0 = Instant::now();
        let links = align(
            &emb,
            DocView {
                index: &src,
                facts: &sc,
            },
            DocView {
                index: &tgt,
                facts: &tc,
            },
            &p,
        )?;
        let secs = t0.elapsed().as_secs_f64();
        let cpu = cpu_seconds() - c0;
        let peak = rss_mib("VmHWM:");
        let test: Vec<GoldLink> = links
            .iter()
            .map(|l| (l.src.clone().collect(), l.tgt.clone().collect()))
            .collect();
        let sc = score(&gold, &test);
        println!(
            "{n:>6} x {:>6} sentences: align {secs:.2} s wall, {cpu:.2} s CPU; peak RSS {peak:.0} MiB \
             (embeddings and inputs {before:.0} MiB); strict F1 {:.3}",
            tgt.len(),
            sc.f1_strict
        );
    }
    Ok(())
}
