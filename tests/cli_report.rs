//! `--report` and `bitalign report DIR` through the binary: the data agrees with the run's
//! own counts and corpus, the page is rebuilt identically, bad directories are one line.
//! (The page itself is checked in a browser by scripts/browser-test.sh.)

mod common;

use common::{bitalign_offline, repo};
use std::collections::BTreeSet;

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn demo_report_data_matches_the_corpus_and_rebuilds_the_same_page() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("demo");
    let demo = |l: &str| {
        repo()
            .join(format!("data/demo/karabakh.{l}.txt"))
            .display()
            .to_string()
    };
    let (en, vi, id) = (demo("en"), demo("vi"), demo("id"));
    let o = bitalign_offline(&[
        "-q",
        "run",
        &en,
        &vi,
        &id,
        "--out",
        out.to_str().unwrap(),
        "--report",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let run: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("run.json")).unwrap()).unwrap();
    let data = bitalign::report::read_data(&out).unwrap();
    assert_eq!(data.inputs.len(), 3);
    assert!(data
        .inputs
        .iter()
        .all(|i| i.lang_source == "from the file name"));
    for (p, r) in data.mined.iter().zip(run["pairs"].as_array().unwrap()) {
        assert_eq!(p.src, r["src"].as_str().unwrap());
        assert_eq!(p.candidates.len() as u64, r["candidates"].as_u64().unwrap());
        let kept: BTreeSet<(usize, usize)> = p
            .candidates
            .iter()
            .filter(|c| c.fate == bitalign::report::Fate::Kept)
            .map(|c| (c.src.index, c.tgt.index))
            .collect();
        assert_eq!(kept.len() as u64, r["kept"].as_u64().unwrap());
        let below = p
            .candidates
            .iter()
            .filter(|c| c.fate == bitalign::report::Fate::BelowThreshold)
            .count();
        assert_eq!(below as u64, r["below_threshold"].as_u64().unwrap());
        // The kept candidates are exactly the pairs in the corpus file.
        let jsonl =
            std::fs::read_to_string(out.join(format!("{}-{}.jsonl", p.src, p.tgt))).unwrap();
        let written: BTreeSet<(usize, usize)> = jsonl
            .lines()
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).unwrap();
                let ix = |s: &str| v[s]["indices"][0].as_u64().unwrap() as usize;
                (ix("src"), ix("tgt"))
            })
            .collect();
        assert_eq!(kept, written, "{}-{}", p.src, p.tgt);
    }
    let files: Vec<&str> = run["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap())
        .collect();
    assert!(
        files.contains(&"report.html") && files.contains(&"report-plots/hist-margin.en-vi.svg"),
        "{files:?}"
    );
    let page = std::fs::read_to_string(out.join("report.html")).unwrap();
    let o = bitalign_offline(&["-q", "report", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        std::fs::read_to_string(out.join("report.html")).unwrap(),
        page
    );
}

#[test]
fn report_of_a_directory_without_data_is_one_clear_line() {
    let dir = tempfile::tempdir().unwrap();
    let o = bitalign_offline(&["report", dir.path().to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let e = stderr(&o);
    assert_eq!(e.lines().count(), 1, "{e}");
    assert!(e.contains("report.json: missing"), "{e}");
    let o = bitalign_offline(&["report", dir.path().join("nope").to_str().unwrap()]);
    assert!(stderr(&o).contains("not a directory"), "{}", stderr(&o));
}
