//! `bitalign shard`: the sharded stages, run one shard at a time in a loop (as a scheduler
//! would), give byte for byte the corpus of the single-process `bitalign run`, from text
//! with the real offline model and `run`'s defaults (the confidence ranking), and from
//! `.npy` embeddings (synthetic, with planted pairs), exact and approximate (inverted
//! file); a stage skips the shards whose markers hold and redoes one whose file was damaged.

mod common;

use bitalign::embed::Embeddings;
use common::bitalign_offline as bitalign;
use common::{demo, stderr};
use std::path::Path;
use std::process::Output;

fn ok(o: Output) -> String {
    assert!(o.status.success(), "{}", stderr(&o));
    stderr(&o)
}

fn s(p: &Path) -> String {
    p.display().to_string()
}

/// Every stage, shard after shard, then the merge; stderr of all of them.
fn run_stages(work: &Path, shards: usize) -> String {
    let mut log = String::new();
    for stage in ["embed", "train", "assign", "knn", "best"] {
        if stage == "train" {
            log += &ok(bitalign(&["shard", "train", &s(work)]));
            continue;
        }
        for i in 0..shards {
            let spec = format!("{i}/{shards}");
            log += &ok(bitalign(&["shard", stage, &s(work), "--shard", &spec]));
        }
    }
    log + &ok(bitalign(&["shard", "merge", &s(work)]))
}

/// Same files, same bytes; `run.json` equal once the timings and the single process's
/// embedding statistics are left out.
fn assert_same_corpus(single: &Path, sharded: &Path) {
    let names = |d: &Path| {
        let mut v: Vec<String> = std::fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    };
    assert_eq!(names(single), names(sharded));
    for n in names(single) {
        let (a, b) = (single.join(&n), sharded.join(&n));
        if n == "run.json" {
            let clean = |p: &Path| {
                let mut v: serde_json::Value =
                    serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap();
                v.as_object_mut().unwrap().remove("timings");
                if let Some(m) = v["model"].as_object_mut() {
                    m.remove("stats");
                    m.remove("max_tokens");
                }
                for p in v["pairs"].as_array_mut().unwrap() {
                    p.as_object_mut().unwrap().remove("seconds");
                }
                v
            };
            assert_eq!(clean(&a), clean(&b), "run.json");
        } else {
            assert!(
                std::fs::read(&a).unwrap() == std::fs::read(&b).unwrap(),
                "{n} differs"
            );
        }
    }
}

/// `run`'s defaults: the corpus ranked by the calibrated confidence, whose features need
/// the whole sides (names' document frequencies, mutual best partners, margins).
#[test]
fn demo_articles_sharded_equal_the_single_run_and_resume() {
    let dir = tempfile::tempdir().unwrap();
    let (single, work, out) = (
        dir.path().join("single"),
        dir.path().join("work"),
        dir.path().join("sharded"),
    );
    let (en, vi, id) = (demo("en"), demo("vi"), demo("id"));
    let flags = ["--format", "jsonl,tsv,moses"];
    let mut a = vec!["run", &en, &vi, &id, "--out"];
    let single_s = s(&single);
    a.push(&single_s);
    a.extend(flags);
    ok(bitalign(&a));

    // More shards than some languages have sentences per shard, uneven cuts.
    let (work_s, out_s) = (s(&work), s(&out));
    let mut a = vec!["shard", "init", &work_s, "--shards", "4", &en, &vi, &id];
    a.extend(["--out", &out_s]);
    a.extend(flags);
    ok(bitalign(&a));
    // Before its inputs exist, a stage says which are missing, in one line.
    let e = stderr(&bitalign(&["shard", "knn", &work_s, "--shard", "0"]));
    assert!(e.contains("embed shard(s) 0,1,2,3 not done"), "{e}");
    assert_eq!(e.trim().lines().count(), 1, "{e}");
    let log = run_stages(&work, 4);
    assert!(log.contains("train: not needed"), "{log}");
    assert_same_corpus(&single, &out);
    let run_json = std::fs::read_to_string(out.join("run.json")).unwrap();
    assert!(
        run_json.contains("\"tsv_score\": \"confidence\""),
        "{run_json}"
    );

    // Init again with the same arguments: nothing changes; everything is skipped.
    ok(bitalign(&a));
    let log = run_stages(&work, 4);
    assert_eq!(log.matches("skipped, done already").count(), 12, "{log}");
    assert!(log.contains("merge: skipped"), "{log}");

    // A damaged k-NN file (same size) and a leftover temporary file of a killed task:
    // that shard is computed again, the others are skipped, the corpus is the same.
    let f = work.join("knn/en-vi.src.2.npy");
    let mut b = std::fs::read(&f).unwrap();
    let last = b.len() - 1;
    b[last] ^= 1;
    std::fs::write(&f, &b).unwrap();
    std::fs::write(work.join("best/.bitalign-killed.tmp"), b"half").unwrap();
    std::fs::remove_file(work.join("merge.done")).unwrap();
    let status = String::from_utf8(bitalign(&["shard", "status", &work_s]).stdout).unwrap();
    assert!(status.contains("knn: 3/4 done; missing: 2"), "{status}");
    let log = run_stages(&work, 4);
    assert!(log.contains("knn shard 2/4: "), "{log}");
    assert_eq!(log.matches("skipped, done already").count(), 11, "{log}");
    assert_same_corpus(&single, &out);

    // An inverted file so small and sparsely probed that some rows find no neighbour (their
    // mean is NaN and they are never chosen), from the embeddings the shards computed.
    let mut npy = Vec::new();
    for lang in ["en", "vi", "id"] {
        let rows: Vec<Vec<f32>> = (0..4)
            .flat_map(|i| {
                let e = Embeddings::read_npy(&work.join(format!("embed/{lang}.{i}.npy"))).unwrap();
                e.rows().map(<[f32]>::to_vec).collect::<Vec<_>>()
            })
            .collect();
        let path = dir.path().join(format!("{lang}.npy"));
        let e = Embeddings::from_rows(rows[0].len(), &rows).unwrap();
        e.write_npy(&mut std::fs::File::create(&path).unwrap())
            .unwrap();
        npy.push(s(&path));
    }
    let approx = [
        "--knn",
        "approx",
        "--ivf-lists",
        "4",
        "--ivf-probe",
        "1",
        "--embeddings",
    ];
    let (single, work, out) = (
        dir.path().join("single-approx"),
        dir.path().join("work-approx"),
        dir.path().join("sharded-approx"),
    );
    let (single_s, work_s, out_s) = (s(&single), s(&work), s(&out));
    let mut a = vec!["run", &en, &vi, &id, "--out", &single_s];
    a.extend(approx);
    a.extend(npy.iter().map(String::as_str));
    ok(bitalign(&a));
    let mut a = vec![
        "shard", "init", &work_s, "--shards", "5", &en, &vi, &id, "--out", &out_s,
    ];
    a.extend(approx);
    a.extend(npy.iter().map(String::as_str));
    ok(bitalign(&a));
    run_stages(&work, 5);
    assert_same_corpus(&single, &out);
}

/// Rows `r` of a matrix as a new `.npy`.
fn write_rows(e: &Embeddings, r: std::ops::Range<usize>, path: &Path) {
    let part = e.select(&r.collect::<Vec<_>>());
    let mut f = std::fs::File::create(path).unwrap();
    part.write_npy(&mut f).unwrap();
}

fn write_lines(path: &Path, prefix: &str, n: usize) {
    let text: String = (0..n).map(|i| format!("{prefix} sentence {i}\n")).collect();
    std::fs::write(path, text).unwrap();
}

#[test]
fn npy_embeddings_sharded_equal_the_single_run_whatever_the_shard_count() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // Synthetic clustered vectors with planted pairs (`bench mine`), 3000 a side; x is
    // given as two documents, so a side is pooled from two files.
    ok(bitalign(&[
        "bench",
        "mine",
        "--size",
        "3000",
        "--write-npy",
        &s(d),
        "--write-only",
    ]));
    let x = Embeddings::read_npy(&d.join("x-3000.npy")).unwrap();
    write_rows(&x, 0..1100, &d.join("x1.npy"));
    write_rows(&x, 1100..3000, &d.join("x2.npy"));
    write_lines(&d.join("x1.txt"), "first", 1100);
    write_lines(&d.join("x2.txt"), "second", 1900);
    write_lines(&d.join("y.txt"), "other", 3000);
    let files = [
        s(&d.join("x1.txt")),
        s(&d.join("x2.txt")),
        s(&d.join("y.txt")),
    ];
    let npy = [
        s(&d.join("x1.npy")),
        s(&d.join("x2.npy")),
        s(&d.join("y-3000.npy")),
    ];
    let common_flags = |v: &mut Vec<String>| {
        v.extend(files.iter().cloned());
        v.extend(
            [
                "--presplit",
                "--lang",
                "en,en,vi",
                "--filters",
                "none",
                "--embeddings",
            ]
            .map(String::from),
        );
        v.extend(npy.iter().cloned());
    };
    // `bitalign run` with `extra` flags into d/NAME.
    let single = |name: &str, extra: &[&str]| {
        let out = d.join(name);
        let mut a: Vec<String> = vec!["run".into()];
        common_flags(&mut a);
        a.extend(extra.iter().map(|f| f.to_string()));
        a.extend(["--out".into(), s(&out)]);
        ok(bitalign(&a.iter().map(String::as_str).collect::<Vec<_>>()));
        out
    };
    // The same through `shard init` with `shards` shards and every stage: (work dir, corpus
    // dir, the stages' log).
    let sharded = |name: &str, shards: usize, extra: &[&str]| {
        let (work, out) = (d.join(format!("w-{name}")), d.join(format!("o-{name}")));
        let mut a: Vec<String> = vec!["shard".into(), "init".into(), s(&work)];
        a.extend(["--shards".into(), shards.to_string()]);
        common_flags(&mut a);
        a.extend(extra.iter().map(|f| f.to_string()));
        a.extend(["--out".into(), s(&out)]);
        ok(bitalign(&a.iter().map(String::as_str).collect::<Vec<_>>()));
        let log = run_stages(&work, shards);
        (work, out, log)
    };
    let by_score = ["--rank", "score"];
    let single_score = single("single", &by_score);
    let kept = std::fs::read_to_string(single_score.join("en-vi.jsonl")).unwrap();
    assert!(kept.lines().count() > 1000, "the planted pairs are found");
    for shards in [1, 3, 7] {
        let (_, out, log) = sharded(&format!("score{shards}"), shards, &by_score);
        assert!(log.contains("embed: not needed"), "{log}");
        assert_same_corpus(&single_score, &out);
    }

    // `run`'s default ranking, the confidence, on many candidates (the demo keeps few).
    let single_conf = single("single-conf", &[]);
    let (_, out, _) = sharded("conf3", 3, &[]);
    assert_same_corpus(&single_conf, &out);
    let conf = std::fs::read_to_string(out.join("en-vi.jsonl")).unwrap();
    assert!(conf.lines().count() > 1000 && conf.contains("\"confidence\""));

    // Approximate: an inverted file probed so sparsely that it misses pairs the exact
    // search finds; the same corpus from 1, 3 and 7 shards as from `run --knn approx`.
    let approx = ["--knn", "approx", "--ivf-probe", "1"];
    let single_approx = single("single-approx", &approx);
    let got = std::fs::read_to_string(single_approx.join("en-vi.jsonl")).unwrap();
    assert_ne!(
        got, kept,
        "probing one list finds other pairs than the exact search"
    );
    for shards in [1, 3, 7] {
        let (work, out, log) = sharded(&format!("approx{shards}"), shards, &approx);
        assert!(log.contains("train: en-vi 46 lists, probe 1"), "{log}");
        assert_same_corpus(&single_approx, &out);
        let manifest = std::fs::read_to_string(work.join("shard.json")).unwrap();
        assert!(manifest.contains("\"lists\": 46"), "{manifest}");
    }
}

#[test]
fn what_a_sharded_run_cannot_do_is_refused_before_any_work() {
    let dir = tempfile::tempdir().unwrap();
    let work = s(&dir.path().join("w"));
    let out = s(&dir.path().join("o"));
    let (en, vi) = (demo("en"), demo("vi"));
    for (extra, want) in [
        (vec!["--mode", "align"], "--mode align"),
        (vec!["--report"], "pass it to `bitalign shard merge`"),
    ] {
        let mut a = vec![
            "shard", "init", &work, "--shards", "2", &en, &vi, "--out", &out,
        ];
        a.extend(extra);
        let o = bitalign(&a);
        assert!(!o.status.success());
        assert!(stderr(&o).contains(want), "{}", stderr(&o));
        assert!(!dir.path().join("w").exists(), "nothing written");
    }
    let a = [
        "shard", "init", &work, "--shards", "2", &en, &vi, "--out", &out,
    ];
    ok(bitalign(&a));
    let e = stderr(&bitalign(&["shard", "embed", &work, "--shard", "2"]));
    assert!(e.contains("shard 2 does not exist"), "{e}");
    // The same directory for other parameters is refused.
    let e = stderr(&bitalign(&[
        "shard", "init", &work, "--shards", "3", &en, &vi, "--out", &out,
    ]));
    assert!(e.contains("set up for other inputs or parameters"), "{e}");
}
