//! Property tests over hostile input (issue 10, "done when"): the `.npy` reader, the gold
//! file parser, safetensors/config loading and `--presplit` reading return errors, never
//! panic, whatever the bytes.

mod common;

use bitalign::embed::Embeddings;
use bitalign::eval::align::parse_links;
use bitalign::model::{Model, ModelSource};
use common::*;
use proptest::prelude::*;
use std::path::Path;

/// A `.npy` that is nearly right: a plausible header (dtype, order, shape) over a body
/// of arbitrary length, sometimes with bytes flipped anywhere.
fn npy_bytes() -> impl Strategy<Value = Vec<u8>> {
    let descr = prop::sample::select(vec![
        "<f4", ">f4", "<f8", ">f8", "<f2", "|u1", "<i4", "<c8", "|O", "<f4x", "",
    ]);
    let shape = prop::sample::select(vec![
        "(2, 3)",
        "(0, 3)",
        "(3, 0)",
        "(3,)",
        "()",
        "(1, 2, 3)",
        "(18446744073709551615, 2)",
        "(4294967296, 4294967296)",
        "(2, -1)",
        "(a, b)",
        "(2, 3",
        "",
    ]);
    (
        descr,
        any::<bool>(),
        shape,
        prop::collection::vec(any::<u8>(), 0..80),
        prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..3),
    )
        .prop_map(|(d, f, s, body, flips)| {
            let mut b = npy_header(d, f, s);
            b.extend(body);
            for (i, v) in flips {
                let k = i.index(b.len());
                b[k] = v;
            }
            b
        })
}

fn gold_text() -> impl Strategy<Value = String> {
    let piece = prop::sample::select(vec![
        "[",
        "]",
        ":",
        ",",
        " ",
        "\n",
        "\r\n",
        "0",
        "1",
        "17",
        "-1",
        "18446744073709551616",
        "0.5",
        "nan",
        "[]",
        "[0]:[0]",
        "[1, 2]:[3]",
        "x",
        "\u{feff}",
        ":0.3",
    ]);
    prop::collection::vec(piece, 0..40).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 500, ..ProptestConfig::default() })]

    #[test]
    fn npy_reader_never_panics(bytes in npy_bytes(), raw in any::<bool>(), dim in 0usize..5) {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join(if raw { "x.f32" } else { "x.npy" });
        std::fs::write(&p, &bytes).unwrap();
        if let Ok(e) = Embeddings::read(&p, if raw { Some(dim) } else { None }) {
            prop_assert!(e.as_slice().iter().all(|v| v.is_finite()));
            prop_assert_eq!(e.as_slice().len(), e.len() * e.dim());
        }
    }

    #[test]
    fn gold_parser_never_panics(text in gold_text()) {
        if let Ok(links) = parse_links(&text) {
            // Whatever parsed scores without panicking too.
            let _ = bitalign::eval::align::score(&links, &links);
        }
    }

    #[test]
    fn gold_parser_never_panics_on_any_text(text in any::<String>()) {
        let _ = parse_links(&text);
    }

    /// `--presplit`: any bytes, decoded (lossy), give exactly one sentence per `\n` line.
    #[test]
    fn presplit_reading_is_line_for_line(bytes in prop::collection::vec(
        prop::sample::select(vec![b'a', b' ', b'\n', b'\r', 0x0b, 0x0c, 0xc2, 0x85, 0xe2, 0x80,
            0xa8, 0xef, 0xbb, 0xbf, 0xff, b'.']), 0..200)) {
        if let Ok(d) = bitalign::segment::decode("x", bytes.clone(), true) {
            let (s, _) = bitalign::segment::split_document(&d, 0, "en", true);
            let t = &d.text;
            let lines = if t.is_empty() { 0 } else { t.strip_suffix('\n').unwrap_or(t).split('\n').count() };
            prop_assert_eq!(s.len(), lines);
            for (i, x) in s.iter().enumerate() {
                prop_assert_eq!(x.index, i);
                prop_assert!(x.span.start <= x.span.end && x.span.end <= bytes.len());
            }
        }
    }
}

/// A copy of the tiny BERT fixture with `edit` applied to the safetensors header or the
/// config; loading must give `Ok` or an error, never a panic or an abort.
fn load_edited(
    header: impl FnOnce(&mut serde_json::Value),
    config: impl FnOnce(&mut serde_json::Value),
) -> Result<(), String> {
    let dir = tempfile::tempdir().unwrap();
    let from = fixtures().join("tiny/bert-mean");
    copy_dir(&from, dir.path());
    let st = dir.path().join("model.safetensors");
    let bytes = std::fs::read(&st).unwrap();
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let mut h: serde_json::Value = serde_json::from_slice(&bytes[8..8 + n]).unwrap();
    header(&mut h);
    let mut hb = serde_json::to_vec(&h).unwrap();
    while !hb.len().is_multiple_of(8) {
        hb.push(b' ');
    }
    let mut out = (hb.len() as u64).to_le_bytes().to_vec();
    out.extend(hb);
    out.extend(&bytes[8 + n..]);
    std::fs::write(&st, out).unwrap();
    let cp = dir.path().join("config.json");
    let mut c: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&cp).unwrap()).unwrap();
    config(&mut c);
    std::fs::write(&cp, c.to_string()).unwrap();
    Model::load(
        &ModelSource::new(dir.path().display().to_string()),
        &quiet(),
    )
    .map(|_| ())
    .map_err(|e| format!("{e:#}"))
}

fn copy_dir(from: &Path, to: &Path) {
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let t = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            std::fs::create_dir_all(&t).unwrap();
            copy_dir(&e.path(), &t);
        } else {
            std::fs::copy(e.path(), t).unwrap();
        }
    }
}

fn big() -> impl Strategy<Value = u64> {
    prop_oneof![
        0u64..70,
        Just(1 << 20),
        Just(1 << 31),
        Just(1 << 40),
        Just(u64::MAX)
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn safetensors_headers_never_panic(
        which in any::<prop::sample::Index>(),
        rows in big(), cols in big(), a in big(), b in big(),
        dtype in prop::sample::select(vec!["F32", "F16", "BF16", "I64", "U8", "F64", "X"]),
        touch_offsets in any::<bool>(),
    ) {
        let _ = load_edited(
            |h| {
                let names: Vec<String> = h.as_object().unwrap().keys()
                    .filter(|k| *k != "__metadata__").cloned().collect();
                let name = &names[which.index(names.len())];
                h[name]["shape"] = serde_json::json!([rows, cols]);
                h[name]["dtype"] = serde_json::json!(dtype);
                if touch_offsets {
                    h[name]["data_offsets"] = serde_json::json!([a, b]);
                }
            },
            |_| {},
        );
    }

    #[test]
    fn configs_never_panic(
        layers in big(), hidden in big(), heads in big(), inter in big(), positions in big(),
        field in prop::sample::select(vec!["num_hidden_layers", "hidden_size",
            "num_attention_heads", "intermediate_size", "max_position_embeddings", "pad_token_id"]),
    ) {
        let r = load_edited(|_| {}, |c| {
            c["num_hidden_layers"] = serde_json::json!(layers.min(1 << 40));
            c[field] = serde_json::json!(match field {
                "hidden_size" => hidden,
                "num_attention_heads" => heads,
                "intermediate_size" => inter,
                "max_position_embeddings" => positions,
                _ => layers,
            });
        });
        if let Err(e) = r {
            prop_assert!(!e.contains('\n'), "{}", e);
        }
    }
}
