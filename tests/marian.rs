//! The built-in Marian translator against transformers' own `MarianTokenizer` and
//! `MarianMTModel.generate` on a tiny model made by scripts/make_tiny_marian.py
//! (tests/fixtures/tiny-marian, with transformers' outputs in reference.json).

mod common;

use bitalign::model::ModelSource;
use bitalign::observe::Silent;
use bitalign::translate::{Search, TranslateOptions, Translator};
use common::{fixtures, repo};
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
        assert_eq!(
            t.encode(&format!(">>fra<< {s}"), None).unwrap().0,
            w,
            "{s:?}"
        );
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
            let got = m
                .step(&mut state, &[token])
                .unwrap()
                .to_vec2::<f32>()
                .unwrap();
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
    let inputs: Vec<Vec<u32>> = sentences
        .iter()
        .map(|s| t.encode(s, None).unwrap().0)
        .collect();
    let d = t.defaults.clone();
    assert_eq!(
        (d.beams, d.max_length),
        (3, 20),
        "generation_config.json read"
    );
    let greedy = Search {
        beams: 1,
        ..d.clone()
    };
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
            batch_size: batch,
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

/// Runs the binary with the translation cache in `cache` and the hub off.
fn bitalign(args: &[&str], cache: &Path, env: &[(&str, &Path)]) -> std::process::Output {
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_bitalign"));
    c.args(args)
        .env("BITALIGN_TRANSLATION_CACHE", cache)
        .env("HF_HUB_OFFLINE", "1")
        .env_remove("BITALIGN_MODEL");
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().unwrap()
}

fn sentences() -> Vec<String> {
    serde_json::from_value(reference()["sentences"].clone()).unwrap()
}

#[test]
fn translate_command_one_line_per_line_all_or_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("in.de");
    let sents = sentences();
    std::fs::write(&input, sents.join("\n").replace('\t', " ") + "\n").unwrap();
    let texts: Vec<String> = common::lines(&input);
    let want = load(&dir())
        .translate(&texts, &TranslateOptions::default(), &Silent)
        .unwrap()
        .lines;
    let out = tmp.path().join("out.fr");
    let cache = tmp.path().join("cache");
    let d = dir();
    let run = |threads: &str, extra: &[&str]| {
        let mut args = vec!["--threads", threads, "translate", input.to_str().unwrap()];
        args.extend([
            "--mt-model",
            d.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ]);
        args.extend(extra);
        bitalign(&args, &cache, &[])
    };
    let o = run("1", &[]);
    assert!(o.status.success(), "{}", common::stderr(&o));
    assert_eq!(common::lines(&out), want);
    // Not replaced without --force; same bytes with 2 threads (and from the cache).
    let o = run("2", &[]);
    assert!(!o.status.success());
    assert!(
        common::stderr(&o).contains("already exists"),
        "{}",
        common::stderr(&o)
    );
    let o = run("2", &["--force", "--batch-size", "2"]);
    assert!(o.status.success(), "{}", common::stderr(&o));
    assert_eq!(common::lines(&out), want);
    let o = run("2", &["--force"]);
    assert!(
        common::stderr(&o).contains("from the cache"),
        "{}",
        common::stderr(&o)
    );
    assert_eq!(common::lines(&out), want);
    // Bad inputs: one line, before any work, nothing written.
    let fresh = tmp.path().join("fresh.fr");
    for (args, says) in [
        (
            vec!["translate", "nope.de", "--mt-model", d.to_str().unwrap()],
            "nope.de: no such file",
        ),
        (
            vec![
                "translate",
                input.to_str().unwrap(),
                "--mt-model",
                "/no/model",
            ],
            "/no/model: no such model directory",
        ),
        (
            vec![
                "translate",
                input.to_str().unwrap(),
                "--mt-model",
                d.to_str().unwrap(),
                "--to",
                "deu",
            ],
            "--to deu",
        ),
        (
            vec![
                "translate",
                input.to_str().unwrap(),
                "--mt-model",
                d.to_str().unwrap(),
                "--beam",
                "0",
            ],
            "--beam",
        ),
        (vec!["translate", input.to_str().unwrap()], "--mt-model"),
    ] {
        let mut args = args.clone();
        args.extend(["--out", fresh.to_str().unwrap()]);
        let o = bitalign(&args, &cache, &[]);
        let err = common::stderr(&o);
        assert!(!o.status.success() && err.contains(says), "{args:?}: {err}");
        assert_eq!(
            err.trim_end()
                .lines()
                .last()
                .unwrap()
                .matches("error:")
                .count(),
            1
        );
        assert!(!fresh.exists());
    }
}

#[test]
fn repo_ids_resolve_through_the_hub_cache() {
    let tmp = tempfile::tempdir().unwrap();
    let repo_dir = tmp.path().join("hub/models--Helsinki-NLP--opus-mt-tiny");
    let commit = "89abcdef0123456789abcdef0123456789abcdef";
    let snap = repo_dir.join("snapshots").join(commit);
    std::fs::create_dir_all(repo_dir.join("refs")).unwrap();
    std::fs::write(repo_dir.join("refs/main"), commit).unwrap();
    std::fs::create_dir_all(&snap).unwrap();
    let files = [
        "config.json",
        "generation_config.json",
        "model.safetensors",
        "source.spm",
        "target.spm",
        "tokenizer_config.json",
        "vocab.json",
    ];
    for f in files {
        std::os::unix::fs::symlink(dir().join(f).canonicalize().unwrap(), snap.join(f)).unwrap();
    }
    let input = tmp.path().join("in.de");
    std::fs::write(
        &input,
        "Die Nordostwand des Kingspitz ist etwa 600 m hoch.\nJa.\n",
    )
    .unwrap();
    let cache = PathBuf::from("off");
    let by_id = bitalign(
        &[
            "translate",
            input.to_str().unwrap(),
            "--mt-model",
            "Helsinki-NLP/opus-mt-tiny",
            "--offline",
        ],
        &cache,
        &[("HF_HOME", tmp.path())],
    );
    assert!(by_id.status.success(), "{}", common::stderr(&by_id));
    let by_dir = bitalign(
        &[
            "translate",
            input.to_str().unwrap(),
            "--mt-model",
            dir().to_str().unwrap(),
        ],
        &cache,
        &[],
    );
    assert_eq!(by_id.stdout, by_dir.stdout);
    assert_eq!(String::from_utf8_lossy(&by_id.stdout).lines().count(), 2);
    // A file missing from the cache: says which, and how to do without the hub.
    std::fs::remove_file(snap.join("source.spm")).unwrap();
    let o = bitalign(
        &[
            "translate",
            input.to_str().unwrap(),
            "--mt-model",
            "Helsinki-NLP/opus-mt-tiny",
        ],
        &cache,
        &[("HF_HOME", tmp.path())],
    );
    let err = common::stderr(&o);
    assert!(!o.status.success());
    assert!(
        err.contains("source.spm is not in the Hugging Face cache")
            && err.contains("--mt-model DIR"),
        "{err}"
    );
}

#[test]
fn align_with_mt_model_uses_its_translations() {
    let tmp = tempfile::tempdir().unwrap();
    let de = repo().join("tests/data/textberg/test2.de");
    let fr = repo().join("tests/data/textberg/test2.fr");
    // A short stretch keeps the test fast.
    let (src, tgt) = (tmp.path().join("a.de"), tmp.path().join("a.fr"));
    let head = |p: &Path, n: usize| common::lines(p)[..n].join("\n") + "\n";
    std::fs::write(&src, head(&de, 12)).unwrap();
    std::fs::write(&tgt, head(&fr, 12)).unwrap();
    let cache = tmp.path().join("cache");
    let model = common::offline_model_dir();
    let mt = dir();
    let args = [
        "align",
        src.to_str().unwrap(),
        tgt.to_str().unwrap(),
        "--presplit",
        "--lang",
        "de,fr",
        "--model",
        model.to_str().unwrap(),
        "--format",
        "jsonl",
        "--mt-model",
        mt.to_str().unwrap(),
        "--beam",
        "1",
    ];
    let o = bitalign(&args, &cache, &[]);
    assert!(o.status.success(), "{}", common::stderr(&o));
    let t = load(&dir());
    let lines = common::lines(&src);
    let opts = TranslateOptions {
        beams: Some(1),
        ..Default::default()
    };
    let want = t.translate(&lines, &opts, &Silent).unwrap().lines;
    let mut checked = 0;
    for rec in String::from_utf8(o.stdout).unwrap().lines() {
        let v: Value = serde_json::from_str(rec).unwrap();
        let idx: Vec<usize> = serde_json::from_value(v["src"]["indices"].clone()).unwrap();
        if idx.len() == 1 && !want[idx[0]].is_empty() {
            assert_eq!(v["translation"].as_str().unwrap(), want[idx[0]]);
            checked += 1;
        }
    }
    assert!(checked > 3, "{checked} links checked");
    // The translation was cached: one file, and --translations with --mt-model is refused.
    assert_eq!(std::fs::read_dir(&cache).unwrap().count(), 1);
    let mut both = args.to_vec();
    both.extend(["--translations", src.to_str().unwrap()]);
    let o = bitalign(&both, &cache, &[]);
    assert!(
        common::stderr(&o).contains("choose one"),
        "{}",
        common::stderr(&o)
    );
}

/// `run --mt-model` translates the source documents once (cached) and uses the result as
/// `--translations` would: mining writes each kept pair's translation, `--mode align` each
/// link's; several language pairs are refused before any model loads.
#[test]
fn run_with_mt_model_mines_and_aligns_with_its_translations() {
    let tmp = tempfile::tempdir().unwrap();
    let de = repo().join("tests/data/textberg/test2.de");
    let fr = repo().join("tests/data/textberg/test2.fr");
    let (src, tgt) = (tmp.path().join("a.de"), tmp.path().join("a.fr"));
    let head = |p: &Path, n: usize| common::lines(p)[..n].join("\n") + "\n";
    std::fs::write(&src, head(&de, 10)).unwrap();
    std::fs::write(&tgt, head(&fr, 10)).unwrap();
    let cache = tmp.path().join("cache");
    let model = common::offline_model_dir();
    let mt = dir();
    let t = load(&dir());
    let opts = TranslateOptions {
        beams: Some(1),
        ..Default::default()
    };
    let want = t
        .translate(&common::lines(&src), &opts, &Silent)
        .unwrap()
        .lines;
    for mode in ["max", "align"] {
        let out = tmp.path().join(mode);
        let o = bitalign(
            &[
                "run",
                src.to_str().unwrap(),
                tgt.to_str().unwrap(),
                "--presplit",
                "--model",
                model.to_str().unwrap(),
                "--mode",
                mode,
                "--min-confidence",
                "0",
                "--mt-model",
                mt.to_str().unwrap(),
                "--beam",
                "1",
                "--out",
                out.to_str().unwrap(),
                "-q",
            ],
            &cache,
            &[("BITALIGN_EMBED_CACHE", Path::new("off"))],
        );
        assert!(o.status.success(), "{mode}: {}", common::stderr(&o));
        let text = std::fs::read_to_string(out.join("de-fr.jsonl")).unwrap();
        let mut checked = 0;
        for rec in text.lines() {
            let v: Value = serde_json::from_str(rec).unwrap();
            let idx: Vec<usize> = serde_json::from_value(v["src"]["indices"].clone()).unwrap();
            if idx.len() == 1 && !want[idx[0]].is_empty() {
                assert_eq!(v["translation"].as_str().unwrap(), want[idx[0]], "{mode}");
                checked += 1;
            }
        }
        assert!(checked >= 3, "{mode}: {checked} records checked");
        let manifest: Value =
            serde_json::from_str(&std::fs::read_to_string(out.join("run.json")).unwrap()).unwrap();
        let used = &manifest["params"]["translations"][0];
        assert_eq!(
            used["file"].as_str().unwrap(),
            format!("mt-model:{}", mt.display())
        );
    }
    // Translated once: the second run read the cache.
    assert_eq!(std::fs::read_dir(&cache).unwrap().count(), 1);
    // One model translates one direction: three languages are refused up front.
    let en = tmp.path().join("a.en");
    std::fs::write(&en, "One.\n").unwrap();
    let o = bitalign(
        &[
            "run",
            src.to_str().unwrap(),
            tgt.to_str().unwrap(),
            en.to_str().unwrap(),
            "--presplit",
            "--model",
            "no/such-model",
            "--mt-model",
            mt.to_str().unwrap(),
            "--out",
            tmp.path().join("three").to_str().unwrap(),
        ],
        &cache,
        &[],
    );
    let err = common::stderr(&o);
    assert!(!o.status.success());
    assert!(
        err.contains("translates one direction") && err.contains("--pairs"),
        "{err}"
    );
}
