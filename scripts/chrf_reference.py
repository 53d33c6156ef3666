#!/usr/bin/env python3
"""Reference chrF numbers from sacrebleu for the Rust implementation (src/mt/chrf.rs).

Writes tests/data/chrf/sacrebleu.jsonl: one {"hyp", "ref", "chrf"} object per case
(sentence chrF, sacrebleu defaults), then one {"corpus": [hyps], "refs": [refs], "chrf"}.
Cases: Google's translations of Text+Berg test2 (tests/data/textberg/test2.google.fr)
against the French lines at the same and the next index, and edge cases.

    python3 -m venv ~/.cache/bitalign/venv-sacrebleu
    ~/.cache/bitalign/venv-sacrebleu/bin/pip install sacrebleu==2.6.0
    ~/.cache/bitalign/venv-sacrebleu/bin/python scripts/chrf_reference.py
"""
import json
from pathlib import Path

import sacrebleu
from sacrebleu.metrics import CHRF

assert sacrebleu.__version__ == "2.6.0", sacrebleu.__version__
repo = Path(__file__).resolve().parent.parent
data = repo / "tests/data/textberg"
mt = (data / "test2.google.fr").read_text(encoding="utf-8").splitlines()
fr = (data / "test2.fr").read_text(encoding="utf-8").splitlines()
pairs = [(mt[i], fr[i]) for i in range(40)] + [(mt[i], fr[i + 1]) for i in range(20)]
pairs += [
    ("", ""),
    ("", "abc"),
    ("abc", ""),
    ("a", "a"),
    ("ab", "abc"),
    ("le chat", "lechat"),
    ("Le  chat\tdort.\u00a0Ici", "le chat dort ici"),
    ("x\u001fy z", "xy z"),
    ("Zürich – Genève «très» 7312 m", "Zurich - Geneve « très » 7312m"),
    ("ééééééé", "éééé"),
    ("aaaa bbbb aaaa", "aaaa aaaa cccc"),
    ("你好世界，今天", "你好，世界"),
]
metric = CHRF()
out = repo / "tests/data/chrf/sacrebleu.jsonl"
out.parent.mkdir(parents=True, exist_ok=True)
with out.open("w", encoding="utf-8") as f:
    for h, r in pairs:
        s = metric.sentence_score(h, [r]).score
        f.write(json.dumps({"hyp": h, "ref": r, "chrf": s}, ensure_ascii=False) + "\n")
    hyps, refs = mt[:40], fr[:40]
    s = metric.corpus_score(hyps, [refs]).score
    f.write(json.dumps({"corpus": hyps, "refs": refs, "chrf": s}, ensure_ascii=False) + "\n")
print(f"{len(pairs)} sentence cases and 1 corpus case -> {out}")
