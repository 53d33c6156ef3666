//! `bitalign run --mode align`: documents that are translations of each other, every
//! language pair aligned monotonically, with the real offline model.

mod common;

use bitalign::corpus::read_jsonl;

use common::bitalign_offline as bitalign;

fn story(lang: &str) -> String {
    common::repo()
        .join(format!("tests/data/multi/story.{lang}.txt"))
        .display()
        .to_string()
}

#[test]
fn every_language_pair_is_aligned_and_untranslated_lines_stay_out() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("corpus");
    let (en, vi, id) = (story("en"), story("vi"), story("id"));
    let o = bitalign(&[
        "run",
        "--mode",
        "align",
        &en,
        &vi,
        &id,
        "--out",
        out.to_str().unwrap(),
        "--format",
        "jsonl,moses",
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(err.contains("en-vi: 8 links with both sides"), "{err}");

    // Eight sentences are translated in all three files; each file has one line of its own.
    let en_vi = read_jsonl(out.join("en-vi.jsonl")).unwrap();
    let pairs: Vec<(Vec<usize>, Vec<usize>)> = en_vi
        .iter()
        .map(|r| (r.src.indices.clone(), r.tgt.indices.clone()))
        .collect();
    let want: Vec<(Vec<usize>, Vec<usize>)> = [
        (0, 0),
        (1, 1),
        (2, 2),
        (3, 3),
        (4, 5),
        (6, 6),
        (7, 7),
        (8, 8),
    ]
    .map(|(a, b)| (vec![a], vec![b]))
    .to_vec();
    assert_eq!(
        pairs, want,
        "en line 5 (mountain road) and vi line 4 (iced coffee) have no counterpart"
    );
    for r in &en_vi {
        assert_eq!((r.src.lang.as_str(), r.tgt.lang.as_str()), ("en", "vi"));
        assert!(r.cost.is_some() && r.margin.is_none());
    }
    for f in [
        "en-id.jsonl",
        "vi-id.jsonl",
        "corpus.en-vi.en",
        "corpus.en-vi.vi",
        "run.json",
    ] {
        assert!(out.join(f).is_file(), "{f} missing");
    }
    assert_eq!(read_jsonl(out.join("vi-id.jsonl")).unwrap().len(), 8);
    let run: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("run.json")).unwrap()).unwrap();
    assert_eq!(run["mode"], "align");
    assert_eq!(run["pairs"][0]["unaligned_src"], 1);
}

#[test]
fn documents_must_pair_up_across_languages() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("x");
    let (en, vi) = (story("en"), story("vi"));
    let o = bitalign(&[
        "run",
        "--mode",
        "align",
        &en,
        &en,
        &vi,
        "--lang",
        "en,en,vi",
        "--out",
        out.to_str().unwrap(),
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(
        err.contains("`en` has 2 document(s) and `vi` has 1"),
        "{err}"
    );
    assert_eq!(
        err.trim()
            .lines()
            .filter(|l| l.starts_with("error:"))
            .count(),
        1,
        "{err}"
    );
    assert!(!out.exists(), "nothing written on bad input");
}

#[test]
fn two_documents_in_the_same_language_align_like_any_others() {
    // A revision of a text against the text: allowed, and a document against itself is
    // the identity alignment.
    let en = story("en");
    let o = bitalign(&["-q", "align", &en, &en]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let got: Vec<String> = String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| l.rsplit_once(':').unwrap().0.to_string())
        .collect();
    let want: Vec<String> = (0..9).map(|i| format!("[{i}]:[{i}]")).collect();
    assert_eq!(got, want);
}

/// `--translations DIR` is checked before the model loads: a file with the wrong line
/// count is one error naming it, a directory with no matching file is refused, and
/// nothing is written.
#[test]
fn translations_are_checked_before_the_model_loads() {
    let dir = tempfile::tempdir().unwrap();
    let (de, fr, mt) = (
        dir.path().join("a.de"),
        dir.path().join("a.fr"),
        dir.path().join("mt"),
    );
    std::fs::write(&de, "Ein Satz.\nNoch ein Satz.\nDrei.\n").unwrap();
    std::fs::write(&fr, "Une phrase.\n").unwrap();
    std::fs::create_dir(&mt).unwrap();
    let out = dir.path().join("out");
    // One line on stderr, exit 1, nothing written.
    let fail = |align: bool, extra: &[&str]| {
        let mode: &[&str] = if align { &["--mode", "align"] } else { &[] };
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_bitalign"))
            .arg("run")
            .args(mode)
            .args([de.to_str().unwrap(), fr.to_str().unwrap(), "--presplit"])
            .args([
                "--lang",
                "de,fr",
                "--model",
                "no/such-model",
                "--offline",
                "-q",
            ])
            .args(["--out", out.to_str().unwrap()])
            .args(extra)
            .output()
            .unwrap();
        assert!(!o.status.success());
        let err = String::from_utf8_lossy(&o.stderr).into_owned();
        assert_eq!(err.trim().lines().count(), 1, "{err}");
        assert!(!out.exists(), "nothing written on bad input");
        err
    };
    let run = |extra: &[&str]| fail(true, extra);
    // No file named after an input.
    std::fs::write(mt.join("other.de.fr"), "x\n").unwrap();
    let err = run(&["--translations", mt.to_str().unwrap()]);
    assert!(
        err.contains("no translation of any source document"),
        "{err}"
    );
    assert!(err.contains("a.de.fr"), "{err}");
    // The translation of a.de into fr, one line short.
    let file = mt.join("a.de.fr");
    std::fs::write(&file, "Une phrase.\nEncore une phrase.\n").unwrap();
    let err = run(&["--translations", mt.to_str().unwrap()]);
    assert!(
        err.contains(&format!(
            "{}: 2 lines, but the source {} has 3 sentences",
            file.display(),
            de.display()
        )),
        "{err}"
    );
    // Bertalign's method has no place for a translation: refused, not ignored.
    let err = run(&[
        "--translations",
        mt.to_str().unwrap(),
        "--scorer",
        "bertalign",
    ]);
    assert!(
        err.contains("--scorer bertalign does not use a translation"),
        "{err}"
    );
    // Not a directory.
    let err = run(&["--translations", file.to_str().unwrap()]);
    assert!(err.contains("--translations takes a directory"), "{err}");
    // The alignment flags need --mode align.
    for extra in [
        &["--scorer", "hand"][..],
        &["--absorb", "off"],
        &["--uncross", "0.1"],
        &["--moved", "off"],
    ] {
        let err = fail(false, extra);
        assert!(err.contains("--mode align"), "{err}");
    }
    // Mining checks its translations the same way, and refuses what they cannot re-score.
    let err = fail(false, &["--translations", mt.to_str().unwrap()]);
    assert!(err.contains("2 lines, but the source"), "{err}");
    let err = fail(
        false,
        &["--translations", mt.to_str().unwrap(), "--rank", "score"],
    );
    assert!(err.contains("confidence ranking"), "{err}");
    let err = fail(
        false,
        &["--translations", mt.to_str().unwrap(), "--mt-model", "x"],
    );
    assert!(err.contains("choose one"), "{err}");
}
