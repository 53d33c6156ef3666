"""Machine translation from Python: bitalign.Translator / translate against `bitalign
translate`, and mt_model= / translations= on align and mine writing the translation used."""

import pytest

import bitalign
from conftest import REPO, cli

TINY = REPO / "tests" / "fixtures" / "tiny-marian"
TB = REPO / "tests" / "data" / "textberg"


@pytest.fixture(autouse=True)
def _translation_cache(tmp_path, monkeypatch):
    # Both the package and the CLI read it per call; a fresh one per test.
    monkeypatch.setenv("BITALIGN_TRANSLATION_CACHE", str(tmp_path / "mt-cache"))


def _lines(path, n):
    return path.read_text(encoding="utf-8").splitlines()[:n]


def test_translate_equals_the_cli(tmp_path):
    src = _lines(TB / "test2.de", 6)
    f = tmp_path / "in.de"
    f.write_text("\n".join(src) + "\n", encoding="utf-8")
    out = tmp_path / "out.fr"
    cli("translate", f, "--mt-model", TINY, "--beam", "1", "--out", out)
    want = out.read_text(encoding="utf-8").splitlines()
    t = bitalign.Translator(TINY, beam=1)
    assert t.translate(src) == want
    assert bitalign.translate(src, TINY, beam=1) == want
    assert bitalign.translate(src, t) == want
    with pytest.raises(bitalign.ConfigError):
        bitalign.translate(src, t, beam=2)
    with pytest.raises(bitalign.ConfigError):
        bitalign.Translator(TINY, beam=0)


def test_align_and_mine_write_the_translation_used(model):
    de, fr = _lines(TB / "test2.de", 10), _lines(TB / "test2.fr", 10)
    t = bitalign.Translator(TINY, beam=1)
    want = t.translate(de)
    links = bitalign.align(de, fr, model, src_lang="de", tgt_lang="fr", mt_model=t)
    one = [l for l in links if len(l.src) == 1 and want[l.src[0]]]
    assert len(one) >= 3
    for l in one:
        assert l.record["translation"] == want[l.src[0]]
    with pytest.raises(bitalign.ConfigError):
        bitalign.align(de, fr, model, src_lang="de", tgt_lang="fr", mt_model=t, translation=want)

    # Mining: given translations, or made by the model; the same either way.
    google = _lines(TB / "test2.google.fr", 10)
    recs = bitalign.mine({"de": {"de": de}, "fr": {"fr": fr}}, model, translations={("de", "fr"): google})
    assert len(recs) >= 3
    for r in recs:
        assert r["translation"] == google[r["src"]["indices"][0]]
    a = bitalign.mine({"de": {"de": de}, "fr": {"fr": fr}}, model, mt_model=t)
    b = bitalign.mine({"de": {"de": de}, "fr": {"fr": fr}}, model, translations={("de", "fr"): want})
    assert a == b
    with pytest.raises(bitalign.ConfigError, match="no document named"):
        bitalign.mine({"de": {"de": de}, "fr": {"fr": fr}}, model, translations={("xx", "fr"): google})
    with pytest.raises(bitalign.ConfigError, match="translation"):
        bitalign.mine({"de": {"de": de}, "fr": {"fr": fr}}, model, translations={("de", "fr"): google[:3]})
