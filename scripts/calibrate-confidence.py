#!/usr/bin/env python3
"""Calibrates the mining confidence (src/mine/confidence.rs) on synthetic labelled
comparable documents, never on the demo articles.

  scripts/calibrate-confidence.py make   # writes tests/data/calibration/{tatoeba,textberg}.jsonl
  scripts/calibrate-confidence.py fit    # embeds them with bitalign, fits, prints WEIGHTS and tables
  scripts/calibrate-confidence.py fit --demo   # also reports (only reports) each model on the
                                               # demo labels, tests/data/demo/labels.tsv (no filters)
  scripts/calibrate-confidence.py fit-mt       # the extra logit of a machine translation
                                               # (src/mine/translated.rs), on the textberg set

Two synthetic sets (one JSON document pair per line: src/tgt sentences, gold pairs, split):
- tatoeba: vie-eng and ind-eng lines 0-499 of tests/data/tatoeba; 6 translations, 4 partial
  pairs (a translation joined with an unrelated sentence into one long sentence, by ", ",
  "; ", " — " or and/và/dan), 7 English sentences without counterpart facing the translation
  of their nearest English neighbour (same kind of content, other fact); shuffled. Documents
  30-39 of each language are held out.
- textberg: news-like pseudo-documents from the de-fr Alpine yearbook's dev document
  (../shared/data/textberg/dev.*, gold alignment; the test documents are never read): most
  sentences keep no counterpart, so the distractors are the other sentences of the same
  article (the "topical neighbour" of comparable news); partial pairs from n-m links and
  from clause joins (see make_textberg). The last quarter of dev is held out.
The features mirror src/mine/evidence.rs and confidence.rs (margin over k = 4 neighbours
within the two documents, shared rare names by inverse document frequency, numbers that
agree or conflict, mutual best partner by margin). Needs numpy and a built bitalign.
`fit` also prints the margin ranking at the default threshold 1.02 on the same held-out
documents, for comparison.
"""
import json, math, os, random, re, subprocess, sys, tempfile, unicodedata
import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(REPO, 'tests/data/calibration')
TAT = os.path.join(REPO, 'tests/data/tatoeba')
TB = os.path.join(REPO, '../shared/data/textberg')
BIN = os.environ.get('BITALIGN', os.path.join(REPO, 'target/release/bitalign'))
MODEL = os.environ.get('MODEL', os.path.join(REPO, 'models/multilingual-e5-small-q4'))

def lines(path): return [l.rstrip('\n') for l in open(path, encoding='utf-8')]

# ---------- embeddings (through bitalign itself) ----------
_cache = {}
def embed(texts):
    todo = [t for t in dict.fromkeys(texts) if t not in _cache]
    if todo:
        with tempfile.TemporaryDirectory() as d:
            f = os.path.join(d, 'in.txt')
            open(f, 'w', encoding='utf-8').write('\n'.join(todo) + '\n')
            subprocess.run([BIN, 'embed', '--presplit', '--lang', 'en', '--model', MODEL,
                            '--out', d, '--force', '-q', f], check=True)
            E = np.load(os.path.join(d, 'in.npy'))
        assert len(E) == len(todo)
        _cache.update(zip(todo, E))
    return np.array([_cache[t] for t in texts])

# ---------- features (mirror of src/mine/evidence.rs, confidence.rs) ----------
def numbers(s):
    out, cur = set(), ''
    for i, c in enumerate(s):
        if c.isascii() and c.isdigit(): cur += c; continue
        if c in ".,'\u00a0\u202f" and cur and i + 1 < len(s) and s[i + 1].isascii() and s[i + 1].isdigit(): continue
        if cur: out.add(cur.lstrip('0') or '0'); cur = ''
    if cur: out.add(cur.lstrip('0') or '0')
    return out

def fold(w):
    w = w.lower()
    return ''.join({'đ': 'd', 'ı': 'i', 'ø': 'o', 'ł': 'l', 'ħ': 'h'}.get(c) or
                   (unicodedata.normalize('NFKD', c)[0] if unicodedata.normalize('NFKD', c)[0].isascii() else c) for c in w)

def key(f):
    """Doubled letters collapsed, then the first four letters (Russia = Rusia, Turkey ~ Turki)."""
    f = re.sub(r'(.)\1+', r'\1', f)
    return f[:4] if len(f) >= 4 else '=' + f

WORD = re.compile(r"[^\W\d_]+(?:[-'][^\W\d_]+)*")
def names(s):
    out = set()
    for n, t in enumerate(m.group(0) for m in WORD.finditer(s)):
        if n == 0: continue
        letters = [c for c in t if c.isalpha()]
        all_upper = all(c.isupper() for c in letters)
        if (t[0].isupper() and len(t) >= 3 and not all_upper) or (all_upper and len(t) >= 2):
            for p in t.split('-'):
                if len(p) >= 3:
                    out.add(key(fold(p)))
    return out

def features(xs, ys, k=4):
    X, Y = embed(xs), embed(ys)
    C = X @ Y.T
    kx, ky = min(k, len(ys)), min(k, len(xs))
    mx = np.sort(C, 1)[:, -kx:].mean(1); my = np.sort(C, 0)[-ky:, :].mean(0)
    M = C / ((mx[:, None] + my[None, :]) / 2)
    mutual = ((M == M.max(1, keepdims=True)) & (M == M.max(0, keepdims=True))).astype(float)
    nx, ny = [names(s) for s in xs], [names(s) for s in ys]
    df = {}
    for S in nx + ny:
        for key in S: df[key] = df.get(key, 0) + 1
    N = len(xs) + len(ys)
    Nm = np.array([[min(4.0, sum(math.log(N / df[key]) for key in a & b)) for b in ny] for a in nx])
    ux, uy = [numbers(s) for s in xs], [numbers(s) for s in ys]
    agree = np.array([[float(bool(a and b and a & b)) for b in uy] for a in ux])
    conflict = np.array([[float(bool(a and b and not a & b)) for b in uy] for a in ux])
    return dict(margin=M, names=Nm, agree=agree, conflict=conflict, mutual=mutual)

SIGNALS = ('names', 'numbers', 'mutual')
def design(F, use=SIGNALS):
    cols = [(F['margin'] - 1) * 100]
    cols.append(F['names'] if 'names' in use else 0 * F['names'])
    cols += [F['agree'], F['conflict']] if 'numbers' in use else [0 * F['agree']] * 2
    cols.append(F['mutual'] if 'mutual' in use else 0 * F['mutual'])
    return np.stack(cols, -1)

# ---------- synthetic sets ----------
JOIN = {'en': [', ', '; ', ' — ', ' and '], 'vi': [', ', '; ', ' — ', ' và '], 'id': [', ', '; ', ' — ', ' dan ']}
def make_tatoeba(xx, n_docs, seed):
    rnd = random.Random(seed)
    X = lines(f'{TAT}/tatoeba.{xx}-eng.{xx}')[:500]; EN = lines(f'{TAT}/tatoeba.{xx}-eng.eng')[:500]
    lang = {'vie': 'vi', 'ind': 'id'}[xx]
    E = embed(EN); S = E @ E.T
    low = lambda s: s[:1].lower() + s[1:] if not s.startswith(('Tom', 'Mary', 'I ', "I'")) else s
    join = lambda a, b, l: a.rstrip(' .!?…') + rnd.choice(JOIN[l]) + low(b)
    docs = []
    for _ in range(n_docs):
        idx = rnd.sample(range(500), 40)
        par, part, extra, alone = idx[:6], idx[6:10], idx[10:14], idx[14:21]
        en = [EN[i] for i in par]; tg = [X[i] for i in par]; gold = {(k, k): 'same' for k in range(6)}
        for p, e in zip(part, extra):
            if rnd.random() < 0.5:
                en.append(join(EN[p], EN[e], 'en') if rnd.random() < 0.5 else join(EN[e], EN[p], 'en')); tg.append(X[p])
            else:
                en.append(EN[p]); tg.append(join(X[p], X[e], lang) if rnd.random() < 0.5 else join(X[e], X[p], lang))
            gold[(len(en) - 1, len(tg) - 1)] = 'partial'
        used = set(idx)
        for i in alone:
            en.append(EN[i])
            nb = [int(j) for j in np.argsort(-S[i]) if j not in used][0]; used.add(nb); tg.append(X[nb])
        docs.append(dict(shuffle(rnd, 'en', lang, en, tg, gold), split='test' if len(docs) % 40 >= 30 else 'train'))
    return docs

def make_textberg(seed, win=36, step=12, p_both=0.3, p_join=0.3):
    """News-like pseudo-documents from Text+Berg dev (test0-3 are never read): windows of
    `win` alignment links; a link keeps both sides with probability `p_both`, else one side
    (a sentence on the story with no counterpart: the other sentences of the same article
    are the distractors). Kept n-m links are `partial`; half of them lose sentences on the
    longer side. A kept sentence is joined (" , ") with the next sentence of its side that
    has no counterpart with probability `p_join`, making it `partial` (one clause matches,
    the rest is a claim the other side lacks; both sides when both are joined). Windows in
    the first three quarters of dev train (two passes with different draws), the last
    quarter is held out (three passes)."""
    rnd = random.Random(seed); docs = []
    de = [l.strip() for l in lines(f'{TB}/dev.de')]; fr = [l.strip() for l in lines(f'{TB}/dev.fr')]
    L = [tuple(json.loads(p) for p in l.strip().split(':')) for l in lines(f'{TB}/dev.defr')]
    cut = len(L) * 3 // 4
    for split, part, passes in (('train', L[:cut], 2), ('test', L[cut:], 3)):
        for _ in range(passes):
            for s in range(0, max(1, len(part) - win + 1), step):
                X, Y, gold = [], [], {}
                for a, b in part[s:s + win]:
                    a, b, grade = list(a), list(b), 'same'
                    if a and b:
                        r = rnd.random()
                        if r < p_both:
                            if len(a) + len(b) > 2 and rnd.random() < 0.5:
                                if len(a) > 1: a = [rnd.choice(a)]
                                else: b = [rnd.choice(b)]
                            if len(a) + len(b) > 2: grade = 'partial'
                        elif r < (1 + p_both) / 2: a = []
                        else: b = []
                    xi = [len(X) + k for k in range(len(a))]; yi = [len(Y) + k for k in range(len(b))]
                    X += [de[i] for i in a]; Y += [fr[j] for j in b]
                    for i in xi:
                        for j in yi: gold[(i, j)] = grade
                for side, S in ((0, X), (1, Y)):
                    paired = sorted({p[side] for p in gold})
                    for i in paired:
                        if rnd.random() < p_join and i + 1 < len(S) and i + 1 not in paired and S[i + 1]:
                            S[i] = S[i].rstrip(' .') + ' , ' + S[i + 1][:1].lower() + S[i + 1][1:]; S[i + 1] = ''
                            for p in gold:
                                if p[side] == i: gold[p] = 'partial'
                kx = [i for i, t in enumerate(X) if t]; ky = [j for j, t in enumerate(Y) if t]
                mx = {o: n for n, o in enumerate(kx)}; my = {o: n for n, o in enumerate(ky)}
                gold = {(mx[a], my[b]): g for (a, b), g in gold.items()}
                X = [X[i] for i in kx]; Y = [Y[j] for j in ky]
                if len(X) >= 4 and len(Y) >= 4 and gold:
                    docs.append(dict(shuffle(rnd, 'de', 'fr', X, Y, gold), split=split))
    return docs

def shuffle(rnd, sl, tl, X, Y, gold):
    pe = list(range(len(X))); pt = list(range(len(Y))); rnd.shuffle(pe); rnd.shuffle(pt)
    ie = {o: n for n, o in enumerate(pe)}; it = {o: n for n, o in enumerate(pt)}
    return dict(src_lang=sl, tgt_lang=tl, src=[X[o] for o in pe], tgt=[Y[o] for o in pt],
                gold=sorted([ie[i], it[j], g] for (i, j), g in gold.items()))

# ---------- fit and evaluate ----------
def fit(X, y, l2=1e-2):
    X = np.hstack([np.ones((len(X), 1)), X]); w = np.zeros(X.shape[1])
    for _ in range(50):
        p = 1 / (1 + np.exp(-X @ w))
        H = (X * (p * (1 - p))[:, None]).T @ X + l2 * np.eye(len(w))
        w -= np.linalg.solve(H, X.T @ (p - y) + l2 * w)
    return w

def conf(w, D): return 1 / (1 + np.exp(-(w[0] + D @ w[1:])))

def select(P, cut):
    """LASER max mode on the confidence: rows' and columns' best, best first, each once."""
    best = {(i, int(P[i].argmax())) for i in range(P.shape[0])} | {(int(P[:, j].argmax()), j) for j in range(P.shape[1])}
    us, ut, out = set(), set(), []
    for s, i, j in sorted(((P[i, j], i, j) for i, j in best), key=lambda t: (-t[0], t[1], t[2])):
        if i in us or j in ut: continue
        us.add(i); ut.add(j)
        if s >= cut: out.append((i, j))
    return out

def prf(w, docs, use, cut):
    """Precision of kept pairs; recall of source sentences that have a gold partner."""
    tp = fp = found = total = 0
    for d, F in docs:
        gold = {(i, j) for i, j, _ in d['gold']}
        kept = select(conf(w, design(F, use)), cut)
        tp += sum(p in gold for p in kept); fp += sum(p not in gold for p in kept)
        total += len({i for i, _ in gold}); found += len({i for i, j in kept if (i, j) in gold})
    return tp / max(1, tp + fp), found / max(1, total)

def margin_prf(docs, threshold=1.02):
    """The default margin ranking: max mode on the margin, cut at the threshold."""
    tp = fp = found = total = 0
    for d, F in docs:
        gold = {(i, j) for i, j, _ in d['gold']}
        kept = select(F['margin'], threshold)
        tp += sum(p in gold for p in kept); fp += sum(p not in gold for p in kept)
        total += len({i for i, _ in gold}); found += len({i for i, j in kept if (i, j) in gold})
    return tp / max(1, tp + fp), found / max(1, total)

# ---------- machine translation as extra evidence (`fit-mt`) ----------
TBMT = os.path.join(REPO, '../shared/data/textberg-mt')
SYSTEMS = ('google', 'europarlfull', 'europarllight')

def chrf(hyp, ref, beta=2.0):
    """sacrebleu's sentence chrF (orders 1-6, whitespace removed, effective order), 0..1:
    the mirror of src/mt/chrf.rs."""
    from collections import Counter
    h = [c for c in hyp if not c.isspace()]; r = [c for c in ref if not c.isspace()]
    prec = rec = 0.0; orders = 0
    for n in range(1, 7):
        if len(h) < n or len(r) < n: continue
        ch = Counter(tuple(h[i:i + n]) for i in range(len(h) - n + 1))
        cr = Counter(tuple(r[i:i + n]) for i in range(len(r) - n + 1))
        m = sum(min(v, cr[k]) for k, v in ch.items())
        prec += m / sum(ch.values()); rec += m / sum(cr.values()); orders += 1
    if not orders: return 0.0
    p, q = prec / orders, rec / orders
    return 0.0 if p + q == 0 else (1 + beta * beta) * p * q / (beta * beta * p + q)

def textberg_translations(system):
    """German sentence of the calibration set -> its `system` translation: dev lines as
    they are, and clause joins (make_textberg's `a , b`) as the join of the two lines'
    translations, joined the same way."""
    de = [l.strip() for l in lines(f'{TB}/dev.de')]
    fr = [l.strip() for l in lines(f'{TBMT}/dev.{system}.fr')]
    one = {}
    for a, b in zip(de, fr): one.setdefault(a, b)
    heads = {a.rstrip(' .'): b for a, b in zip(de, fr)}
    def tr(s):
        if s in one: return one[s]
        for at in [m.start() for m in re.finditer(' , ', s)]:
            a, b = s[:at], s[at + 3:]
            for bb in (b, b[:1].upper() + b[1:]):
                if a in heads and bb in one:
                    t = one[bb]
                    return heads[a].rstrip(' .') + ' , ' + t[:1].lower() + t[1:]
        raise KeyError(s)
    return tr

def mt_features(xs, ys, ts, k=4):
    """Mono margin of the translations to the target side (the same ratio margin as the
    cross-lingual one, in one language) and chrF of translation against target."""
    T, Y = embed(ts), embed(ys)
    C = T @ Y.T
    kx, ky = min(k, len(ys)), min(k, len(ts))
    mx = np.sort(C, 1)[:, -kx:].mean(1); my = np.sort(C, 0)[-ky:, :].mean(0)
    M = C / ((mx[:, None] + my[None, :]) / 2)
    CH = np.array([[chrf(t, y) for y in ys] for t in ts])
    CS = np.array([[chrf(t, y, 1.0) for y in ys] for t in ts])
    return dict(mono=M, chrf=CH, chrf1=CS)

MT_COLS = {'mono': lambda G: (G['mono'] - 1) * 100, 'chrf': lambda G: G['chrf'], 'chrf1': lambda G: G['chrf1']}

def fit_offset(X, y, off, l2=1e-2):
    X = np.hstack([np.ones((len(X), 1)), X]); w = np.zeros(X.shape[1])
    for _ in range(50):
        p = 1 / (1 + np.exp(-(X @ w + off)))
        H = (X * (p * (1 - p))[:, None]).T @ X + l2 * np.eye(len(w))
        w -= np.linalg.solve(H, X.T @ (p - y) + l2 * w)
    return w

def fit_mt():
    """The extra logit a translation of the source side adds to the confidence
    (Features::extra_logit in src/mine/confidence.rs), fitted with the confidence's own
    weights held fixed (the logit is their sum), on the textberg set's training documents
    with each system's translations pooled; held-out precision / recall per system."""
    from itertools import chain
    W = np.array([-3.4817, 0.5927, 0.1695, 1.6719, -0.3717, 1.1726])  # confidence.rs WEIGHTS
    docs = [json.loads(l) for l in open(f'{OUT}/textberg.jsonl', encoding='utf-8')]
    trs = {s: textberg_translations(s) for s in SYSTEMS}
    rows = {}
    for s in SYSTEMS:
        ts = [[trs[s](x) for x in d['src']] for d in docs]
        embed([t for d, t in zip(docs, ts) for t in d['tgt'] + t])
        rows[s] = [(d, features(d['src'], d['tgt']), mt_features(d['src'], d['tgt'], t)) for d, t in zip(docs, ts)]
    def gold(d):
        g = {(a, b) for a, b, _ in d['gold']}
        return np.array([[float((i, j) in g) for j in range(len(d['tgt']))] for i in range(len(d['src']))])
    def base(F): return W[0] + design(F) @ W[1:]
    def extra(w, G, cols): return w[0] + sum(wc * MT_COLS[c](G) for wc, c in zip(w[1:], cols))
    def prf_z(docs, z, cut=0.5):
        tp = fp = found = total = 0
        for d, Z in zip(docs, z):
            g = {(i, j) for i, j, _ in d['gold']}
            kept = select(1 / (1 + np.exp(-Z)), cut)
            tp += sum(p in g for p in kept); fp += sum(p not in g for p in kept)
            total += len({i for i, _ in g}); found += len({i for i, j in kept if (i, j) in g})
        p, r = tp / max(1, tp + fp), found / max(1, total)
        return p, r, 2 * p * r / max(1e-9, p + r)
    print('held-out (last quarter of dev) precision / recall / F1 at cut 0.5, textberg set:')
    for cols in (('mono',), ('chrf',), ('chrf1',), ('mono', 'chrf'), ('mono', 'chrf1')):
        X = np.vstack([np.stack([MT_COLS[c](G) for c in cols], -1).reshape(-1, len(cols))
                       for s in SYSTEMS for d, F, G in rows[s] if d['split'] == 'train'])
        off = np.concatenate([base(F).ravel() for s in SYSTEMS for d, F, G in rows[s] if d['split'] == 'train'])
        y = np.concatenate([gold(d).ravel() for s in SYSTEMS for d, F, G in rows[s] if d['split'] == 'train'])
        w = fit_offset(X, y, off)
        print(f'  extra = {w[0]:.4f} ' + ' '.join(f'+ {v:.4f}·{c}' for v, c in zip(w[1:], cols)))
        for s in SYSTEMS:
            test = [(d, F, G) for d, F, G in rows[s] if d['split'] == 'test']
            b = prf_z([d for d, _, _ in test], [base(F) for _, F, _ in test])
            m = prf_z([d for d, _, _ in test], [base(F) + extra(w, G, cols) for _, F, G in test])
            print(f'    {s:<14} without MT {b[0]:.3f} / {b[1]:.3f} / {b[2]:.3f}   with {m[0]:.3f} / {m[1]:.3f} / {m[2]:.3f}')

def main():
    if sys.argv[1:] == ['make']:
        os.makedirs(OUT, exist_ok=True)
        for name, docs in [('tatoeba', make_tatoeba('vie', 40, 1) + make_tatoeba('ind', 40, 2)),
                           ('textberg', make_textberg(3))]:
            with open(f'{OUT}/{name}.jsonl', 'w', encoding='utf-8') as f:
                for d in docs: f.write(json.dumps(d, ensure_ascii=False) + '\n')
            print(name, len(docs), 'documents', sum(len(d['gold']) for d in docs), 'gold pairs')
        return
    if sys.argv[1:] == ['fit-mt']:
        fit_mt()
        return
    assert sys.argv[1:] in (['fit'], ['fit', '--demo']), __doc__
    sets = {}
    for name in ('tatoeba', 'textberg'):
        docs = [json.loads(l) for l in open(f'{OUT}/{name}.jsonl', encoding='utf-8')]
        embed([t for d in docs for t in d['src'] + d['tgt']])
        rows = [(d, features(d['src'], d['tgt'])) for d in docs]
        sets[name] = ([r for r in rows if r[0]['split'] == 'train'], [r for r in rows if r[0]['split'] == 'test'])
    train = sets['tatoeba'][0] + sets['textberg'][0]
    def data(use):
        X = np.vstack([design(F, use).reshape(-1, 5) for _, F in train])
        y = np.concatenate([np.array([[float((i, j) in {(a, b) for a, b, _ in d['gold']}) for j in range(len(d['tgt']))]
                                      for i in range(len(d['src']))]).ravel() for d, _ in train])
        return X, y
    w = fit(*data(SIGNALS))
    print('WEIGHTS (intercept, (margin-1)*100, names, numbers agree, numbers conflict, mutual):')
    print('  [' + ', '.join(f'{v:.4f}' for v in w) + ']')
    print('held-out precision / recall at cut 0.5, by signals used (ablation):')
    fits = []
    for use in [(), ('names',), ('numbers',), ('mutual',), SIGNALS]:
        wu = fit(*data(use)); fits.append((use, wu))
        r = {n: prf(wu, sets[n][1], use, 0.5) for n in sets}
        print(f"  margin{''.join(' +' + u for u in use):<28} " + '  '.join(f'{n} {p:.3f} / {q:.3f}' for n, (p, q) in r.items()))
    for n in sets:
        p, r = margin_prf(sets[n][1])
        print(f'  margin >= 1.02 (--rank score)         {n} {p:.3f} / {r:.3f}')
    print('held-out precision / recall by cut (all signals):')
    for cut in (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7):
        print(f'  {cut:.1f} ' + '  '.join(f'{n} {p:.3f} / {q:.3f}' for n, (p, q) in ((n, prf(w, sets[n][1], SIGNALS, cut)) for n in sets)))
    if sys.argv[2:] == ['--demo']:
        demo_report(fits)

def demo_report(fits):
    demo = {}
    for l in ('en', 'vi', 'id'):
        out = subprocess.run([BIN, 'split', '--json', f'{REPO}/data/demo/karabakh.{l}.txt'], check=True,
                             capture_output=True, text=True).stdout
        demo[l] = [json.loads(x)['text'] for x in out.splitlines()]
    labels = {}
    for line in lines(f'{REPO}/tests/data/demo/labels.tsv'):
        if line.startswith('#'): continue
        p, a, b, g, _ = line.split('\t'); labels[(p, int(a), int(b))] = g
    feats = {p: features(demo[p[:2]], demo[p[3:]]) for p in ('en-vi', 'en-id', 'vi-id')}
    print('demo labels (report only; 9 `same`, 29 same+partial), no filters:')
    for use, w in fits:
        for cut in (0.5, 0.2):
            kept = [(p, i, j) for p, F in feats.items() for i, j in select(conf(w, design(F, use)), cut)]
            g = [labels.get(k) for k in kept]
            ok = sum(x in ('same', 'partial') for x in g)
            print(f"  margin{''.join(' +' + u for u in use):<28} cut {cut}: kept {len(kept)}, precision "
                  f"{ok / max(1, len(kept)):.2f}, same found {sum(x == 'same' for x in g)}/9, same+partial {ok}/29")

if __name__ == '__main__':
    main()
