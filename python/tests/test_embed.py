"""bitalign.Model against `bitalign embed` on the same sentences."""

import threading
import time

import numpy as np
import pytest

import bitalign
from conftest import DEMO, cli, cli_error, split_json


def test_embeddings_equal_the_cli(model, model_dir, tmp_path):
    cli("embed", *DEMO, "--model", model_dir, "--out", tmp_path)
    records = split_json(*DEMO)
    for path in DEMO:
        texts = [r["text"] for r in records if r["file"] == str(path)]
        want = np.load(tmp_path / path.name.replace(".txt", ".npy"))
        got = model.embed(texts)
        assert got.shape == want.shape == (len(texts), 384)
        assert np.abs(got - want).max() <= 1e-6


def test_array_dtype_shape_and_norms(model):
    texts = ["Hello world.", "Xin chào thế giới.", "Halo dunia.", "Hello world."]
    e = model.embed(texts)
    assert isinstance(e, np.ndarray)
    assert e.dtype == np.float32 and e.shape == (4, model.dim) == (4, 384)
    assert e.flags.c_contiguous and e.flags.writeable
    np.testing.assert_allclose(np.linalg.norm(e, axis=1), 1.0, atol=1e-5)
    assert np.array_equal(e[0], e[3])
    # A row does not depend on its batch-mates.
    np.testing.assert_allclose(model.embed(["Halo dunia."])[0], e[2], atol=1e-6)
    assert model.embed([]).shape == (0, 384)
    assert model.embed(iter(["Halo dunia."])).shape == (1, 384)


@pytest.fixture(scope="module")
def query_model(model_dir):
    return bitalign.Model(model_dir, prefix="query: ")


def test_model_facts(model, model_dir, query_model):
    assert model.dim == 384
    assert model.prefix == "passage: "
    assert model.name == "intfloat/multilingual-e5-small"
    assert model.path == str(model_dir)
    assert query_model.prefix == "query: "


def test_prefix_changes_the_vectors(model, query_model):
    a, b = model.embed(["Hello world."]), query_model.embed(["Hello world."])
    assert 0.8 < float(a[0] @ b[0]) < 0.9999


def test_bad_texts(model):
    with pytest.raises(TypeError, match="single str"):
        model.embed("Hello world.")
    with pytest.raises(TypeError, match=r"texts\[1\]"):
        model.embed(["Hello.", 3])


def test_missing_model_same_message_as_cli(tmp_path, model_dir):
    missing = tmp_path / "no-such-model"
    with pytest.raises(bitalign.ModelError) as e:
        bitalign.Model(missing)
    assert isinstance(e.value, bitalign.Error) and isinstance(e.value, OSError)
    assert str(e.value) == cli_error("embed", DEMO[0], "--model", missing, "--out", tmp_path / "o")


def test_broken_model_same_message_as_cli(tmp_path, model_dir):
    broken = tmp_path / "broken"
    broken.mkdir()
    for f in model_dir.iterdir():
        if f.is_file() and f.name != "tokenizer.json":
            (broken / f.name).symlink_to(f.resolve())
        elif f.is_dir():
            (broken / f.name).symlink_to(f.resolve(), target_is_directory=True)
    (broken / "tokenizer.json").write_text("{not json")
    with pytest.raises(bitalign.ModelError) as e:
        bitalign.Model(broken)
    assert "tokenizer.json" in str(e.value)
    assert str(e.value) == cli_error("embed", DEMO[0], "--model", broken, "--out", tmp_path / "o")


def test_bad_parameters(model_dir):
    with pytest.raises(bitalign.ConfigError, match="quantize: 'q4'") as e:
        bitalign.Model(model_dir, quantize="q4")
    assert isinstance(e.value, ValueError)
    with pytest.raises(bitalign.ConfigError, match="batch"):
        bitalign.Model(model_dir, batch=0)


def test_embed_releases_the_gil(model):
    """While one thread embeds, another keeps running Python code."""
    texts = [f"Sentence number {i} about the weather in Hanoi and Jakarta." for i in range(300)]
    t0 = time.perf_counter()
    model.embed(texts)
    alone = time.perf_counter() - t0
    assert alone > 0.2, "too little work to tell"

    worker = threading.Thread(target=model.embed, args=(texts,))
    gaps, last = [], time.perf_counter()
    worker.start()
    while worker.is_alive():
        now = time.perf_counter()
        gaps.append(now - last)
        last = now
    # With the GIL held, this loop would stall for the whole call.
    assert max(gaps) < alone / 2, (max(gaps), alone)


def test_threads_and_progress(model, model_dir):
    """One thread gives the same bits as all cores; the callback sees the stage end."""
    texts = [f"Câu số {i} nói về thời tiết ở Hà Nội." for i in range(40)]
    seen = []
    one = bitalign.Model(model_dir, threads=1).embed(texts, progress=lambda *a: seen.append(a))
    assert np.array_equal(one, model.embed(texts))
    assert seen[0] == ("embedding", 0, 40)
    assert seen[-1] == ("embedding", 40, 40)
    assert all(0 <= done <= 40 for _, done, _ in seen)
    with pytest.raises(bitalign.ConfigError, match="threads"):
        bitalign.Model(model_dir, threads=0)
