#!/usr/bin/env python3
"""transformers' side of scripts/bench-translate.sh: translates FILE (one sentence per line)
with MarianMTModel.generate on the CPU, batched as bitalign batches (longest first, N
sentences per batch), and prints {"tokens": generated tokens, "seconds": generate time}."""
import argparse
import json
import time

import torch
from transformers import MarianMTModel, MarianTokenizer

ap = argparse.ArgumentParser()
ap.add_argument("model")
ap.add_argument("file")
ap.add_argument("--beam", type=int, required=True)
ap.add_argument("--batch", type=int, default=16)
ap.add_argument("--max-length", type=int, required=True)
ap.add_argument("--threads", type=int, required=True)
a = ap.parse_args()
torch.set_num_threads(a.threads)
tok = MarianTokenizer.from_pretrained(a.model)
model = MarianMTModel.from_pretrained(a.model).eval()
lines = sorted({l.strip() for l in open(a.file, encoding="utf-8") if l.strip()})
lines.sort(key=lambda l: -len(tok(l, truncation=True)["input_ids"]))
pad = model.config.pad_token_id
tokens, seconds = 0, 0.0
with torch.inference_mode():
    for i in range(0, len(lines), a.batch):
        b = tok(lines[i : i + a.batch], truncation=True, padding=True, return_tensors="pt")
        t = time.perf_counter()
        out = model.generate(**b, num_beams=a.beam, max_length=a.max_length)
        seconds += time.perf_counter() - t
        tokens += int((out[:, 1:] != pad).sum())
print(json.dumps({"tokens": tokens, "seconds": seconds}))
