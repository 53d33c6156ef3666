"""bitalign.split against `bitalign split --json` on the same files."""

import pytest

import bitalign
from conftest import DEMO, REPO, cli_error, split_json


@pytest.mark.parametrize("path", DEMO, ids=lambda p: p.name)
def test_split_matches_cli(path):
    lang = path.name.split(".")[1]
    text = path.read_text(encoding="utf-8")
    data = path.read_bytes()
    want = split_json(path)
    got = bitalign.split(text, lang)
    assert [s.text for s in got] == [w["text"] for w in want]
    for s, w in zip(got, want):
        # CLI spans are bytes into the file, ours characters into the str.
        assert s.start == len(data[: w["start"]].decode("utf-8"))
        assert s.end == len(data[: w["end"]].decode("utf-8"))
        assert text[s.start : s.end] == s.text


def test_presplit_matches_cli():
    path = REPO / "tests" / "data" / "textberg" / "test2.de"
    want = split_json(path, extra=["--presplit"])
    got = bitalign.split(path.read_text(encoding="utf-8"), "de", presplit=True)
    assert [s.text for s in got] == [w["text"] for w in want]
    assert len(got) == 95


def test_offsets_are_characters():
    text = "Tôi đến Hà Nội. Trời mưa rất to!  Xin chào."
    got = bitalign.split(text, "vi")
    assert [s.text for s in got] == ["Tôi đến Hà Nội.", "Trời mưa rất to!", "Xin chào."]
    assert all(text[s.start : s.end] == s.text for s in got)
    assert got[1] == bitalign.Sentence("Trời mưa rất to!", 16, 32)


def test_language_codes_are_normalised():
    text = "Dr. Smith came. He left."
    assert bitalign.split(text, "eng") == bitalign.split(text, "en-GB") == bitalign.split(text, "en")
    assert len(bitalign.split(text, "en")) == 2


def test_blank_text_has_no_sentences():
    assert bitalign.split("", "en") == []
    assert bitalign.split(" \n\t\n", "en") == []


def test_bad_language_code():
    with pytest.raises(bitalign.ConfigError, match="'english' is not a language code") as e:
        bitalign.split("Hello.", "english")
    assert isinstance(e.value, ValueError)
    assert "--lang" not in str(e.value)


def test_bad_text(tmp_path):
    with pytest.raises(TypeError):
        bitalign.split(b"Hello.", "en")
    with pytest.raises(bitalign.InputError) as e:
        bitalign.split("Hello\0 world.", "en")
    # The CLI refuses the same bytes in a file with the same words after the name.
    f = tmp_path / "nul.en.txt"
    f.write_bytes(b"Hello\0 world.")
    want = cli_error("split", f)
    assert str(e.value) == "text" + want[len(str(f)) :]
    assert "NUL byte at offset 5" in str(e.value)
