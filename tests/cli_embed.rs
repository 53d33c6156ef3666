//! `bitalign embed` end to end: outputs, the hub cache layout, offline mode, thread-count
//! independence, and one-line errors for broken models.

mod common;

use bitalign::embed::Embeddings;
use common::*;
use std::path::Path;
use std::process::{Command, Output};

fn bitalign(args: &[&str], env: &[(&str, &Path)]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_bitalign"));
    c.args(args)
        .env_remove("HF_HUB_OFFLINE")
        .env_remove("BITALIGN_MODEL");
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn demo() -> Vec<String> {
    ["en", "vi", "id"]
        .map(|l| {
            repo()
                .join(format!("data/demo/karabakh.{l}.txt"))
                .display()
                .to_string()
        })
        .to_vec()
}

#[test]
fn embed_writes_sentences_npy_and_raw_and_is_thread_count_independent() {
    let model = offline_model_dir();
    let dir = tempfile::tempdir().unwrap();
    let mut outs = Vec::new();
    for threads in ["1", "2"] {
        let out = dir.path().join(format!("t{threads}"));
        let mut args = vec![
            "-q",
            "--threads",
            threads,
            "embed",
            "--model",
            model.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ];
        let files = demo();
        args.extend(files.iter().map(String::as_str));
        let o = bitalign(&args, &[]);
        assert!(o.status.success(), "{}", stderr(&o));
        outs.push(out);
    }
    for l in ["en", "vi", "id"] {
        let a = Embeddings::read_npy(&outs[0].join(format!("karabakh.{l}.npy"))).unwrap();
        let b = Embeddings::read_npy(&outs[1].join(format!("karabakh.{l}.npy"))).unwrap();
        assert!(max_abs_diff(&a, &b) <= 1e-5, "{l}: 1 vs 2 threads differ");
        let sentences = lines(&outs[0].join(format!("karabakh.{l}.sentences.txt")));
        assert_eq!(sentences.len(), a.len());
        assert_eq!(a.dim(), 384);
        let raw = std::fs::read(outs[0].join(format!("karabakh.{l}.f32"))).unwrap();
        assert_eq!(raw.len(), a.len() * a.dim() * 4);
        assert_eq!(
            f32::from_le_bytes(raw[..4].try_into().unwrap()),
            a.row(0)[0]
        );
    }
    let meta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(outs[0].join("embed.json")).unwrap())
            .unwrap();
    assert_eq!(meta["model"], "intfloat/multilingual-e5-small");
    assert_eq!(meta["prefix"], "passage: ");
    // Refuses to overwrite without --force.
    let o = bitalign(
        &[
            "-q",
            "embed",
            "--model",
            model.to_str().unwrap(),
            "--out",
            outs[0].to_str().unwrap(),
            &demo()[0],
        ],
        &[],
    );
    assert!(!o.status.success());
    assert!(stderr(&o).contains("already exists"), "{}", stderr(&o));
}

/// A hub cache (`HF_HOME/hub/models--org--name/{refs,snapshots}`) as hf-hub and the Python
/// client write it, filled with the converted model's files.
fn fake_hub_cache(model: &Path, files: &[&str]) -> tempfile::TempDir {
    let home = tempfile::tempdir().unwrap();
    let repo = home
        .path()
        .join("hub/models--intfloat--multilingual-e5-small");
    let commit = "0123456789abcdef0123456789abcdef01234567";
    let snap = repo.join("snapshots").join(commit);
    std::fs::create_dir_all(repo.join("refs")).unwrap();
    std::fs::write(repo.join("refs/main"), commit).unwrap();
    for f in files {
        let dst = snap.join(f);
        std::fs::create_dir_all(dst.parent().unwrap()).unwrap();
        std::os::unix::fs::symlink(model.join(f).canonicalize().unwrap(), &dst).unwrap();
    }
    home
}

const MODEL_FILES: &[&str] = &[
    "config.json",
    "model.safetensors",
    "tokenizer.json",
    "tokenizer_config.json",
    "modules.json",
    "1_Pooling/config.json",
    "sentence_bert_config.json",
    "config_sentence_transformers.json",
];

#[test]
fn repo_ids_resolve_through_the_hub_cache_offline() {
    let model = offline_model_dir();
    let home = fake_hub_cache(&model, MODEL_FILES);
    let input = fixtures().join("tiny/sentences.txt");
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("hub"), dir.path().join("dir"));
    let o = bitalign(
        &[
            "-q",
            "embed",
            "--presplit",
            "--offline",
            "--model",
            "intfloat/multilingual-e5-small",
            "--out",
            a.to_str().unwrap(),
            input.to_str().unwrap(),
        ],
        &[("HF_HOME", home.path())],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let o = bitalign(
        &[
            "-q",
            "embed",
            "--presplit",
            "--model",
            model.to_str().unwrap(),
            "--out",
            b.to_str().unwrap(),
            input.to_str().unwrap(),
        ],
        &[],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let x = Embeddings::read_npy(&a.join("sentences.npy")).unwrap();
    let y = Embeddings::read_npy(&b.join("sentences.npy")).unwrap();
    assert_eq!(x, y);

    // A file missing from the cache, offline: says so, names the way out.
    let partial = fake_hub_cache(
        &model,
        &["modules.json", "1_Pooling/config.json", "config.json"],
    );
    let o = embed_repo_id(
        &[
            ("HF_HOME", partial.path()),
            ("HF_HUB_OFFLINE", Path::new("1")),
        ],
        &dir.path().join("x"),
    );
    let err = one_line_error(&o);
    assert!(
        err.contains("not in the Hugging Face cache") && err.contains("--model DIR"),
        "{err}"
    );
}

/// `embed` of the tiny sentences with the default repo id, in the given environment.
fn embed_repo_id(env: &[(&str, &Path)], out: &Path) -> Output {
    let input = fixtures().join("tiny/sentences.txt");
    let args = [
        "-q",
        "embed",
        "--presplit",
        "--model",
        "intfloat/multilingual-e5-small",
        "--out",
    ];
    let mut args: Vec<&str> = args.to_vec();
    args.extend([out.to_str().unwrap(), input.to_str().unwrap()]);
    bitalign(&args, env)
}

/// The run failed with exit code 1 and one line on stderr, which is returned.
fn one_line_error(o: &Output) -> String {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.starts_with("error: "), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "not one line: {err}");
    err
}

#[test]
fn an_unreachable_hub_is_named_with_the_way_out() {
    let home = tempfile::tempdir().unwrap();
    // Port 9 on loopback: nothing listens, the connection is refused at once.
    let env = [
        ("HF_HOME", home.path()),
        ("HF_ENDPOINT", Path::new("http://127.0.0.1:9")),
    ];
    let err = one_line_error(&embed_repo_id(&env, &home.path().join("o")));
    assert!(
        err.contains("unreachable") && err.contains("fetch-offline-model.sh"),
        "{err}"
    );
}

/// Copies a tiny model, breaks one thing, and expects one line naming the file.
#[test]
fn broken_models_get_one_line_errors_naming_the_file() {
    let src = fixtures().join("tiny/bert-mean");
    let input = fixtures().join("tiny/sentences.txt");
    type Break = fn(&Path);
    let cases: &[(&str, Break, &str)] = &[
        (
            "missing weights",
            |d| std::fs::remove_file(d.join("model.safetensors")).unwrap(),
            "model.safetensors",
        ),
        (
            "truncated weights",
            |d| {
                let p = d.join("model.safetensors");
                let b = std::fs::read(&p).unwrap();
                std::fs::write(&p, &b[..b.len() / 2]).unwrap();
            },
            "model.safetensors",
        ),
        (
            "corrupt tokenizer",
            |d| std::fs::write(d.join("tokenizer.json"), "{\"version\": ").unwrap(),
            "tokenizer.json",
        ),
        (
            "unknown architecture",
            |d| {
                let p = d.join("config.json");
                let s = std::fs::read_to_string(&p)
                    .unwrap()
                    .replace("\"bert\"", "\"gpt2\"");
                std::fs::write(&p, s).unwrap();
            },
            "model_type 'gpt2' is not supported",
        ),
        (
            "unreadable modules.json",
            |d| std::fs::write(d.join("modules.json"), "[{\"path\": ").unwrap(),
            "modules.json",
        ),
        (
            "unknown module",
            |d| {
                let p = d.join("modules.json");
                let s = std::fs::read_to_string(&p)
                    .unwrap()
                    .replace("models.Pooling", "models.WeightedLayerPooling");
                std::fs::write(&p, s).unwrap();
            },
            "WeightedLayerPooling",
        ),
    ];
    for (what, breaker, expect) in cases {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("model");
        copy_dir(&src, &dir);
        breaker(&dir);
        let o = bitalign(
            &[
                "-q",
                "embed",
                "--presplit",
                "--model",
                dir.to_str().unwrap(),
                "--out",
                tmp.path().join("o").to_str().unwrap(),
                input.to_str().unwrap(),
            ],
            &[],
        );
        let err = one_line_error(&o);
        assert!(
            err.contains(expect),
            "{what}: expected {expect:?} in {err:?}"
        );
        assert!(
            !tmp.path().join("o").join("sentences.npy").exists(),
            "{what}: output written despite the error"
        );
    }
    let o = bitalign(
        &[
            "-q",
            "embed",
            "--presplit",
            "--model",
            "./no/such/dir",
            "--out",
            "/tmp/x",
            input.to_str().unwrap(),
        ],
        &[],
    );
    assert!(
        stderr(&o).contains("./no/such/dir: no such model directory"),
        "{}",
        stderr(&o)
    );
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &to.join(e.file_name()));
        } else {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

#[test]
fn int8_embeddings_are_thread_count_independent_and_near_f32() {
    let model = offline_model_dir();
    let dir = tempfile::tempdir().unwrap();
    let mut outs = Vec::new();
    for (threads, quantize) in [("1", "q8"), ("2", "q8"), ("2", "none")] {
        let out = dir.path().join(format!("t{threads}-{quantize}"));
        let mut args = vec![
            "-q",
            "--threads",
            threads,
            "embed",
            "--quantize",
            quantize,
            "--model",
            model.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ];
        let files = demo();
        args.extend(files.iter().map(String::as_str));
        let o = bitalign(&args, &[]);
        assert!(o.status.success(), "{}", stderr(&o));
        outs.push(out);
    }
    for l in ["en", "vi", "id"] {
        let read =
            |i: usize| Embeddings::read_npy(&outs[i].join(format!("karabakh.{l}.npy"))).unwrap();
        let (a, b, f) = (read(0), read(1), read(2));
        assert!(
            max_abs_diff(&a, &b) <= 1e-5,
            "{l}: q8, 1 vs 2 threads differ"
        );
        for i in 0..a.len() {
            let c = cosine(a.row(i), f.row(i));
            assert!(c >= 0.99, "{l} row {i}: q8 vs f32 cosine {c} < 0.99");
        }
    }
}
