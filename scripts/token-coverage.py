#!/usr/bin/env python3
"""Token coverage (BERTScore-style) as link evidence: how well does it tell right links
from wrong ones, next to the similarity the aligner already has? (docs/align.md, "Token
coverage".)

Inputs, made by the repo's own tools:
  TOK/B.tok.npy, TOK/B.ntok.npy   examples/token_vectors.rs, per side B = D.L (and D.SYS.fr)
  LINKS/D.links.tsv               align_npy --dump (output links, gold links, 2-2 merges of
                                  neighbouring gold 1-1s, diagonal halves of gold 2-2s,
                                  1-1 candidates near gold 1-1s, with their features)
  DATA/D.L, DATA/D.L1L2           the documents and gold
  EMB/D.L.o{k}.npy                the overlap embeddings align_npy reads
  MTEMB/D.SYS.fr.npy              bitalign embed --presplit of the translation (issue 14)

    scripts/token-coverage.py --tok TOK --links LINKS --data DATA --emb EMB \\
        --docs dev,devclean,devjoin --pairs "envi:en,vi;enid:en,id" \\
        --mt google,europarlfull --mt-data MTDATA --mt-emb MTEMB

A link's coverage of source members S and target members T: every token vector is
normalised; R_src = mean over S's tokens of the best cosine to any token of T, R_tgt
likewise, F their harmonic mean; `cmin` is the lowest recall of one member sentence
against the whole other side. AUCs are the chance a right item ranks above a wrong one;
"CV" rows are logistic regressions over the listed inputs, scored by 5-fold
cross-validation over contiguous stretches.
"""

import argparse
import collections
import os

import numpy as np

ap = argparse.ArgumentParser()
ap.add_argument("--tok", required=True)
ap.add_argument("--links", required=True)
ap.add_argument("--data", required=True)
ap.add_argument("--emb", required=True, help="overlap embeddings, EMB/D.L.o{k}.npy")
ap.add_argument("--docs", default="dev,devclean,devjoin")
ap.add_argument("--langs", default="de,fr")
ap.add_argument("--pairs", default="envi:en,vi;enid:en,id", help="DOC:L1,L2;…")
ap.add_argument("--mt", default="google,europarlfull")
ap.add_argument("--mt-doc", default="dev")
ap.add_argument("--mt-data", default=None, help="translations, filled as the token vectors were")
ap.add_argument("--mt-emb", default=None)
a = ap.parse_args()


def auc(score, label):
    score, label = np.asarray(score, float), np.asarray(label, bool)
    pos, neg = score[label], score[~label]
    if len(pos) == 0 or len(neg) == 0:
        return float("nan")
    # Ties count half.
    allv = np.concatenate([pos, neg])
    order = allv.argsort(kind="mergesort")
    ranks = np.empty(len(allv))
    sv = allv[order]
    i = 0
    while i < len(sv):
        j = i
        while j + 1 < len(sv) and sv[j + 1] == sv[i]:
            j += 1
        ranks[order[i : j + 1]] = (i + j) / 2 + 1
        i = j + 1
    rp = ranks[: len(pos)].sum()
    return (rp - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg))


def logistic_cv(X, y, folds=5, l2=1e-2):
    """Out-of-fold probabilities of a logistic regression (Newton, standardised inputs),
    folds being contiguous stretches of the items in document order."""
    X, y = np.asarray(X, float), np.asarray(y, float)
    n = len(y)
    out = np.zeros(n)
    bounds = np.linspace(0, n, folds + 1).astype(int)
    for f in range(folds):
        test = np.zeros(n, bool)
        test[bounds[f] : bounds[f + 1]] = True
        tr = ~test
        mu, sd = X[tr].mean(0), X[tr].std(0) + 1e-9
        Z = np.column_stack([np.ones(n), (X - mu) / sd])
        w = np.zeros(Z.shape[1])
        for _ in range(50):
            p = 1 / (1 + np.exp(-Z[tr] @ w))
            g = Z[tr].T @ (p - y[tr]) + l2 * np.r_[0, w[1:]]
            H = (Z[tr].T * (p * (1 - p))) @ Z[tr] + l2 * np.eye(len(w))
            w -= np.linalg.solve(H, g)
        out[test] = Z[test] @ w
    return out


def load_tok(name):
    t = np.load(os.path.join(a.tok, f"{name}.tok.npy"))
    n = np.load(os.path.join(a.tok, f"{name}.ntok.npy")).reshape(-1).astype(np.int64)
    t = t / np.linalg.norm(t, axis=1, keepdims=True)
    ends = np.cumsum(n)
    return [t[e - k : e] for k, e in zip(n, ends)]


def read_links(path):
    rows = []
    for line in open(path):
        kind, s, t, g, cos, sim, member, value, cost = line.rstrip("\n").split("\t")
        ids = lambda x: [int(v) for v in x.split(",")] if x else []
        rows.append(
            dict(kind=kind, s=ids(s), t=ids(t), gold=g == "1", cos=float(cos),
                 sim=float(sim), member=float(member), value=float(value), cost=float(cost))
        )
    return rows


def coverage(S, T, src, tgt):
    """R_src, R_tgt, F, lowest member recall of the link S (source sentence ids) × T."""
    A = [src[i] for i in S]
    B = [tgt[j] for j in T]
    if sum(len(x) for x in A) == 0 or sum(len(x) for x in B) == 0:
        return 0.0, 0.0, 0.0, 0.0
    Av, Bv = np.vstack(A), np.vstack(B)
    C = Av @ Bv.T
    ra, rb = C.max(1), C.max(0)
    Rs, Rt = ra.mean(), rb.mean()
    F = 2 * Rs * Rt / (Rs + Rt)
    mem = []
    at = 0
    for x in A:
        if len(x):
            mem.append(ra[at : at + len(x)].mean())
        at += len(x)
    at = 0
    for x in B:
        if len(x):
            mem.append(rb[at : at + len(x)].mean())
        at += len(x)
    return Rs, Rt, F, min(mem)


def recall(x, Bs):
    """Mean over x's tokens of the best cosine to the tokens of the sentences Bs."""
    B = np.vstack(Bs)
    if len(x) == 0 or len(B) == 0:
        return 0.0
    return (x @ B.T).max(1).mean()


_best = {}


def best_per_sentence(doc, A, B, key):
    """[tokens of A, sentences of B]: each token's best cosine within each sentence of B."""
    if key not in _best:
        flat = np.vstack([x for x in A if len(x)])
        lens = [len(x) for x in B]
        starts = np.r_[0, np.cumsum(lens)[:-1]]
        Bv = np.vstack([x for x in B if len(x)])
        keep = [k for k, n in enumerate(lens) if n]
        out = np.full((len(flat), len(B)), -1.0, np.float32)
        for lo in range(0, len(flat), 2048):
            C = flat[lo : lo + 2048] @ Bv.T
            st = np.r_[0, np.cumsum([lens[k] for k in keep])[:-1]]
            out[lo : lo + 2048][:, keep] = np.maximum.reduceat(C, st, axis=1)
        offs = np.r_[0, np.cumsum([len(x) for x in A])]
        _best[key] = (out, offs)
    return _best[key]


def hub_coverage(S, T, src, tgt, doc):
    """As `coverage`, each token's best cosine in the link minus its mean best cosine over
    every sentence of the other document (vecalign's hubness normaliser, per token)."""
    bs, os_ = best_per_sentence(doc, src, tgt, (doc, "s"))
    bt, ot = best_per_sentence(doc, tgt, src, (doc, "t"))
    ms, mt = bs.mean(1), bt.mean(1)
    def side(b, offs, mean, members, other):
        per = []
        for i in members:
            rows = slice(offs[i], offs[i + 1])
            if offs[i + 1] > offs[i]:
                per.append(b[rows][:, other].max(1) - mean[rows])
        return per
    ps, pt = side(bs, os_, ms, S, T), side(bt, ot, mt, T, S)
    if not ps or not pt:
        return 0.0, 0.0, 0.0, 0.0
    Rs, Rt = np.concatenate(ps).mean(), np.concatenate(pt).mean()
    return Rs, Rt, (Rs + Rt) / 2, min(x.mean() for x in ps + pt)


def fmt(v):
    return f"{v:.3f}"


def doc_sides(doc, l1, l2):
    return load_tok(f"{doc}.{l1}"), load_tok(f"{doc}.{l2}")


# ---------------------------------------------------------------- A: output links
print("## A. Output links of the default aligner (both sides non-empty): right vs wrong")
print("doc | links (wrong) | sim | value | 1-cost | R_src | R_tgt | F | cmin | CV conf.inputs | CV + coverage | hub R_src | hub R_tgt | hub F | hub cmin | CV + both")
pairs = [(d, *a.langs.split(",")) for d in a.docs.split(",")]
for p in a.pairs.split(";"):
    if p:
        d, ls = p.split(":")
        pairs.append((d, *ls.split(",")))
cache = {}
for doc, l1, l2 in pairs:
    src, tgt = doc_sides(doc, l1, l2)
    cache[doc] = (src, tgt)
    rows = [r for r in read_links(os.path.join(a.links, f"{doc}.links.tsv"))
            if r["kind"] == "out" and r["s"] and r["t"]]
    cov = np.array([coverage(r["s"], r["t"], src, tgt) for r in rows])
    y = np.array([r["gold"] for r in rows])
    sim = np.array([r["sim"] for r in rows])
    val = np.array([r["value"] for r in rows])
    conf = 1 - np.array([r["cost"] for r in rows])
    mem = np.array([r["member"] for r in rows])
    size = np.array([len(r["s"]) + len(r["t"]) for r in rows])
    base = np.column_stack([val, sim, mem, size > 2])
    cv0 = logistic_cv(base, y)
    cv1 = logistic_cv(np.column_stack([base, cov]), y)
    hub = np.array([hub_coverage(r["s"], r["t"], src, tgt, doc) for r in rows])
    cv2 = logistic_cv(np.column_stack([base, cov, hub]), y)
    print(f"{doc} | {len(rows)} ({(~y).sum()}) | {fmt(auc(sim, y))} | {fmt(auc(val, y))} | "
          f"{fmt(auc(conf, y))} | " + " | ".join(fmt(auc(cov[:, k], y)) for k in range(4))
          + f" | {fmt(auc(cv0, y))} | {fmt(auc(cv1, y))} | "
          + " | ".join(fmt(auc(hub[:, k], y)) for k in range(4)) + f" | {fmt(auc(cv2, y))}")

# ------------------------------------------------- B: two right 1-1s or one 2-2?
print()
print("## B. Merge or split: gold 2-2 links (merge right) vs 2-2 merges of two neighbouring")
print("gold 1-1 links (merge wrong). Δ = the 2-2's figure minus the mean of its two diagonal 1-1s;")
print("split = mean over the 4 members of recall(member → its diagonal partner) − recall(member → whole other side)")
print("doc | right merges | wrong merges | Δsim | Δvalue (2-2 − sum of 1-1s) | ΔF | Δcmin | −split | CV Δvalue+split | close calls (Δvalue > −0.05)")
for doc, l1, l2 in pairs:
    src, tgt = cache[doc]
    rows = read_links(os.path.join(a.links, f"{doc}.links.tsv"))
    one = {(r["s"][0], r["t"][0]): r for r in rows if r["kind"] in ("gold", "d11", "c11")
           and len(r["s"]) == 1 and len(r["t"]) == 1}
    items = []
    for r in rows:
        if r["kind"] == "m22" or (r["kind"] == "gold" and len(r["s"]) == 2 and len(r["t"]) == 2):
            (s1, s2), (t1, t2) = r["s"], r["t"]
            d1, d2 = one.get((s1, t1)), one.get((s2, t2))
            if d1 is None or d2 is None:
                continue
            c22 = coverage(r["s"], r["t"], src, tgt)
            c1, c2 = coverage([s1], [t1], src, tgt), coverage([s2], [t2], src, tgt)
            split = np.mean([
                recall(src[s1], [tgt[t1]]) - recall(src[s1], [tgt[t1], tgt[t2]]),
                recall(src[s2], [tgt[t2]]) - recall(src[s2], [tgt[t1], tgt[t2]]),
                recall(tgt[t1], [src[s1]]) - recall(tgt[t1], [src[s1], src[s2]]),
                recall(tgt[t2], [src[s2]]) - recall(tgt[t2], [src[s1], src[s2]]),
            ])
            items.append(dict(
                at=s1,
                right=r["kind"] == "gold",
                dsim=r["sim"] - (d1["sim"] + d2["sim"]) / 2,
                dval=r["value"] - d1["value"] - d2["value"],
                dF=c22[2] - (c1[2] + c2[2]) / 2,
                dcmin=c22[3] - (c1[3] + c2[3]) / 2,
                split=split,
            ))
    if not items:
        continue
    items.sort(key=lambda i: i["at"])  # document order, for the contiguous folds
    y = np.array([i["right"] for i in items])
    col = lambda k: np.array([i[k] for i in items])
    both = logistic_cv(np.column_stack([col("dval"), col("split")]), y)
    # The merges the DP's link values prefer or nearly prefer (Δvalue > −0.05).
    close = col("dval") > -0.05
    print(f"{doc} | {y.sum()} | {(~y).sum()} | " + " | ".join(
        fmt(auc(col(k), y)) for k in ("dsim", "dval", "dF", "dcmin"))
        + f" | {fmt(1 - auc(col('split'), y))} | {fmt(auc(both, y))} | "
        f"{close.sum()} ({y[close].sum()} right): Δvalue {fmt(auc(col('dval')[close], y[close]))}, "
        f"−split {fmt(1 - auc(col('split')[close], y[close]))}")

# ------------------------------ C: a sentence beside a link: member or insertion?
print()
print("## C. A sentence at the edge of a link: a member of a gold merge (right to merge) vs a")
print("gold-unaligned sentence next to a gold link (right to leave out; scored against the")
print("better of the links before and after). sim(x,T) = hubness-free cosine of x's vector with")
print("the other side's overlap vector; drop = cos(S,T) − cos(S∖x,T); rec = recall(x → T);")
print("gain = R_tgt(S,T) − R_tgt(S∖x,T) (how much of T only x covers)")
print("doc | members | insertions | cos(x,T) | −drop | rec | gain")


def load_emb(doc, lang, k):
    return np.load(os.path.join(EMB, f"{doc}.{lang}.o{k}.npy"))


EMB = a.emb
for doc, l1, l2 in pairs:
    src, tgt = cache[doc]
    rows = [r for r in read_links(os.path.join(a.links, f"{doc}.links.tsv")) if r["kind"] == "gold"]
    emb = {(side, k): load_emb(doc, lang, k) for side, lang in (("s", l1), ("t", l2)) for k in range(1, 5)}

    def vec(side, ids):
        return emb[(side, len(ids))][ids[0]] if len(ids) <= 4 else None

    gold_path = os.path.join(a.data, f"{doc}.{l1}{l2}")
    gold = []
    for line in open(gold_path):
        line = line.strip()
        if not line:
            continue
        s, t = line.split(":")[:2]
        ids = lambda x: [int(v) for v in x.strip("[]").split(",") if v.strip()]
        gold.append((ids(s), ids(t)))
    items = []

    def feats(side, x, S, T):
        """x joins side `side` of link (S, T), S being that side without x."""
        mine, other = (src, tgt) if side == "s" else (tgt, src)
        o = "t" if side == "s" else "s"
        full = sorted(S + [x])
        if len(full) > 4 or len(T) > 4:
            return None
        vT, vx, vS, vF = vec(o, T), emb[(side, 1)][x], vec(side, S), vec(side, full)
        cov_full = coverage(full, T, mine, other) if side == "s" else coverage(T, full, other, mine)
        cov_less = coverage(S, T, mine, other) if side == "s" else coverage(T, S, other, mine)
        # R on the other side: index 1 when this side is the source, 0 otherwise.
        k = 1 if side == "s" else 0
        return dict(cos=float(vx @ vT), drop=-(float(vS @ vT) - float(vF @ vT)),
                    rec=recall(mine[x], [other[j] for j in T]), gain=cov_full[k] - cov_less[k])

    for S, T in gold:
        if not S or not T:
            continue
        for side, A, B in (("s", S, T), ("t", T, S)):
            if len(A) < 2:
                continue
            for x in (A[0], A[-1]):
                f = feats(side, x, [i for i in A if i != x], B)
                if f:
                    items.append(dict(right=True, **f))
    for n, (S, T) in enumerate(gold):
        if S and T:
            continue
        side, x = ("s", S[0]) if S else ("t", T[0])
        best = None
        for m in (n - 1, n + 1):
            if 0 <= m < len(gold) and gold[m][0] and gold[m][1]:
                A, B = (gold[m][0], gold[m][1]) if side == "s" else (gold[m][1], gold[m][0])
                f = feats(side, x, A, B)
                if f and (best is None or f["cos"] > best["cos"]):
                    best = f
        if best:
            items.append(dict(right=False, **best))
    if not items:
        continue
    y = np.array([i["right"] for i in items])
    col = lambda k: np.array([i[k] for i in items])
    print(f"{doc} | {y.sum()} | {(~y).sum()} | " + " | ".join(
        fmt(auc(col(k), y)) for k in ("cos", "drop", "rec", "gain")))


# ------------------------- C2: the aligner's own deletions, right or wrong?
print()
print("## C2. The aligner's output deletions (after the absorb pass): right (gold-unaligned) vs")
print("wrong; features of the sentence against the better neighbouring output link on its side,")
print("as in C (the absorb pass's own criteria are the similarity drop and the member similarity)")
print("doc | deletions (wrong) | cos(x,T) | −drop | rec | gain")
for doc, l1, l2 in pairs:
    src, tgt = cache[doc]
    out = [(r["s"], r["t"], r["gold"]) for r in read_links(os.path.join(a.links, f"{doc}.links.tsv"))
           if r["kind"] == "out"]
    emb = {(side, k): load_emb(doc, lang, k) for side, lang in (("s", l1), ("t", l2)) for k in range(1, 5)}
    items = []
    for n, (S, T, g) in enumerate(out):
        if S and T:
            continue
        side, x = ("s", S[0]) if S else ("t", T[0])
        mine, other = (src, tgt) if side == "s" else (tgt, src)
        best = None
        for m in (n - 1, n + 1):
            if not (0 <= m < len(out)) or not out[m][0] or not out[m][1]:
                continue
            A, B = (out[m][0], out[m][1]) if side == "s" else (out[m][1], out[m][0])
            full = sorted(A + [x])
            if len(full) > 4 or len(B) > 4:
                continue
            o = "t" if side == "s" else "s"
            vB, vx = emb[(o, len(B))][B[0]], emb[(side, 1)][x]
            vA, vF = emb[(side, len(A))][A[0]], emb[(side, len(full))][full[0]]
            k = 1 if side == "s" else 0
            cf = coverage(full, B, mine, other) if side == "s" else coverage(B, full, other, mine)
            cl = coverage(A, B, mine, other) if side == "s" else coverage(B, A, other, mine)
            f = dict(cos=float(vx @ vB), drop=-(float(vA @ vB) - float(vF @ vB)),
                     rec=recall(mine[x], [other[j] for j in B]), gain=cf[k] - cl[k])
            if best is None or f["cos"] > best["cos"]:
                best = f
        if best:
            items.append(dict(right=not g, **best))  # "right" here: the deletion is wrong
    if not items:
        continue
    y = np.array([i["right"] for i in items])
    print(f"{doc} | {len(y)} ({y.sum()}) | " + " | ".join(
        fmt(auc([i[k] for i in items], y)) for k in ("cos", "drop", "rec", "gain")))

# --------------------------------------------- D: issue 14, MT vs target (dev)
if a.mt_data and a.mt:
    print()
    print(f"## D. Issue 14 on {a.mt_doc}: gold 1-1 links vs 1-1 links within 2 of them on one side")
    print("(pooled AUC; top1 = share of gold 1-1s ranked first among their own candidates)")
    print("system | candidates (gold) | sim (cross) | mono cos | chrF | BERTScore P | R | F | cross coverage F | CV sim | CV sim+chrF | CV sim+mono | CV sim+BERTScore F | CV all")
    doc = a.mt_doc
    src, tgt = cache[doc]
    rows = read_links(os.path.join(a.links, f"{doc}.links.tsv"))
    cands = [r for r in rows if r["kind"] in ("c11",) or (r["kind"] == "gold" and len(r["s"]) == 1 and len(r["t"]) == 1)]
    # One row per distinct (i, j); gold flags from the gold rows.
    seen = {}
    for r in cands:
        seen.setdefault((r["s"][0], r["t"][0]), r)
    cands = sorted(seen.values(), key=lambda r: (r["s"][0], r["t"][0]))
    fr = [l.strip() for l in open(os.path.join(a.data, f"{doc}.{a.langs.split(',')[1]}")) if l.strip()]

    def chrf(hyp, ref, n=6, beta=2.0):
        # sacrebleu's sentence chrF (character 1..6-grams, whitespace removed, β 2).
        h, r = "".join(hyp.split()), "".join(ref.split())
        ps, rs = [], []
        for k in range(1, n + 1):
            hc = collections.Counter(h[i : i + k] for i in range(len(h) - k + 1))
            rc = collections.Counter(r[i : i + k] for i in range(len(r) - k + 1))
            if not hc or not rc:
                continue
            m = sum((hc & rc).values())
            ps.append(m / sum(hc.values()))
            rs.append(m / sum(rc.values()))
        if not ps:
            return 0.0
        P, R = np.mean(ps), np.mean(rs)
        return 0.0 if P + R == 0 else (1 + beta**2) * P * R / (beta**2 * P + R)

    for sys_ in a.mt.split(","):
        mt_txt = [l.rstrip("\n") for l in open(os.path.join(a.mt_data, f"{doc}.{sys_}.fr"))]
        mt_tok = load_tok(f"{doc}.{sys_}.fr")
        mt_emb = np.load(os.path.join(a.mt_emb, f"{doc}.{sys_}.fr.npy"))
        tgt_emb = load_emb(doc, a.langs.split(",")[1], 1)
        f = collections.defaultdict(list)
        y, group = [], []
        for r in cands:
            i, j = r["s"][0], r["t"][0]
            y.append(r["gold"])
            group.append(i)
            f["sim"].append(r["sim"])
            f["mono"].append(float(mt_emb[i] @ tgt_emb[j]))
            f["chrf"].append(chrf(mt_txt[i], fr[j]))
            P, R, F, _ = coverage([i], [j], mt_tok, tgt)
            f["bP"].append(P)
            f["bR"].append(R)
            f["bF"].append(F)
            f["xF"].append(coverage([i], [j], src, tgt)[2])
        y = np.array(y)
        X = {k: np.array(v) for k, v in f.items()}

        def top1(score):
            # Among the candidates sharing a gold 1-1's source or target sentence.
            wins = tot = 0
            score = np.asarray(score)
            for g in np.flatnonzero(y):
                i, j = cands[g]["s"][0], cands[g]["t"][0]
                mates = [k for k, r in enumerate(cands) if r["s"][0] == i or r["t"][0] == j]
                tot += 1
                wins += score[g] >= max(score[k] for k in mates)
            return wins / tot

        cvs = {
            "sim": logistic_cv(X["sim"][:, None], y),
            "sim+chrF": logistic_cv(np.column_stack([X["sim"], X["chrf"]]), y),
            "sim+mono": logistic_cv(np.column_stack([X["sim"], X["mono"]]), y),
            "sim+bF": logistic_cv(np.column_stack([X["sim"], X["bF"]]), y),
            "all": logistic_cv(np.column_stack([X[k] for k in ("sim", "mono", "chrf", "bP", "bR", "bF", "xF")]), y),
        }
        cells = [f"{auc(X[k], y):.3f} ({top1(X[k]):.3f})" for k in ("sim", "mono", "chrf", "bP", "bR", "bF", "xF")]
        cells += [f"{auc(v, y):.3f} ({top1(v):.3f})" for v in cvs.values()]
        print(f"{sys_} | {len(y)} ({y.sum()}) | " + " | ".join(cells))
