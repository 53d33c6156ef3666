"""Exceptions raised by bitalign. Messages are the CLI's one-line errors (without ``error: ``)."""


class Error(Exception):
    """Anything bitalign reports: catch this to catch them all."""


class InputError(Error, ValueError):
    """A document or text that cannot be used (empty, not UTF-8, binary, …)."""


class ConfigError(Error, ValueError):
    """A parameter out of range or unknown (a language code, ``quantize``, ``k``, …)."""


class ModelError(Error, OSError):
    """A model that cannot be loaded: not found, not in the offline cache, hub unreachable,
    broken or unsupported files."""


class OutputError(Error, OSError):
    """Results that cannot be written."""


class ModelNotCachedError(ModelError):
    """The model is not in the local Hugging Face cache and downloading is off
    (``offline=True`` or ``HF_HUB_OFFLINE=1``)."""


class HubUnreachableError(ModelError):
    """The Hugging Face hub could not be reached while a model file was needed."""
