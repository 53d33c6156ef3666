#!/usr/bin/env python3
"""Labelled training documents made from Text+Berg dev's gold (never from the test documents).

Text+Berg dev has 41 unaligned sentences in 422 links (captions, OCR debris), more than most
documents; choosing the price of leaving a sentence unaligned on dev alone favours deleting.
These variants give the choice other mixes of link types, with the gold carried along:

- `devclean`: every sentence the gold leaves unaligned removed (no insertions at all);
- `devjoin`: `devclean` with about one pair in eight of neighbouring 1-1 links joined into a
  single line on one side (alternating sides), so those become 2-1 / 1-2 links;
- `devsplit`: `devclean` with about one 1-1 link in eight whose longer side has a comma
  near its middle split there into two lines (a 1-2 / 2-1 link);
- `devmove`: dev itself (its insertions kept) with a few blocks of one or two 1-1 links
  whose French side is moved 2-8 links further on (7 links in 5 blocks; gold crossing
  links, which a monotone aligner can only leave out).

    scripts/synthetic-textberg.py ../shared/data/textberg OUT [--seed 1]

writes OUT/NAME.de, OUT/NAME.fr (one sentence a line) and OUT/NAME.defr (gold, the
`[0]:[0]` format). Embed their overlaps like the real documents' (docs/align.md).
"""

import argparse
import ast
import os
import random

from synthetic_moves import lay_out, moved_order


def read(path):
    with open(path, encoding="utf-8") as f:
        return [l.strip() for l in f if l.strip()]


def read_gold(path):
    links = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                a, b = line.strip().split(":")
                links.append((ast.literal_eval(a), ast.literal_eval(b)))
    return links


def as_links(de, fr, gold):
    """Links as lists of sentence texts, in order."""
    return [([de[i] for i in a], [fr[j] for j in b]) for a, b in gold]


def write(out, name, links, moves=None):
    """`links` in order; the French side in the order of `moved_order`'s result when given."""
    order, blocks, moved = moves or (range(len(links)), 0, 0)
    de, fr, gold = lay_out(links, order)
    for lang, sents in (("de", de), ("fr", fr)):
        with open(os.path.join(out, f"{name}.{lang}"), "w", encoding="utf-8") as f:
            f.write("".join(s + "\n" for s in sents))
    with open(os.path.join(out, f"{name}.defr"), "w", encoding="utf-8") as f:
        for a, b in gold:
            f.write(f"{a}:{b}\n")
    print(
        f"{name}: {len(de)} x {len(fr)} sentences, {len(gold)} links"
        + (f", {moved} in {blocks} moved blocks" if blocks else "")
    )


def split_at_comma(s):
    """`s` cut after a comma near its middle (None when there is none)."""
    words = s.split(" ")
    cuts = [k for k, w in enumerate(words[:-1]) if w == "," and 3 <= k < len(words) - 3]
    if not cuts:
        return None
    k = min(cuts, key=lambda k: abs(k - len(words) / 2))
    return " ".join(words[: k + 1]), " ".join(words[k + 1 :])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("data")
    ap.add_argument("out")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    de = read(os.path.join(args.data, "dev.de"))
    fr = read(os.path.join(args.data, "dev.fr"))
    links = as_links(de, fr, read_gold(os.path.join(args.data, "dev.defr")))
    clean = [(a, b) for a, b in links if a and b]
    write(args.out, "devclean", clean)

    rng = random.Random(args.seed)
    joined, k, side = [], 0, 0
    while k < len(clean):
        a, b = clean[k]
        if (
            k + 1 < len(clean)
            and len(a) == len(b) == 1
            and len(clean[k + 1][0]) == len(clean[k + 1][1]) == 1
            and rng.random() < 0.125
        ):
            a2, b2 = clean[k + 1]
            if side == 0:
                joined.append(([a[0] + " " + a2[0]], b + b2))
            else:
                joined.append((a + a2, [b[0] + " " + b2[0]]))
            side ^= 1
            k += 2
        else:
            joined.append((a, b))
            k += 1
    write(args.out, "devjoin", joined)

    rng = random.Random(args.seed + 1)
    split = []
    for a, b in clean:
        if len(a) == len(b) == 1 and rng.random() < 0.125:
            on_de = len(a[0]) >= len(b[0])
            cut = split_at_comma(a[0] if on_de else b[0])
            if cut:
                split.append((list(cut), b) if on_de else (a, list(cut)))
                continue
        split.append((a, b))
    write(args.out, "devsplit", split)

    rng = random.Random(args.seed + 2)
    write(args.out, "devmove", links, moved_order(links, rng, 1 / 30))


if __name__ == "__main__":
    main()
