"""Which parameters a strategy covers, found by walking the model (``docs/dps.md`` §4).

Nothing here knows BERT attribute names. The transformer blocks are the ``nn.ModuleList`` whose
children hold the most ``nn.Linear`` layers (``bert.encoder.layer``, ``distilbert.transformer.layer``,
``mpnet.encoder.layer``, …); a parameter's *layer* is its block's index in that list. Each
``nn.Linear`` gets a *kind*:

- inside a block, under a path component containing ``attn``/``attention``: ``q``/``k``/``v`` by its
  own name (``query``, ``q``, ``q_lin``, ``q_proj``, ``query_proj``, …), ``qkv`` for a fused
  projection, otherwise ``o`` (the attention output: ``attention.output.dense``, ``out_lin``, ``o``);
- inside a block, elsewhere: the feed-forward pair — ``ffn_in`` then ``ffn_out`` in registration
  order (``intermediate.dense``/``output.dense``, ``lin1``/``lin2``); with more than two, by shape
  (widening → ``ffn_in``);
- outside the blocks: skipped when a path component mentions ``embed`` (ELECTRA's
  ``embeddings_project``: embeddings are always fully updated), ``pooler`` when a component mentions
  ``pooler``, otherwise ``head`` (``classifier``, ``classifier.dense``, ``pre_classifier``, …).

Pooler and head have ``layer=None``. Other parameters get kind ``norm`` (LayerNorm), ``embeddings``
or ``other``; a Linear's bias gets its Linear's kind. Names are those of the unwrapped model
(no ``module.`` prefix from DDP), so state keyed by them survives wrapping.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from adaft_core.errors import ConfigError

_QKV = {
    "q": {"query", "q", "q_lin", "q_proj", "query_proj", "wq"},
    "k": {"key", "k", "k_lin", "k_proj", "key_proj", "wk"},
    "v": {"value", "v", "v_lin", "v_proj", "value_proj", "wv"},
    "qkv": {"qkv", "in_proj", "wqkv", "qkv_proj"},
}
MATRIX_KINDS = ("q", "k", "v", "qkv", "o", "ffn_in", "ffn_out", "pooler", "head")


@dataclass(frozen=True, eq=False)
class ParamInfo:
    """One parameter with where it sits: ``layer`` (block index or None) and ``kind``."""

    name: str
    param: torch.nn.Parameter
    layer: int | None
    kind: str
    matrix: bool  # the weight matrix of a covered Linear layer (the DPS scope)

    def describe(self) -> dict:
        return {"name": self.name, "layer": self.layer, "kind": self.kind}


def unwrap(model: nn.Module) -> nn.Module:
    """The model inside DDP / accelerate wrappers."""
    while hasattr(model, "module") and isinstance(model.module, nn.Module):
        model = model.module
    return model


def find_blocks(model: nn.Module) -> tuple[str, nn.ModuleList]:
    """The ``ModuleList`` of transformer blocks: the one whose children hold the most Linears."""
    best, best_count = None, 0
    for name, module in model.named_modules():
        if isinstance(module, nn.ModuleList) and len(module) > 0:
            count = sum(isinstance(m, nn.Linear) for m in module.modules())
            if count > best_count and all(any(isinstance(m, nn.Linear) for m in c.modules()) for c in module):
                best, best_count = (name, module), count
    if best is None:
        raise ConfigError(f"cannot find the transformer layers of {type(model).__name__}: no nn.ModuleList "
                          "of blocks with Linear layers; sparse strategies need a standard encoder")
    return best


def _block_kinds(block: nn.Module) -> dict[str, str]:
    """Kind of every Linear in one block, keyed by its path relative to the block."""
    kinds: dict[str, str] = {}
    ffn: list[tuple[str, nn.Linear]] = []
    for rel, module in block.named_modules():
        if not isinstance(module, nn.Linear):
            continue
        parts = rel.lower().split(".")
        leaf = parts[-1]
        named = next((kind for kind, names in _QKV.items() if leaf in names), None)
        if named is not None:
            kinds[rel] = named
        elif any("attn" in p or "attention" in p for p in parts[:-1]):
            kinds[rel] = "o"
        else:
            ffn.append((rel, module))
    if len(ffn) == 2:
        kinds[ffn[0][0]], kinds[ffn[1][0]] = "ffn_in", "ffn_out"
    else:
        for rel, module in ffn:
            kinds[rel] = "ffn_in" if module.out_features > module.in_features else "ffn_out"
    return kinds


def describe_params(model: nn.Module) -> list[ParamInfo]:
    """Every trainable parameter of ``model`` (unwrapped) with its layer and kind, in model order."""
    model = unwrap(model)
    blocks_name, blocks = find_blocks(model)
    linear_kind: dict[str, tuple[int | None, str | None]] = {}  # module name -> (layer, kind)
    for i, block in enumerate(blocks):
        prefix = f"{blocks_name}.{i}"
        for rel, kind in _block_kinds(block).items():
            linear_kind[f"{prefix}.{rel}"] = (i, kind)
    for name, module in model.named_modules():
        if isinstance(module, nn.Linear) and name not in linear_kind:
            parts = name.lower().split(".")
            if any("embed" in p for p in parts):
                linear_kind[name] = (None, None)  # embeddings: always fully updated
            else:
                linear_kind[name] = (None, "pooler" if any("pooler" in p for p in parts) else "head")
    infos = []
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        module_name, _, leaf = name.rpartition(".")
        layer = _layer_of(name, blocks_name)
        if module_name in linear_kind:
            lin_layer, kind = linear_kind[module_name]
            if kind is None:
                infos.append(ParamInfo(name, param, None, "embeddings", False))
            else:
                infos.append(ParamInfo(name, param, lin_layer, kind, leaf == "weight" and param.ndim == 2))
            continue
        owner = model.get_submodule(module_name) if module_name else model
        kind = ("norm" if "norm" in type(owner).__name__.lower() else
                "embeddings" if "embed" in name.lower() else "other")
        infos.append(ParamInfo(name, param, layer, kind, False))
    return infos


def _layer_of(name: str, blocks_name: str) -> int | None:
    prefix = blocks_name + "."
    if not name.startswith(prefix):
        return None
    head = name[len(prefix):].split(".", 1)[0]
    return int(head) if head.isdigit() else None


def dps_scope(model: nn.Module) -> list[ParamInfo]:
    """DPS: the weight matrices of every Linear in the blocks, the pooler and the task head."""
    return [i for i in describe_params(model) if i.matrix]


def childtuning_d_scope(model: nn.Module) -> list[ParamInfo]:
    """ChildTuning-D: every parameter inside the transformer blocks (weights, biases, LayerNorm)."""
    return [i for i in describe_params(model) if i.layer is not None]


def all_params_scope(model: nn.Module) -> list[ParamInfo]:
    """ChildTuning-F: every trainable parameter."""
    return describe_params(model)


def num_heads(model: nn.Module) -> int | None:
    """Attention heads per layer from the model config (DistilBERT's ``n_heads`` maps here too)."""
    config = getattr(unwrap(model), "config", None)
    value = getattr(config, "num_attention_heads", None) or getattr(config, "n_heads", None)
    return int(value) if value else None
