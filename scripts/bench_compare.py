#!/usr/bin/env python3
"""One engine of scripts/bench-compare.sh, in its own process (so its peak RSS is its own).

    bench_compare.py ENGINE --model DIR --corpus FILE --out PREFIX [--threads N] [--runs N]

ENGINE is one of
  st        sentence-transformers, PyTorch fp32, encode(batch_size=32): the reference
  ort-fp32  ONNX Runtime fp32 on the transformer exported with torch.onnx (all graph
            optimisations on), length-sorted batches of 32 padded to the batch's longest,
            mean pooling over the mask and L2 normalisation in NumPy
  ort-int8  the same graph after onnxruntime.quantization.quantize_dynamic (int8 weights,
            per-channel, dynamic int8 activations)
Writes PREFIX.npy (embeddings in corpus order) and PREFIX.json (timings, tokens, peak RSS).
Every sentence gets the "passage: " prefix, as bitalign does for e5. Load/export time is
excluded; tokenization is included, as in `bitalign bench`.
"""

import argparse
import json
import os
import resource
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np

PREFIX = "passage: "


def peak_rss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def timed(fn, runs, warmup=1):
    for _ in range(warmup):
        fn()
    secs, out = [], None
    for _ in range(runs):
        t = time.perf_counter()
        out = fn()
        secs.append(time.perf_counter() - t)
    return secs, out


def run_st(args, texts):
    import torch
    from sentence_transformers import SentenceTransformer

    torch.set_num_threads(args.threads)
    m = SentenceTransformer(str(args.model), device="cpu")

    def go():
        with torch.inference_mode():
            return m.encode([PREFIX + t for t in texts], batch_size=32, convert_to_numpy=True, normalize_embeddings=False)

    return timed(go, args.runs)


def export_onnx(model_dir, path):
    import torch
    from transformers import AutoModel

    m = AutoModel.from_pretrained(str(model_dir)).eval()

    class Wrap(torch.nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, input_ids, attention_mask):
            return self.m(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state

    ids = torch.ones((2, 8), dtype=torch.long)
    mask = torch.ones((2, 8), dtype=torch.long)
    axes = {0: "batch", 1: "len"}
    torch.onnx.export(
        Wrap(m), (ids, mask), str(path), input_names=["input_ids", "attention_mask"],
        output_names=["hidden"], dynamic_axes={"input_ids": axes, "attention_mask": axes, "hidden": axes},
        opset_version=17, dynamo=False,
    )


def run_ort(args, texts, int8):
    import onnxruntime as ort
    from tokenizers import Tokenizer

    cache = Path(args.cache)
    cache.mkdir(parents=True, exist_ok=True)
    fp32 = cache / "model-fp32.onnx"
    if not fp32.exists():
        export_onnx(args.model, fp32)
    path = fp32
    if int8:
        path = cache / "model-int8.onnx"
        if not path.exists():
            from onnxruntime.quantization import QuantType, quantize_dynamic

            quantize_dynamic(str(fp32), str(path), per_channel=True, weight_type=QuantType.QInt8)
    so = ort.SessionOptions()
    so.intra_op_num_threads = args.threads
    so.inter_op_num_threads = 1
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    sess = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
    tok = Tokenizer.from_file(str(Path(args.model) / "tokenizer.json"))
    tok.no_padding()
    tok.enable_truncation(512)

    def go():
        encs = tok.encode_batch([PREFIX + t for t in texts])
        order = sorted(range(len(encs)), key=lambda i: -len(encs[i].ids))
        out = np.zeros((len(texts), 384), dtype=np.float32)
        for b in range(0, len(order), 32):
            idx = order[b:b + 32]
            L = max(len(encs[i].ids) for i in idx)
            ids = np.ones((len(idx), L), dtype=np.int64)  # pad id 1 (XLM-R vocabulary)
            mask = np.zeros((len(idx), L), dtype=np.int64)
            for r, i in enumerate(idx):
                n = len(encs[i].ids)
                ids[r, :n] = encs[i].ids
                mask[r, :n] = 1
            h = sess.run(None, {"input_ids": ids, "attention_mask": mask})[0]
            m = mask[:, :, None].astype(np.float32)
            v = (h * m).sum(1) / np.maximum(m.sum(1), 1e-9)
            v /= np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)
            out[idx] = v
        return out

    return timed(go, args.runs)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("engine", choices=["st", "ort-fp32", "ort-int8"])
    ap.add_argument("--model", required=True)
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--cache", default=str(Path.home() / ".cache/bitalign/bench-onnx"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    texts = Path(args.corpus).read_text(encoding="utf-8").split("\n")
    texts = [t for t in texts if t]
    if args.engine == "st":
        secs, emb = run_st(args, texts)
    else:
        secs, emb = run_ort(args, texts, args.engine == "ort-int8")
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(Path(args.model) / "tokenizer.json"))
    tok.no_padding()
    tok.enable_truncation(512)
    tokens = sum(len(e.ids) for e in tok.encode_batch([PREFIX + t for t in texts]))
    emb = np.asarray(emb, dtype=np.float32)
    emb /= np.maximum(np.linalg.norm(emb, axis=1, keepdims=True), 1e-12)
    np.save(args.out + ".npy", emb)
    med = statistics.median(secs)
    json.dump({
        "engine": args.engine, "sentences": len(texts), "tokens": tokens, "threads": args.threads,
        "seconds": secs, "sentences_per_second": len(texts) / med, "tokens_per_second": tokens / med,
        "peak_rss_mib": peak_rss_mib(),
    }, open(args.out + ".json", "w"), indent=1)
    print(f"{args.engine}: {len(texts) / med:.0f} sentences/s, {tokens / med:.0f} tokens/s", file=sys.stderr)


if __name__ == "__main__":
    main()
