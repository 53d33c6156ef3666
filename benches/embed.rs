//! The hot parts of embedding, on the offline model (`scripts/fetch-offline-model.sh`, or
//! `BITALIGN_TEST_MODEL=DIR`): tokenization, one encoder layer (our ragged encoder), and
//! pooling + normalisation. `cargo bench --bench embed`. Whole-corpus throughput against
//! the machine's peak is `bitalign bench`; other engines: `scripts/bench-compare.sh`.

use bitalign::model::ragged::Workspace;
use bitalign::model::{Encoder, Model, ModelSource};
use bitalign::observe::Silent;
use candle_core::{Device, Tensor};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use std::path::PathBuf;

fn model() -> Option<Model> {
    let dir = std::env::var_os("BITALIGN_TEST_MODEL")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models/multilingual-e5-small-q4")
        });
    if !dir.join("model.safetensors").is_file() {
        eprintln!(
            "benches/embed: no model at {} (scripts/fetch-offline-model.sh); skipped",
            dir.display()
        );
        return None;
    }
    Some(Model::load(&ModelSource::new(dir.display().to_string()), &Silent).expect("model loads"))
}

fn sentences() -> Vec<String> {
    let text = include_str!("../data/bench/tatoeba.vie.txt");
    text.lines()
        .take(256)
        .map(|l| format!("passage: {l}"))
        .collect()
}

fn bench(c: &mut Criterion) {
    let Some(model) = model() else { return };
    let texts = sentences();

    let mut g = c.benchmark_group("tokenize");
    g.throughput(Throughput::Elements(texts.len() as u64));
    g.bench_function("encode_batch_256", |b| {
        b.iter(|| model.tokenizer.encode_batch(texts.clone(), true).unwrap())
    });
    g.finish();

    let encs = model.tokenizer.encode_batch(texts.clone(), true).unwrap();
    let Encoder::Ragged(enc) = &model.encoder else {
        panic!("the offline model should run on the ragged encoder")
    };
    let mut g = c.benchmark_group("encoder_layer");
    for batch in [8usize, 32, 128] {
        let seqs: Vec<&[u32]> = encs.iter().take(batch).map(|e| e.get_ids()).collect();
        let lens: Vec<usize> = seqs.iter().map(|s| s.len()).collect();
        let tokens: usize = lens.iter().sum();
        let x0 = enc.embed_tokens(&seqs);
        let mut ws = Workspace::new(&enc.cfg, &lens);
        g.throughput(Throughput::Elements(tokens as u64));
        g.bench_with_input(BenchmarkId::new("sentences", batch), &batch, |b, _| {
            b.iter_batched_ref(
                || x0.clone(),
                |x| enc.layer(0, x, &lens, &mut ws),
                criterion::BatchSize::SmallInput,
            )
        });
    }
    g.finish();

    let mut g = c.benchmark_group("pooling");
    let (batch, len, h) = (32usize, 24usize, model.info.hidden_size);
    let hidden = Tensor::from_vec(
        (0..batch * len * h)
            .map(|i| (i % 97) as f32 / 97.0)
            .collect::<Vec<f32>>(),
        (batch, len, h),
        &Device::Cpu,
    )
    .unwrap();
    let mask: Vec<u32> = (0..batch * len)
        .map(|i| u32::from(i % len < 8 + i / len % 16))
        .collect();
    let mask = Tensor::from_vec(mask, (batch, len), &Device::Cpu).unwrap();
    g.throughput(Throughput::Elements(batch as u64));
    g.bench_function("candle_padded_32x24", |b| {
        b.iter(|| model.pipeline.apply(&hidden, &mask).unwrap())
    });
    let lens: Vec<usize> = (0..batch).map(|r| 8 + r % 16).collect();
    let packed: Vec<f32> = (0..lens.iter().sum::<usize>() * h)
        .map(|i| (i % 97) as f32 / 97.0)
        .collect();
    g.bench_function("packed_32x24", |b| {
        b.iter(|| {
            model
                .pipeline
                .apply_packed(&packed, &lens, h, &Device::Cpu)
                .unwrap()
        })
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = bench
}
criterion_main!(benches);
