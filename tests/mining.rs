//! Mining with the real offline model (multilingual-e5-small-q4): Tatoeba retrieval
//! accuracy against the reference figures, and `bitalign run` on the demo articles.

mod common;

use bitalign::corpus::{read_jsonl, Record};
use bitalign::embed::Embeddings;
use bitalign::eval::mining::accuracy;
use std::path::{Path, PathBuf};
use std::process::Output;

use common::bitalign_offline as bitalign;

use common::{demo, stderr};

fn tatoeba(file: &str) -> PathBuf {
    common::repo().join("tests/data/tatoeba").join(file)
}

/// xx→en and en→xx accuracy, cosine then margin, for `pair` (e.g. "vie").
fn tatoeba_accuracy(embedder: &bitalign::embed::Embedder, xx: &str) -> [f64; 4] {
    let src = common::lines(&tatoeba(&format!("tatoeba.{xx}-eng.{xx}")));
    let tgt = common::lines(&tatoeba(&format!("tatoeba.{xx}-eng.eng")));
    let q = common::quiet();
    let x: Embeddings = embedder.embed(&src, &q).unwrap();
    let y: Embeddings = embedder.embed(&tgt, &q).unwrap();
    let a = accuracy(&x, &y, 4).unwrap();
    [
        a.cosine.src_to_tgt,
        a.cosine.tgt_to_src,
        a.margin.src_to_tgt,
        a.margin.tgt_to_src,
    ]
}

#[test]
fn tatoeba_accuracy_matches_the_reference_within_half_a_point() {
    let embedder = common::load(&common::offline_model_dir(), None, 32);
    assert_eq!(embedder.prefix(), "passage: ", "the default prefix for e5");
    // The Python reference run of the same model (passage: prefix).
    for (xx, want) in [
        ("vie", [87.7, 92.5, 94.5, 94.7]),
        ("ind", [90.3, 91.8, 94.3, 94.0]),
    ] {
        let got = tatoeba_accuracy(&embedder, xx);
        for (name, (g, w)) in [
            "cosine xx→en",
            "cosine en→xx",
            "margin xx→en",
            "margin en→xx",
        ]
        .iter()
        .zip(got.iter().zip(want))
        {
            assert!(
                (g - w).abs() <= 0.5,
                "{xx} {name}: {g:.1} vs reference {w:.1} ({got:?})"
            );
        }
        // The margin is the point of mining: it must beat plain cosine both ways.
        assert!(got[2] > got[0] && got[3] > got[1], "{xx}: {got:?}");
    }
}

fn texts(records: &[Record]) -> Vec<(String, String)> {
    records
        .iter()
        .map(|r| (r.src.text.clone(), r.tgt.text.clone()))
        .collect()
}

fn has(pairs: &[(String, String)], src: &str, tgt: &str) -> bool {
    pairs
        .iter()
        .any(|(s, t)| s.contains(src) && t.contains(tgt))
}

fn mentions(pairs: &[(String, String)], text: &str) -> bool {
    pairs
        .iter()
        .any(|(s, t)| s.contains(text) || t.contains(text))
}

fn run_demo(out: &Path, extra: &[&str]) -> Output {
    let (en, vi, id) = (demo("en"), demo("vi"), demo("id"));
    let mut args = vec!["run", &en, &vi, &id, "--out", out.to_str().unwrap()];
    args.extend_from_slice(extra);
    let o = bitalign(&args);
    assert!(o.status.success(), "bitalign run failed: {}", stderr(&o));
    o
}

#[test]
fn demo_corpus_has_the_corresponding_pairs_and_not_the_unrelated() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("corpus");
    let o = run_demo(&out, &["--format", "jsonl,tsv,moses,tmx"]);
    let err = stderr(&o);
    for line in [
        "sentences: en 20, vi 31, id 15",
        "en-vi:",
        "en-id:",
        "vi-id:",
        "time:",
    ] {
        assert!(err.contains(line), "summary lacks {line:?}:\n{err}");
    }
    for f in [
        "en-vi.jsonl",
        "en-id.tsv",
        "corpus.vi-id.vi",
        "corpus.vi-id.id",
        "en-id.tmx",
        "multi.jsonl",
        "run.json",
    ] {
        assert!(out.join(f).is_file(), "{f} missing");
    }
    let en_vi = read_jsonl(out.join("en-vi.jsonl")).unwrap();
    let en_id = read_jsonl(out.join("en-id.jsonl")).unwrap();
    let vi_id = read_jsonl(out.join("vi-id.jsonl")).unwrap();
    for r in en_vi.iter().chain(&en_id).chain(&vi_id) {
        let c = r.confidence.expect("the default ranking is the confidence");
        assert!(
            (bitalign::mine::confidence::DEFAULT_MIN_CONFIDENCE..=1.0).contains(&c),
            "{r:?}"
        );
        let (a, b) = r.src.span.unwrap();
        let src_file = std::fs::read_to_string(&r.src.doc).unwrap();
        assert_eq!(&src_file[a..b], r.src.text, "span points at the sentence");
    }
    let (ev, ei, vi) = (texts(&en_vi), texts(&en_id), texts(&vi_id));

    // Read in the articles: tensions remained after the thin peace / the 1994 ceasefire
    // (en, id); the 1994 end of the first war is in vi and id.
    assert!(
        has(
            &ei,
            "tensions have not escaped even after a thin peace",
            "gencatan senjata pada 1994"
        ),
        "{ei:#?}"
    );
    assert!(
        has(&vi, "kết thúc vào năm 1994", "gencatan senjata pada 1994"),
        "{vi:#?}"
    );

    // Sentences with no counterpart in the other articles stay out: the tank videos and
    // martial law (vi only), the rallying cry (en only).
    for unrelated in [
        "Let us support our army",
        "xe tăng T-72",
        "thiết quân luật",
        "Một chiếc xe tăng bị trúng đạn",
        "Israel",
    ] {
        assert!(
            !mentions(&ev, unrelated) && !mentions(&ei, unrelated) && !mentions(&vi, unrelated),
            "{unrelated:?} was paired"
        );
    }

    // Other formats carry the same pairs.
    let tsv = std::fs::read_to_string(out.join("en-id.tsv")).unwrap();
    assert_eq!(tsv.lines().count(), en_id.len());
    let moses = std::fs::read_to_string(out.join("corpus.vi-id.vi")).unwrap();
    assert_eq!(moses.lines().count(), vi_id.len());
    let run: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("run.json")).unwrap()).unwrap();
    assert_eq!(
        run["params"]["min_confidence"].as_f64().unwrap() as f32,
        bitalign::mine::confidence::DEFAULT_MIN_CONFIDENCE
    );
    assert_eq!(
        run["pairs"][1]["kept"].as_u64().unwrap() as usize,
        en_id.len()
    );
    assert!(run["model"]["id"].as_str().is_some(), "{}", run["model"]);
}

/// Graded gold pairs of the demo (tests/data/demo/labels.tsv): (pair, src, tgt) → grade.
fn demo_labels() -> std::collections::HashMap<(String, usize, usize), String> {
    let text = std::fs::read_to_string(common::repo().join("tests/data/demo/labels.tsv")).unwrap();
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            let n = |s: &str| s.parse::<usize>().unwrap();
            ((f[0].to_string(), n(f[1]), n(f[2])), f[3].to_string())
        })
        .collect()
}

/// Kept pairs, those graded same or partial, and the `same` pairs found; `confidence`:
/// the run ranked by confidence (every record carries one in [0, 1]).
fn against_labels(out: &Path, confidence: bool) -> (usize, usize, usize) {
    let labels = demo_labels();
    let (mut kept, mut correct, mut same) = (0, 0, 0);
    for pair in ["en-vi", "en-id", "vi-id"] {
        for r in read_jsonl(out.join(format!("{pair}.jsonl"))).unwrap() {
            if confidence {
                let c = r.confidence.expect("ranked by confidence");
                assert!((0.0..=1.0).contains(&c), "{r:?}");
            }
            kept += 1;
            match labels.get(&(pair.to_string(), r.src.indices[0], r.tgt.indices[0])) {
                Some(g) if g == "same" => (correct, same) = (correct + 1, same + 1),
                Some(g) if g == "partial" => correct += 1,
                _ => {}
            }
        }
    }
    (kept, correct, same)
}

#[test]
fn demo_precision_and_recall_on_the_graded_labels() {
    let dir = tempfile::tempdir().unwrap();
    // The margin ranking (`--rank score`, threshold 1.02): measured 7 kept, 3 correct
    // (same or partial), 1 of the 9 `same` pairs: the Russian foreign minister's call for a
    // ceasefire and talks (en) with Lavrov's initiative (id).
    let out = dir.path().join("margin");
    run_demo(&out, &["--rank", "score"]);
    let (m_kept, m_correct, m_same) = against_labels(&out, false);
    let ei = texts(&read_jsonl(out.join("en-id.jsonl")).unwrap());
    assert!(
        has(
            &ei,
            "We call on the parties to immediately refrain",
            "Menteri Luar Negeri Rusia Sergey Lavrov"
        ),
        "{ei:#?}"
    );
    assert!(
        m_kept > 0 && m_correct * 10 >= m_kept * 4,
        "margin precision {m_correct}/{m_kept}"
    );
    assert!(
        m_same >= 1,
        "margin: {m_same} of the 9 strongest correspondences"
    );
    // The default, the confidence ranking at its cut 0.5 (calibrated on synthetic data
    // only): measured 3 kept, 2 correct, 1 `same`. Issue 16's target (precision 0.8 with 5
    // of the 9 found) is not met; this pins that it stays more precise than the margin.
    let out = dir.path().join("confidence");
    run_demo(&out, &[]);
    let (kept, correct, same) = against_labels(&out, true);
    assert!(kept > 0, "nothing kept");
    assert!(
        correct * m_kept > m_correct * kept,
        "confidence precision {correct}/{kept} not above the margin's {m_correct}/{m_kept}"
    );
    assert!(
        same >= 1,
        "confidence: {same} of the 9 strongest correspondences"
    );
}

#[test]
fn partial_marks_change_no_pair_and_name_the_matching_clauses() {
    use bitalign::mine::partial::{Kind, Which};
    let dir = tempfile::tempdir().unwrap();
    let (plain, marked) = (dir.path().join("plain"), dir.path().join("marked"));
    run_demo(&plain, &["--format", "jsonl,tsv", "--no-partial"]);
    // Marking is on by default (the model is loaded).
    run_demo(&marked, &["--format", "jsonl,tsv,hf"]);
    let mut partial = Vec::new();
    for pair in ["en-vi", "en-id", "vi-id"] {
        let tsv = |d: &Path| std::fs::read_to_string(d.join(format!("{pair}.tsv"))).unwrap();
        assert_eq!(
            tsv(&plain),
            tsv(&marked),
            "{pair}: marking changed the kept pairs"
        );
        let records = read_jsonl(marked.join(format!("{pair}.jsonl"))).unwrap();
        let hf = std::fs::read_to_string(marked.join(format!("hf/{pair}/train.jsonl")))
            .unwrap_or_default();
        assert_eq!(hf.lines().count(), records.len());
        for (r, row) in records.iter().zip(hf.lines()) {
            let m = r
                .correspondence
                .as_ref()
                .expect("every kept pair is marked");
            assert!((0.0..=1.0).contains(&m.p_partial), "{m:?}");
            assert_eq!(m.kind == Kind::Partial, m.p_partial > 0.5, "{m:?}");
            let row: serde_json::Value = serde_json::from_str(row).unwrap();
            assert_eq!(row["kind"], serde_json::to_value(m.kind).unwrap(), "{row}");
            if let Some(part) = &m.part {
                let side = match part.side {
                    Which::Src => &r.src.text,
                    Which::Tgt => &r.tgt.text,
                };
                assert_eq!(&side[part.start..part.end], part.text, "{r:?}");
                assert!(
                    part.text.len() < side.len(),
                    "a part is less than the sentence"
                );
                assert_eq!(row["partial"], part.text.as_str());
                partial.push((pair, r.src.indices[0], r.tgt.indices[0], part.text.clone()));
            }
        }
    }
    // Measured: the Indonesian "despite a ceasefire in 1994, tensions did not subside"
    // against the Vietnamese "the war ended in 1994 after 30,000 died": only its first
    // clause is the shared fact.
    assert!(
        partial
            .iter()
            .any(|(p, s, t, text)| (*p, *s, *t) == ("vi-id", 19, 0)
                && text.starts_with("Meski terjadi gencatan senjata pada 1994")),
        "{partial:#?}"
    );
}

#[test]
fn below_the_default_threshold_and_filtered_pairs_are_still_candidates() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("all");
    run_demo(
        &out,
        &[
            "--threshold",
            "0",
            "--filters",
            "none",
            "--mode",
            "intersect",
        ],
    );
    // The 30,000 deaths of the first war (en, vi) are each other's best partner, but
    // their margin (about 1.008 with e5-small) is below the default threshold, among pairs
    // that only share the topic: retrieval finds them, the threshold does not keep them.
    let ev = read_jsonl(out.join("en-vi.jsonl")).unwrap();
    let r = ev
        .iter()
        .find(|r| r.src.text.contains("claimed some 30,000 lives"))
        .expect("the 30,000 sentence is paired");
    assert!(r.tgt.text.contains("sau khi 30.000 người chết"), "{r:?}");
    assert!(r.margin.unwrap() < bitalign::mine::DEFAULT_THRESHOLD);
    // Turkey's support for Azerbaijan (en, id) scores above the threshold, but the
    // Indonesian sentence also says where Russia stands and is 2.8 times as long: the
    // length filter drops it by default.
    let ei = read_jsonl(out.join("en-id.jsonl")).unwrap();
    let r = ei
        .iter()
        .find(|r| r.src.text.contains("receives military support from Turkey"))
        .expect("paired");
    assert!(r
        .tgt
        .text
        .contains("Turki memberikan dukungan terhadap perjuangan Azerbaijan"));
    assert!(r.margin.unwrap() >= bitalign::mine::DEFAULT_THRESHOLD);
    let ratio = bitalign::mine::filter::length_ratio(&r.src.text, &r.tgt.text);
    assert!(
        ratio > bitalign::mine::filter::DEFAULT_MAX_LENGTH_RATIO,
        "{ratio}"
    );
}

#[test]
fn nothing_above_the_threshold_gives_empty_files_and_a_clear_line() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("empty");
    let o = run_demo(&out, &["--threshold", "5", "--format", "jsonl,moses"]);
    let err = stderr(&o);
    assert!(err.contains("en-vi: no pairs at margin ≥ 5"), "{err}");
    for f in [
        "en-vi.jsonl",
        "corpus.en-id.en",
        "corpus.en-id.id",
        "vi-id.jsonl",
        "multi.jsonl",
    ] {
        assert_eq!(std::fs::read(out.join(f)).unwrap(), b"", "{f}");
    }
}

#[test]
fn bad_input_is_one_clear_line() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("o");
    let out_s = out.to_str().unwrap();
    let fails = |o: Output, needle: &str| {
        assert!(!o.status.success());
        let e = stderr(&o);
        assert!(e.contains(needle), "expected {needle:?} in {e}");
        assert!(!e.contains("panicked"), "{e}");
    };
    let en = demo("en");
    fails(
        bitalign(&["run", &en, "--out", out_s]),
        "mining needs documents in at least two languages",
    );
    let copy = dir.path().join("copy.en.txt");
    std::fs::copy(&en, &copy).unwrap();
    fails(
        bitalign(&["run", &en, copy.to_str().unwrap(), "--out", out_s]),
        "all inputs are in `en`",
    );
    assert!(!out.exists(), "nothing written on bad input");
    std::fs::create_dir(&out).unwrap();
    fails(
        bitalign(&["run", &en, &demo("vi"), "--out", out_s]),
        "already exists",
    );
    fails(
        bitalign(&[
            "run",
            &en,
            &demo("vi"),
            "--out",
            out_s,
            "--force",
            "--pairs",
            "en-fr",
        ]),
        "no input is in `fr`",
    );
    fails(
        bitalign(&[
            "run",
            &en,
            &demo("vi"),
            "--out",
            out_s,
            "--force",
            "--filters",
            "lenght",
        ]),
        "unknown filter",
    );
}

/// The English demo article cut in two files, `a.en.txt` and `b.en.txt`, in `dir`.
fn split_english(dir: &Path) -> (PathBuf, PathBuf) {
    let en = std::fs::read_to_string(demo("en")).unwrap();
    let cut = en.find("The initial war").unwrap();
    let (a, b) = (dir.join("a.en.txt"), dir.join("b.en.txt"));
    std::fs::write(&a, &en[..cut]).unwrap();
    std::fs::write(&b, &en[cut..]).unwrap();
    (a, b)
}

#[test]
fn two_documents_in_one_language_are_pooled() {
    let dir = tempfile::tempdir().unwrap();
    // The English article split in two files: both halves are mined against vi.
    let (a, b) = split_english(dir.path());
    let out = dir.path().join("o");
    let o = bitalign(&[
        "run",
        a.to_str().unwrap(),
        b.to_str().unwrap(),
        &demo("vi"),
        "--out",
        out.to_str().unwrap(),
        "--threshold",
        "0",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("en 20 (2 documents pooled)"),
        "{}",
        stderr(&o)
    );
    let recs = read_jsonl(out.join("en-vi.jsonl")).unwrap();
    let docs: std::collections::BTreeSet<&str> = recs.iter().map(|r| r.src.doc.as_str()).collect();
    assert_eq!(docs.len(), 2, "pairs from both English files: {docs:?}");
}

/// Corpora as they come (issue 11): JSON Lines records, a directory named by its language,
/// compressed files; mined like the same text in plain files, each record a document.
#[test]
fn jsonl_directories_and_compressed_inputs_mine_like_plain_files() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = split_english(dir.path());
    let en = std::fs::read_to_string(&a).unwrap() + &std::fs::read_to_string(&b).unwrap();
    let cut = std::fs::read_to_string(&a).unwrap().len();
    let plain = dir.path().join("plain");
    let (vi, id) = (demo("vi"), demo("id"));
    let o = bitalign(&[
        "run",
        a.to_str().unwrap(),
        b.to_str().unwrap(),
        &vi,
        &id,
        "--out",
        plain.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));

    // English: two records (and one without text) in gzip'd JSON Lines, under another field.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), Default::default());
    for t in [&en[..cut], "", &en[cut..]] {
        let rec = serde_json::json!({"url": "https://example.org", "body": t});
        writeln!(gz, "{rec}").unwrap();
    }
    let jsonl = dir.path().join("story.en.jsonl.gz");
    std::fs::write(&jsonl, gz.finish().unwrap()).unwrap();
    // Vietnamese: xz-compressed, in a folder named by the language.
    let vi_dir = dir.path().join("corpus/vi");
    std::fs::create_dir_all(&vi_dir).unwrap();
    let mut xz = Vec::new();
    lzma_rs::xz_compress(&mut std::fs::read(&vi).unwrap().as_slice(), &mut xz).unwrap();
    std::fs::write(vi_dir.join("karabakh.txt.xz"), xz).unwrap();
    // Indonesian: zstd.
    let zst = dir.path().join("karabakh.id.txt.zst");
    let bytes = std::fs::read(&id).unwrap();
    let level = ruzstd::encoding::CompressionLevel::Fastest;
    std::fs::write(
        &zst,
        ruzstd::encoding::compress_to_vec(bytes.as_slice(), level),
    )
    .unwrap();
    let out = dir.path().join("corpus-out");
    let o = bitalign(&[
        "run",
        jsonl.to_str().unwrap(),
        dir.path().join("corpus").to_str().unwrap(),
        zst.to_str().unwrap(),
        "--text-field",
        "body",
        "--out",
        out.to_str().unwrap(),
    ]);
    let e = stderr(&o);
    assert!(o.status.success(), "{e}");
    assert!(e.contains("story.en.jsonl.gz: 2 documents"), "{e}");
    assert!(e.contains("1 records without text skipped"), "{e}");
    for pair in ["en-vi", "en-id", "vi-id"] {
        let want = read_jsonl(plain.join(format!("{pair}.jsonl"))).unwrap();
        let got = read_jsonl(out.join(format!("{pair}.jsonl"))).unwrap();
        assert_eq!(texts(&got), texts(&want), "{pair}");
        let scores = |r: &[Record]| {
            r.iter()
                .map(|r| (r.score, r.src.span, r.tgt.span))
                .collect::<Vec<_>>()
        };
        assert_eq!(scores(&got), scores(&want), "{pair}");
        for r in got.iter().filter(|r| r.src.lang == "en") {
            assert!(
                [":1", ":3"]
                    .iter()
                    .any(|l| r.src.doc == format!("{}{l}", jsonl.display())),
                "{}",
                r.src.doc
            );
        }
    }
}

/// Issue 11: a re-run reads each document's embeddings back from the cache instead of
/// embedding again, and the corpus is byte for byte the same; a changed document or prefix
/// is embedded again.
#[test]
fn embedding_cache_gives_the_same_corpus_without_embedding_again() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let cache_flag = cache.to_str().unwrap();
    let vi = dir.path().join("story.vi.txt");
    std::fs::copy(demo("vi"), &vi).unwrap();
    let demo_en = demo("en");
    let run = |name: &str, extra: &[&str]| {
        let out = dir.path().join(name);
        let mut args = vec![
            "run",
            &demo_en,
            vi.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ];
        if !extra.contains(&"--embed-cache") {
            args.extend(["--embed-cache", cache_flag]);
        }
        args.extend_from_slice(extra);
        let o = bitalign(&args);
        assert!(o.status.success(), "{}", stderr(&o));
        (std::fs::read(out.join("en-vi.jsonl")).unwrap(), stderr(&o))
    };
    let (first, e) = run("a", &[]);
    assert!(!e.contains("embedding cache"), "{e}");
    let stored = std::fs::read_dir(&cache).unwrap().count();
    assert_eq!(stored, 2, "one file per document");
    let (again, e) = run("b", &[]);
    assert!(
        e.contains("2 of 2 documents (51 sentences) read from the embedding cache"),
        "{e}"
    );
    assert_eq!(first, again, "the cached run writes the same corpus");
    // One document changed: only it is embedded again.
    let mut text = std::fs::read_to_string(&vi).unwrap();
    text.push_str("\nMột câu mới.\n");
    std::fs::write(&vi, text).unwrap();
    let (_, e) = run("c", &[]);
    assert!(e.contains("1 of 2 documents (20 sentences) read"), "{e}");
    // Another prefix gives other vectors: nothing is read back.
    let (_, e) = run("d", &["--prefix", "query: "]);
    assert!(!e.contains("embedding cache"), "{e}");
    let (_, e) = run("e", &["--embed-cache", "off"]);
    assert!(!e.contains("embedding cache"), "{e}");
    assert_eq!(std::fs::read_dir(&cache).unwrap().count(), 5);
}

#[test]
fn rows_streamed_to_disk_in_small_chunks_give_the_same_corpus() {
    // Everything spilled to a mapped file and embedded 7 distinct sentences at a time
    // (the path of inputs too large for memory), with and without the disk cache.
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let run = |name: &str, streamed: bool, cache: &str| {
        let out = dir.path().join(name);
        let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_bitalign"));
        c.args([
            "run",
            &demo("en"),
            &demo("vi"),
            &demo("id"),
            "--threshold",
            "1.0",
        ])
        .args(["--out", out.to_str().unwrap(), "--embed-cache", cache])
        .env("BITALIGN_MODEL", common::offline_model_dir())
        .env("HF_HUB_OFFLINE", "1");
        if streamed {
            c.env("BITALIGN_SPILL_BYTES", "0")
                .env("BITALIGN_EMBED_CHUNK", "7");
        }
        let o = c.output().unwrap();
        assert!(o.status.success(), "{}", stderr(&o));
        ["en-vi.jsonl", "en-id.jsonl", "vi-id.jsonl", "multi.jsonl"]
            .map(|f| std::fs::read(out.join(f)).unwrap())
    };
    let plain = run("a", false, "off");
    assert_eq!(plain, run("b", true, "off"));
    let c = cache.to_str().unwrap();
    assert_eq!(
        plain,
        run("c", true, c),
        "rows stored from the spilled file"
    );
    assert_eq!(std::fs::read_dir(&cache).unwrap().count(), 3);
    assert_eq!(plain, run("d", false, c), "and read back");
}

#[test]
fn same_corpus_whatever_the_thread_count() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("t1"), dir.path().join("t2"));
    run_demo(
        &a,
        &[
            "--threads",
            "1",
            "--threshold",
            "1.0",
            "--format",
            "jsonl,tmx",
        ],
    );
    run_demo(
        &b,
        &[
            "--threads",
            "2",
            "--threshold",
            "1.0",
            "--format",
            "jsonl,tmx",
        ],
    );
    for f in [
        "en-vi.jsonl",
        "en-id.jsonl",
        "vi-id.jsonl",
        "vi-id.tmx",
        "multi.jsonl",
    ] {
        assert_eq!(
            std::fs::read(a.join(f)).unwrap(),
            std::fs::read(b.join(f)).unwrap(),
            "{f} differs between 1 and 2 threads"
        );
    }
}

#[test]
fn multi_way_tuples_from_three_translations() {
    // Eight sentences translated into en, vi and id, plus one unrelated sentence in each.
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("o");
    let f = |l: &str| {
        common::repo()
            .join(format!("tests/data/multi/story.{l}.txt"))
            .display()
            .to_string()
    };
    let (en, vi, id) = (f("en"), f("vi"), f("id"));
    let o = bitalign(&[
        "run",
        "--presplit",
        &en,
        &vi,
        &id,
        "--out",
        a.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("multi-way: 8 tuples"), "{}", stderr(&o));
    // Every two members of a multi-way tuple were mined as a pair.
    let key = |l: &serde_json::Value| {
        (
            l["lang"].as_str().unwrap().to_string(),
            l["indices"][0].as_u64().unwrap() as usize,
        )
    };
    let mut mined = std::collections::HashSet::new();
    for f in ["en-vi.jsonl", "en-id.jsonl", "vi-id.jsonl"] {
        for r in read_jsonl(a.join(f)).unwrap() {
            mined.insert((
                (r.src.lang.clone(), r.src.indices[0]),
                (r.tgt.lang.clone(), r.tgt.indices[0]),
            ));
        }
    }
    let multi = std::fs::read_to_string(a.join("multi.jsonl")).unwrap();
    for line in multi.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let members: Vec<_> = v["sentences"].as_array().unwrap().iter().map(key).collect();
        assert!(members.len() >= 3, "{line}");
        for i in 0..members.len() {
            for j in i + 1..members.len() {
                assert!(
                    mined.contains(&(members[i].clone(), members[j].clone())),
                    "{:?} and {:?} not mined as a pair",
                    members[i],
                    members[j]
                );
            }
        }
    }
    // Line i of en is line i of the others, but for the unrelated line in each file.
    let tuples: Vec<Vec<(String, usize)>> = multi
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            v["sentences"].as_array().unwrap().iter().map(key).collect()
        })
        .collect();
    let want: Vec<Vec<(String, usize)>> = [
        (0, 0, 0),
        (1, 1, 1),
        (2, 2, 2),
        (3, 3, 3),
        (4, 5, 4),
        (6, 6, 5),
        (7, 7, 7),
        (8, 8, 8),
    ]
    .iter()
    .map(|&(e, v, i)| vec![("en".into(), e), ("vi".into(), v), ("id".into(), i)])
    .collect();
    assert_eq!(tuples, want);
}

#[test]
fn eval_mining_cli_on_a_few_lines() {
    let dir = tempfile::tempdir().unwrap();
    let take = |file: &str, n: usize| {
        let p = dir.path().join(file);
        let lines = common::lines(&tatoeba(file));
        std::fs::write(&p, lines[..n].join("\n") + "\n").unwrap();
        p.display().to_string()
    };
    let (vi, en) = (
        take("tatoeba.vie-eng.vie", 20),
        take("tatoeba.vie-eng.eng", 20),
    );
    let o = bitalign(&["eval", "mining", &vi, &en, "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["n"], 20);
    // 20 unrelated everyday sentences: nearly all are found both ways.
    for k in ["cosine", "margin"] {
        for d in ["src_to_tgt", "tgt_to_src"] {
            assert!(v[k][d].as_f64().unwrap() >= 90.0, "{v}");
        }
    }
    let short = take("tatoeba.vie-eng.eng", 19);
    let o = bitalign(&["eval", "mining", &vi, &short]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("has 20 lines but"), "{}", stderr(&o));
}

#[test]
fn mining_saved_embeddings_gives_the_same_corpus() {
    // `bitalign embed` once, then `run --embeddings`: no model run, same pairs.
    let dir = tempfile::tempdir().unwrap();
    let (emb, a, b) = (
        dir.path().join("e"),
        dir.path().join("a"),
        dir.path().join("b"),
    );
    let (en, vi, id) = (demo("en"), demo("vi"), demo("id"));
    let o = bitalign(&["embed", &en, &vi, &id, "--out", emb.to_str().unwrap(), "-q"]);
    assert!(o.status.success(), "{}", stderr(&o));
    // Marking pairs parallel/partial needs the model, which `--embeddings` runs lack.
    run_demo(&a, &["--threshold", "1.0", "--no-partial"]);
    let npy = |l: &str| emb.join(format!("karabakh.{l}.npy")).display().to_string();
    let (ne, nv, ni) = (npy("en"), npy("vi"), npy("id"));
    run_demo(&b, &["--threshold", "1.0", "--embeddings", &ne, &nv, &ni]);
    for f in ["en-vi.jsonl", "en-id.jsonl", "vi-id.jsonl"] {
        assert_eq!(
            std::fs::read(a.join(f)).unwrap(),
            std::fs::read(b.join(f)).unwrap(),
            "{f}"
        );
    }
    let o = bitalign(&[
        "run",
        &en,
        &vi,
        "--out",
        dir.path().join("c").to_str().unwrap(),
        "--embeddings",
        &ne,
    ]);
    assert!(
        stderr(&o).contains("1 files for 2 inputs"),
        "{}",
        stderr(&o)
    );
    let o = bitalign(&[
        "run",
        &en,
        &vi,
        "--out",
        dir.path().join("c").to_str().unwrap(),
        "--embeddings",
        &nv,
        &ne,
    ]);
    assert!(stderr(&o).contains("rows, but"), "{}", stderr(&o));
}

/// Mining with machine translations (`run --translations DIR`) on a real document pair,
/// Text+Berg test2 de-fr with Google's translation of the German side: each kept pair
/// carries its source sentence's translation, run.json names the file, and the chrF
/// evidence keeps more gold pairs at no loss of precision (gold: the test's alignment; a
/// mined pair is right when both sentences are in one gold link). Embedded once, mined
/// twice from the embeddings.
#[test]
fn mining_with_translations_keeps_more_right_pairs_and_writes_them() {
    let dir = tempfile::tempdir().unwrap();
    let tb = common::repo().join("tests/data/textberg");
    let (de, fr, mt) = (
        dir.path().join("a.de"),
        dir.path().join("a.fr"),
        dir.path().join("mt"),
    );
    std::fs::copy(tb.join("test2.de"), &de).unwrap();
    std::fs::copy(tb.join("test2.fr"), &fr).unwrap();
    std::fs::create_dir(&mt).unwrap();
    std::fs::copy(tb.join("test2.google.fr"), mt.join("a.de.fr")).unwrap();
    let emb = dir.path().join("emb");
    let s = |p: &Path| p.to_str().unwrap().to_string();
    let o = bitalign(&[
        "embed",
        "--presplit",
        &s(&de),
        &s(&fr),
        "--out",
        &s(&emb),
        "-q",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let mut gold = std::collections::HashSet::new();
    for line in common::lines(&tb.join("test2.defr")) {
        let (a, b) = line.split_once(':').unwrap();
        let a: Vec<usize> = serde_json::from_str(a).unwrap();
        let b: Vec<usize> = serde_json::from_str(b).unwrap();
        for i in &a {
            for j in &b {
                gold.insert((*i, *j));
            }
        }
    }
    let google = common::lines(&mt.join("a.de.fr"));
    let mine = |extra: &[&str]| {
        let out = dir.path().join(format!("out{}", extra.len()));
        let mut args = vec!["run".to_string(), s(&de), s(&fr), "--presplit".into()];
        args.extend([
            "--embeddings".into(),
            s(&emb.join("a.de.npy")),
            s(&emb.join("a.fr.npy")),
        ]);
        args.extend(["--out".into(), s(&out), "-q".into()]);
        args.extend(extra.iter().map(|x| x.to_string()));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let o = bitalign(&args);
        assert!(o.status.success(), "{}", stderr(&o));
        (read_jsonl(out.join("de-fr.jsonl")).unwrap(), out)
    };
    let right = |recs: &[Record]| {
        recs.iter()
            .filter(|r| gold.contains(&(r.src.indices[0], r.tgt.indices[0])))
            .count()
    };
    let (plain, _) = mine(&[]);
    let (with, out) = mine(&["--translations", mt.to_str().unwrap()]);
    assert!(plain.iter().all(|r| r.translation.is_none()));
    for r in &with {
        assert_eq!(
            r.translation.as_deref(),
            Some(google[r.src.indices[0]].as_str())
        );
    }
    let (rp, rw) = (right(&plain), right(&with));
    let precision = |r: usize, n: usize| r as f64 / n.max(1) as f64;
    // Measured: 47 of 49 without, 76 of 78 with.
    assert!(rw >= rp + 10, "right pairs: {rw} with, {rp} without");
    assert!(
        precision(rw, with.len()) >= precision(rp, plain.len()) - 0.01,
        "precision {rw}/{} with, {rp}/{} without",
        with.len(),
        plain.len()
    );
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("run.json")).unwrap()).unwrap();
    let used = &manifest["params"]["translations"];
    assert_eq!(used.as_array().unwrap().len(), 1, "{used}");
    assert_eq!(used[0]["lang"], "fr");
}
