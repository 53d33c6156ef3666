"""The embedding cache from Python: `embed_cache=` as `bitalign run --embed-cache`."""

import json
import os

import numpy as np
import pytest

import bitalign
from conftest import DEMO, cli


def _docs():
    return {p.name.split(".")[1]: p.read_bytes().decode("utf-8") for p in DEMO}


def _files(d):
    return sorted(f for f in os.listdir(d) if f.endswith(".npy")) if d.exists() else []


def test_mine_stores_one_file_per_document_and_reads_them_back(model_dir, tmp_path):
    cache = tmp_path / "cache"
    first = bitalign.mine(_docs(), str(model_dir), embed_cache=cache)
    assert len(_files(cache)) == len(DEMO) == 3
    stamps = {f: os.stat(cache / f).st_mtime_ns for f in _files(cache)}
    again = bitalign.mine(_docs(), bitalign.Model(model_dir, embed_cache=cache))
    assert again == first
    assert {f: os.stat(cache / f).st_mtime_ns for f in _files(cache)} == stamps
    # The CLI finds the very files the package stored: same keys, same semantics.
    out = tmp_path / "out"
    cli("run", *DEMO, "--model", model_dir, "--out", out, "--embed-cache", cache)
    stats = json.loads((out / "run.json").read_text())["model"]["stats"]
    assert stats["cached"] == stats["sentences"] > 0
    assert _files(cache) == sorted(stamps)


def test_embed_caches_a_call_as_one_document(model_dir, tmp_path):
    cache = tmp_path / "c"
    texts = ["Hello world.", "Xin chào thế giới.", "Hello world."]
    m = bitalign.Model(model_dir, embed_cache=cache)
    a = m.embed(texts)
    assert len(_files(cache)) == 1
    np.save(cache / _files(cache)[0], np.zeros_like(a))  # what is read back is the file
    assert np.array_equal(m.embed(texts), np.zeros_like(a))
    off = bitalign.Model(model_dir, embed_cache="off").embed(texts)
    assert np.abs(off - a).max() <= 1e-6 and np.array_equal(off[0], off[2])


def test_environment_and_off(model_dir, tmp_path, monkeypatch):
    env = tmp_path / "env"
    monkeypatch.setenv("BITALIGN_EMBED_CACHE", str(env))
    bitalign.Model(model_dir).embed(["Halo dunia."])
    assert len(_files(env)) == 1
    bitalign.Model(model_dir, embed_cache="off").embed(["Selamat pagi."])
    assert len(_files(env)) == 1
    monkeypatch.setenv("BITALIGN_EMBED_CACHE", "off")
    monkeypatch.setenv("BITALIGN_CACHE_DIR", str(tmp_path / "default"))
    bitalign.Model(model_dir).embed(["Selamat pagi."])
    assert not (tmp_path / "default").exists()
    monkeypatch.delenv("BITALIGN_EMBED_CACHE")
    bitalign.Model(model_dir).embed(["Selamat pagi."])
    assert len(_files(tmp_path / "default")) == 1


def test_embed_cache_with_a_model_object_is_refused(model):
    with pytest.raises(bitalign.ConfigError, match="embed_cache"):
        bitalign.mine(_docs(), model, embed_cache="off")
