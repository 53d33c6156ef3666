"""Shared fixtures: the repository, the offline model, the CLI binary to compare against.

The tests compare the package with the `bitalign` command line on the same inputs, so both
must be built from the same tree: scripts/test-python.sh builds the CLI (cargo build
--release) and installs the package before running pytest.
"""

import json
import os
import subprocess
from pathlib import Path

import pytest

# Every test embeds (none reads back vectors an earlier run left in the user's cache);
# test_embed_cache.py names its caches.
os.environ["BITALIGN_EMBED_CACHE"] = "off"

REPO = Path(__file__).resolve().parents[2]
MODEL = REPO / "models" / "multilingual-e5-small-q4"
DEMO = sorted((REPO / "data" / "demo").glob("karabakh.*.txt"))


def _bin() -> Path:
    path = Path(os.environ.get("BITALIGN_BIN", REPO / "target" / "release" / "bitalign"))
    if not path.is_file():
        pytest.fail(f"{path}: no bitalign binary (cargo build --release, or set BITALIGN_BIN)")
    return path


def cli(*args, check=True) -> subprocess.CompletedProcess:
    """Runs the bitalign CLI quietly; fails the test with its stderr when it fails."""
    p = subprocess.run(
        [str(_bin()), "-q", *map(str, args)], capture_output=True, text=True, cwd=REPO
    )
    if check and p.returncode != 0:
        pytest.fail(f"bitalign {' '.join(map(str, args))} failed: {p.stderr}")
    return p


def cli_error(*args) -> str:
    """The one-line message the CLI prints for a failing command, without `error: `."""
    p = cli(*args, check=False)
    assert p.returncode == 1, p.stderr
    line = p.stderr.strip()
    assert line.startswith("error: ") and "\n" not in line, line
    return line[len("error: ") :]


def split_json(*files, extra=()):
    """`bitalign split --json` records for files."""
    out = cli("split", "--json", *extra, *files).stdout
    return [json.loads(line) for line in out.splitlines()]


@pytest.fixture(scope="session")
def model_dir() -> Path:
    if not (MODEL / "config.json").is_file():
        pytest.fail(f"{MODEL}: no offline model (run scripts/fetch-offline-model.sh)")
    return MODEL


@pytest.fixture(scope="session")
def model(model_dir):
    import bitalign

    return bitalign.Model(model_dir)
