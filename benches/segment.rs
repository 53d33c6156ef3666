//! Segmenter throughput on the demo articles (repeated to ~1 MB per language), so that
//! "fast" is a number: `cargo bench --bench segment`.

use bitalign::segment::{line_spans, Segmenter};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("segment");
    for lang in ["en", "vi", "id"] {
        let path = format!(
            "{}/data/demo/karabakh.{lang}.txt",
            env!("CARGO_MANIFEST_DIR")
        );
        let one = std::fs::read_to_string(&path).expect("demo article");
        let text = vec![one.as_str(); 1_000_000 / one.len() + 1].join("\n\n");
        g.throughput(Throughput::Bytes(text.len() as u64));
        let seg = Segmenter::new(lang);
        g.bench_with_input(BenchmarkId::new("rules", lang), &text, |b, t| {
            b.iter(|| seg.spans(t))
        });
        g.bench_with_input(BenchmarkId::new("presplit", lang), &text, |b, t| {
            b.iter(|| line_spans(t))
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
