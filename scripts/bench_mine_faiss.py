"""FAISS k-NN in both directions (k neighbours of every x row among y, and of every y row
among x) on two float32 .npy matrices: IndexFlatIP (exact), IndexIVFFlat and IndexHNSWFlat.
Each approximate index is built once per direction and searched at every --nprobe /
--ef-search value; a setting's seconds are the build (training and adding, both
directions) plus its own searches, so each row is what a run with that one setting costs.
Prints one JSON object: seconds, recall@k against the flat lists, peak RSS. Used by
bench-mine-compare.sh, which picks the smallest setting that reaches the wanted recall."""

import argparse
import json
import resource
import time

import faiss
import numpy as np


def recall(got, want):
    hit = sum(len(set(g) & set(w)) for g, w in zip(got, want))
    return hit / want.size


def ints(s):
    return [int(v) for v in s.split(",") if v]


def sweep(make, settings, apply, x, y, k, exact):
    """Builds `make(base)` over each side, then for each setting searches both directions.
    Returns [(setting, seconds, recall)]: build time of both indexes plus that setting's
    searches."""
    built, build_secs = [], 0.0
    for base in (y, x):
        t = time.perf_counter()
        built.append(make(base))
        build_secs += time.perf_counter() - t
    out = []
    for s in settings:
        secs, got = build_secs, []
        for index, query in zip(built, (x, y)):
            apply(index, s)
            t = time.perf_counter()
            _, idx = index.search(query, k)
            secs += time.perf_counter() - t
            got.append(idx)
        r = (recall(got[0], exact[0]) * len(x) + recall(got[1], exact[1]) * len(y)) / (len(x) + len(y))
        out.append((s, secs, r))
    return out


def main():
    p = argparse.ArgumentParser()
    p.add_argument("x")
    p.add_argument("y")
    p.add_argument("--k", type=int, default=4)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--nlist", default="4sqrt",
                   help="IVF lists, comma-separated: numbers, 4sqrt (2^round(log2(4·√n))) or "
                        "sqrt (2^round(log2(√n))); at most n/39 (faiss warns below)")
    p.add_argument("--nprobe", default="8,32")
    p.add_argument("--hnsw-m", type=int, default=32)
    p.add_argument("--ef-construction", type=int, default=80)
    p.add_argument("--ef-search", default="64")
    a = p.parse_args()
    faiss.omp_set_num_threads(a.threads)
    x = np.ascontiguousarray(np.load(a.x), dtype=np.float32)
    y = np.ascontiguousarray(np.load(a.y), dtype=np.float32)
    d = x.shape[1]
    n = max(len(x), len(y))
    rows = []

    t = time.perf_counter()
    exact = []
    for base, query in ((y, x), (x, y)):
        index = faiss.IndexFlatIP(d)
        index.add(base)
        exact.append(index.search(query, a.k)[1])
    rows.append({"index": "IndexFlatIP", "params": "", "seconds": time.perf_counter() - t,
                 "recall": 1.0})

    for spec in a.nlist.split(","):
        rule = {"4sqrt": 4 * np.sqrt(n), "sqrt": np.sqrt(n)}
        nlist = 2 ** round(np.log2(rule[spec])) if spec in rule else int(spec)
        nlist = max(1, min(nlist, min(len(x), len(y)) // 39))

        def ivf(base, nlist=nlist):
            index = faiss.IndexIVFFlat(faiss.IndexFlatIP(d), d, nlist, faiss.METRIC_INNER_PRODUCT)
            # faiss samples 256 points per list for training when given more.
            index.train(base)
            index.add(base)
            return index

        def set_probe(index, v):
            index.nprobe = v

        for v, secs, r in sweep(ivf, ints(a.nprobe), set_probe, x, y, a.k, exact):
            rows.append({"index": "IndexIVFFlat", "params": f"nlist {nlist}, nprobe {v}",
                         "nlist": nlist, "nlist_rule": spec, "nprobe": v, "seconds": secs, "recall": r})

    def hnsw(base):
        index = faiss.IndexHNSWFlat(d, a.hnsw_m, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = a.ef_construction
        index.add(base)
        return index

    def set_ef(index, v):
        index.hnsw.efSearch = v

    for v, secs, r in sweep(hnsw, ints(a.ef_search), set_ef, x, y, a.k, exact):
        rows.append({"index": "IndexHNSWFlat",
                     "params": f"M {a.hnsw_m}, efConstruction {a.ef_construction}, efSearch {v}",
                     "ef_search": v, "seconds": secs, "recall": r})

    print(json.dumps({
        "faiss": faiss.__version__,
        "nx": len(x), "ny": len(y), "dim": d, "k": a.k, "threads": a.threads,
        "rows": rows,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }))


if __name__ == "__main__":
    main()
