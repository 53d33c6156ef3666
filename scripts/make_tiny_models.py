#!/usr/bin/env python3
"""Build tiny random-weight sentence-transformers models and their reference embeddings.

Why: the real LaBSE / XLM-R models cannot be downloaded here, so bitalign proves its BERT and
XLM-R paths (mean / cls / max pooling, Dense+tanh, Normalize, truncation, the XLM-R position
offset) against what sentence-transformers itself outputs for tiny models that fit in git.

Writes tests/fixtures/tiny/<name>/ (the directory exactly as sentence-transformers saves it,
plus expected.npy and expected-tokens.jsonl) and tests/fixtures/tiny/sentences.txt.
Every number is re-derived two more ways before anything is written: transformers' AutoModel
with hand-written pooling, and a plain numpy forward pass over the safetensors files.

Run with the venv described in scripts/README.md:
    /work/dev/torch-venv/bin/python scripts/make_tiny_models.py
Deterministic: seeded, single-threaded; running it twice gives identical files.
"""

import json
from collections import Counter
import os
import shutil
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("RAYON_NUM_THREADS", "1")
os.environ.setdefault("RAYON_RS_NUM_CPUS", "1")

import numpy as np
import torch
from safetensors.numpy import load_file
from sentence_transformers import SentenceTransformer

try:  # sentence-transformers >= 6
    from sentence_transformers.sentence_transformer import modules as models
except ImportError:
    from sentence_transformers import models
from tokenizers import Regex, Tokenizer, decoders, normalizers, pre_tokenizers, processors
from tokenizers.models import Unigram, WordPiece
from transformers import (
    AutoModel,
    BertConfig,
    BertModel,
    PreTrainedTokenizerFast,
    XLMRobertaConfig,
    XLMRobertaModel,
)

torch.set_num_threads(1)
torch.use_deterministic_algorithms(True)

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "tests" / "fixtures" / "tiny"
DATA = Path(os.environ.get("BITALIGN_SHARED", REPO.parent.parent / "shared")) / "data"
if not DATA.is_dir():
    DATA = Path("/work/shared/data")

HIDDEN, LAYERS, HEADS, INTER, MAXPOS = 32, 2, 4, 64, 64
VOCAB = 512
TOL = 1e-5  # the independent checks must agree with ST this closely (the Rust test uses 1e-4)


def lines(path):
    return [l.rstrip("\n") for l in open(path, encoding="utf-8")]


TAT = {
    "eng": lines(DATA / "tatoeba/tatoeba.ind-eng.eng") + lines(DATA / "tatoeba/tatoeba.vie-eng.eng"),
    "ind": lines(DATA / "tatoeba/tatoeba.ind-eng.ind"),
    "vie": lines(DATA / "tatoeba/tatoeba.vie-eng.vie"),
}
NEWS = {l: [x for x in lines(DATA / f"news/karabakh.{l}.txt") if x.strip()] for l in ("en", "vi", "id")}


def training_text():
    """A few hundred lines the tokenizers learn from; disjoint from the test sentences."""
    return (
        TAT["eng"][100:250] + TAT["ind"][100:250] + TAT["vie"][100:250] + TAT["eng"][1100:1250]
    )


def test_sentences():
    """~30 varied sentences: short/long, en/vi/id, OOV characters, a duplicate, > 16 and > 64 tokens."""
    s = []
    s += [TAT["eng"][i] for i in (0, 3, 7, 1004, 1006)]
    s += [TAT["ind"][i] for i in (0, 3, 7, 9)]
    s += [TAT["vie"][i] for i in (0, 1, 6, 7, 11)]
    s += [NEWS["en"][0], NEWS["vi"][0], NEWS["id"][0]]  # several hundred characters each
    s += [NEWS["en"][1][:200], NEWS["vi"][2][:160], NEWS["id"][1][:120]]
    s += [
        "Hi",
        ".",
        "OK!!! ???",
        "12345 678,90 3.14159",
        "Xin chào, world — apa kabar?",
        "東京 🙂 café naïve Ωmega",  # characters outside the tiny vocabularies
        "TOM IS VERY FAST AND THE CAT IS UNDER THE DESK",
        "Ada  dua   spasi di sini.",
        TAT["eng"][0],  # exact duplicate of the first sentence
    ]
    assert all(x and "\n" not in x for x in s)
    return s


def top(counter, n, exclude=()):
    """The n most frequent keys, ties broken alphabetically, so the vocabularies are reproducible
    (the `tokenizers` trainers break ties in hash order and differ from run to run)."""
    out = [k for k, _ in sorted(counter.items(), key=lambda kv: (-kv[1], kv[0])) if k not in exclude]
    return out[:n]


def bert_tokenizer(text):
    """A small cased WordPiece vocabulary: the 100 commonest characters (others become [UNK]),
    their ## forms, then the commonest whole words and ## word pieces."""
    normalizer = normalizers.BertNormalizer(
        clean_text=True, handle_chinese_chars=True, strip_accents=False, lowercase=False
    )
    pre = pre_tokenizers.BertPreTokenizer()
    words = Counter()
    for line in text:
        words.update(w for w, _ in pre.pre_tokenize_str(normalizer.normalize_str(line)))
    chars = Counter()
    for w, c in words.items():
        for ch in w:
            chars[ch] += c
    alphabet = top(chars, 100)
    ok = set(alphabet)
    special = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    vocab = special + alphabet + ["##" + c for c in alphabet]
    pieces = Counter()
    for w, c in words.items():
        if len(w) > 1 and set(w) <= ok:
            pieces[w] += c
            for i in range(1, len(w) - 1):
                for j in range(i + 2, min(len(w), i + 4) + 1):
                    pieces["##" + w[i:j]] += c
    vocab += top(pieces, VOCAB - len(vocab), exclude=set(vocab))
    tok = Tokenizer(WordPiece({t: i for i, t in enumerate(vocab)}, unk_token="[UNK]", max_input_chars_per_word=100))
    tok.normalizer = normalizer
    tok.pre_tokenizer = pre
    tok.decoder = decoders.WordPiece(prefix="##")
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", 2), ("[SEP]", 3)],
    )
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        unk_token="[UNK]",
        pad_token="[PAD]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        mask_token="[MASK]",
        model_max_length=MAXPOS,
    )
    return fast


def xlmr_tokenizer(text):
    """A small SentencePiece-style Unigram model: pieces are the commonest characters and
    substrings of ▁-prefixed words, scored by log frequency; <s>=0 <pad>=1 </s>=2 <unk>=3."""
    normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Replace(Regex(" {2,}"), " ")])
    pre = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    subs = Counter()
    for line in text:
        for w, _ in pre.pre_tokenize_str(normalizer.normalize_str(line)):
            for i in range(len(w)):
                for j in range(i + 1, min(len(w), i + 8) + 1):
                    subs[w[i:j]] += 1
    singles = Counter({k: v for k, v in subs.items() if len(k) == 1})
    special = ["<s>", "<pad>", "</s>", "<unk>"]
    pieces = top(singles, 110)  # rarer characters are unknown
    pieces += top(Counter({k: v for k, v in subs.items() if len(k) > 1}), VOCAB - 1 - len(special) - len(pieces))
    total = sum(subs[p] for p in pieces)
    vocab = [(t, 0.0) for t in special] + [(p, float(np.log(subs[p] / total))) for p in pieces] + [("<mask>", 0.0)]
    tok = Tokenizer(Unigram(vocab, unk_id=3, byte_fallback=False))
    tok.normalizer = normalizer
    tok.pre_tokenizer = pre
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
    tok.add_special_tokens(special + ["<mask>"])
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>",
        pair="<s> $A </s> </s> $B </s>",
        special_tokens=[("<s>", 0), ("</s>", 2)],
    )
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token="<s>",
        eos_token="</s>",
        unk_token="<unk>",
        pad_token="<pad>",
        cls_token="<s>",
        sep_token="</s>",
        mask_token="<mask>",
        model_max_length=MAXPOS,
    )
    return fast


def perturb(model, seed):
    """Random weights well away from the tiny default init, so that every mistake a port can
    make (offsets, eps, masking, activation) moves the output by far more than the tolerance."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "LayerNorm" in name and name.endswith("weight"):
                p.copy_(1.0 + 0.2 * torch.randn(p.shape, generator=g))
            elif name.endswith("bias") or "LayerNorm" in name:
                p.copy_(0.1 * torch.randn(p.shape, generator=g))
            elif "embeddings" in name:
                p.copy_(0.5 * torch.randn(p.shape, generator=g))
            else:
                p.copy_(torch.randn(p.shape, generator=g) / np.sqrt(p.shape[-1]))


SPECS = [
    # name, arch, pooling, dense, max_seq_length, seed, layout of the module files
    ("bert-mean", "bert", "mean", False, 64, 11, "hub"),
    ("bert-cls-dense", "bert", "cls", True, 64, 12, "hub"),
    ("bert-max", "bert", "max", False, 64, 13, "hub"),
    ("xlmr-mean", "xlmr", "mean", False, 64, 21, "hub"),
    ("xlmr-cls-dense", "xlmr", "cls", True, 64, 22, "hub"),
    ("xlmr-mean-trunc16", "xlmr", "mean", False, 16, 23, "hub"),
    # As sentence-transformers 6 writes it, untouched (see hub_layout for the differences).
    ("bert-cls-dense-st6", "bert", "cls", True, 64, 14, "st6"),
]


def build(name, arch, pooling, dense, max_seq, seed, layout, toks, workdir):
    torch.manual_seed(seed)
    tok = toks[arch]
    if arch == "bert":
        cfg = BertConfig(
            vocab_size=len(tok),
            hidden_size=HIDDEN,
            num_hidden_layers=LAYERS,
            num_attention_heads=HEADS,
            intermediate_size=INTER,
            max_position_embeddings=MAXPOS,
            type_vocab_size=2,
            pad_token_id=0,
            layer_norm_eps=1e-12,
            hidden_act="gelu",
        )
        hf = BertModel(cfg, add_pooling_layer=False)
    else:
        cfg = XLMRobertaConfig(
            vocab_size=len(tok),
            hidden_size=HIDDEN,
            num_hidden_layers=LAYERS,
            num_attention_heads=HEADS,
            intermediate_size=INTER,
            max_position_embeddings=MAXPOS + 2,  # positions start at padding_idx + 1 = 2
            type_vocab_size=1,
            pad_token_id=1,
            bos_token_id=0,
            eos_token_id=2,
            layer_norm_eps=1e-5,
            hidden_act="gelu",
        )
        hf = XLMRobertaModel(cfg, add_pooling_layer=False)
    perturb(hf, seed)
    hf.eval()
    src = workdir / f"{name}-hf"
    hf.save_pretrained(src, safe_serialization=True)
    tok.save_pretrained(src)

    mods = [models.Transformer(str(src), max_seq_length=max_seq)]
    mods.append(models.Pooling(HIDDEN, pooling_mode=pooling))
    if dense:
        torch.manual_seed(seed + 1000)
        d = models.Dense(HIDDEN, 16, bias=True, activation_function=torch.nn.Tanh())
        with torch.no_grad():
            d.linear.weight.copy_(torch.randn(d.linear.weight.shape) / np.sqrt(HIDDEN) * 2.0)
            d.linear.bias.copy_(0.3 * torch.randn(d.linear.bias.shape))
        mods.append(d)
    mods.append(models.Normalize())
    st = SentenceTransformer(modules=mods, device="cpu")
    out = OUT / name
    if out.exists():
        shutil.rmtree(out)
    st.save(str(out), safe_serialization=True)
    # The model card records timings/versions and would make reruns differ; it is not model data.
    (out / "README.md").unlink(missing_ok=True)
    if layout == "hub":
        hub_layout(out, pooling, dense, max_seq)
    return out


def dump(path, obj):
    path.write_text(json.dumps(obj, indent=2) + "\n", encoding="utf-8")


def hub_layout(d, pooling, dense, max_seq):
    """Rewrite sentence-transformers 6's module files into the layout that the models on the hub
    (multilingual-e5, LaBSE, paraphrase-multilingual-*) were saved with by ST 2.x-5.x, which ST 6
    still loads: `sentence_transformers.models.*` type names, max_seq_length in
    sentence_bert_config.json, one boolean per pooling mode, no Normalize directory."""
    mods = ["Transformer", "Pooling"] + (["Dense"] if dense else []) + ["Normalize"]
    paths = ["", "1_Pooling"] + (["2_Dense"] if dense else []) + [f"{len(mods) - 1}_Normalize"]
    dump(
        d / "modules.json",
        [
            {"idx": i, "name": str(i), "path": p, "type": f"sentence_transformers.models.{m}"}
            for i, (m, p) in enumerate(zip(mods, paths))
        ],
    )
    dump(d / "sentence_bert_config.json", {"max_seq_length": max_seq, "do_lower_case": False})
    modes = {"cls": "cls_token", "mean": "mean_tokens", "max": "max_tokens"}
    pc = {"word_embedding_dimension": HIDDEN}
    for m in ("cls_token", "mean_tokens", "max_tokens", "mean_sqrt_len_tokens", "weightedmean_tokens", "lasttoken"):
        pc[f"pooling_mode_{m}"] = modes[pooling] == m
    pc["include_prompt"] = True
    dump(d / "1_Pooling" / "config.json", pc)
    if dense:
        dc = json.load(open(d / "2_Dense" / "config.json"))
        keep = ("in_features", "out_features", "bias", "activation_function")
        dump(d / "2_Dense" / "config.json", {k: dc[k] for k in keep})
    shutil.rmtree(d / f"{len(mods) - 1}_Normalize", ignore_errors=True)
    tc = json.load(open(d / "tokenizer_config.json"))
    # The hub's files name a tokenizer class; PreTrainedTokenizerFast makes transformers use
    # tokenizer.json exactly as written (as bitalign does). The truncation length must come from
    # sentence_bert_config.json, so the tokenizer's own limit is left at the position table size.
    tc["tokenizer_class"] = "PreTrainedTokenizerFast"
    tc["model_max_length"] = MAXPOS
    tc.pop("is_local", None)
    tc.pop("local_files_only", None)
    dump(d / "tokenizer_config.json", tc)


# ---------------------------------------------------------------- independent references


def gelu(x):
    from math import erf, sqrt

    v = np.vectorize(lambda t: 0.5 * t * (1.0 + erf(t / sqrt(2.0))))
    return v(x.astype(np.float64))


def layer_norm(x, w, b, eps):
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * w + b


def numpy_forward(d, ids, variant=None):
    """Plain float64 BERT/XLM-R encoder over the saved safetensors, one unpadded sentence.

    variant names a deliberate mistake, used to show the fixtures catch it."""
    cfg = json.load(open(d / "config.json"))
    w = load_file(str(d / "model.safetensors"))
    w = {k.removeprefix("bert.").removeprefix("roberta."): v.astype(np.float64) for k, v in w.items()}
    eps = cfg["layer_norm_eps"]
    n = len(ids)
    if cfg["model_type"] == "xlm-roberta" and variant != "no-position-offset":
        pad = cfg["pad_token_id"]
        pos = np.arange(n) + pad + 1  # no padding inside one unpadded sentence
    else:
        pos = np.arange(n)
    x = w["embeddings.word_embeddings.weight"][ids]
    x = x + w["embeddings.position_embeddings.weight"][pos]
    x = x + w["embeddings.token_type_embeddings.weight"][0]
    x = layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], eps)
    nh = cfg["num_attention_heads"]
    hd = cfg["hidden_size"] // nh
    for i in range(cfg["num_hidden_layers"]):
        p = f"encoder.layer.{i}."

        def lin(name, v):
            return v @ w[p + name + ".weight"].T + w[p + name + ".bias"]

        q = lin("attention.self.query", x).reshape(n, nh, hd).transpose(1, 0, 2)
        k = lin("attention.self.key", x).reshape(n, nh, hd).transpose(1, 0, 2)
        v = lin("attention.self.value", x).reshape(n, nh, hd).transpose(1, 0, 2)
        s = q @ k.transpose(0, 2, 1) / np.sqrt(hd)
        s = np.exp(s - s.max(-1, keepdims=True))
        s = s / s.sum(-1, keepdims=True)
        a = (s @ v).transpose(1, 0, 2).reshape(n, nh * hd)
        a = lin("attention.output.dense", a)
        x = layer_norm(
            a + x, w[p + "attention.output.LayerNorm.weight"], w[p + "attention.output.LayerNorm.bias"], eps
        )
        h = lin("intermediate.dense", x)
        h = np.tanh(h) if variant == "tanh-gelu" else gelu(h)
        h = lin("output.dense", h)
        x = layer_norm(h + x, w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"], eps)
    return x


def pool_dense_norm(d, tokens, variant=None):
    """Pooling/Dense/Normalize as read from the directory's own module files."""
    mods = json.load(open(d / "modules.json"))
    out = tokens
    for m in mods:
        t = m["type"].rsplit(".", 1)[-1]
        if t == "Transformer":
            continue
        if t == "Pooling":
            pc = json.load(open(d / m["path"] / "config.json"))
            # ST <= 5 wrote one boolean per mode; ST 6 writes "pooling_mode": "mean".
            mode = pc.get("pooling_mode") or next(
                k.removeprefix("pooling_mode_") for k, v in pc.items() if k.startswith("pooling_mode_") and v is True
            )
            if mode in ("mean", "mean_tokens"):
                out = out[1:-1].mean(0) if variant == "mean-without-specials" else out.mean(0)
            elif mode in ("cls", "cls_token"):
                out = out[0]
            elif mode in ("max", "max_tokens"):
                out = out.max(0)
            else:
                raise SystemExit(f"{d}: unexpected pooling {pc}")
        elif t == "Dense":
            dc = json.load(open(d / m["path"] / "config.json"))
            dw = load_file(str(d / m["path"] / "model.safetensors"))
            out = out @ dw["linear.weight"].astype(np.float64).T
            if dc["bias"]:
                out = out + dw["linear.bias"]
            assert dc["activation_function"] == "torch.nn.modules.activation.Tanh", dc
            out = np.tanh(out)
        elif t == "Normalize":
            out = out / max(np.linalg.norm(out), 1e-12)
        else:
            raise SystemExit(f"{d}: unexpected module {m}")
    return out


def torch_reference(d, ids_list):
    """transformers AutoModel, one sentence at a time without padding, pooling by hand."""
    m = AutoModel.from_pretrained(str(d)).eval()
    outs = []
    with torch.no_grad():
        for ids in ids_list:
            t = torch.tensor([ids])
            h = m(input_ids=t, attention_mask=torch.ones_like(t)).last_hidden_state[0].double().numpy()
            outs.append(pool_dense_norm(d, h))
    return np.stack(outs)


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    sentences = test_sentences()
    (OUT / "sentences.txt").write_text("".join(s + "\n" for s in sentences), encoding="utf-8")
    text = training_text()
    toks = {"bert": bert_tokenizer(text), "xlmr": xlmr_tokenizer(text)}

    report = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, arch, pooling, dense, max_seq, seed, layout in SPECS:
            d = build(name, arch, pooling, dense, max_seq, seed, layout, toks, Path(tmp))
            # Everything below uses the directory as saved, the way bitalign will read it.
            st = SentenceTransformer(str(d), device="cpu")
            assert st.max_seq_length == max_seq, (name, st.max_seq_length)
            emb = st.encode(sentences, batch_size=8, convert_to_numpy=True, show_progress_bar=False)
            emb = emb.astype(np.float32)
            np.save(d / "expected.npy", emb)

            raw = Tokenizer.from_file(str(d / "tokenizer.json"))
            full = [raw.encode(s).ids for s in sentences]
            raw.enable_truncation(max_length=max_seq)
            cut = [raw.encode(s).ids for s in sentences]
            st_ids = []
            for s in sentences:
                f = st.tokenize([s])
                st_ids.append(f["input_ids"][0].tolist())
            assert st_ids == cut, f"{name}: ST ids differ from tokenizer.json with truncation"
            with open(d / "expected-tokens.jsonl", "w", encoding="utf-8") as f:
                for i, (s, ids, fl) in enumerate(zip(sentences, cut, full)):
                    rec = {"i": i, "ids": ids, "untruncated_len": len(fl), "truncated": len(fl) > len(ids)}
                    f.write(json.dumps(rec) + "\n")

            ref_t = torch_reference(d, cut)
            ref_n = np.stack([pool_dense_norm(d, numpy_forward(d, ids)) for ids in cut])
            dt = float(np.abs(ref_t - emb).max())
            dn = float(np.abs(ref_n - emb).max())
            if dt > TOL or dn > TOL:
                sys.exit(f"{name}: references disagree with sentence-transformers: torch {dt:.2e}, numpy {dn:.2e}")
            # Show the fixture catches typical porting mistakes (each must move far beyond 1e-4).
            mistakes = {}
            variants = ["tanh-gelu"]
            if arch == "xlmr":
                variants.append("no-position-offset")
            if pooling == "mean":
                variants.append("mean-without-specials")
            for v in variants:
                bad = np.stack([pool_dense_norm(d, numpy_forward(d, ids, v), v) for ids in cut])
                mistakes[v] = float(np.abs(bad - emb).max())
                assert mistakes[v] > 1e-3, (name, v, mistakes[v])
            ntrunc = sum(len(f) > len(c) for f, c in zip(full, cut))
            size = sum(p.stat().st_size for p in d.rglob("*") if p.is_file())
            report.append((name, emb.shape, dt, dn, ntrunc, size, mistakes))

    for name, shape, dt, dn, ntrunc, size, mistakes in report:
        ms = ", ".join(f"{k} {v:.3f}" for k, v in mistakes.items())
        print(
            f"{name:18} {shape} torch-ref {dt:.1e} numpy-ref {dn:.1e} truncated {ntrunc:2d} "
            f"size {size/1024:.0f} KiB | mistakes move it by: {ms}"
        )


if __name__ == "__main__":
    main()
