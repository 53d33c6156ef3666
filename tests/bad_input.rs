//! Issue 10 (hardening), the cases a hostile user found: each fails on the code before the
//! fix and passes after. Most run the binary without a model (checks must come before any
//! long work); the model-loading cases use the tiny fixture models; the mining ones use
//! hand-made embeddings (`run --embeddings`), so the whole suite takes a few seconds.

mod common;

use bitalign::embed::Embeddings;
use common::*;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn bitalign(args: &[&str]) -> Output {
    bitalign_env(args, &[])
}

fn bitalign_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_bitalign"));
    c.args(args)
        .env("HF_HUB_OFFLINE", "1")
        // A model that does not exist: any case that reaches model loading says so.
        .env("BITALIGN_MODEL", "/nonexistent/model")
        .env_remove("BITALIGN_SIMD");
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Exit 1 with one line `error: …` on stderr containing `want`.
fn fails_with(o: &Output, want: &str) {
    let e = stderr(o);
    assert_eq!(o.status.code(), Some(1), "{e}");
    let errors: Vec<&str> = e.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(errors.len(), 1, "one error line expected: {e:?}");
    assert_eq!(
        e.trim_end().lines().last(),
        Some(errors[0]),
        "the error ends the output: {e:?}"
    );
    assert!(errors[0].contains(want), "{want:?} not in {e:?}");
}

fn write(dir: &Path, name: &str, bytes: impl AsRef<[u8]>) -> String {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p.display().to_string()
}

fn npy(e: &Embeddings) -> Vec<u8> {
    let mut b = Vec::new();
    e.write_npy(&mut b).unwrap();
    b
}

/// #5: with --presplit, line i is sentence i: blank lines, VT/FF/NEL/LS/PS inside a line
/// and lines over 4096 bytes included.
#[test]
fn presplit_keeps_line_i_as_sentence_i() {
    let dir = tempfile::tempdir().unwrap();
    let long = "word ".repeat(1000);
    let text = format!(
        "First line.\n\nSecond\u{0b}still second\u{0c}.\nThird\u{85}x\u{2028}y\u{2029}z\r\n{long}\nlast"
    );
    let f = write(dir.path(), "a.en.txt", &text);
    let o = bitalign(&["split", "--presplit", "--json", &f]);
    assert!(o.status.success(), "{}", stderr(&o));
    let rows: Vec<serde_json::Value> = stdout(&o)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 6, "one sentence per line: {rows:?}");
    assert_eq!(rows[1]["text"], "");
    assert_eq!(rows[2]["text"], "Second\u{0b}still second\u{0c}.");
    assert_eq!(rows[4]["text"], long.trim_end());
    for (i, r) in rows.iter().enumerate() {
        assert_eq!(r["index"], i);
    }
}

/// #6: a one-sentence-per-line file split again gets a loud warning.
#[test]
fn line_split_input_without_presplit_is_warned_about() {
    let dir = tempfile::tempdir().unwrap();
    let mut lines: Vec<String> = (0..30)
        .map(|i| format!("This is line number {i} of the file."))
        .collect();
    lines[7] = "Mr. Smith came in. He sat down.".into();
    lines[9] = "It rained. Then it stopped.".into();
    let f = write(dir.path(), "t.en.txt", lines.join("\n") + "\n");
    let o = bitalign(&["split", &f]);
    assert!(o.status.success());
    assert!(
        stderr(&o).contains(
            "looks like one sentence per line (30 lines) but was split into 32 sentences"
        ),
        "{}",
        stderr(&o)
    );
    let o = bitalign(&["split", "--presplit", &f]);
    assert!(!stderr(&o).contains("looks like"), "{}", stderr(&o));
}

/// #6 and #16: `eval align` refuses a test past the gold's sentences, and an empty gold.
#[test]
fn eval_align_checks_the_gold() {
    let dir = tempfile::tempdir().unwrap();
    let gold = write(dir.path(), "gold", "[0]:[0]\n[1]:[1]\n[2]:[2]\n");
    let test = write(dir.path(), "test", "[0]:[0]\n[1]:[1]\n[2]:[2]\n[3]:[]\n");
    fails_with(
        &bitalign(&["eval", "align", "--gold", &gold, "--test", &test]),
        "links source sentence 3, but",
    );
    let empty = write(dir.path(), "empty", "");
    fails_with(
        &bitalign(&["eval", "align", "--gold", &empty, "--test", &test]),
        "no links (empty gold file)",
    );
}

/// #8: alignment parameters are checked before anything is read or loaded.
#[test]
fn align_parameters_are_bounded_up_front() {
    for (flags, want) in [
        (
            ["--max-overlap", "16", "--max-size", "32"],
            "--max-size 32: out of range (2..=20)",
        ),
        (
            ["--max-overlap", "100000", "--max-size", "8"],
            "--max-overlap 100000: out of range (1..=10)",
        ),
        (
            ["--max-overlap", "2", "--max-size", "1"],
            "--max-size 1: out of range (2..=20)",
        ),
    ] {
        let mut args = vec!["align", "missing-a.txt", "missing-b.txt"];
        args.extend(flags);
        fails_with(&bitalign(&args), want);
    }
}

/// Copies a tiny fixture model into a temporary directory to damage it.
fn tiny_model_copy(name: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let from = fixtures().join("tiny").join(name);
    for e in std::fs::read_dir(&from).unwrap() {
        let e = e.unwrap();
        let to = dir.path().join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            std::fs::create_dir(&to).unwrap();
            for f in std::fs::read_dir(e.path()).unwrap() {
                let f = f.unwrap();
                std::fs::copy(f.path(), to.join(f.file_name())).unwrap();
            }
        } else {
            std::fs::copy(e.path(), to).unwrap();
        }
    }
    dir
}

/// Rewrites a safetensors header with `edit` (data unchanged).
fn edit_safetensors(path: &Path, edit: impl FnOnce(&mut serde_json::Value)) {
    let bytes = std::fs::read(path).unwrap();
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let mut header: serde_json::Value = serde_json::from_slice(&bytes[8..8 + n]).unwrap();
    edit(&mut header);
    let mut h = serde_json::to_vec(&header).unwrap();
    while !h.len().is_multiple_of(8) {
        h.push(b' ');
    }
    let mut out = (h.len() as u64).to_le_bytes().to_vec();
    out.extend(h);
    out.extend(&bytes[8 + n..]);
    std::fs::write(path, out).unwrap();
}

fn embed_error(model: &Path) -> Output {
    let dir = tempfile::tempdir().unwrap();
    let f = write(dir.path(), "a.en.txt", "One sentence.\n");
    let out = dir.path().join("out").display().to_string();
    bitalign(&[
        "embed",
        &f,
        "--out",
        &out,
        "--model",
        &model.display().to_string(),
    ])
}

/// #9: a header claiming more rows than the file holds is an error, not a panic.
#[test]
fn safetensors_shapes_are_checked_against_the_data() {
    let m = tiny_model_copy("bert-mean");
    edit_safetensors(&m.path().join("model.safetensors"), |h| {
        let name = h
            .as_object()
            .unwrap()
            .keys()
            .find(|k| k.ends_with("word_embeddings.weight"))
            .unwrap()
            .clone();
        let dim = h[&name]["shape"][1].clone();
        h[&name]["shape"] = serde_json::json!([250037, dim]);
    });
    fails_with(
        &embed_error(m.path()),
        "word_embeddings.weight claims shape [250037",
    );
}

/// #10: an absurd layer count is an error naming the missing tensor, no allocation.
#[test]
fn config_layer_count_is_checked_before_allocating() {
    let m = tiny_model_copy("bert-mean");
    let p = m.path().join("config.json");
    let mut cfg: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
    cfg["num_hidden_layers"] = serde_json::json!(1_000_000_000u64);
    std::fs::write(&p, cfg.to_string()).unwrap();
    fails_with(
        &embed_error(m.path()),
        "encoder.layer.999999999.attention.self.query.weight is missing",
    );
}

/// #11: NaN rows in `.npy` input are refused with file and row.
#[test]
fn non_finite_embeddings_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let good = Embeddings::from_rows(2, &[[1.0, 0.0], [0.0, 1.0]]).unwrap();
    let bad = Embeddings::from_rows(2, &[[1.0, 0.0], [f32::NAN, 1.0]]).unwrap();
    let a = write(dir.path(), "a.npy", npy(&good));
    let b = write(dir.path(), "b.npy", npy(&bad));
    fails_with(
        &bitalign(&["eval", "mining", &a, &b]),
        "b.npy: row 1 holds a non-finite value",
    );
}

/// #12: BITALIGN_SIMD forces a level; every level gives the same embeddings.
#[test]
fn every_simd_level_embeds_the_same_bits() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(
        dir.path(),
        "a.en.txt",
        "A first sentence. Another, longer sentence with more words in it.\nThe end.\n",
    );
    let model = fixtures().join("tiny/bert-mean").display().to_string();
    let mut outs = Vec::new();
    for level in bitalign::simd::Level::available() {
        let out = dir.path().join(level.name());
        let o = bitalign_env(
            &[
                "embed",
                &f,
                "--model",
                &model,
                "--out",
                &out.display().to_string(),
            ],
            &[("BITALIGN_SIMD", level.name())],
        );
        assert!(o.status.success(), "{}: {}", level.name(), stderr(&o));
        outs.push((level, std::fs::read(out.join("a.en.npy")).unwrap()));
    }
    for (l, o) in &outs[1..] {
        assert!(
            o == &outs[0].1,
            "{} differs from {}",
            l.name(),
            outs[0].0.name()
        );
    }
    fails_with(
        &bitalign_env(&["split", &f], &[("BITALIGN_SIMD", "sse9")]),
        "BITALIGN_SIMD=\"sse9\": expected avx512, avx2 or portable",
    );
}

/// #13 and #14: non-finite numbers are refused, negative ones accepted, flag errors are
/// one line with exit code 1.
#[test]
fn numbers_and_flag_errors() {
    fails_with(
        &bitalign(&["run", "a.txt", "--out", "o", "--threshold", "nan"]),
        "'nan' is not a finite number",
    );
    fails_with(
        &bitalign(&["align", "a.txt", "b.txt", "--threshold", "inf"]),
        "'inf' is not a finite number",
    );
    fails_with(
        &bitalign(&["align", "a.txt", "b.txt", "--moved", "20"]),
        "'20' is not WINDOW:MARGIN[:ends] (e.g. 20:0.05) or 'off'",
    );
    fails_with(
        &bitalign(&["align", "a.txt", "b.txt", "--moved", "20:0.05:all"]),
        "'20:0.05:all' is not WINDOW:MARGIN[:ends] (e.g. 20:0.05) or 'off'",
    );
    fails_with(
        &bitalign(&["align", "a.txt", "b.txt", "--moved", "x:0.05"]),
        "'x' is not a window in sentences (a whole number)",
    );
    fails_with(
        &bitalign(&["align", "a.txt", "b.txt", "--moved", "20:nan"]),
        "'nan' is not a finite number",
    );
    fails_with(
        &bitalign(&[
            "align",
            "a.txt",
            "b.txt",
            "--scorer",
            "bertalign",
            "--translations",
            "mt.txt",
        ]),
        "--scorer bertalign does not use a translation",
    );
    // A negative value parses (the error is then about the missing file, not the flag).
    fails_with(
        &bitalign(&[
            "align",
            "missing-a.txt",
            "missing-b.txt",
            "--threshold",
            "-1",
        ]),
        "missing-a.txt: no such file",
    );
    fails_with(
        &bitalign(&["run", "--bogus"]),
        "unexpected argument '--bogus'",
    );
    fails_with(&bitalign(&["run", "x.txt"]), "--out <DIR>");
    let o = bitalign(&["--help"]);
    assert_eq!(o.status.code(), Some(0));
}

/// #15: absurd thread counts are capped, with a note.
#[test]
fn thread_count_is_capped() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(dir.path(), "a.en.txt", "One. Two.\n");
    let o = bitalign(&["--threads", "10000", "split", &f]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("10000 threads requested; using"),
        "{}",
        stderr(&o)
    );
    assert_eq!(stdout(&o), "One.\nTwo.\n");
}

/// #16: a BOM-only file is an empty side like a 0-byte file; a newline in a file name
/// does not split the error line.
#[test]
fn bom_only_file_and_newline_in_a_name() {
    let dir = tempfile::tempdir().unwrap();
    let bom = write(dir.path(), "bom.en.txt", b"\xef\xbb\xbf\n");
    let empty = write(dir.path(), "empty.vi.txt", b"");
    let o = bitalign(&["align", &bom, &empty]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = bitalign(&["split", "no\nsuch.txt"]);
    // The library quotes a name holding a control character (`error::quoted`).
    fails_with(&o, "\"no\\nsuch.txt\": no such file");
}

/// Documents and hand-made embeddings for `run --embeddings`: sentence i of the English
/// document matches sentence i of the Vietnamese one (nearly equal rows) for the first
/// `matched` sentences; the others match nothing.
fn mining_case(dir: &Path, en: &[&str], vi: &[&str], matched: usize) -> Vec<String> {
    let d = 8;
    let row = |i: usize, eps: f32| -> Vec<f32> {
        let mut r = vec![eps; d];
        r[i % d] = 1.0;
        let n = r.iter().map(|x| x * x).sum::<f32>().sqrt();
        r.iter().map(|x| x / n).collect()
    };
    let e: Vec<Vec<f32>> = (0..en.len()).map(|i| row(i, 0.0)).collect();
    let v: Vec<Vec<f32>> = (0..vi.len())
        .map(|i| row(if i < matched { i } else { i + 4 }, 0.01))
        .collect();
    vec![
        write(dir, "doc.en.txt", en.join("\n") + "\n"),
        write(dir, "doc.vi.txt", vi.join("\n") + "\n"),
        write(dir, "en.npy", npy(&Embeddings::from_rows(d, &e).unwrap())),
        write(dir, "vi.npy", npy(&Embeddings::from_rows(d, &v).unwrap())),
    ]
}

fn run_mining(files: &[String], out: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "run",
        "--presplit",
        &files[0],
        &files[1],
        "--embeddings",
        &files[2],
        &files[3],
    ];
    let out = out.display().to_string();
    args.extend(["--out", &out]);
    args.extend(extra);
    bitalign(&args)
}

/// #18: when every pair above the threshold was removed by a filter, the summary says so.
#[test]
fn summary_names_the_filter_that_removed_the_best_pair() {
    let dir = tempfile::tempdir().unwrap();
    let files = mining_case(
        dir.path(),
        &["Hello there.", "x", "y"],
        &["Hello there.", "a", "b"],
        1,
    );
    let o = run_mining(
        &files,
        &dir.path().join("out"),
        &["--threshold", "1.2", "--filters", "identical"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(
        e.contains("en-vi: no pairs kept: 1 candidate at margin ≥ 1.2")
            && e.contains("identical 1"),
        "{e}"
    );
}

/// #19 and #25: the TSV's first column is the score that ranked the pairs (run.json says
/// which); text a format had to change is counted in the summary and run.json.
#[test]
fn tsv_score_column_and_changed_text_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let files = mining_case(
        dir.path(),
        &["One\tcolumn.", "Two \u{1} here.", "Three."],
        &["Một cột.", "Hai ở đây.", "Ba."],
        3,
    );
    let out = dir.path().join("out");
    let o = run_mining(
        &files,
        &out,
        &[
            "--score",
            "cosine",
            "--threshold",
            "0.5",
            "--format",
            "jsonl,tsv,tmx",
            "--filters",
            "none",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("run.json")).unwrap()).unwrap();
    assert_eq!(manifest["tsv_score"], "cosine");
    assert_eq!(manifest["altered_sides"]["tsv"], 1);
    assert_eq!(manifest["altered_sides"]["tmx"], 1);
    assert!(
        stderr(&o).contains("tsv 1 (tabs or line breaks made spaces)"),
        "{}",
        stderr(&o)
    );
    let recs = bitalign::corpus::read_jsonl(out.join("en-vi.jsonl")).unwrap();
    let tsv = std::fs::read_to_string(out.join("en-vi.tsv")).unwrap();
    assert_eq!(recs.len(), 3);
    for (r, line) in recs.iter().zip(tsv.lines()) {
        let first: f32 = line.split('\t').next().unwrap().parse().unwrap();
        assert!(
            (first - r.cosine).abs() < 1e-5,
            "{line} vs cosine {}",
            r.cosine
        );
        assert_eq!(r.score, Some(r.cosine));
    }
}

/// #22: the `hf` format loads with Hugging Face `datasets` and pandas as they are used;
/// an empty pair writes no file.
#[test]
fn hf_format_loads_in_datasets_and_pandas() {
    let dir = tempfile::tempdir().unwrap();
    let files = mining_case(
        dir.path(),
        &["One.", "Two.", "Three."],
        &["Một.", "Hai.", "Ba."],
        3,
    );
    let out = dir.path().join("out");
    let o = run_mining(
        &files,
        &out,
        &[
            "--format",
            "jsonl,hf",
            "--threshold",
            "1.0",
            "--filters",
            "none",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let py = Command::new(repo().join("scripts/hf-venv.sh"))
        .output()
        .unwrap();
    assert!(py.status.success(), "{}", stderr(&py));
    let python = stdout(&py).trim().to_string();
    let script = r#"
import sys, datasets, pandas
d = datasets.load_dataset(sys.argv[1] + "/hf/en-vi", split="train")
assert d.num_rows == 3, d
assert set(d.column_names) >= {"translation", "score", "cosine"}, d.column_names
assert {"en": "One.", "vi": "Một."} in d["translation"], d["translation"]
df = pandas.read_json(sys.argv[1] + "/hf/en-vi/train.jsonl", lines=True)
assert len(df) == 3 and df["score"].is_monotonic_decreasing, df
print("ok")
"#;
    let o = Command::new(&python)
        .args(["-c", script, &out.display().to_string()])
        .env("HF_DATASETS_OFFLINE", "1")
        .env("HF_HOME", dir.path().join("hf-home"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
    // A pair with nothing kept: no file at all (datasets fails on an empty one).
    let out2 = dir.path().join("out2");
    let o = run_mining(
        &files,
        &out2,
        &["--format", "hf", "--threshold", "100", "--filters", "none"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!out2.join("hf").exists());
}

/// #24: every .npy layout NumPy writes, and raw float32 rows with --dim, read the same.
#[test]
fn embeddings_in_every_layout_read_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let rows = [[0.5f32, -1.25, 2.0], [3.0, 0.125, -0.75]];
    let want = Embeddings::from_rows(3, &rows).unwrap();
    let header = |descr: &str, fortran: bool| npy_header(descr, fortran, "(2, 3)");
    let order = |fortran: bool| -> Vec<f32> {
        if fortran {
            (0..3)
                .flat_map(|c| rows.iter().map(move |r| r[c]))
                .collect()
        } else {
            rows.iter().flatten().copied().collect()
        }
    };
    let mut cases: Vec<(String, Vec<u8>)> = Vec::new();
    for fortran in [false, true] {
        let v = order(fortran);
        let mut b = header("<f8", fortran);
        b.extend(v.iter().flat_map(|x| (*x as f64).to_le_bytes()));
        cases.push((format!("f8-{fortran}.npy"), b));
        let mut b = header(">f4", fortran);
        b.extend(v.iter().flat_map(|x| x.to_be_bytes()));
        cases.push((format!("be-{fortran}.npy"), b));
        let mut b = header("<f2", fortran);
        b.extend(v.iter().flat_map(|x| half::f16::from_f32(*x).to_le_bytes()));
        cases.push((format!("f2-{fortran}.npy"), b));
        let mut b = header("<f4", fortran);
        b.extend(v.iter().flat_map(|x| x.to_le_bytes()));
        cases.push((format!("f4-{fortran}.npy"), b));
    }
    for (name, bytes) in cases {
        let p = PathBuf::from(write(dir.path(), &name, bytes));
        let got = Embeddings::read(&p, None).unwrap_or_else(|e| panic!("{name}: {e:#}"));
        assert_eq!(got, want, "{name}");
    }
    let mut raw = Vec::new();
    want.write_raw(&mut raw).unwrap();
    let p = PathBuf::from(write(dir.path(), "x.f32", raw));
    let got = Embeddings::read(&p, Some(3)).unwrap();
    assert!(got.is_mapped(), "raw float32 is memory-mapped");
    assert_eq!(got, want);
    let e = Embeddings::read(&p, None).unwrap_err().to_string();
    assert!(e.contains("dimension"), "{e}");
    let p = PathBuf::from(write(dir.path(), "c.npy", npy(&want)));
    assert!(Embeddings::read(&p, None).unwrap().is_mapped());
}

/// #4: SIGTERM while a run writes leaves no `.bitalign-*.tmp` file and exits 130.
#[cfg(unix)]
#[test]
fn a_signal_leaves_no_temporary_files() {
    let dir = tempfile::tempdir().unwrap();
    // Many rows, so that mining and writing take a while.
    let n = 10_000;
    let d = 16;
    let lines: Vec<String> = (0..n).map(|i| format!("Sentence {i}.")).collect();
    let en = write(dir.path(), "doc.en.txt", lines.join("\n"));
    let vi = write(dir.path(), "doc.vi.txt", lines.join("\n"));
    let rows: Vec<Vec<f32>> = (0..n)
        .map(|i| {
            (0..d)
                .map(|c| (((i * 31 + c * 17) % 97) as f32 + 1.0) / 97.0)
                .collect()
        })
        .collect();
    let e = Embeddings::from_rows(d, &rows).unwrap();
    let a = write(dir.path(), "a.npy", npy(&e));
    let out = dir.path().join("out");
    let mut child = Command::new(env!("CARGO_BIN_EXE_bitalign"))
        .args([
            "run",
            "--presplit",
            &en,
            &vi,
            "--embeddings",
            &a,
            &a,
            "--threshold",
            "0",
        ])
        .args([
            "--filters",
            "none",
            "--format",
            "jsonl,tsv,moses,tmx",
            "--out",
        ])
        .arg(&out)
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Wait until the output directory exists (writing has begun), then signal.
    let t = std::time::Instant::now();
    while !out.exists() && t.elapsed().as_secs() < 120 {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let status = child.wait().unwrap();
    assert!(
        status.code() == Some(130) || status.success(),
        "killed by the signal instead of handling it: {status:?}"
    );
    if out.exists() {
        let tmp: Vec<_> = std::fs::read_dir(&out)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .filter(|n| n.to_string_lossy().starts_with(".bitalign-"))
            .collect();
        assert!(tmp.is_empty(), "left behind: {tmp:?}");
    }
}

/// Corpora as they come (issue 11): a broken record, a cut-off archive or a JSONL file given
/// to the two-document `align` is one line naming the file (and line) before the model loads.
#[test]
fn jsonl_and_compressed_input_errors_name_the_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let ok = write(d, "ok.vi.txt", "Một câu.");
    let out = d.join("o").display().to_string();
    let bad = write(
        d,
        "bad.en.jsonl",
        "{\"text\": \"One.\"}\n{\"text\": \"Two.\"\n",
    );
    fails_with(
        &bitalign(&["run", &bad, &ok, "--out", &out]),
        &format!("{bad}:2: not a JSON record"),
    );
    let other = write(d, "other.en.jsonl", "{\"body\": \"One.\"}\n");
    fails_with(
        &bitalign(&["run", &other, &ok, "--out", &out]),
        &format!(
            "{other}:1: no \"text\" field (it has: body); name the text field with --text-field"
        ),
    );
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), Default::default());
    std::io::Write::write_all(&mut gz, "An English sentence. ".repeat(200).as_bytes()).unwrap();
    let gz = gz.finish().unwrap();
    let cut = write(d, "cut.en.txt.gz", &gz[..gz.len() / 2]);
    fails_with(
        &bitalign(&["run", &cut, &ok, "--out", &out]),
        &format!("{cut}: corrupt or truncated gzip data"),
    );
    let two = write(
        d,
        "two.en.jsonl",
        "{\"text\": \"One.\"}\n{\"text\": \"Two.\"}\n",
    );
    fails_with(
        &bitalign(&["align", &two, &ok]),
        "align takes one document per side, but the inputs hold 3",
    );
    assert!(!Path::new(&out).exists());
}

/// `--rank confidence` reads every neighbour list, so it searches exactly: asking for an
/// approximate search with it is refused instead of silently searched exactly.
#[test]
fn confidence_ranking_with_approximate_search_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let a = write(dir.path(), "a.en.txt", "One.");
    let b = write(dir.path(), "b.vi.txt", "Một.");
    let out = dir.path().join("o").display().to_string();
    for knn in ["approx", "auto"] {
        fails_with(
            &bitalign(&[
                "run",
                &a,
                &b,
                "--out",
                &out,
                "--rank",
                "confidence",
                "--knn",
                knn,
            ]),
            "the confidence ranking searches exactly",
        );
    }
}

/// The same for an int8 search (its lists are re-scored, but the confidence's features are
/// computed in f32 only), and a sharded run, which searches in f32 only.
#[test]
fn int8_search_with_the_confidence_ranking_or_sharded_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let a = write(dir.path(), "a.en.txt", "One.");
    let b = write(dir.path(), "b.vi.txt", "Một.");
    let out = dir.path().join("o").display().to_string();
    let int8 = ["--knn-precision", "int8"];
    let run = [
        &["run", &a, &b, "--out", &out, "--rank", "confidence"][..],
        &int8,
    ]
    .concat();
    fails_with(&bitalign(&run), "the confidence ranking searches in f32");
    let work = dir.path().join("w").display().to_string();
    let shard = [
        &[
            "shard", "init", &work, &a, &b, "--shards", "2", "--out", &out, "--rank", "score",
        ][..],
        &int8,
    ]
    .concat();
    fails_with(&bitalign(&shard), "a sharded run searches in f32");
    assert!(!Path::new(&out).exists() && !Path::new(&work).exists());
}

/// A recall target outside (0, 1] is refused before any work, and a sharded run (whose
/// probe is fixed when its tasks start) does not take one.
#[test]
fn ivf_recall_out_of_range_or_sharded_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let a = write(dir.path(), "a.en.txt", "One.");
    let b = write(dir.path(), "b.vi.txt", "Một.");
    let out = dir.path().join("o").display().to_string();
    let approx = ["--rank", "score", "--knn", "approx", "--ivf-recall"];
    for bad in ["0", "1.5"] {
        let run = [&["run", &a, &b, "--out", &out][..], &approx, &[bad]].concat();
        fails_with(&bitalign(&run), "must be above 0 and at most 1");
    }
    let work = dir.path().join("w").display().to_string();
    let shard = [
        &[
            "shard", "init", &work, &a, &b, "--shards", "2", "--out", &out,
        ][..],
        &approx,
        &["0.99"],
    ]
    .concat();
    fails_with(&bitalign(&shard), "--ivf-recall is not sharded yet");
    assert!(!Path::new(&out).exists() && !Path::new(&work).exists());
}

#[test]
fn partial_marking_without_a_model_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let a = write(dir.path(), "a.en.txt", "One.");
    let b = write(dir.path(), "b.vi.txt", "Một.");
    let e = npy(&Embeddings::new(2, vec![1.0, 0.0]).unwrap());
    let (ea, eb) = (
        write(dir.path(), "a.npy", &e),
        write(dir.path(), "b.npy", &e),
    );
    let out = dir.path().join("o").display().to_string();
    fails_with(
        &bitalign(&[
            "run",
            &a,
            &b,
            "--out",
            &out,
            "--partial",
            "--embeddings",
            &ea,
            &eb,
        ]),
        "--partial embeds the clauses of the kept pairs, so it needs the model",
    );
    let work = dir.path().join("w").display().to_string();
    fails_with(
        &bitalign(&[
            "shard",
            "init",
            &work,
            &a,
            &b,
            "--shards",
            "2",
            "--out",
            &out,
            "--partial",
            "--embeddings",
            &ea,
            &eb,
        ]),
        "--partial embeds the clauses of the kept pairs, so it needs the model",
    );
    assert!(!dir.path().join("o").exists() && !dir.path().join("w").exists());
}
