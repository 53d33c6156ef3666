use super::*;

fn sref(doc: usize, index: usize, text: &str) -> SentenceRef {
    SentenceRef {
        doc,
        index,
        text: text.into(),
    }
}

fn cand(i: usize, score: f32, fate: Fate) -> Candidate {
    Candidate {
        src: sref(0, i, &format!("source {i} <b>&")),
        tgt: sref(1, i, &format!("target {i}")),
        cosine: score - 0.1,
        margin: score,
        score,
        fate,
    }
}

fn mined(n_kept: usize, n_below: usize, n_filtered: usize) -> RunData {
    let mut candidates = Vec::new();
    for i in 0..n_kept {
        candidates.push(cand(i, 1.5 - i as f32 * 1e-3, Fate::Kept));
    }
    for i in 0..n_filtered {
        candidates.push(cand(
            n_kept + i,
            1.05 - i as f32 * 1e-4,
            Fate::Filtered("length".into()),
        ));
    }
    for i in 0..n_below {
        candidates.push(cand(
            n_kept + n_filtered + i,
            1.0 - i as f32 * 1e-3,
            Fate::BelowThreshold,
        ));
    }
    RunData {
        version: DATA_VERSION,
        command: "run a.en.txt b.vi.txt --report".into(),
        bitalign: "0.1.0".into(),
        inputs: vec![
            Input {
                file: "a.en.txt".into(),
                lang: "en".into(),
                lang_source: "from the file name".into(),
                sentences: 1000,
            },
            Input {
                file: "b.vi.txt".into(),
                lang: "vi".into(),
                lang_source: "from the file name".into(),
                sentences: 1000,
            },
        ],
        model: vec![("id".into(), "m".into())],
        params: vec![("threshold".into(), "1.02".into())],
        mined: vec![MinedPair {
            src: "en".into(),
            tgt: "vi".into(),
            score: "margin".into(),
            threshold: 1.02,
            candidates,
        }],
        aligned: Vec::new(),
    }
}

fn rows_in(html: &str) -> usize {
    let table = &html[html.find("id=\"rows\"").expect("table")..];
    table.matches("<tr class=").count()
}

#[test]
fn small_runs_show_every_candidate_escaped_with_both_histograms() {
    let d = mined(3, 4, 2);
    let r = render(&d, &Limits::default());
    assert_eq!(rows_in(&r.html), 9);
    assert!(r.html.contains("source 0 &lt;b&gt;&amp;"));
    assert!(!r.html.contains("<b>&"));
    assert!(r.html.contains("Every candidate is listed"));
    let names: Vec<&str> = r.plots.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["hist-margin.en-vi.svg", "hist-cosine.en-vi.svg"]);
    // The threshold is drawn on the ranking score's histogram only.
    assert!(r.plots[0].1.contains("threshold 1.02"));
    assert!(!r.plots[1].1.contains("stroke-dasharray"));
    assert!(r.plots[0]
        .1
        .starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
    // No network: nothing is fetched from anywhere.
    assert!(!r.html.contains("http://") || !r.html.contains("src=\"http"));
    assert!(!r.html.contains("https://"));
}

#[test]
fn big_runs_are_capped_per_group_and_say_so() {
    let d = mined(100, 50, 30);
    let limits = Limits {
        rows: 10,
        links: 10,
    };
    let r = render(&d, &limits);
    // 10 best + 10 worst kept, 10 best below, 10 best filtered.
    assert_eq!(rows_in(&r.html), 40);
    assert!(r.html.contains("40 of 180 candidates shown"), "cap note");
    assert!(r.html.contains("source 99 "), "worst kept shown");
    assert!(!r.html.contains("source 50 "), "middle kept left out");
    assert!(r.html.contains("source 130 "), "best below shown");
    assert!(!r.html.contains("source 179 "), "far below left out");
}

#[test]
fn data_round_trips_and_a_missing_file_is_one_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let d = mined(2, 1, 1);
    let files = write_new(dir.path(), &d, &Limits::default()).unwrap();
    assert_eq!(files.len(), 4, "data, two plots, page");
    assert_eq!(read_data(dir.path()).unwrap(), d);
    let again = write_new(dir.path(), &d, &Limits::default()).unwrap_err();
    assert!(
        again.to_string().contains("report.html: already exists"),
        "{again}"
    );
    let files = write(dir.path(), &d, &Limits::default()).unwrap();
    assert!(dir.path().join(HTML_FILE).is_file());
    assert!(dir
        .path()
        .join(SVG_DIR)
        .join("hist-margin.en-vi.svg")
        .is_file());
    assert_eq!(files.len(), 3);
    let empty = tempfile::tempdir().unwrap();
    let e = read_data(empty.path()).unwrap_err().to_string();
    assert!(e.contains("report.json: missing"), "{e}");
    std::fs::write(empty.path().join(DATA_FILE), "{\"version\": 1}").unwrap();
    let e = format!("{:#}", read_data(empty.path()).unwrap_err());
    assert!(e.contains("not a bitalign report data file"), "{e}");
}

fn unit(rows: &[Vec<f32>]) -> Embeddings {
    let rows: Vec<Vec<f32>> = rows
        .iter()
        .map(|r| {
            let n = r.iter().map(|v| v * v).sum::<f32>().sqrt();
            r.iter().map(|v| v / n).collect()
        })
        .collect();
    Embeddings::from_rows(rows[0].len(), &rows).unwrap()
}

#[test]
fn similarity_keeps_the_best_cosine_of_each_cell() {
    // Sentence i of both sides points the same way: the diagonal is 1, the rest lower.
    let side: Vec<Vec<f32>> = (0..6)
        .map(|i| (0..6).map(|k| if k == i { 1.0 } else { 0.1 }).collect())
        .collect();
    let (x, y) = (unit(&side), unit(&side));
    let s = similarity(&x, &y, 3).unwrap();
    assert_eq!((s.rows, s.cols, s.row_step, s.col_step), (3, 3, 2, 2));
    assert!((s.hi - 1.0).abs() < 1e-5);
    for r in 0..3 {
        for c in 0..3 {
            let v = s.values[r * 3 + c];
            assert_eq!(v == 255, r == c, "cell {r},{c} = {v}");
        }
    }
    assert!(similarity(&x, &Embeddings::new(6, vec![]).unwrap(), 3).is_none());
}

#[test]
fn alignment_reports_link_types_unaligned_rows_and_a_dot_plot() {
    let mut d = mined(0, 0, 0);
    d.mined.clear();
    let sents = |p: &str, n: usize| (0..n).map(|i| format!("{p} {i}")).collect::<Vec<_>>();
    let link = |s: [usize; 2], t: [usize; 2], cos: f32| LinkData {
        src: s,
        tgt: t,
        cosine: cos,
        cost: 1.0 - cos,
    };
    let side: Vec<Vec<f32>> = (0..4)
        .map(|i| (0..4).map(|k| if k == i { 1.0 } else { 0.2 }).collect())
        .collect();
    let e = unit(&side);
    d.aligned = vec![AlignedPair {
        src: "en".into(),
        tgt: "vi".into(),
        docs: vec![AlignedDoc {
            src_doc: 0,
            tgt_doc: 1,
            src_sentences: sents("s", 4),
            tgt_sentences: sents("t", 4),
            links: vec![
                link([0, 1], [0, 1], 0.9),
                link([1, 3], [1, 2], 0.8),
                link([3, 3], [2, 3], 0.0),
                link([3, 4], [3, 4], 0.85),
            ],
            similarity: similarity(&e, &e, MAX_CELLS),
        }],
    }];
    let r = render(&d, &Limits::default());
    assert_eq!(rows_in(&r.html), 4);
    assert_eq!(r.html.matches("<tr class=\"unaligned\"").count(), 1);
    assert!(r.html.contains("1-1: 2, 0-1: 1, 2-1: 1"), "link types");
    assert!(r.html.contains("s 1 s 2"), "a 2-1 link joins its sentences");
    let names: Vec<&str> = r.plots.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["dotplot.en-vi.svg", "hist-links.en-vi.svg"]);
    assert!(r.plots[0].1.contains("<polyline"));
    assert!(r.plots[0].1.contains("2-1 link"));
}
