//! `bitalign split` end to end: languages, spans into the original bytes, and bad input.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn bitalign(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_bitalign"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run bitalign")
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).unwrap()
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> String {
    let p: PathBuf = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p.display().to_string()
}

fn demo(lang: &str) -> String {
    format!(
        "{}/data/demo/karabakh.{lang}.txt",
        env!("CARGO_MANIFEST_DIR")
    )
}

/// A failed run: non-zero exit, one line on stderr naming `what`.
fn fails_with(o: &Output, what: &str, needle: &str) {
    let e = stderr(o);
    assert!(!o.status.success(), "should fail: {e}");
    assert_eq!(e.lines().count(), 1, "one line: {e}");
    assert!(e.contains(what) && e.contains(needle), "{e}");
    assert!(!e.contains("panicked") && !e.contains("backtrace"), "{e}");
}

#[test]
fn demo_articles_one_sentence_per_line() {
    let o = bitalign(&["split", &demo("en"), &demo("vi"), &demo("id")]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o).lines().count(), 20 + 31 + 15);
    let e = stderr(&o);
    assert!(
        e.contains("karabakh.vi.txt: vi (from the file name), 31 sentences"),
        "{e}"
    );
    let q = bitalign(&["split", "-q", &demo("id")]);
    assert!(q.status.success() && q.stderr.is_empty());
}

#[test]
fn json_spans_point_into_the_original_bytes() {
    let dir = tempfile::tempdir().unwrap();
    // BOM, CRLF, a lone CR, a blank line and a paragraph without a final stop.
    let bytes = "\u{feff}Ông ấy đến. Tôi đi.\r\n\r\nMột câu nữa\rCâu cuối!".as_bytes();
    let f = write(dir.path(), "x.vi.txt", bytes);
    let o = bitalign(&["split", "--json", &f]);
    assert!(o.status.success(), "{}", stderr(&o));
    let lines: Vec<serde_json::Value> = stdout(&o)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let texts: Vec<&str> = lines.iter().map(|v| v["text"].as_str().unwrap()).collect();
    assert_eq!(
        texts,
        ["Ông ấy đến.", "Tôi đi.", "Một câu nữa", "Câu cuối!"]
    );
    for (i, v) in lines.iter().enumerate() {
        let (s, e) = (
            v["start"].as_u64().unwrap() as usize,
            v["end"].as_u64().unwrap() as usize,
        );
        assert_eq!(&bytes[s..e], texts[i].as_bytes());
        assert_eq!(v["index"], i);
        assert_eq!(v["lang"], "vi");
        assert_eq!(v["doc"], 0);
    }
    assert_eq!(lines[0]["start"], 3, "the BOM is skipped, not removed");
}

#[test]
fn presplit_keeps_lines() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(dir.path(), "p.en.txt", b"One. Two.\nThree\n\n");
    let o = bitalign(&["split", "--presplit", &f]);
    // Line i is sentence i: the blank third line is an empty sentence (issue 10 #5).
    assert_eq!(stdout(&o), "One. Two.\nThree\n\n");
    let o = bitalign(&["split", &f]);
    assert_eq!(stdout(&o), "One.\nTwo.\nThree\n");
}

#[test]
fn languages_from_flags_names_and_detection() {
    let dir = tempfile::tempdir().unwrap();
    let id = write(
        dir.path(),
        "a.txt",
        "Presiden Rusia Vladimir Putin dikabarkan langsung mengontak Perdana Menteri Armenia \
         terkait hal ini. Dia juga mendesak dunia internasional untuk tidak diam."
            .as_bytes(),
    );
    let o = bitalign(&["split", "--json", &id]);
    let e = stderr(&o);
    assert!(e.contains("a.txt: id (detected among en/id/vi"), "{e}");
    let o = bitalign(&["split", "--json", "--lang", "vie", &id]);
    assert!(
        stderr(&o).contains("a.txt: vi (from --lang)"),
        "{}",
        stderr(&o)
    );
    assert!(stdout(&o).contains("\"lang\":\"vi\""));
    let o = bitalign(&["split", "--lang", "a.txt:en", &id]);
    assert!(stderr(&o).contains("a.txt: en (from --lang)"));
    let o = bitalign(&["split", "--lang", "fr", &id]);
    let e = stderr(&o);
    assert!(e.contains("no sentence rules for 'fr'"), "{e}");
    assert_eq!(e.matches("no sentence rules").count(), 1);
    let o = bitalign(&["split", "--lang", "fr", &id, &id]);
    assert_eq!(
        stderr(&o).matches("no sentence rules").count(),
        1,
        "said once"
    );
    fails_with(
        &bitalign(&["split", "--lang", "english", &id]),
        "--lang",
        "not a language code",
    );
    fails_with(
        &bitalign(&["split", "--lang", "en,vi", &id]),
        "--lang",
        "2 languages for 1 files",
    );
}

#[test]
fn bad_input_errors() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let bad = write(d, "bad.txt", b"Good text. Then \xff\xfe bad.");
    fails_with(&bitalign(&["split", &bad]), "bad.txt", "offset 16");
    let o = bitalign(&["split", "--lossy", "--json", &bad]);
    assert!(o.status.success());
    assert!(
        stderr(&o).contains("2 invalid UTF-8 sequences replaced"),
        "{}",
        stderr(&o)
    );
    let empty = write(d, "empty.txt", b" \n\r\n\t ");
    fails_with(&bitalign(&["split", &empty]), "empty.txt", "empty document");
    // A directory stands for the files under it (issue 11): an empty one is an error.
    let hollow = d.join("hollow");
    std::fs::create_dir(&hollow).unwrap();
    fails_with(
        &bitalign(&["split", &hollow.display().to_string()]),
        &hollow.display().to_string(),
        "no files in this directory",
    );
    fails_with(
        &bitalign(&["split", "/nonexistent/x.txt"]),
        "/nonexistent/x.txt",
        "no such file",
    );
    let bin = write(d, "bin.dat", b"PK\x03\x04\x00\x00abc");
    fails_with(
        &bitalign(&["split", &bin]),
        "bin.dat",
        "NUL byte at offset 4",
    );
}

#[test]
fn runaway_sentence_is_cut_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(dir.path(), "long.en.txt", "word ".repeat(20_000).as_bytes());
    let o = bitalign(&["split", &f]);
    assert!(o.status.success());
    let out = stdout(&o);
    assert!(out
        .lines()
        .all(|l| l.len() <= bitalign::segment::MAX_SENTENCE_BYTES));
    let n = out.lines().count();
    assert!(n >= 25, "{n}");
    assert!(
        stderr(&o).contains(&format!("{} over-long stretches without a stop cut", n - 1)),
        "{}",
        stderr(&o)
    );
}

#[test]
fn stdin_and_closed_pipe() {
    use std::io::Write;
    let mut c = Command::new(env!("CARGO_BIN_EXE_bitalign"))
        .args(["split", "--lang", "en", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    c.stdin
        .take()
        .unwrap()
        .write_all(b"Hi there. Bye now.")
        .unwrap();
    let o = c.wait_with_output().unwrap();
    assert_eq!(stdout(&o), "Hi there.\nBye now.\n");
    // `| head -1`: the reader goes away; no error, no panic.
    let big = "A sentence here. ".repeat(100_000);
    let dir = tempfile::tempdir().unwrap();
    let f = write(dir.path(), "big.en.txt", big.as_bytes());
    let mut c = Command::new(env!("CARGO_BIN_EXE_bitalign"))
        .args(["split", "-q", &f])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(c.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    assert_eq!(line, "A sentence here.\n");
    let o = c.wait_with_output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(o.stderr.is_empty(), "{}", stderr(&o));
}
