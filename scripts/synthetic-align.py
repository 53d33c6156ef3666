#!/usr/bin/env python3
"""Builds a synthetic parallel document pair with gold links from Tatoeba sentence pairs.

Consecutive Tatoeba pairs are taken as one running text (one sentence a line). Then, with a
fixed seed: some neighbouring sentences on one side are joined into one line (gold 2-1 or
1-2), some sentences are dropped from one side (gold 1-0 or 0-1: the other side keeps
an unaligned sentence), and with `--move` a share of the positions start a block of one
or two 1-1 links whose target side is moved 2-8 links on (crossing gold links). Writes OUT.SRC, OUT.TGT and the gold OUT.SRCTGT in vecalign format.

    scripts/synthetic-align.py ../shared/data/tatoeba/tatoeba.vie-eng.eng \
        ../shared/data/tatoeba/tatoeba.vie-eng.vie /tmp/envi en vi [--n 1000] [--seed 1]
"""
import argparse
import random

from synthetic_moves import lay_out, moved_order

ap = argparse.ArgumentParser()
ap.add_argument("src_file")
ap.add_argument("tgt_file")
ap.add_argument("out")
ap.add_argument("src")
ap.add_argument("tgt")
ap.add_argument("--n", type=int, default=1000)
ap.add_argument("--seed", type=int, default=1)
ap.add_argument("--merge", type=float, default=0.08, help="share of 2-1 and of 1-2 links")
ap.add_argument("--drop", type=float, default=0.03, help="share of 1-0 and of 0-1 links")
ap.add_argument(
    "--move", type=float, default=0.0, help="share of positions starting a moved block"
)
a = ap.parse_args()

src = [l.strip() for l in open(a.src_file, encoding="utf-8")][: a.n]
tgt = [l.strip() for l in open(a.tgt_file, encoding="utf-8")][: a.n]
assert len(src) == len(tgt)
rng = random.Random(a.seed)
S, T, gold = [], [], []
k = 0
while k < len(src):
    r = rng.random()
    i, j = len(S), len(T)
    if r < a.merge and k + 1 < len(src):  # two source lines, one target line
        S += [src[k], src[k + 1]]
        T.append(tgt[k] + " " + tgt[k + 1])
        gold.append(([i, i + 1], [j]))
        k += 2
    elif r < 2 * a.merge and k + 1 < len(src):  # one source line, two target lines
        S.append(src[k] + " " + src[k + 1])
        T += [tgt[k], tgt[k + 1]]
        gold.append(([i], [j, j + 1]))
        k += 2
    elif r < 2 * a.merge + a.drop:  # translation missing: source sentence unaligned
        S.append(src[k])
        gold.append(([i], []))
        k += 1
    elif r < 2 * a.merge + 2 * a.drop:  # target sentence unaligned
        T.append(tgt[k])
        gold.append(([], [j]))
        k += 1
    else:
        S.append(src[k])
        T.append(tgt[k])
        gold.append(([i], [j]))
        k += 1

moves = ""
if a.move > 0:
    links = [([S[i] for i in x], [T[j] for j in y]) for x, y in gold]
    order, blocks, moved = moved_order(links, random.Random(a.seed + 100), a.move)
    S, T, gold = lay_out(links, order)
    moves = f", {moved} in {blocks} moved blocks"

with open(f"{a.out}.{a.src}", "w", encoding="utf-8") as f:
    f.writelines(s + "\n" for s in S)
with open(f"{a.out}.{a.tgt}", "w", encoding="utf-8") as f:
    f.writelines(t + "\n" for t in T)
with open(f"{a.out}.{a.src}{a.tgt}", "w", encoding="utf-8") as f:
    for s, t in gold:
        f.write(f"{s}:{t}\n")
print(f"{len(S)} {a.src} lines, {len(T)} {a.tgt} lines, {len(gold)} gold links{moves}")
