"""Type stubs for the native half of bitalign (see bitalign/__init__.py for the public API)."""

from typing import Any, Callable, Optional, Tuple, Union

__version__: str

_Progress = Callable[[str, int, Optional[int]], Any]
_Input = tuple[str, Optional[str], Union[str, list[str]]]

class Model:
    def __init__(
        self,
        model: str,
        *,
        revision: Optional[str] = None,
        offline: bool = False,
        prefix: Optional[str] = None,
        quantize: Optional[str] = None,
        batch: int = 32,
        threads: Optional[int] = None,
        embed_cache: Optional[str] = None,
        progress: Optional[_Progress] = None,
    ) -> None: ...
    def embed_raw(
        self, texts: list[str], progress: Optional[_Progress] = None
    ) -> tuple[bytearray, int, int]: ...
    def info(self) -> dict[str, Any]: ...

class Translator:
    name: str
    def __init__(
        self,
        model: str,
        *,
        revision: Optional[str] = None,
        offline: bool = False,
        to: Optional[str] = None,
        beam: Optional[int] = None,
        max_length: Optional[int] = None,
        batch_size: Optional[int] = None,
        progress: Optional[_Progress] = None,
    ) -> None: ...
    def translate(self, texts: list[str], progress: Optional[_Progress] = None) -> list[str]: ...

def split_raw(text: str, lang: str, *, presplit: bool = False) -> list[tuple[str, int, int]]: ...
def mine_raw(
    model: Model,
    docs: list[_Input],
    *,
    presplit: bool = False,
    k: Optional[int] = None,
    score: Optional[str] = None,
    mode: Optional[str] = None,
    threshold: Optional[float] = None,
    filters: Optional[list[str]] = None,
    max_length_ratio: Optional[float] = None,
    pairs: Optional[list[str]] = None,
    pivot: Optional[str] = None,
    translations: Optional[list[tuple[int, str, list[str]]]] = None,
    mt_model: Optional[Translator] = None,
    progress: Optional[_Progress] = None,
) -> tuple[list[str], list[str]]: ...
def align_raw(
    model: Model,
    src: _Input,
    tgt: _Input,
    *,
    presplit: bool = False,
    max_size: Optional[int] = None,
    max_overlap: Optional[int] = None,
    threshold: Optional[float] = None,
    scorer: Optional[str] = None,
    absorb: Optional[float] = None,
    absorb_off: bool = False,
    uncross: Optional[float] = None,
    uncross_off: bool = False,
    moved: Optional[Tuple[int, float, bool]] = None,
    moved_off: bool = False,
    adapt: Optional[float] = None,
    translation: Optional[list[str]] = None,
    mt_model: Optional[Translator] = None,
    progress: Optional[_Progress] = None,
) -> list[str]: ...
