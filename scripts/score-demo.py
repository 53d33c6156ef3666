#!/usr/bin/env python3
"""Scores a `bitalign run` of the three demo articles against the graded labels
(tests/data/demo/labels.tsv): kept pairs, precision (same or partial), `same` found.

  bitalign run data/demo/karabakh.{en,vi,id}.txt --model models/multilingual-e5-small-q4 --out OUT
  scripts/score-demo.py OUT [-v]     # -v lists every kept pair with its grade
"""
import json, os, sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

def main():
    args = [a for a in sys.argv[1:] if a != '-v']
    if len(args) != 1:
        sys.exit(__doc__)
    labels = {}
    for line in open(os.path.join(REPO, 'tests/data/demo/labels.tsv'), encoding='utf-8'):
        if line.startswith('#'):
            continue
        pair, a, b, grade, _ = line.split('\t')
        labels[(pair, int(a), int(b))] = grade
    kept = right = same = 0
    for pair in ('en-vi', 'en-id', 'vi-id'):
        for line in open(os.path.join(args[0], f'{pair}.jsonl'), encoding='utf-8'):
            r = json.loads(line)
            g = labels.get((pair, r['src']['indices'][0], r['tgt']['indices'][0]), 'unrelated')
            kept += 1; right += g in ('same', 'partial'); same += g == 'same'
            if '-v' in sys.argv:
                print(f"{pair} {r['src']['indices'][0]:>2} {r['tgt']['indices'][0]:>2} "
                      f"confidence {r.get('confidence', '-')} margin {r['margin']:.3f} {g}")
    n_same = sum(g == 'same' for g in labels.values())
    n_right = sum(g in ('same', 'partial') for g in labels.values())
    print(f'kept {kept}, precision {right / max(1, kept):.2f} ({right} same or partial), '
          f'same found {same}/{n_same}, same+partial found {right}/{n_right}')

if __name__ == '__main__':
    main()
