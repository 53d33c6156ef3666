//! Tiny random-weight models made with sentence-transformers (scripts/make_tiny_models.py):
//! every architecture and pooling path must reproduce ST's own embeddings.

mod common;

use bitalign::model::{Encoder, Engine};
use common::*;

#[test]
fn every_tiny_model_matches_sentence_transformers() {
    let root = fixtures().join("tiny");
    let sentences = lines(&root.join("sentences.txt"));
    let mut checked = Vec::new();
    for entry in std::fs::read_dir(&root).unwrap() {
        let dir = entry.unwrap().path();
        if !dir.join("expected.npy").is_file() {
            continue;
        }
        // Both encoder implementations: ours (the default) and candle-transformers'.
        for engine in [Engine::Native, Engine::Candle] {
            let embedder = load_with(&dir, Some(""), 8, engine);
            let ragged = matches!(embedder.model().encoder, Encoder::Ragged(_));
            assert_eq!(
                ragged,
                engine == Engine::Native,
                "{}: {engine:?} not used",
                dir.display()
            );
            let expected =
                bitalign::embed::Embeddings::read_npy(&dir.join("expected.npy")).unwrap();

            let tokens = token_fixture(&dir.join("expected-tokens.jsonl"));
            for (s, want) in sentences.iter().zip(&tokens) {
                let enc = embedder.model().tokenizer.encode(s.as_str(), true).unwrap();
                assert_eq!(
                    enc.get_ids(),
                    &want[..],
                    "{}: token ids differ for {s:?}",
                    dir.display()
                );
            }

            let got = embedder.embed(&sentences, &quiet()).unwrap();
            let diff = max_abs_diff(&got, &expected);
            assert!(
                diff <= 1e-4,
                "{} ({engine:?}): max abs difference {diff} > 1e-4",
                dir.display()
            );
        }
        checked.push(dir.file_name().unwrap().to_string_lossy().into_owned());
    }
    checked.sort();
    for must in [
        "bert-mean",
        "bert-cls-dense",
        "bert-max",
        "xlmr-mean",
        "xlmr-cls-dense",
    ] {
        assert!(
            checked.iter().any(|c| c == must),
            "fixture {must} missing; checked {checked:?}"
        );
    }
}
