#!/usr/bin/env python3
"""Embeds the overlaps of labelled documents once, for `examples/align_npy.rs`.

The alignment figures in docs/align.md are tuned without re-embedding: every overlap (1–K
consecutive sentences joined by a space, as `bitalign align` builds them) of each document
is embedded once with `bitalign embed --presplit`, and align_npy reads them back from
`EMB/D.L.o{k}.npy`. Texts shared between documents or sizes are embedded once.

    scripts/embed-overlaps.py EMB --data ../shared/data/textberg --docs dev,test0 \
        --langs de,fr [--k 4] [--prefix "passage: "] [--model models/multilingual-e5-small-q4]

Several `--data DIR:DOCS:L1,L2` groups can be given at once with `--group` (repeatable),
e.g. `--group /tmp/syn:devclean,devjoin:de,fr --group /tmp/syn:envi:en,vi`. Needs NumPy
(the package venv of scripts/test-python.sh has it) and a release build of bitalign.
"""

import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np

ap = argparse.ArgumentParser()
ap.add_argument("emb")
ap.add_argument("--data")
ap.add_argument("--docs")
ap.add_argument("--langs", default="de,fr")
ap.add_argument("--group", action="append", default=[], help="DIR:DOC,DOC:L1,L2")
ap.add_argument("--k", type=int, default=4)
ap.add_argument("--prefix", default=None, help="the model's default when omitted")
ap.add_argument("--model", default="models/multilingual-e5-small-q4")
ap.add_argument("--bitalign", default="target/release/bitalign")
a = ap.parse_args()

groups = list(a.group)
if a.data:
    groups.append(f"{a.data}:{a.docs}:{a.langs}")
if not groups:
    sys.exit("embed-overlaps: give --data/--docs or --group")

sides = []  # (doc, lang, sentences)
for g in groups:
    d, docs, langs = g.rsplit(":", 2)
    for doc in docs.split(","):
        for lang in langs.split(","):
            path = os.path.join(d, f"{doc}.{lang}")
            with open(path, encoding="utf-8") as f:
                sents = [l.strip() for l in f if l.strip()]
            sides.append((doc, lang, sents))

texts, index = [], {}
for _, _, sents in sides:
    for size in range(1, a.k + 1):
        for s in range(len(sents) - size + 1):
            t = " ".join(sents[s : s + size])
            if t not in index:
                index[t] = len(texts)
                texts.append(t)
print(f"embed-overlaps: {len(texts)} distinct overlap texts", file=sys.stderr)

os.makedirs(a.emb, exist_ok=True)
with tempfile.TemporaryDirectory(dir=a.emb) as tmp:
    src = os.path.join(tmp, "overlaps.txt")
    with open(src, "w", encoding="utf-8") as f:
        for t in texts:
            f.write(t.replace("\n", " ") + "\n")
    cmd = [a.bitalign, "embed", src, "--presplit", "--out", os.path.join(tmp, "out"), "--model", a.model]
    if a.prefix is not None:
        cmd += ["--prefix", a.prefix]
    subprocess.run(cmd, check=True)
    all_rows = np.load(os.path.join(tmp, "out", "overlaps.npy"))
    assert all_rows.shape[0] == len(texts), (all_rows.shape, len(texts))
    for doc, lang, sents in sides:
        for size in range(1, a.k + 1):
            rows = [index[" ".join(sents[s : s + size])] for s in range(len(sents) - size + 1)]
            np.save(os.path.join(a.emb, f"{doc}.{lang}.o{size}.npy"), all_rows[rows].astype(np.float32))
print(f"embed-overlaps: wrote {len(sides)} sides × {a.k} sizes to {a.emb}", file=sys.stderr)
