//! Output integrity and up-front checks (issue 10, items 1, 2, 3, 16, 17, 21, 23): each
//! case is a command that once wrote the wrong thing or failed too late.

mod common;

use bitalign::corpus::read_jsonl;
use common::bitalign_offline as bitalign;
use std::path::Path;
use std::process::Output;

use common::{demo, stderr};

fn story(lang: &str) -> String {
    common::repo()
        .join(format!("tests/data/multi/story.{lang}.txt"))
        .display()
        .to_string()
}

/// Failed with exit code 1 and one line naming `needle`.
fn fails_with(o: &Output, needle: &str) {
    let e = stderr(o);
    assert_eq!(o.status.code(), Some(1), "{e}");
    assert_eq!(e.trim().lines().count(), 1, "not one line: {e}");
    assert!(e.contains(needle), "expected {needle:?} in {e}");
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn checks_come_before_the_model_loads_and_leave_no_output() {
    // A model that does not exist: any error about it means the check came too late.
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("o");
    let no_model = dir.path().join("no-model");
    let run = |extra: &[&str]| {
        let mut a = vec!["-q", "run", "--model", s(&no_model), "--out", s(&out)];
        a.extend_from_slice(extra);
        a.push(Box::leak(demo("en").into_boxed_str()));
        a.push(Box::leak(demo("vi").into_boxed_str()));
        bitalign(&a)
    };
    fails_with(
        &run(&["--pairs", "en-fr"]),
        "--pairs en-fr: no input is in `fr`",
    );
    fails_with(
        &run(&["--pivot", "de"]),
        "--pivot de: no input is in that language",
    );
    fails_with(&run(&["--lang", "zz"]), "--lang zz: not a language code");
    fails_with(
        &run(&["--threshold", "NaN"]),
        "for '--threshold <SCORE>': 'NaN' is not a finite number",
    );
    assert!(!out.exists(), "a failed run leaves no output directory");
    // The model error itself also leaves nothing behind.
    fails_with(&run(&[]), "no such model directory");
    assert!(!out.exists());
    // An output directory that cannot be created is reported before the model loads.
    let file = dir.path().join("f");
    std::fs::write(&file, "x").unwrap();
    let under_file = file.join("o");
    let o = bitalign(&[
        "-q",
        "run",
        "--model",
        s(&no_model),
        "--out",
        s(&under_file),
        &demo("en"),
        &demo("vi"),
    ]);
    fails_with(&o, "cannot create the output directory");
    // align: a format that needs --out, before the model.
    let o = bitalign(&[
        "-q",
        "align",
        "--model",
        s(&no_model),
        "--format",
        "moses",
        &demo("en"),
        &demo("vi"),
    ]);
    fails_with(&o, "give --out DIR");
}

#[test]
fn align_never_overwrites_an_input_and_asks_before_replacing() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src.en.txt");
    std::fs::copy(story("en"), &src).unwrap();
    let before = std::fs::read(&src).unwrap();
    for force in [false, true] {
        let mut a = vec![
            "-q",
            "align",
            s(&src),
            Box::leak(story("vi").into_boxed_str()) as &str,
            "--out",
            s(&src),
        ];
        if force {
            a.push("--force");
        }
        fails_with(&bitalign(&a), "is an input");
    }
    assert_eq!(
        std::fs::read(&src).unwrap(),
        before,
        "the input is untouched"
    );
    let out = dir.path().join("links.txt");
    std::fs::write(&out, "keep me").unwrap();
    fails_with(
        &bitalign(&["-q", "align", &story("en"), &story("vi"), "--out", s(&out)]),
        "already exists",
    );
    assert_eq!(std::fs::read(&out).unwrap(), b"keep me");
    let o = bitalign(&[
        "-q",
        "align",
        &story("en"),
        &story("vi"),
        "--out",
        s(&out),
        "--force",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(std::fs::read_to_string(&out).unwrap().starts_with('['));
}

#[test]
fn align_output_options_behave_as_runs() {
    let dir = tempfile::tempdir().unwrap();
    let (en, vi) = (story("en"), story("vi"));
    // Several formats: a directory, claimed as run's (refused if it exists).
    let out = dir.path().join("al");
    let o = bitalign(&[
        "-q",
        "align",
        &en,
        &vi,
        "--format",
        "jsonl,tsv,moses,vecalign",
        "--out",
        s(&out),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let mut names: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "corpus.en-vi.en",
            "corpus.en-vi.vi",
            "en-vi.jsonl",
            "en-vi.tsv",
            "en-vi.vecalign",
            "run.json"
        ]
    );
    let links = read_jsonl(out.join("en-vi.jsonl")).unwrap();
    let vecalign = std::fs::read_to_string(out.join("en-vi.vecalign")).unwrap();
    assert_eq!(
        vecalign.lines().count(),
        links.len(),
        "both hold every link"
    );
    let tsv = std::fs::read_to_string(out.join("en-vi.tsv")).unwrap();
    let both = links
        .iter()
        .filter(|r| !r.src.indices.is_empty() && !r.tgt.indices.is_empty())
        .count();
    assert_eq!(tsv.lines().count(), both, "tsv holds links with both sides");
    fails_with(
        &bitalign(&[
            "-q",
            "align",
            &en,
            &vi,
            "--format",
            "jsonl,tsv",
            "--out",
            s(&out),
        ]),
        "already exists",
    );
    // One line format goes to stdout, as the same bytes as the file.
    let o = bitalign(&["-q", "align", &en, &vi, "--format", "jsonl"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(o.stdout, std::fs::read(out.join("en-vi.jsonl")).unwrap());
}

#[test]
fn region_subtags_are_kept_and_mined_between() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("pt");
    // The same English story under two regional tags: mined against each other.
    let o = bitalign(&[
        "-q",
        "run",
        "--lang",
        "en-GB,en_us",
        &story("en"),
        &story("en"),
        "--out",
        s(&out),
        "--format",
        "jsonl,tmx",
        "--filters",
        "none",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let recs = read_jsonl(out.join("en-GB-en-US.jsonl")).unwrap();
    assert!(!recs.is_empty());
    assert!(recs
        .iter()
        .all(|r| r.src.lang == "en-GB" && r.tgt.lang == "en-US"));
    let tmx = std::fs::read_to_string(out.join("en-GB-en-US.tmx")).unwrap();
    assert!(tmx.contains("xml:lang=\"en-GB\"") && tmx.contains("xml:lang=\"en-US\""));
    let o = bitalign(&[
        "-q",
        "run",
        "--lang",
        "en-GB,en-US",
        &story("en"),
        &story("en"),
        "--out",
        s(&dir.path().join("p2")),
        "--pairs",
        "en-US-en-GB",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(dir.path().join("p2/en-US-en-GB.jsonl").exists());
}

#[test]
fn embed_writes_its_files_together_or_not_at_all() {
    // A target that cannot be replaced (a directory where `story.vi.npy` goes) fails the
    // commit after other files were ready: none of this run's files may remain, and what
    // was in the directory before stays.
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("emb");
    std::fs::create_dir_all(out.join("story.vi.npy/blocker")).unwrap();
    std::fs::write(out.join("keep.txt"), "mine").unwrap();
    let o = bitalign(&[
        "-q",
        "embed",
        "--force",
        "--out",
        s(&out),
        &story("en"),
        &story("vi"),
    ]);
    fails_with(&o, "story.vi.npy");
    let mut left: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(left, ["keep.txt", "story.vi.npy"], "{left:?}");

    // The same run into a clear directory writes the whole set.
    std::fs::remove_dir_all(out.join("story.vi.npy")).unwrap();
    let o = bitalign(&["-q", "embed", "--out", s(&out), &story("en"), &story("vi")]);
    assert!(o.status.success(), "{}", stderr(&o));
    for f in [
        "story.en.sentences.txt",
        "story.en.npy",
        "story.en.f32",
        "story.vi.sentences.txt",
        "story.vi.npy",
        "story.vi.f32",
        "embed.json",
        "keep.txt",
    ] {
        assert!(out.join(f).is_file(), "{f} missing");
    }
    assert!(
        !std::fs::read_dir(&out).unwrap().any(|e| e
            .unwrap()
            .file_name()
            .to_string_lossy()
            .starts_with('.')),
        "no staging directory left"
    );
}
