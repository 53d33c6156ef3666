//! The built-in Marian translator against transformers' own `MarianTokenizer` and
//! `MarianMTModel.generate` on a tiny model made by scripts/make_tiny_marian.py
//! (tests/fixtures/tiny-marian, with transformers' outputs in reference.json).

mod common;

use bitalign::model::ModelSource;
use bitalign::observe::Silent;
use bitalign::translate::{Search, TranslateOptions, Translator};
use common::fixtures;
use serde_json::Value;
use std::path::{Path, PathBuf};

fn dir() -> PathBuf {
    fixtures().join("tiny-marian")
}

fn reference() -> Value {
    let text = std::fs::read_to_string(dir().join("reference.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn ids(v: &Value) -> Vec<Vec<u32>> {
    serde_json::from_value(v.clone()).unwrap()
}

fn load(path: &Path) -> Translator {
    Translator::load(&ModelSource::new(path.to_str().unwrap()), &Silent).unwrap()
}

#[test]
fn token_ids_match_marian_tokenizer() {
    let t = load(&dir());
    let r = reference();
    let sentences: Vec<String> = serde_json::from_value(r["sentences"].clone()).unwrap();
    let want = ids(&r["ids"]);
    for (s, w) in sentences.iter().zip(&want) {
        assert_eq!(&t.encode(s, None).unwrap().0, w, "{s:?}");
    }
    // The long sentence is cut to the tokenizer's model_max_length, end token kept.
    let (long, cut) = t.encode(sentences.last().unwrap(), None).unwrap();
    assert!(cut);
    assert_eq!(long.len(), t.max_input);
    // A target-language token written in the text, as users of multilingual models do.
    for (s, w) in sentences.iter().zip(ids(&r["ids_fra"])) {
        assert_eq!(t.encode(&format!(">>fra<< {s}"), None).unwrap().0, w, "{s:?}");
        assert_eq!(t.encode(s, Some("fra")).unwrap().0, w, "{s:?}");
    }
    let decode: Vec<u32> = serde_json::from_value(r["decode_ids"].clone()).unwrap();
    assert_eq!(t.decode(&decode), r["decode_text"].as_str().unwrap());
}

#[test]
fn first_decoding_steps_logits_within_1e_4() {
    let t = load(&dir());
    let r = reference();
    let sentences: Vec<String> = serde_json::from_value(r["sentences"].clone()).unwrap();
    let logits: Vec<Vec<Vec<f32>>> = serde_json::from_value(r["logits"].clone()).unwrap();
    let m = t.marian();
    let mut worst = 0f32;
    for (s, steps) in sentences.iter().zip(&logits) {
        let (input, _) = t.encode(s, None).unwrap();
        let mut state = m.encode(&[input]).unwrap();
        let mut token = m.config.decoder_start_token_id;
        for want in steps {
            let got = m.step(&mut state, &[token]).unwrap().to_vec2::<f32>().unwrap();
            assert_eq!(got[0].len(), want.len());
            for (a, b) in got[0].iter().zip(want) {
                worst = worst.max((a - b).abs());
            }
            // Greedy's choice (the pad token is a bad word), as the reference decoded.
            token = want
                .iter()
                .enumerate()
                .filter(|&(i, _)| i as u32 != m.config.pad_token_id)
                .max_by(|a, b| a.1.total_cmp(b.1).then(b.0.cmp(&a.0)))
                .unwrap()
                .0 as u32;
        }
    }
    assert!(worst < 1e-4, "largest logit difference {worst}");
}

#[test]
fn greedy_and_beam_ids_match_generate() {
    let t = load(&dir());
    let r = reference();
    let sentences: Vec<String> = serde_json::from_value(r["sentences"].clone()).unwrap();
    let inputs: Vec<Vec<u32>> = sentences.iter().map(|s| t.encode(s, None).unwrap().0).collect();
    let d = t.defaults.clone();
    assert_eq!((d.beams, d.max_length), (3, 20), "generation_config.json read");
    let greedy = Search { beams: 1, ..d.clone() };
    // One padded batch, as the reference ran it, and one sentence at a time.
    assert_eq!(t.generate(&inputs, &greedy).unwrap(), ids(&r["greedy"]));
    assert_eq!(t.generate(&inputs, &d).unwrap(), ids(&r["beam"]));
    for (i, input) in inputs.iter().enumerate() {
        let one = t.generate(std::slice::from_ref(input), &d).unwrap();
        assert_eq!(one[0], ids(&r["beam"])[i], "sentence {i} alone");
    }
    let beam5 = Search {
        beams: 5,
        length_penalty: 0.6,
        ..d.clone()
    };
    assert_eq!(t.generate(&inputs, &beam5).unwrap(), ids(&r["beam5_lp06"]));
}

#[test]
fn translate_matches_batch_decode_whatever_the_batch() {
    let t = load(&dir());
    let r = reference();
    let sentences: Vec<String> = serde_json::from_value(r["sentences"].clone()).unwrap();
    let want: Vec<String> = serde_json::from_value(r["beam_text"].clone()).unwrap();
    for batch in [1, 3, 16] {
        let opts = TranslateOptions {
            batch,
            ..Default::default()
        };
        let got = t.translate(&sentences, &opts, &Silent).unwrap();
        for (i, s) in sentences.iter().enumerate() {
            if s.trim().is_empty() {
                // A blank line stays blank (the model is not asked).
                assert_eq!(got.lines[i], "");
            } else {
                assert_eq!(got.lines[i], want[i], "sentence {i}, batch {batch}");
            }
        }
    }
}
