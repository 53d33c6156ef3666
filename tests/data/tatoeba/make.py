#!/usr/bin/env python3
"""Builds the gold sentence lists used by tests/segmentation.rs from the LASER Tatoeba
test set (run from the repo root: python3 tests/data/tatoeba/make.py /work/shared/data/tatoeba).

Tatoeba "sentences" are translation units: a few hold two or three sentences, and a few
have no final stop. Gold here is one real sentence per line:
- units are deduplicated (English comes from both the ind-eng and vie-eng files);
- units whose end has no stop are dropped (no segmenter can find the boundary after them
  once they are joined into a paragraph);
- units with an inner stop followed by a space were read by hand: each such stop is a
  sentence boundary except in the units listed in SINGLE below (titles like "Mr. White",
  and quoted questions followed by a speech verb, `"A cat?" asked the old man.`).
The split is done at the stop (plus closing quotes) and the following spaces.
"""
import re
import sys

SRC = {
    "en": ["tatoeba.ind-eng.eng", "tatoeba.vie-eng.eng"],
    "vi": ["tatoeba.vie-eng.vie"],
    "id": ["tatoeba.ind-eng.ind"],
}
# Index (after deduplication) of units that are one sentence despite an inner stop.
SINGLE = {
    "en": {
        168: "Mr. White went to Canada.",
        194: '"A cat?" asked the old man.',
        1165: "Mr. Wilder gave me your email address.",
        1202: "Ms. Roland, what do you think about this problem?",
        1310: '"What\'s your name?" I asked.',
        1922: "I'll visit Mr. Brown tomorrow.",
        1951: '"Why?" asked the daughter, a trifle irritated.',
    },
    "vi": {},
    "id": {194: '"Seekor kucing?" tanya pria tua itu.'},
}
INNER = re.compile(r"([.!?…]+[\"”’')\]]*)\s+(?=\S)")
END = re.compile(r"[.!?…][\"”’')\]]*$")


def main(src_dir):
    for lang, files in SRC.items():
        seen, units = set(), []
        for f in files:
            for line in open(f"{src_dir}/{f}", encoding="utf-8"):
                line = line.strip()
                if line and line not in seen:
                    seen.add(line)
                    units.append(line)
        out, dropped = [], 0
        for i, u in enumerate(units):
            if i in SINGLE[lang]:
                assert u == SINGLE[lang][i], (lang, i, u)
                parts = [u]
            else:
                parts = INNER.sub("\\1\n", u).split("\n")
            if not END.search(parts[-1]):
                dropped += 1
                continue
            out.extend(parts)
        with open(f"tests/data/tatoeba/{lang}.txt", "w", encoding="utf-8") as w:
            w.write("\n".join(out) + "\n")
        print(f"{lang}: {len(units)} units, {dropped} dropped (no final stop), {len(out)} sentences")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "../shared/data/tatoeba")
