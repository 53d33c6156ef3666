#!/usr/bin/env python3
"""Fits the `parallel` / `partial` marker of mined pairs (src/mine/partial.rs) on the
labelled calibration sets (tests/data/calibration/*.jsonl, made by calibrate-confidence.py;
never the demo articles).

  scripts/calibrate-partial.py        # embeds the gold pairs' clauses with bitalign, fits,
                                      # prints WEIGHTS and held-out accuracy per feature set

A gold pair is `same` (each side states the other's fact) or `partial` (one side also says
something the other does not: a translation joined with an unrelated clause, or one
sentence of an n-m link). Features, mirrored in src/mine/partial.rs:
- `cosine`: the whole pair's cosine;
- `gain`: the best cosine of a contiguous run of clauses of one side (not the whole
  sentence) with the other side's whole sentence, minus `cosine` (floored at -0.3; -0.3
  when neither side has two clauses);
- `length`: |ln(chars ratio)|.
Logistic regression on the `train` documents of both sets; held-out (`test`) accuracy,
precision and recall of `partial` at p > 0.5 are printed against the majority label.
"""
import importlib.util, json, os, sys
import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
spec = importlib.util.spec_from_file_location('cc', os.path.join(REPO, 'scripts/calibrate-confidence.py'))
cc = importlib.util.module_from_spec(spec); spec.loader.exec_module(cc)

PUNCT = ',;:\uff0c\uff1b\uff1a\u3001'          # , ; : and their full-width forms, 、
WIDE = '\uff0c\uff1b\uff1a\u3001'
DASH = '\u2014\u2013-'
PAREN = '()\uff08\uff09'
MIN_WORDS = 3
FLOOR = -0.3

def clauses(s):
    """Byte-free (character) ranges of the clauses of `s`: cut after , ; : (followed by a
    space, or full-width), at a dash between spaces and at brackets; a clause of fewer than
    MIN_WORDS words joins the next one (the last joins the previous)."""
    cuts, i, n = [], 0, len(s)   # (end of clause, start of next)
    while i < n:
        c = s[i]
        if c in PUNCT and (c in WIDE or (i + 1 < n and s[i + 1].isspace())):
            j = i + 1
            while j < n and s[j].isspace(): j += 1
            cuts.append((i + 1, j)); i = j; continue
        if c.isspace():
            j = i
            while j < n and s[j].isspace(): j += 1
            if j < n and s[j] in DASH and j + 1 < n and s[j + 1].isspace():
                k = j + 1
                while k < n and s[k].isspace(): k += 1
                cuts.append((i, k)); i = k; continue
            if j < n and s[j] in PAREN:
                k = j + 1
                while k < n and s[k].isspace(): k += 1
                cuts.append((i, k)); i = k; continue
            i = j; continue
        if c in PAREN:
            k = i + 1
            while k < n and s[k].isspace(): k += 1
            cuts.append((i, k)); i = k; continue
        i += 1
    parts, start = [], 0
    for end, nxt in cuts:
        parts.append((start, end)); start = nxt
    parts.append((start, n))
    parts = [(a, b) for a, b in parts if s[a:b].strip()]
    out = []
    for a, b in parts:
        if out and len(s[out[-1][0]:out[-1][1]].split()) < MIN_WORDS: out[-1] = (out[-1][0], b)
        else: out.append((a, b))
    if len(out) > 1 and len(s[out[-1][0]:out[-1][1]].split()) < MIN_WORDS:
        _, b = out.pop(); out[-1] = (out[-1][0], b)
    return out

def spans(s):
    """Every contiguous run of clauses except the whole sentence."""
    c = clauses(s)
    return [(c[i][0], c[j][1]) for i in range(len(c)) for j in range(i, len(c))
            if not (i == 0 and j == len(c) - 1)]

def main():
    rows = []
    for name in ('tatoeba', 'textberg'):
        for d in map(json.loads, open(os.path.join(REPO, f'tests/data/calibration/{name}.jsonl'), encoding='utf-8')):
            for i, j, g in d['gold']:
                rows.append((name, d['split'], d['src'][i], d['tgt'][j], g == 'partial'))
    texts = {t for r in rows for t in r[2:4]}
    texts |= {s[a:b] for r in rows for s in r[2:4] for a, b in spans(s)}
    texts = sorted(texts)
    print(f'{len(rows)} gold pairs, {len(texts)} texts to embed', file=sys.stderr)
    E = dict(zip(texts, cc.embed(texts)))
    F = []
    for name, split, x, y, part in rows:
        w = float(E[x] @ E[y])
        best = max([float(E[x[a:b]] @ E[y]) for a, b in spans(x)] +
                   [float(E[y[a:b]] @ E[x]) for a, b in spans(y)], default=None)
        gain = FLOOR if best is None else max(best - w, FLOOR)
        F.append((name, split, part, [w, gain, abs(np.log(len(x) / max(1, len(y))))]))
    names = ['cosine', 'gain', 'length']
    for cols in ([1], [2], [1, 2], [0, 1, 2]):
        tr = [f for f in F if f[1] == 'train']
        w = cc.fit(np.array([[f[3][c] for c in cols] for f in tr]), np.array([f[2] for f in tr], float))
        out = []
        for name in ('tatoeba', 'textberg'):
            te = [f for f in F if f[0] == name and f[1] == 'test']
            p = 1 / (1 + np.exp(-(w[0] + np.array([[f[3][c] for c in cols] for f in te]) @ w[1:])))
            y = np.array([f[2] for f in te]); pr = p > 0.5
            out.append(f'{name} acc {(pr == y).mean():.3f} (majority {max(y.mean(), 1 - y.mean()):.3f}) '
                       f'P {(pr & y).sum() / max(1, pr.sum()):.2f} R {(pr & y).sum() / y.sum():.2f}')
        print('+'.join(names[c] for c in cols), ' | '.join(out))
        if len(cols) == 3:
            print('WEIGHTS (bias, ' + ', '.join(names) + '):', ', '.join(f'{v:.4f}' for v in w))

if __name__ == '__main__':
    main()
