//! Helpers shared by the integration tests.
#![allow(dead_code)]

use bitalign::embed::{Embedder, Embeddings};
use bitalign::model::{Engine, Model, ModelSource};
use bitalign::observe::Silent;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A command's stderr as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Path of the demo article in `lang` (en, vi, id).
pub fn demo(lang: &str) -> String {
    repo()
        .join(format!("data/demo/karabakh.{lang}.txt"))
        .display()
        .to_string()
}

pub fn fixtures() -> PathBuf {
    repo().join("tests/fixtures")
}

pub fn quiet() -> Silent {
    Silent
}

/// The converted offline model (`scripts/fetch-offline-model.sh`), or `BITALIGN_TEST_MODEL`.
/// A missing model fails the test: these tests must never pass by not running.
pub fn offline_model_dir() -> PathBuf {
    let dir = std::env::var_os("BITALIGN_TEST_MODEL")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("models/multilingual-e5-small-q4"));
    assert!(
        dir.join("model.safetensors").is_file(),
        "the offline model is missing at {}: run scripts/fetch-offline-model.sh first",
        dir.display()
    );
    dir
}

pub fn load(dir: &Path, prefix: Option<&str>, batch: usize) -> Embedder {
    load_with(dir, prefix, batch, Engine::default())
}

/// As [`load`], with the encoder implementation chosen.
pub fn load_with(dir: &Path, prefix: Option<&str>, batch: usize, engine: Engine) -> Embedder {
    let model = Model::load_with(
        &ModelSource::new(dir.display().to_string()),
        engine,
        bitalign::model::Quantize::None,
        &quiet(),
    )
    .unwrap_or_else(|e| panic!("{}: {e:#}", dir.display()));
    Embedder::new(model, prefix.map(str::to_string), batch).unwrap()
}

pub fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .map(str::to_string)
        .collect()
}

pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na: f32 = a.iter().map(|x| x * x).sum::<f32>().sqrt();
    let nb: f32 = b.iter().map(|x| x * x).sum::<f32>().sqrt();
    dot / (na * nb)
}

pub fn max_abs_diff(a: &Embeddings, b: &Embeddings) -> f32 {
    assert_eq!((a.len(), a.dim()), (b.len(), b.dim()), "shapes differ");
    a.as_slice()
        .iter()
        .zip(b.as_slice())
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

/// Token ids per line of a `*tokens.jsonl` fixture (`{"ids": [...]}` objects).
pub fn token_fixture(path: &Path) -> Vec<Vec<u32>> {
    lines(path)
        .iter()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            v["ids"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_u64().unwrap() as u32)
                .collect()
        })
        .collect()
}

/// Runs the binary with the offline model as the default model and the hub switched off.
pub fn bitalign_offline(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_bitalign"))
        .args(args)
        .env("BITALIGN_MODEL", offline_model_dir())
        .env("HF_HUB_OFFLINE", "1")
        // Every run embeds (tests of thread- and shard-independence must not read back
        // an earlier run's vectors); the cache has its own test.
        .env("BITALIGN_EMBED_CACHE", "off")
        .output()
        .expect("run bitalign")
}

/// A `.npy` version 1.0 header for `descr` (e.g. `<f4`), C or Fortran order and `shape`
/// (a Python tuple), padded as NumPy pads it; the body follows.
pub fn npy_header(descr: &str, fortran: bool, shape: &str) -> Vec<u8> {
    let dict = format!(
        "{{'descr': '{descr}', 'fortran_order': {}, 'shape': {shape}, }}",
        if fortran { "True" } else { "False" }
    );
    let mut h = dict.into_bytes();
    while !(10 + h.len() + 1).is_multiple_of(64) {
        h.push(b' ');
    }
    h.push(b'\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend((h.len() as u16).to_le_bytes());
    out.extend(h);
    out
}
