#!/usr/bin/env python3
"""Tiny random-weight Marian (OPUS-MT layout) models and transformers' own outputs for them.

    make_tiny_marian.py tests/data/tiny-marian            # the committed test fixture
    make_tiny_marian.py --bench /tmp/opus-size DIR        # opus-mt-de-fr's size, for benchmarks

Trains a small SentencePiece unigram model for each side (German, French, from the
Text+Berg documents in tests/data/textberg), builds vocab.json the way OPUS-MT repos have it
(</s>, <unk>, the pieces of both sides, target-language codes, <pad> last), a random
MarianMTModel (fixed seed) and saves everything with `save_pretrained`, then writes
reference.json: token ids of varied sentences, greedy and beam `generate` output ids and
texts (batched, padded), and the raw logits of the first decoding steps.
Needs torch, transformers, sentencepiece (scripts/requirements-fixtures.txt).
"""
import argparse
import json
import os
import shutil
import tempfile

import sentencepiece as spm
import torch
from transformers import GenerationConfig, MarianConfig, MarianMTModel, MarianTokenizer

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TEXTBERG = os.path.join(ROOT, "tests", "data", "textberg")

SENTENCES = [
    "Die Nordostwand des Kingspitz ist etwa 600 m hoch.",
    "Wir stiegen um 4 Uhr früh auf, bei Temperaturen von −12 °C.",
    "Preis: 30.000 Euro (1,5 % mehr als 2019).",
    "Größe, Straße, Fußgänger – «Anführungszeichen» und „deutsche“ auch.",
    "Ｆｕｌｌｗｉｄｔｈ and ligatures ﬁ ﬂ, then 漢字 and emoji 🏔️!",
    "",
    "   ",
    "  Zwei   Leerzeichen\tund ein Tab.  ",
    "Ja.",
    " ".join(["Der lange Grat zieht sich über viele Türme bis zum Gipfel hinauf."] * 6),
]


def train_spm(text_files, prefix, vocab_size):
    lines = []
    for f in text_files:
        with open(f, encoding="utf-8") as fh:
            lines += [l.strip() for l in fh if l.strip()]
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False, encoding="utf-8") as t:
        t.write("\n".join(lines) + "\n")
    spm.SentencePieceTrainer.train(
        input=t.name,
        model_prefix=prefix,
        vocab_size=vocab_size,
        model_type="unigram",
        character_coverage=0.9995,  # rare characters stay unknown
        unk_id=1,
        bos_id=-1,
        eos_id=0,
        pad_id=-1,
        unk_surface=" ⁇ ",
        minloglevel=2,
        num_threads=1,
        seed_sentencepiece_size=100000,
    )
    os.unlink(t.name)


def build(out, sizes, codes, seed):
    os.makedirs(out, exist_ok=True)
    work = tempfile.mkdtemp()
    de = [os.path.join(TEXTBERG, f"test{i}.de") for i in range(4)]
    fr = [os.path.join(TEXTBERG, f"test{i}.fr") for i in range(4)]
    train_spm(de, os.path.join(work, "src"), sizes[0])
    train_spm(fr, os.path.join(work, "tgt"), sizes[1])
    shutil.copy(os.path.join(work, "src.model"), os.path.join(out, "source.spm"))
    shutil.copy(os.path.join(work, "tgt.model"), os.path.join(out, "target.spm"))
    vocab = {"</s>": 0, "<unk>": 1}
    for code in codes:
        vocab[code] = len(vocab)
    for side in ("src", "tgt"):
        sp = spm.SentencePieceProcessor(model_file=os.path.join(work, f"{side}.model"))
        for i in range(sp.get_piece_size()):
            p = sp.id_to_piece(i)
            if p not in vocab:
                vocab[p] = len(vocab)
    extra = sizes[2] if len(sizes) > 2 else 0
    while len(vocab) < extra - 1:  # filler rows up to a real OPUS-MT vocabulary size
        vocab[f"<filler{len(vocab)}>"] = len(vocab)
    vocab["<pad>"] = len(vocab)
    with open(os.path.join(out, "vocab.json"), "w", encoding="utf-8") as f:
        json.dump(vocab, f, ensure_ascii=False, indent=0)
    shutil.rmtree(work)
    return vocab


def pairs():
    """The 1-1 links of the Text+Berg test documents' gold alignments: (German, French)."""
    out = []
    for i in range(4):
        base = os.path.join(TEXTBERG, f"test{i}")
        de = open(base + ".de", encoding="utf-8").read().split("\n")
        fr = open(base + ".fr", encoding="utf-8").read().split("\n")
        for line in open(base + ".defr", encoding="utf-8"):
            s, t = (json.loads(x) for x in line.strip().split(":"))
            if len(s) == 1 and len(t) == 1 and de[s[0]].strip() and fr[t[0]].strip():
                out.append((de[s[0]].strip(), fr[t[0]].strip()))
    return out


def train(model, out, cfg, steps=800):
    """A few hundred steps on real sentence pairs: a random Marian repeats one token until
    max_length; a briefly trained one ends sentences at varied lengths and varies its
    tokens, which exercises end-of-sentence handling and beam search. Deterministic (one
    thread, fixed seed)."""
    torch.set_num_threads(1)
    tok = MarianTokenizer(
        os.path.join(out, "source.spm"), os.path.join(out, "target.spm"),
        os.path.join(out, "vocab.json"), model_max_length=cfg.max_position_embeddings,
    )
    data = pairs()
    g = torch.Generator().manual_seed(1)
    opt = torch.optim.Adam(model.parameters(), lr=float(os.environ.get("LR", "2e-3")))
    model.train()
    for step in range(steps):
        idx = torch.randint(len(data), (16,), generator=g).tolist()
        src = [data[i][0] for i in idx]
        tgt = [data[i][1] for i in idx]
        b = tok(src, text_target=tgt, truncation=True, max_length=32, padding=True, return_tensors="pt")
        b["labels"][b["labels"] == cfg.pad_token_id] = -100
        loss = model(**b).loss
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % 100 == 0 or step == steps - 1:
            print("step", step, "loss", round(loss.item(), 3))
    model.eval()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out")
    ap.add_argument("--bench", action="store_true", help="opus-mt-de-fr's size, no reference outputs")
    a = ap.parse_args()
    torch.manual_seed(0)
    if a.bench:
        vocab = build(a.out, (2000, 2000, 58101), [], 0)
        n = len(vocab)
        cfg = MarianConfig(
            vocab_size=n, decoder_vocab_size=n, d_model=512, encoder_layers=6, decoder_layers=6,
            encoder_attention_heads=8, decoder_attention_heads=8, encoder_ffn_dim=2048,
            decoder_ffn_dim=2048, max_position_embeddings=512, activation_function="swish",
            pad_token_id=n - 1, eos_token_id=0, decoder_start_token_id=n - 1,
            forced_eos_token_id=0, scale_embedding=True, share_encoder_decoder_embeddings=True,
            init_std=0.02,
        )
        max_length, beams, model_max = 512, 4, 512
    else:
        vocab = build(a.out, (300, 260), [">>fra<<", ">>ita<<"], 0)
        n = len(vocab)
        cfg = MarianConfig(
            vocab_size=n, decoder_vocab_size=n, d_model=32, encoder_layers=2, decoder_layers=2,
            encoder_attention_heads=4, decoder_attention_heads=4, encoder_ffn_dim=48,
            decoder_ffn_dim=48, max_position_embeddings=64, activation_function="swish",
            pad_token_id=n - 1, eos_token_id=0, decoder_start_token_id=n - 1,
            forced_eos_token_id=0, scale_embedding=True, share_encoder_decoder_embeddings=True,
            init_std=float(os.environ.get("INIT_STD", "0.05")),
        )
        max_length, beams, model_max = 20, 3, 40
    model = MarianMTModel(cfg).eval()
    with torch.no_grad():
        # Random biases and a random output bias, so that every weight matters.
        for name, p in model.named_parameters():
            if name.endswith(".bias"):
                p.normal_(0, 0.1 if not a.bench else 0.02)
        model.final_logits_bias.normal_(0, 0.5 if not a.bench else 0.02)
    if not a.bench:
        train(model, a.out, cfg)
    model.generation_config = GenerationConfig(
        bad_words_ids=[[n - 1]], bos_token_id=0, decoder_start_token_id=n - 1, eos_token_id=0,
        forced_eos_token_id=0, max_length=max_length, num_beams=beams, pad_token_id=n - 1,
    )
    model.save_pretrained(a.out)
    tok = MarianTokenizer(
        os.path.join(a.out, "source.spm"), os.path.join(a.out, "target.spm"),
        os.path.join(a.out, "vocab.json"), source_lang="de", target_lang="fr",
        model_max_length=model_max,
    )
    tok.save_pretrained(a.out)
    if a.bench:
        return
    tok = MarianTokenizer.from_pretrained(a.out)
    model = MarianMTModel.from_pretrained(a.out).eval()
    ref = {"transformers": __import__("transformers").__version__, "torch": torch.__version__,
           "sentencepiece": spm.__version__, "sentences": SENTENCES}
    ref["ids"] = [tok(s, truncation=True)["input_ids"] for s in SENTENCES]
    ref["ids_fra"] = [tok(">>fra<< " + s, truncation=True)["input_ids"] for s in SENTENCES[:3]]
    batch = tok(SENTENCES, truncation=True, padding=True, return_tensors="pt")
    pad = cfg.pad_token_id

    def strip(rows):
        return [[t for t in r[1:] if t != pad] for r in rows.tolist()]

    with torch.no_grad():
        greedy = model.generate(**batch, num_beams=1)
        beam = model.generate(**batch)  # num_beams from generation_config
        beam5 = model.generate(**batch, num_beams=5, length_penalty=0.6)
    ref["greedy"] = strip(greedy)
    ref["greedy_text"] = tok.batch_decode(greedy, skip_special_tokens=True)
    ref["beam"] = strip(beam)
    ref["beam_text"] = tok.batch_decode(beam, skip_special_tokens=True)
    ref["beam5_lp06"] = strip(beam5)
    # Raw logits of the first decoding steps, sentence by sentence (no padding).
    ref["logits"] = []
    for s in SENTENCES[:3]:
        one = tok([s], truncation=True, return_tensors="pt")
        with torch.no_grad():
            g = model.generate(**one, num_beams=1, output_logits=True, return_dict_in_generate=True, max_length=5)
        ref["logits"].append([l[0].tolist() for l in g.logits])
    # Decoding of arbitrary ids (pieces of either side, language codes, specials).
    ids = list(range(0, n, 7))
    ref["decode_ids"] = ids
    ref["decode_text"] = tok.decode(ids, skip_special_tokens=True)
    with open(os.path.join(a.out, "reference.json"), "w", encoding="utf-8") as f:
        json.dump(ref, f, ensure_ascii=False)
        f.write("\n")


if __name__ == "__main__":
    main()
