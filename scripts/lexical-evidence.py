#!/usr/bin/env python3
"""Measures a candidate signal for the mining confidence (issue 16), outside the tool: a
cross-lingual word match weighted by how rare each word is within the documents mined.
It was not added to the confidence: see docs/mining-threshold.md ("Tried and left out").

  scripts/lexical-evidence.py [--tau 0.9]      # calibration sets, then the demo (report only)

The signal, per candidate pair (i, j) of one document pair:
- words: letter runs (lower-cased) and numbers (separators dropped: 30,000 = 30.000);
- IDF per side over that side's own sentences, ln((n + 1) / df): on a story about
  Armenia, "Armenia" weighs ~0 and "Lavrov" a lot;
- each distinct word embedded once with the model (type level, `passage: ` prefix); two
  words match when equal after folding (names, numbers) or when their cosine is >= tau,
  and each is the other's best within the pair (SimAlign-style mutual best);
- `lex`: the larger of the two sides' matched share of their IDF mass (coverage of the
  shorter claim); `mass`: the matched IDF mass itself (mean of both sides).
It prints each signal's separation (AUC) on the held-out calibration documents, the held-out
precision / recall at cut 0.5 of the confidence refitted with it (training documents only,
as scripts/calibrate-confidence.py does), and, only as a report, the same on the demo labels.
Needs numpy, a built target/release/bitalign and tests/data/calibration/.
"""
import importlib.util, json, math, os, re, subprocess, sys
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location('cal', os.path.join(HERE, 'calibrate-confidence.py'))
cal = importlib.util.module_from_spec(spec); spec.loader.exec_module(cal)
TAU = float(sys.argv[sys.argv.index('--tau') + 1]) if '--tau' in sys.argv else 0.9

TOK = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*|\d+(?:[.,'\u00a0\u202f]\d+)*")
def toks(s):
    return [('#' + (re.sub(r"[.,'\u00a0\u202f]", '', t).lstrip('0') or '0')) if t[0].isdigit() else t.lower()
            for t in (m.group(0) for m in TOK.finditer(s))]

def idf(sents):
    df = {}
    for s in sents:
        for w in set(s): df[w] = df.get(w, 0) + 1
    return {w: math.log((len(sents) + 1) / d) for w, d in df.items()}

def lexical(xs, ys):
    tx, ty = [toks(s) for s in xs], [toks(s) for s in ys]
    ix, iy = idf(tx), idf(ty)
    wx, wy = sorted({w for s in tx for w in s}), sorted({w for s in ty for w in s})
    cal.embed([w for w in wx + wy if not w.startswith('#')])  # one batch; numbers match only by value
    vec = lambda ws: np.array([cal.embed([w])[0] if not w.startswith('#') else np.zeros(384) for w in ws]).reshape(len(ws), 384)
    S = vec(wx) @ vec(wy).T
    fy = {}
    for q, w in enumerate(wy): fy.setdefault(cal.fold(w), []).append(q)
    for p, w in enumerate(wx):
        if len(w) >= 3 or w.startswith('#'):
            for q in fy.get(cal.fold(w), []): S[p, q] = 1.0
    px, py = {w: n for n, w in enumerate(wx)}, {w: n for n, w in enumerate(wy)}
    lex, mass = np.zeros((len(xs), len(ys))), np.zeros((len(xs), len(ys)))
    for i, a in enumerate(tx):
        ua = [px[w] for w in dict.fromkeys(a)]
        if not ua: continue
        wa = np.array([ix[wx[u]] for u in ua])
        for j, b in enumerate(ty):
            ub = [py[w] for w in dict.fromkeys(b)]
            if not ub: continue
            M = S[np.ix_(ua, ub)]
            m = (M == M.max(1, keepdims=True)) & (M == M.max(0, keepdims=True)) & (M >= TAU)
            wb = np.array([iy[wy[v]] for v in ub])
            ma, mb = (wa * m.any(1)).sum(), (wb * m.any(0)).sum()
            lex[i, j] = max(ma / max(wa.sum(), 1e-9), mb / max(wb.sum(), 1e-9))
            mass[i, j] = (ma + mb) / 2
    return lex, mass

def features(xs, ys, k=4):
    F = base(xs, ys, k)
    F['lex'], F['mass'] = lexical(xs, ys)
    return F
base, cal.features = cal.features, features

def design(F, use):
    cols = [(F['margin'] - 1) * 100]
    if 'names' in use: cols.append(F['names'])
    if 'numbers' in use: cols += [F['agree'], F['conflict']]
    for s in ('mutual', 'lex', 'mass'):
        if s in use: cols.append(F[s])
    return np.stack(cols, -1)
cal.design = design

def auc(pos, neg):
    r = np.concatenate([pos, neg]).argsort().argsort() + 1
    return (r[:len(pos)].sum() - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg))

def main():
    sets = {}
    for name in ('tatoeba', 'textberg'):
        docs = [json.loads(l) for l in open(f'{cal.OUT}/{name}.jsonl', encoding='utf-8')]
        texts = [t for d in docs for t in d['src'] + d['tgt']]
        cal.embed(texts + sorted({w for t in texts for w in toks(t) if not w.startswith('#')}))
        rows = [(d, features(d['src'], d['tgt'])) for d in docs]
        sets[name] = ([r for r in rows if r[0]['split'] == 'train'], [r for r in rows if r[0]['split'] == 'test'])
    print(f'tau {TAU}; held-out AUC, gold pairs against all other pairs:')
    for name, (_, test) in sets.items():
        out = []
        for f in ('margin', 'lex', 'mass'):
            pos = np.concatenate([[F[f][i, j] for i, j, _ in d['gold']] for d, F in test])
            neg = np.concatenate([F[f].ravel()[~np.isin(np.arange(F[f].size), [i * F[f].shape[1] + j for i, j, _ in d['gold']])]
                                  for d, F in test])
            out.append(f'{f} {auc(pos, neg):.3f}')
        print(f'  {name}: ' + ', '.join(out))
    train = sets['tatoeba'][0] + sets['textberg'][0]
    def data(use):
        X = np.vstack([design(F, use).reshape(-1, design(F, use).shape[-1]) for _, F in train])
        y = np.concatenate([np.array([[float((i, j) in {(a, b) for a, b, _ in d['gold']}) for j in range(len(d['tgt']))]
                                      for i in range(len(d['src']))]).ravel() for d, _ in train])
        return X, y
    old = ('names', 'numbers', 'mutual')
    fits = []
    print('held-out precision / recall at cut 0.5, refitted on the training documents:')
    for use in (old, old + ('lex',), old + ('mass',), old + ('lex', 'mass'), ('names', 'numbers', 'lex')):
        w = cal.fit(*data(use)); fits.append((use, w))
        r = {n: cal.prf(w, sets[n][1], use, 0.5) for n in sets}
        print(f"  margin{''.join(' +' + u for u in use):<36} " + '  '.join(f'{n} {p:.2f} / {q:.2f}' for n, (p, q) in r.items()))
    demo, labels = {}, {}
    for l in ('en', 'vi', 'id'):
        out = subprocess.run([cal.BIN, 'split', '--json', f'{cal.REPO}/data/demo/karabakh.{l}.txt'], check=True,
                             capture_output=True, text=True).stdout
        demo[l] = [json.loads(x)['text'] for x in out.splitlines()]
    for line in cal.lines(f'{cal.REPO}/tests/data/demo/labels.tsv'):
        if not line.startswith('#'):
            p, a, b, g, _ = line.split('\t'); labels[(p, int(a), int(b))] = g
    by = {}
    for p in ('en-vi', 'en-id', 'vi-id'):
        F = features(demo[p[:2]], demo[p[3:]])
        for (i, j), _ in np.ndenumerate(F['margin']):
            for f in ('margin', 'lex', 'mass'):
                by.setdefault(f, {}).setdefault(labels.get((p, i, j), 'none'), []).append(F[f][i, j])
    print('demo (report only): AUC of same + partial against topical / against unlisted pairs')
    for f, g in by.items():
        print(f"  {f}: {auc(g['same'] + g['partial'], g['topical']):.3f} / {auc(g['same'] + g['partial'], g['none']):.3f}")
    cal.demo_report(fits)

if __name__ == '__main__':
    main()
