"""bitalign.mine against `bitalign run` on the demo articles."""

import json

import pytest

import bitalign
from conftest import DEMO, cli


def _text(path):
    # Bytes decoded as they are (no newline translation), so spans are the file's.
    return path.read_bytes().decode("utf-8")


def _demo_docs():
    return {p.name.split(".")[1]: _text(p) for p in DEMO}


def _without_doc(r):
    r = json.loads(json.dumps(r))
    for side in ("src", "tgt"):
        del r[side]["doc"]
    return r


@pytest.fixture(scope="module")
def cli_records(model_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "out"
    cli("run", *DEMO, "--model", model_dir, "--out", out)
    langs = [p.name.split(".")[1] for p in DEMO]
    records = []
    for i, a in enumerate(langs):
        for b in langs[i + 1 :]:
            lines = (out / f"{a}-{b}.jsonl").read_text(encoding="utf-8").splitlines()
            records.extend(json.loads(line) for line in lines)
    return records


def test_mined_pairs_equal_the_cli(model, cli_records):
    got = bitalign.mine(_demo_docs(), model)
    assert len(got) == len(cli_records) >= 3
    assert [_without_doc(r) for r in got] == [_without_doc(r) for r in cli_records]
    assert {r["src"]["doc"] for r in got} == {"en", "id"}
    # Ranked by the calibrated confidence by default, cut at 0.5.
    assert all(0.5 <= r["confidence"] <= 1 for r in got)


def test_records_point_into_the_texts(model):
    docs = _demo_docs()
    for r in bitalign.mine(docs, model, pairs=["en-vi"]):
        for side in (r["src"], r["tgt"]):
            a, b = side["span"]
            assert docs[side["lang"]].encode()[a:b].decode() == side["text"]


def test_pairs_and_parameters(model):
    docs = _demo_docs()
    every = bitalign.mine(docs, model)
    en_vi = [r for r in every if (r["src"]["lang"], r["tgt"]["lang"]) == ("en", "vi")]
    assert bitalign.mine(docs, model, pairs=["en-vi"]) == en_vi
    # A threshold selects the margin ranking (the confidence has none).
    loose = bitalign.mine(docs, model, pairs=["en-vi"], threshold=1.0, filters="none")
    assert len(loose) > len(en_vi)
    assert all(r["margin"] >= 1.0 and "confidence" not in r for r in loose)


def test_documents_by_name_and_as_sentences(model):
    en = bitalign.split(_text(DEMO[0]), "en")
    vi = bitalign.split(_text(DEMO[2]), "vi")
    got = bitalign.mine(
        {"en": {"story-en": [s.text for s in en]}, "vi": [[s.text for s in vi]]}, model
    )
    want = bitalign.mine({"en": _text(DEMO[0]), "vi": _text(DEMO[2])}, model)
    assert [(r["src"]["indices"], r["tgt"]["indices"], r["margin"]) for r in got] == [
        (r["src"]["indices"], r["tgt"]["indices"], r["margin"]) for r in want
    ]
    assert got[0]["src"]["doc"] == "story-en" and got[0]["tgt"]["doc"] == "vi:0"


def test_progress_callback(model):
    seen = []
    bitalign.mine(_demo_docs(), model, progress=lambda *a: seen.append(a))
    stages = {s for s, _, _ in seen}
    assert "embedding" in stages
    last = [a for a in seen if a[0] == "embedding"][-1]
    assert last[1] == last[2] > 0


def test_progress_callback_errors_are_raised(model):
    def boom(*_):
        raise RuntimeError("stop")

    with pytest.raises(RuntimeError, match="stop"):
        bitalign.mine(_demo_docs(), model, progress=boom)


def test_bad_input(model):
    with pytest.raises(bitalign.InputError, match="two languages"):
        bitalign.mine({"en": _text(DEMO[0])}, model)
    with pytest.raises(bitalign.InputError, match="empty document"):
        bitalign.mine({"en": _text(DEMO[0]), "vi": "  \n"}, model)
    with pytest.raises(bitalign.ConfigError, match="not a language code"):
        bitalign.mine({"english": "Hello.", "vi": "Xin chào."}, model)
    with pytest.raises(TypeError):
        bitalign.mine(["Hello."], model)
    with pytest.raises(TypeError):
        bitalign.mine({"en": 3, "vi": "Xin chào."}, model)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"k": 0}, "k: must be at least 1"),
        ({"score": "best"}, "score"),
        ({"mode": "all"}, "mode"),
        ({"filters": "length,colour"}, "colour"),
        ({"max_length_ratio": 0.5}, "max_length_ratio"),
        ({"pairs": ["en-fr"]}, "fr"),
    ],
)
def test_bad_parameters(model, kwargs, match):
    with pytest.raises(bitalign.ConfigError, match=match):
        bitalign.mine(_demo_docs(), model, **kwargs)


def test_partial_marks_every_pair_and_changes_none(model):
    docs = _demo_docs()
    plain = bitalign.mine(docs, model, partial=False)
    marked = bitalign.mine(docs, model)  # marking is on by default
    assert all("correspondence" not in r for r in plain)
    assert [{k: v for k, v in r.items() if k != "correspondence"} for r in marked] == plain
    for r in marked:
        c = r["correspondence"]
        assert c["kind"] == ("partial" if c["p_partial"] > 0.5 else "parallel")
        if "part" in c:
            p = c["part"]
            text = r[p["side"]]["text"]
            assert text.encode()[p["start"] : p["end"]].decode() == p["text"] != text
