//! `bitalign eval align` end to end: the binary, real gold files, clear errors.

use std::path::Path;
use std::process::Command;

fn bitalign(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_bitalign"))
        .args(args)
        .output()
        .expect("run bitalign");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

const GOLD: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/data/textberg/test2.defr"
);

#[test]
fn gold_against_itself_is_perfect() {
    let (ok, out, err) = bitalign(&["eval", "align", "--gold", GOLD, "--test", GOLD]);
    assert!(ok, "{err}");
    assert!(out.contains("f1          1.0000    1.0000"), "{out}");
}

#[test]
fn shifted_links_lose_strict_but_not_all_lax() {
    let dir = tempfile::tempdir().unwrap();
    // Merge every second pair of gold links into one: strict precision drops, lax stays 1.
    let gold = bitalign::eval::align::read_links(Path::new(GOLD)).unwrap();
    let mut lines = Vec::new();
    for pair in gold.chunks(2) {
        let s: Vec<usize> = pair.iter().flat_map(|l| l.0.clone()).collect();
        let t: Vec<usize> = pair.iter().flat_map(|l| l.1.clone()).collect();
        lines.push(format!("{s:?}:{t:?}"));
    }
    let test = dir.path().join("test.defr");
    std::fs::write(&test, lines.join("\n")).unwrap();
    let (ok, out, err) = bitalign(&[
        "eval",
        "align",
        "--gold",
        GOLD,
        "--test",
        test.to_str().unwrap(),
    ]);
    assert!(ok, "{err}");
    let f1: Vec<f64> = out
        .lines()
        .find(|l| l.starts_with("f1"))
        .unwrap()
        .split_whitespace()
        .skip(1)
        .map(|x| x.parse().unwrap())
        .collect();
    assert!(f1[0] < 0.2, "{out}");
    assert!(f1[1] > 0.9, "{out}");
}

#[test]
fn malformed_gold_names_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.defr");
    std::fs::write(&bad, "[0]:[0]\n[1]:[1]\n[2]:[2, x]\n").unwrap();
    let (ok, _, err) = bitalign(&[
        "eval",
        "align",
        "--gold",
        bad.to_str().unwrap(),
        "--test",
        GOLD,
    ]);
    assert!(!ok);
    assert!(err.starts_with("error: "), "{err}");
    assert!(err.contains("bad.defr: line 3:"), "{err}");
    assert!(err.contains("\"x\" is not a sentence index"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
}

#[test]
fn unequal_file_lists_are_refused() {
    let (ok, _, err) = bitalign(&["eval", "align", "--gold", GOLD, GOLD, "--test", GOLD]);
    assert!(!ok);
    assert!(err.contains("one test file per gold file"), "{err}");
}
