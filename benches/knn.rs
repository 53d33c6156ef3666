//! The similarity kernel and k-NN: the hot path of mining. Sizes are a news-sized pair
//! (2k × 2k) and a larger one (10k × 10k), at e5-small's width of 384.

use bitalign::embed::Embeddings;
use bitalign::observe::NoStage;
use bitalign::score::{knn, similarity_block, Knn, Precision, Score, Scorer};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use std::hint::black_box;

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

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("knn");
    g.sample_size(10);
    for n in [2_000usize, 10_000] {
        let x = unit_rows(n, 384, 1);
        let y = unit_rows(n, 384, 2);
        // Throughput in similarity pairs per second.
        g.throughput(Throughput::Elements((n * n) as u64));
        g.bench_with_input(BenchmarkId::new("kernel_only_one_thread", n), &n, |b, _| {
            let mut out = vec![0.0f32; 64 * 512];
            b.iter(|| {
                for x0 in (0..n).step_by(64) {
                    for y0 in (0..n).step_by(512) {
                        let (x1, y1) = ((x0 + 64).min(n), (y0 + 512).min(n));
                        let o = &mut out[..(x1 - x0) * (y1 - y0)];
                        similarity_block(&x, x0..x1, &y, y0..y1, o);
                    }
                }
                black_box(&out);
            })
        });
        g.bench_with_input(BenchmarkId::new("knn_k4_both_ways", n), &n, |b, _| {
            b.iter(|| black_box(knn(&x, &y, 4)))
        });
        g.bench_with_input(BenchmarkId::new("knn_k4_both_ways_int8", n), &n, |b, _| {
            b.iter(|| {
                let s = Scorer::searched(
                    &x,
                    &y,
                    4,
                    Score::Cosine,
                    &Knn::Exact,
                    Precision::Int8,
                    &NoStage,
                );
                black_box((s.fwd, s.bwd))
            })
        });
        g.bench_with_input(BenchmarkId::new("margin_best_both_ways", n), &n, |b, _| {
            let s = Scorer::new(&x, &y, 4, Score::Margin);
            b.iter(|| black_box(s.best(&x, &y)))
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
