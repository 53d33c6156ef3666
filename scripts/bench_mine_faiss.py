"""FAISS k-NN in both directions (k neighbours of every x row among y, and of every y row
among x) on two float32 .npy matrices: IndexFlatIP (exact), IndexIVFFlat and IndexHNSWFlat.
Prints one JSON object: seconds per index (build + search, both directions), recall@k of
the approximate lists against the flat ones, peak RSS. Used by bench-mine-compare.sh."""

import argparse
import json
import resource
import time

import faiss
import numpy as np


def both_ways(make, x, y, k):
    """Builds an index over each side and searches it with the other; returns the seconds
    and the (x→y, y→x) neighbour lists."""
    t = time.perf_counter()
    out = []
    for base, query in ((y, x), (x, y)):
        index = make(base)
        _, idx = index.search(query, k)
        out.append(idx)
    return time.perf_counter() - t, out


def recall(got, want):
    hit = sum(len(set(g) & set(w)) for g, w in zip(got, want))
    return hit / want.size


def main():
    p = argparse.ArgumentParser()
    p.add_argument("x")
    p.add_argument("y")
    p.add_argument("--k", type=int, default=4)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--nlist", type=int, default=0, help="IVF lists (default: 2^round(log2(4·√n)))")
    p.add_argument("--nprobe", default="8,32")
    p.add_argument("--hnsw-m", type=int, default=32)
    p.add_argument("--ef-construction", type=int, default=80)
    p.add_argument("--ef-search", default="64")
    p.add_argument("--skip-flat", action="store_true")
    a = p.parse_args()
    faiss.omp_set_num_threads(a.threads)
    x = np.ascontiguousarray(np.load(a.x), dtype=np.float32)
    y = np.ascontiguousarray(np.load(a.y), dtype=np.float32)
    d = x.shape[1]
    n = max(len(x), len(y))
    rows = []

    def flat(base):
        index = faiss.IndexFlatIP(d)
        index.add(base)
        return index

    secs, exact = both_ways(flat, x, y, a.k)
    rows.append({"index": "IndexFlatIP", "params": "", "seconds": secs, "recall": 1.0})

    nlist = a.nlist or 2 ** round(np.log2(4 * np.sqrt(n)))
    for nprobe in [int(v) for v in a.nprobe.split(",")]:
        def ivf(base, nprobe=nprobe):
            q = faiss.IndexFlatIP(d)
            index = faiss.IndexIVFFlat(q, d, min(nlist, len(base)), faiss.METRIC_INNER_PRODUCT)
            # faiss samples 256 points per list for training when given more.
            index.train(base)
            index.add(base)
            index.nprobe = nprobe
            return index

        secs, got = both_ways(ivf, x, y, a.k)
        r = (recall(got[0], exact[0]) + recall(got[1], exact[1])) / 2
        rows.append({"index": "IndexIVFFlat", "params": f"nlist {nlist}, nprobe {nprobe}",
                     "seconds": secs, "recall": r})

    for ef in [int(v) for v in a.ef_search.split(",")]:
        def hnsw(base, ef=ef):
            index = faiss.IndexHNSWFlat(d, a.hnsw_m, faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efConstruction = a.ef_construction
            index.add(base)
            index.hnsw.efSearch = ef
            return index

        secs, got = both_ways(hnsw, x, y, a.k)
        r = (recall(got[0], exact[0]) + recall(got[1], exact[1])) / 2
        rows.append({"index": "IndexHNSWFlat",
                     "params": f"M {a.hnsw_m}, efConstruction {a.ef_construction}, efSearch {ef}",
                     "seconds": secs, "recall": r})

    print(json.dumps({
        "faiss": faiss.__version__,
        "nx": len(x), "ny": len(y), "dim": d, "k": a.k, "threads": a.threads,
        "rows": rows,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }))


if __name__ == "__main__":
    main()
