"""bitalign.align against `bitalign align` on a Text+Berg document."""

import json

import pytest

import bitalign
from conftest import REPO, cli

TB = REPO / "tests" / "data" / "textberg"


def _text(path):
    return path.read_bytes().decode("utf-8")


@pytest.fixture(scope="module")
def cli_links(model_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("align") / "links.jsonl"
    cli("align", "--presplit", TB / "test2.de", TB / "test2.fr", "--model", model_dir,
        "--format", "jsonl", "--out", out)
    return [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]


def _key(r):
    return (r["src"]["indices"], r["tgt"]["indices"], r["src"]["text"], r["tgt"]["text"],
            r["cosine"], r["cost"])


def test_links_equal_the_cli(model, cli_links):
    links = bitalign.align(_text(TB / "test2.de"), _text(TB / "test2.fr"), model,
                           src_lang="de", tgt_lang="fr", presplit=True)
    assert len(links) == len(cli_links) > 50
    for link, want in zip(links, cli_links):
        got = link.record
        assert got["src"]["doc"] == "src" and got["tgt"]["doc"] == "tgt"
        for side in ("src", "tgt"):
            got[side]["doc"] = want[side]["doc"]
        assert got == want
        assert list(link.src) == want["src"]["indices"]
        assert (link.cosine, link.cost) == (want["cosine"], want["cost"])


def _lines(path, n):
    return [line.strip() for line in _text(path).splitlines() if line.strip()][:n]


@pytest.fixture(scope="module")
def part():
    """The first 30 and 32 sentences: enough for 1-2 and 2-1 links, quicker to align."""
    return _lines(TB / "test2.de", 30), _lines(TB / "test2.fr", 32)


@pytest.fixture(scope="module")
def part_links(model, part):
    return bitalign.align(*part, model)


def test_sentence_lists_give_the_same_links(model, part, part_links):
    de, fr = part
    as_text = bitalign.align("\n".join(de), "\n".join(fr), model, presplit=True)
    assert [_key(l.record) for l in part_links] == [_key(l.record) for l in as_text]
    assert part_links[0].record["src"]["lang"] == "und"
    # Every sentence in exactly one link, in order.
    assert [i for link in part_links for i in link.src] == list(range(len(de)))
    assert [j for link in part_links for j in link.tgt] == list(range(len(fr)))


def test_parameters_change_the_links(model, part, part_links):
    ones = bitalign.align(*part, model, max_size=2)
    assert all(len(l.src) + len(l.tgt) <= 2 for l in ones)
    assert any(len(l.src) + len(l.tgt) > 2 for l in part_links)


def test_bad_input(model):
    with pytest.raises(bitalign.ConfigError, match="max_size"):
        bitalign.align(["Eins."], ["Un."], model, max_size=1)
    with pytest.raises(bitalign.ConfigError, match="not a language code"):
        bitalign.align("Eins.", "Un.", model, src_lang="deutsch")
    with pytest.raises(TypeError):
        bitalign.align(["Eins.", None], ["Un."], model)


def test_scorer_absorb_and_translation(model, part, part_links):
    de, fr = part
    # The CLI's defaults, spelled out, give the same links.
    same = bitalign.align(
        *part, model, scorer="tuned", absorb=0.01, uncross=0.0, moved=(20, 0.05), adapt=0.05
    )
    assert [_key(l.record) for l in same] == [_key(l.record) for l in part_links]
    off = bitalign.align(*part, model, absorb="off")
    assert len(off) >= len(part_links)
    # The crossing pass only splits the path's links (one pass, so the same path); without
    # it every link follows the previous one.
    crossing = bitalign.align(*part, model, moved="off", adapt="off")
    monotone = bitalign.align(*part, model, uncross="off", moved="off", adapt="off")
    assert len(monotone) <= len(crossing)
    tgt = [i for l in monotone for i in l.tgt]
    assert tgt == sorted(tgt)
    mt = _lines(TB / "test2.google.fr", 30)
    with_mt = bitalign.align(*part, model, translation=mt)
    assert all(l.record["translation"] is not None for l in with_mt if l.src)
    with pytest.raises(bitalign.ConfigError, match="bertalign does not use a translation"):
        bitalign.align(*part, model, scorer="bertalign", translation=mt)
    with pytest.raises(bitalign.ConfigError, match="not a scorer"):
        bitalign.align(de, fr, model, scorer="vecalign")
    with pytest.raises(bitalign.ConfigError, match="absorb"):
        bitalign.align(de, fr, model, absorb="sometimes")
    with pytest.raises(bitalign.ConfigError, match="uncross"):
        bitalign.align(de, fr, model, uncross="sometimes")
    with pytest.raises(bitalign.ConfigError, match="uncross"):
        bitalign.align(de, fr, model, uncross=float("nan"))
    with pytest.raises(bitalign.ConfigError, match="adapt"):
        bitalign.align(de, fr, model, adapt="sometimes")
    with pytest.raises(bitalign.ConfigError, match="adapt"):
        bitalign.align(de, fr, model, adapt=float("inf"))
    bad_moved = ["sometimes", (20,), (20, 0.05, "members"), ("x", 0.05), (20.7, 0.05), (-1, 0.05)]
    for bad in bad_moved:
        with pytest.raises(bitalign.ConfigError, match="moved"):
            bitalign.align(de, fr, model, moved=bad)
    with pytest.raises(bitalign.ConfigError, match="moved_margin"):
        bitalign.align(de, fr, model, moved=(20, float("nan")))
    # The moved-block pass only re-pairs sentences: each still in exactly one link.
    for moved in ["off", (20, 0.05, "ends")]:
        links = bitalign.align(*part, model, moved=moved)
        assert sorted(i for l in links for i in l.src) == list(range(len(de)))
        assert sorted(i for l in links for i in l.tgt) == list(range(len(fr)))
    # One pass at the fixed price: still every sentence in exactly one link.
    once = bitalign.align(*part, model, adapt="off")
    assert sorted(i for l in once for i in l.src) == list(range(len(de)))
    with pytest.raises(bitalign.ConfigError, match="29 lines, but the source src has 30 sentences"):
        bitalign.align(de, fr, model, translation=mt[:29])
