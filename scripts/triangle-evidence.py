#!/usr/bin/env python3
"""Measures a candidate signal for the mining confidence (issue 16), outside the tool:
agreement across a third language. A fact stated in all three demo articles forms a
triangle (en_i ~ id_k, id_k ~ vi_j, en_i ~ vi_j); a topical neighbour (same actors,
different claim) may have no consistent third vertex. Report only: nothing here is fitted.

  scripts/triangle-evidence.py            # the demo labels (tests/data/demo/labels.tsv)

For each candidate pair (a, b) of languages (A, B) and the third language C of the run,
with s(x, y) one of the pairwise scores of src/mine (ratio margin over k = 4 neighbours,
cosine, or the shipped confidence, src/mine/confidence.rs WEIGHTS):
- `min`:   max over c of min(s(a, c), s(c, b))        (the weakest edge of the best path)
- `prod`:  max over c of s(a, c) * s(c, b)
- `close`: 1 when some c is the best partner (by margin) of both a and b in C, else 0
- `mutual`: 1 when some c is the mutual best partner (by margin) of a in A-C and of b in C-B
- `rank`:  -min over c of max(rank of c among a's partners, rank of c among b's)
           (rank 0 = best; scale-free)
- `loop`:  the weakest edge of the whole triangle, min(s(a, b), `min`)
Printed: AUC of `same`+`partial` pairs against `topical` pairs and against unlisted pairs
(the docs' tables), next to the direct score's; how many labelled pairs have a labelled
third vertex (a gold triangle); and, as an upper bound only, the demo figures of the shipped
confidence plus w times each support for every w of a grid (weights chosen on the demo
are never shipped; this asks whether any weight could reach issue 16's target).
Needs numpy and a built target/release/bitalign (the model: models/multilingual-e5-small-q4).
"""
import importlib.util, json, os, subprocess
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location('cal', os.path.join(HERE, 'calibrate-confidence.py'))
cal = importlib.util.module_from_spec(spec); spec.loader.exec_module(cal)
W = np.array([-3.4817, 0.5927, 0.1695, 1.6719, -0.3717, 1.1726])  # confidence.rs WEIGHTS
LANGS = ('en', 'vi', 'id')
PAIRS = ('en-vi', 'en-id', 'vi-id')

def auc(pos, neg):
    r = np.concatenate([pos, neg]).argsort(kind='stable').argsort() + 1.0
    # ties share their mean rank
    allv = np.concatenate([pos, neg])
    for v in np.unique(allv):
        t = allv == v
        r[t] = r[t].mean()
    return (r[:len(pos)].sum() - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg))

def demo():
    sents = {}
    for l in LANGS:
        out = subprocess.run([cal.BIN, 'split', '--json', f'{cal.REPO}/data/demo/karabakh.{l}.txt'], check=True,
                             capture_output=True, text=True).stdout
        sents[l] = [json.loads(x)['text'] for x in out.splitlines()]
    labels = {}
    for line in cal.lines(f'{cal.REPO}/tests/data/demo/labels.tsv'):
        if not line.startswith('#'):
            p, a, b, g, _ = line.split('\t'); labels[(p, int(a), int(b))] = g
    return sents, labels

def scores(sents):
    """Per ordered language pair (A, B): margin, cosine, confidence, all as A x B matrices."""
    S = {}
    for p in PAIRS:
        A, B = p.split('-')
        F = cal.features(sents[A], sents[B])
        cos = cal.embed(sents[A]) @ cal.embed(sents[B]).T
        d = dict(margin=F['margin'], cosine=cos, confidence=cal.conf(W, cal.design(F)))
        S[(A, B)] = d
        S[(B, A)] = {k: v.T for k, v in d.items()}
    return S

def triangle(S, A, B, C):
    """Support of every (a, b) of A x B through the third language C."""
    out = {}
    for s in ('margin', 'cosine', 'confidence'):
        X, Y = S[(A, C)][s], S[(C, B)][s]          # |A| x |C|, |C| x |B|
        out[f'min {s}'] = np.minimum(X[:, :, None], Y[None, :, :]).max(1)
        out[f'prod {s}'] = (X[:, :, None] * Y[None, :, :]).max(1)
        out[f'loop {s}'] = np.minimum(S[(A, B)][s], out[f'min {s}'])
    X, Y = S[(A, C)]['margin'], S[(C, B)]['margin']
    ba, bb = X.argmax(1), Y.argmax(0)
    out['close'] = (ba[:, None] == bb[None, :]).astype(float)
    mutual = lambda M: (M == M.max(1, keepdims=True)) & (M == M.max(0, keepdims=True))
    out['mutual'] = (mutual(X).astype(float) @ mutual(Y).astype(float) > 0).astype(float)
    ra = (-X).argsort(1).argsort(1); rb = (-Y).argsort(0).argsort(0)   # rank of c for a, for b
    out['rank'] = -np.maximum(ra[:, :, None], rb[None, :, :]).min(1).astype(float)
    return out

def main():
    sents, labels = demo()
    cal.embed([t for l in LANGS for t in sents[l]])
    S = scores(sents)
    by = {}
    for p in PAIRS:
        A, B = p.split('-'); C = next(l for l in LANGS if l not in (A, B))
        feats = {f'direct {s}': S[(A, B)][s] for s in ('margin', 'cosine', 'confidence')}
        feats.update(triangle(S, A, B, C))
        for (i, j), _ in np.ndenumerate(S[(A, B)]['margin']):
            g = labels.get((p, i, j), 'none')
            g = 'true' if g in ('same', 'partial') else g
            for f, M in feats.items():
                by.setdefault(f, {}).setdefault(g, []).append(M[i, j])
    n = {g: len(v) for g, v in next(iter(by.values())).items()}
    print(f"demo (report only): {n['true']} same+partial, {n['topical']} topical, {n['none']} unlisted pairs")
    print('AUC of same + partial against topical / against unlisted:')
    for f, g in by.items():
        t, o, u = (np.array(g[k]) for k in ('true', 'topical', 'none'))
        print(f"  {f:<18} {auc(t, o):.2f} / {auc(t, u):.2f}   means true {t.mean():.3f} topical {o.mean():.3f} unlisted {u.mean():.3f}")
    # gold triangles: labelled pairs whose two other edges through some c are labelled too
    ok = lambda p, a, b: labels.get((p, a, b)) in ('same', 'partial')
    def edge(x, i, y, j):
        p = f'{x}-{y}'
        return ok(p, i, j) if p in PAIRS else ok(f'{y}-{x}', j, i)
    tri = {}
    for (p, i, j), g in labels.items():
        A, B = p.split('-'); C = next(l for l in LANGS if l not in (A, B))
        has = any(edge(A, i, C, c) and edge(C, c, B, j) for c in range(len(sents[C])))
        g = 'true' if g in ('same', 'partial') else g
        tri.setdefault(g, [0, 0]); tri[g][0] += has; tri[g][1] += 1
    print('labelled pairs with a labelled (same/partial) third vertex: ' +
          ', '.join(f'{g} {h}/{t}' for g, (h, t) in tri.items()))
    sweep(sents, labels, S)

def sweep(sents, labels, S):
    """An upper bound, not a fit: the shipped confidence's logit plus w times the support
    (standardised over the demo's pairs), every w of a grid, LASER max mode, no filters. The
    weight is chosen on the demo here only to ask whether *any* weight reaches the target."""
    base, tri = {}, {}
    for p in PAIRS:
        A, B = p.split('-'); C = next(l for l in LANGS if l not in (A, B))
        base[p] = W[0] + cal.design(cal.features(sents[A], sents[B])) @ W[1:]
        tri[p] = triangle(S, A, B, C)
    def run(z, cut):
        kept = [(p, i, j) for p in PAIRS for i, j in cal.select(1 / (1 + np.exp(-z[p])), cut)]
        g = [labels.get(k) for k in kept]; ok = sum(x in ('same', 'partial') for x in g)
        return len(kept), ok / max(1, len(kept)), sum(x == 'same' for x in g)
    fmt = lambda r: f'{r[0]:>2} kept P {r[1]:.2f} same {r[2]}'
    print('demo, confidence + w * support (w in standard deviations; max mode, no filters; upper bound):')
    print(f"  {'current (w = 0)':<16} cut 0.5: {fmt(run(base, 0.5))}; cut 0.2: {fmt(run(base, 0.2))}")
    grid = np.arange(-4, 4.01, 0.25)
    for f in tri['en-vi']:
        v = np.concatenate([tri[p][f].ravel() for p in PAIRS]); mu, sd = v.mean(), v.std()
        z = lambda w: {p: base[p] + w * (tri[p][f] - mu) / sd for p in PAIRS}
        met = [(w, c) for w in grid for c in (0.5, 0.3, 0.2) if (lambda r: r[1] >= 0.8 and r[2] >= 5)(run(z(w), c))]
        print(f'  {f:<16} ' + '; '.join(f'w {w:+.0f} cut {c}: {fmt(run(z(w), c))}' for w in (1, -1) for c in (0.5, 0.2))
              + f'; target (P >= 0.8, same >= 5) met at {len(met)} of {3 * len(grid)} (w, cut)')

if __name__ == '__main__':
    main()
