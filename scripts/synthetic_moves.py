"""Moved blocks for the synthetic tuning documents (imported by synthetic-textberg.py and
synthetic-align.py): a translation that puts a sentence or two a few sentences later than
the original, which a monotone aligner can only leave unaligned."""


def moved_order(links, rng, share):
    """Target-side order of `links` (each `(src_texts, tgt_texts)`): about `share` of the
    positions start a block of one or two 1-1 links moved 2-8 links further on (positions
    after a move, and blocks with other than 1-1 links, are skipped). Also returns the
    number of blocks and of links moved."""
    order = list(range(len(links)))
    blocks = moved = 0
    k = 0
    while k < len(order) - 12:
        size = rng.choice((1, 2))
        block = order[k : k + size]
        if rng.random() < share and all(len(links[q][0]) == len(links[q][1]) == 1 for q in block):
            d = rng.randint(2, 8)
            del order[k : k + size]
            order[k + d : k + d] = block
            blocks, moved = blocks + 1, moved + size
            k += size + d + 1
        else:
            k += 1
    return order, blocks, moved


def lay_out(links, order):
    """Source lines, target lines (in `order`) and the gold links, in source order."""
    src, tgt, si, ti = [], [], {}, {}
    for q, (a, _) in enumerate(links):
        si[q] = list(range(len(src), len(src) + len(a)))
        src.extend(a)
    for q in order:
        b = links[q][1]
        ti[q] = list(range(len(tgt), len(tgt) + len(b)))
        tgt.extend(b)
    return src, tgt, [(si[q], ti[q]) for q in range(len(links))]
