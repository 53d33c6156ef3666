"""bitalign: parallel corpora on the CPU, from Python.

The same Rust core as the ``bitalign`` command line, so the same numbers for the same input:

- :class:`Model` loads a multilingual sentence-embedding model (a Hugging Face repo id or a
  local directory in the hub's layout) and embeds sentences into L2-normalised float32 rows;
- :func:`split` cuts a text into sentences with the segmenter's per-language rules;
- :func:`mine` finds the sentence pairs that correspond in comparable documents (margin
  k-NN, as ``bitalign run``);
- :func:`align` aligns a document with its translation (monotonic 1-1 … n-m links, as
  ``bitalign align``);
- :class:`Translator` / :func:`translate` machine-translate sentences with a Marian
  (OPUS-MT) model (as ``bitalign translate``); ``mt_model=`` on :func:`align` and
  :func:`mine` uses such translations as evidence (``--mt-model``).

Errors are raised as :class:`bitalign.errors.Error` subclasses carrying the CLI's one-line
message. Long calls release the GIL, so threads can run them side by side.
"""

from __future__ import annotations

import os
import json
import operator
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from . import _native
from .errors import (
    ConfigError,
    Error,
    HubUnreachableError,
    InputError,
    ModelError,
    ModelNotCachedError,
    OutputError,
)

__version__ = _native.__version__

__all__ = [
    "Model",
    "Translator",
    "translate",
    "Sentence",
    "Link",
    "split",
    "mine",
    "align",
    "Progress",
    "Error",
    "InputError",
    "ConfigError",
    "ModelError",
    "ModelNotCachedError",
    "HubUnreachableError",
    "OutputError",
    "DEFAULT_MODEL",
]

#: ``progress(stage, done, total)``: called from the library's stages ("embedding", "mining
#: en-vi", …) at most every 100 ms and once when a stage ends; ``total`` may be ``None``.
#: Notes (a document's language, truncated sentences) go to the ``bitalign`` logger.
Progress = Callable[[str, int, Optional[int]], Any]

#: The model used when none is named and ``$BITALIGN_MODEL`` is not set (as the CLI).
DEFAULT_MODEL = "intfloat/multilingual-e5-small"


def _texts(arg: object, what: str) -> list:
    """A list of str from a sequence of str; a lone str is refused rather than read as
    its characters."""
    if isinstance(arg, (str, bytes)):
        raise TypeError(f"{what}: expected a list of str, got a single {type(arg).__name__}")
    out = list(arg)  # type: ignore[call-overload]
    for i, t in enumerate(out):
        if not isinstance(t, str):
            raise TypeError(f"{what}[{i}]: expected str, got {type(t).__name__}")
    return out


class Model:
    """A sentence-embedding model, loaded once and used for any number of calls.

    ``model`` is a Hugging Face repo id (downloaded to the standard cache on first use) or a
    local directory in the hub's layout (``config.json``, ``model.safetensors``,
    ``tokenizer.json``, ``modules.json``, …). Default: ``$BITALIGN_MODEL``, else
    ``intfloat/multilingual-e5-small``.

    - ``revision``: branch, tag or commit of a repo id (default ``main``).
    - ``offline``: read the Hugging Face cache only (also ``HF_HUB_OFFLINE=1``).
    - ``prefix``: text put before every sentence; default from the model registry
      (``"passage: "`` for e5 models).
    - ``quantize``: ``"q8"`` for int8 matrix products (about twice as fast, cosine ≥ 0.99
      to f32), or ``None``.
    - ``batch``: sentences per batch; ``threads``: worker threads for this model (default:
      all cores). Neither changes the vectors.
    - ``embed_cache``: where embeddings are kept between calls, as ``bitalign run
      --embed-cache``: a directory, ``"off"``, or ``None`` for ``$BITALIGN_EMBED_CACHE``, else
      ``$BITALIGN_CACHE_DIR``, else ``~/.cache/bitalign/embeddings``. One ``.npy`` per
      document (:func:`mine`) or per :meth:`embed` call, keyed by the model's files, the
      prefix and the texts; a cached document is read back, not embedded again, and gives
      the same numbers. Nothing is evicted: delete the directory to reclaim the space.
    - ``progress``: a :data:`Progress` callback for the download, if any.

    Raises :class:`ModelError` (or its :class:`ModelNotCachedError`,
    :class:`HubUnreachableError`) when the model cannot be found or read,
    :class:`ConfigError` for a bad parameter.
    """

    def __init__(
        self,
        model: Union[str, "os.PathLike[str]", None] = None,
        *,
        revision: Optional[str] = None,
        offline: bool = False,
        prefix: Optional[str] = None,
        quantize: Optional[str] = None,
        batch: int = 32,
        threads: Optional[int] = None,
        embed_cache: Union[str, "os.PathLike[str]", None] = None,
        progress: Optional[Progress] = None,
    ) -> None:
        if model is None:
            model = os.environ.get("BITALIGN_MODEL") or DEFAULT_MODEL
        self._native = _native.Model(
            os.fspath(model),
            revision=revision,
            offline=offline,
            prefix=prefix,
            quantize=quantize,
            batch=batch,
            threads=threads,
            embed_cache=None if embed_cache is None else os.fspath(embed_cache),
            progress=progress,
        )
        info = self._native.info()
        self.name: str = info["model"]
        self.path: str = info["model_path"]
        self.revision: Optional[str] = info["revision"]
        self.prefix: str = info["prefix"]
        self.dim: int = info["dim"]
        self.pooling: str = info["pooling"]
        self.max_tokens: int = info["max_tokens"]

    def embed(self, texts: Sequence[str], *, progress: Optional[Progress] = None) -> np.ndarray:
        """Embeds ``texts`` (the model's prefix is added to each) into a float32 array of
        shape ``(len(texts), dim)``, one row per text in order, L2-normalised when the
        model's pipeline ends in ``Normalize`` (e5, LaBSE, …). Identical texts are embedded
        once; a row does not depend on the other texts, the batch size or the thread count.
        Texts longer than the model's limit are truncated to it (and a note is logged).
        With the model's ``embed_cache``, the list is one cached document."""
        buf, rows, dim = self._native.embed_raw(_texts(texts, "texts"), progress)
        return np.frombuffer(buf, dtype=np.float32).reshape(rows, dim)

    def __repr__(self) -> str:
        return f"bitalign.Model({self.path!r}, dim={self.dim}, prefix={self.prefix!r})"


class Translator:
    """A Marian (OPUS-MT) translation model: a Hugging Face repo id
    (``Helsinki-NLP/opus-mt-de-fr``) or a local directory in the hub's layout (config.json,
    model.safetensors or pytorch_model.bin, source.spm, target.spm, vocab.json), with its
    decoding options (as ``bitalign translate``): ``to`` picks the target language of a
    multilingual model, ``beam`` the beam size (1: greedy; default the model's),
    ``max_length`` the longest translation in tokens, ``batch_size`` sentences per batch.
    Translations are cached on disk as the CLI caches them
    (``$BITALIGN_TRANSLATION_CACHE``)."""

    def __init__(
        self,
        model: Union[str, "os.PathLike[str]"],
        *,
        revision: Optional[str] = None,
        offline: bool = False,
        to: Optional[str] = None,
        beam: Optional[int] = None,
        max_length: Optional[int] = None,
        batch_size: Optional[int] = None,
        progress: Optional[Progress] = None,
    ) -> None:
        self._native = _native.Translator(
            os.fspath(model),
            revision=revision,
            offline=offline,
            to=to,
            beam=beam,
            max_length=max_length,
            batch_size=batch_size,
            progress=progress,
        )
        self.name: str = self._native.name

    def translate(self, sentences: Sequence[str], *, progress: Optional[Progress] = None) -> List[str]:
        """One translation per sentence, in order (an empty sentence stays empty)."""
        return self._native.translate(_texts(sentences, "sentences"), progress)

    def __repr__(self) -> str:
        return f"bitalign.Translator({self.name!r})"


def _translator(mt_model: Union["Translator", str, "os.PathLike[str]", None]) -> Optional["Translator"]:
    if mt_model is None or isinstance(mt_model, Translator):
        return mt_model
    return Translator(mt_model)


def translate(
    sentences: Sequence[str],
    mt_model: Union[Translator, str, "os.PathLike[str]"],
    *,
    progress: Optional[Progress] = None,
    **options: Any,
) -> List[str]:
    """Translates ``sentences`` (one each) with ``mt_model`` (a :class:`Translator`, or a
    repo id or directory loaded with ``options``: see :class:`Translator`)."""
    if isinstance(mt_model, Translator):
        if options:
            raise ConfigError(f"{', '.join(options)}: give the options to the Translator itself")
        t = mt_model
    else:
        t = Translator(mt_model, **options)
    return t.translate(sentences, progress=progress)


def _model(
    model: Union["Model", str, "os.PathLike[str]", None],
    embed_cache: Union[str, "os.PathLike[str]", None] = None,
) -> "Model":
    if isinstance(model, Model):
        if embed_cache is not None:
            raise ConfigError(
                "embed_cache: the Model given holds its cache; pass embed_cache= to Model()"
            )
        return model
    return Model(model, embed_cache=embed_cache)


@dataclass(frozen=True)
class Sentence:
    """A sentence of a text: ``text[start:end]`` of the string it was split from
    (offsets in characters, as Python indexes strings)."""

    text: str
    start: int
    end: int


def split(text: str, lang: str, *, presplit: bool = False) -> List[Sentence]:
    """Splits ``text`` into sentences with the rules for ``lang`` (ISO 639-1 like ``en``,
    ``vi``, ``id``; 639-3 and region tags accepted; other languages get the generic rules).
    Blank lines and line breaks always end a sentence; with ``presplit`` every non-blank
    line is one sentence. Leading and trailing spaces are not part of a sentence.

    Raises :class:`ConfigError` for a string that is not a language code."""
    if not isinstance(text, str):
        raise TypeError(f"text: expected str, got {type(text).__name__}")
    return [Sentence(t, s, e) for t, s, e in _native.split_raw(text, lang, presplit=presplit)]


#: A document: a text to split into sentences, or its sentences already split.
Doc = Union[str, Sequence[str]]


def _doc(doc: object, what: str) -> Union[str, list]:
    if isinstance(doc, str):
        return doc
    if isinstance(doc, (bytes, Mapping)) or not isinstance(doc, Sequence):
        raise TypeError(f"{what}: expected a str or a list of sentences, got {type(doc).__name__}")
    return _texts(doc, what)


def _documents(docs: Mapping[str, Any]) -> list:
    """``(name, lang, text or sentences)`` per document, languages in the mapping's order."""
    if not isinstance(docs, Mapping):
        raise TypeError(f"docs: expected a dict of language → documents, got {type(docs).__name__}")
    out = []
    for lang, value in docs.items():
        if not isinstance(lang, str):
            raise TypeError(f"docs: language keys are str, got {type(lang).__name__}")
        if isinstance(value, str):
            out.append((lang, lang, value))
        elif isinstance(value, Mapping):
            for name, d in value.items():
                out.append((str(name), lang, _doc(d, f"docs[{lang!r}][{name!r}]")))
        elif isinstance(value, Sequence) and not isinstance(value, bytes):
            for i, d in enumerate(value):
                out.append((f"{lang}:{i}", lang, _doc(d, f"docs[{lang!r}][{i}]")))
        else:
            raise TypeError(
                f"docs[{lang!r}]: expected a str, a list of documents or a dict of name → "
                f"document, got {type(value).__name__}"
            )
    return out


def _filters(filters: Union[str, Sequence[str], None]) -> Optional[List[str]]:
    if filters is None:
        return None
    if isinstance(filters, str):
        return [f.strip() for f in filters.split(",")]
    return _texts(filters, "filters")


def mine(
    docs: Mapping[str, Union[Doc, Sequence[Doc], Mapping[str, Doc]]],
    model: Union[Model, str, "os.PathLike[str]", None] = None,
    *,
    presplit: bool = False,
    k: Optional[int] = None,
    score: Optional[str] = None,
    mode: Optional[str] = None,
    threshold: Optional[float] = None,
    filters: Union[str, Sequence[str], None] = None,
    max_length_ratio: Optional[float] = None,
    pairs: Optional[Sequence[str]] = None,
    translations: Optional[Mapping[Tuple[str, str], Sequence[str]]] = None,
    mt_model: Union[Translator, str, "os.PathLike[str]", None] = None,
    partial: bool = True,
    embed_cache: Union[str, "os.PathLike[str]", None] = None,
    progress: Optional[Progress] = None,
) -> List[Dict[str, Any]]:
    """Mines the sentence pairs that correspond in comparable documents, for every pair of
    languages (as ``bitalign run``): every sentence embedded once, ratio margin over the
    ``k`` nearest neighbours in both directions, pairs ranked by the calibrated confidence
    (margin, shared numbers and rare names, mutual best partner; LASER's max mode) and kept
    at 0.5 or more, then filtered. Giving ``threshold``, a ``score`` other than the margin
    or a ``mode`` other than ``max`` ranks by that score instead, kept above ``threshold``.

    ``docs`` maps a language code to its documents: one (a str), several (a list), or
    several by name (a dict name → document). A document is a text, split with the
    language's rules (one sentence per line with ``presplit``), or a list of sentences.
    Documents of one language are pooled. Documents are named ``lang``, ``lang:i`` or
    by their dict key in the records.

    Parameters (defaults are the CLI's): ``k`` (4), ``score`` (``"margin"``, ``"cosine"``,
    ``"distance"``), ``mode`` (``"max"``, ``"forward"``, ``"backward"``, ``"intersect"``),
    ``threshold`` (1.02 for margin, 0.90 cosine, 0.02 distance), ``filters`` (``"all"``,
    ``"none"``, or a list of ``length``, ``identical``, ``numbers``, ``lang``),
    ``max_length_ratio`` (of the length filter), ``pairs`` (``["en-vi", …]``; default every
    pair, languages in input order), ``partial`` (on by default, as ``run``: mark each kept
    pair ``parallel`` or ``partial`` with the clauses that match, a ``correspondence``
    field ``{"kind", "p_partial", "part": {"side", "start", "end", "text"}}``; ``False``
    skips embedding the clauses),
    ``embed_cache`` (see :class:`Model`; only when ``model`` is not a :class:`Model`,
    which holds its own).

    Returns the kept pairs of every language pair, pair after pair, as the records of the
    JSONL files: ``{"src": side, "tgt": side, "cosine": …, "margin": …, "confidence": …}``
    (``confidence`` only when ranked by it) where a side is
    ``{"lang", "doc", "indices", "text", "span"}`` (``span``: byte offsets into the
    document's UTF-8 text, as in the files).

    Machine translations as evidence (``bitalign run --translations`` / ``--mt-model``):
    ``translations`` maps ``(document name, target language)`` to that document's
    translation, one line per sentence; or ``mt_model`` (a :class:`Translator`, repo id or
    directory) translates the source documents (one language pair: give ``pairs``). Each
    source sentence's translation re-scores the confidence of its candidates, and each
    record gets ``"translation"``. Needs the confidence ranking.
    """
    m = _model(model, embed_cache)
    inputs = _documents(docs)
    given = None
    if translations is not None:
        if not isinstance(translations, Mapping):
            raise TypeError("translations: expected a dict (document name, language) → lines")
        names = {name: i for i, (name, _, _) in enumerate(inputs)}
        given = []
        for key, lines in translations.items():
            if not (isinstance(key, tuple) and len(key) == 2):
                raise TypeError(f"translations: keys are (document name, language), got {key!r}")
            if key[0] not in names:
                raise ConfigError(f"translations: no document named {key[0]!r} (documents: {', '.join(names)})")
            given.append((names[key[0]], str(key[1]), _texts(lines, f"translations[{key!r}]")))
    records, _tuples = _native.mine_raw(
        m._native,
        inputs,
        presplit=presplit,
        k=k,
        score=score,
        mode=mode,
        threshold=threshold,
        filters=_filters(filters),
        max_length_ratio=max_length_ratio,
        pairs=None if pairs is None else _texts(pairs, "pairs"),
        translations=given,
        mt_model=None if mt_model is None else _translator(mt_model)._native,
        partial=bool(partial),
        progress=progress,
    )
    return [json.loads(r) for r in records]


@dataclass(frozen=True)
class Link:
    """One link of an alignment: consecutive source sentences ``src`` (indices, possibly
    none) and target sentences ``tgt`` that translate each other, with the cosine of their
    embeddings and the link's cost (lower is better). ``record`` is the link as a JSONL
    record of ``bitalign align --format jsonl``."""

    src: Tuple[int, ...]
    tgt: Tuple[int, ...]
    cosine: float
    cost: float
    src_text: str
    tgt_text: str
    record: Dict[str, Any] = field(repr=False, compare=False)


def align(
    src: Doc,
    tgt: Doc,
    model: Union[Model, str, "os.PathLike[str]", None] = None,
    *,
    src_lang: Optional[str] = None,
    tgt_lang: Optional[str] = None,
    presplit: bool = False,
    max_size: Optional[int] = None,
    max_overlap: Optional[int] = None,
    threshold: Optional[float] = None,
    scorer: Optional[str] = None,
    absorb: Union[float, str, None] = None,
    uncross: Union[float, str, None] = None,
    moved: Union[Tuple[int, float], Tuple[int, float, str], str, None] = None,
    adapt: Union[float, str, None] = None,
    translation: Optional[List[str]] = None,
    mt_model: Union[Translator, str, "os.PathLike[str]", None] = None,
    names: Tuple[str, str] = ("src", "tgt"),
    progress: Optional[Progress] = None,
) -> List[Link]:
    """Aligns a document with its translation (as ``bitalign align``): every sentence in
    exactly one link, links in order (but for two neighbouring links that swap, see
    ``uncross``, and sentences moved a few places, see ``moved``), 1-1, 1-n, n-1, n-m and 0-1/1-0 links of at most ``max_size`` sentences (8)
    with at most ``max_overlap`` (4) on one side; ``threshold`` is the price of one more
    link (higher merges more).

    ``src`` and ``tgt`` are lists of sentences (each kept as one), or texts split with the
    rules of ``src_lang``/``tgt_lang`` (one sentence per line with ``presplit``). The
    languages only pick the rules and label the records (``und`` when not given). ``names``
    label the documents in the records.

    ``scorer`` (``"tuned"``, the default, ``"hand"`` or ``"bertalign"``), ``absorb`` (the
    absorb pass's tolerance, default 0.01, or ``"off"``), ``uncross`` (the crossing pass's
    margin, default 0, or ``"off"``: with ``moved="off"`` too, links strictly in order),
    ``moved`` (the moved-block pass's ``(window, margin)``, default ``(20, 0.05)``,
    ``(window, margin, "ends")`` to take link ends too, or ``"off"``) and
    ``adapt`` (the weight of the per-document link price, default 0.05, or ``"off"`` to
    align once) are ``bitalign align``'s ``--scorer``, ``--absorb``, ``--uncross``,
    ``--moved`` and ``--adapt``.
    ``translation``: a machine translation of ``src`` into ``tgt``'s language, one line per
    source sentence (``--translations``); an empty line means none for that sentence. Or ``mt_model`` (a :class:`Translator`, repo id or
    directory) translates ``src`` here (``--mt-model``).
    """
    if scorer == "bertalign" and (translation is not None or mt_model is not None):
        raise ConfigError("scorer: bertalign does not use a translation (translation, mt_model)")
    if isinstance(absorb, str) and absorb != "off":
        raise ConfigError(f"absorb: '{absorb}' is not a number or 'off'")
    if isinstance(uncross, str) and uncross != "off":
        raise ConfigError(f"uncross: '{uncross}' is not a number or 'off'")
    if isinstance(moved, str) and moved != "off":
        raise ConfigError(f"moved: '{moved}' is not (window, margin[, 'ends']) or 'off'")
    if moved is not None and not isinstance(moved, str):
        bad = ConfigError(f"moved: {moved!r} is not (window, margin[, 'ends']) or 'off'")
        try:
            window, margin, *rest = moved
            if rest not in ([], ["ends"]) or isinstance(window, bool):
                raise bad
            moved = (operator.index(window), float(margin), rest == ["ends"])
        except (TypeError, ValueError):
            raise bad from None
        if not 0 <= moved[0] < 2**64:
            raise ConfigError(f"moved: window {moved[0]} is out of range")
    if isinstance(adapt, str) and adapt != "off":
        raise ConfigError(f"adapt: '{adapt}' is not a number or 'off'")
    m = _model(model)
    records = _native.align_raw(
        m._native,
        (names[0], src_lang, _doc(src, "src")),
        (names[1], tgt_lang, _doc(tgt, "tgt")),
        presplit=presplit,
        max_size=max_size,
        max_overlap=max_overlap,
        threshold=threshold,
        scorer=scorer,
        absorb=None if isinstance(absorb, str) else absorb,
        absorb_off=absorb == "off",
        uncross=None if isinstance(uncross, str) else uncross,
        uncross_off=uncross == "off",
        moved=None if isinstance(moved, str) else moved,
        moved_off=moved == "off",
        adapt=0.0 if adapt == "off" else adapt,
        translation=translation,
        mt_model=None if mt_model is None else _translator(mt_model)._native,
        progress=progress,
    )
    out = []
    for r in map(json.loads, records):
        out.append(
            Link(
                src=tuple(r["src"]["indices"]),
                tgt=tuple(r["tgt"]["indices"]),
                cosine=r["cosine"],
                cost=r["cost"],
                src_text=r["src"]["text"],
                tgt_text=r["tgt"]["text"],
                record=r,
            )
        )
    return out
