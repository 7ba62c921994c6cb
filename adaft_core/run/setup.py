"""What the loop is built from: the accelerator (device, precision, processes), the optimizer and
the training loader."""

from __future__ import annotations

import torch


def has_accelerator_device() -> bool:
    mps = getattr(torch.backends, "mps", None)
    xpu = getattr(torch, "xpu", None)
    return (torch.cuda.is_available() or bool(mps and mps.is_available())
            or bool(xpu and xpu.is_available()))


def make_accelerator(cfg):
    """bf16 autocast on a GPU that supports it when ``mixed_precision="auto"``, else fp32.

    Without a GPU, ``cpu=True`` is passed explicitly: otherwise accelerate does not set up the
    gloo process group under ``torchrun`` and every rank would train alone as "rank 0".
    """
    from accelerate import Accelerator

    mp = cfg.mixed_precision
    if mp == "auto":
        mp = "bf16" if torch.cuda.is_available() and torch.cuda.is_bf16_supported() else "no"
    return Accelerator(mixed_precision=mp, cpu=not has_accelerator_device())


def no_decay(name: str, param: torch.nn.Parameter) -> bool:
    """Biases and LayerNorm weights get no weight decay (the spec's AdamW groups)."""
    lname = name.lower()
    return param.ndim < 2 or name.endswith(".bias") or "layernorm" in lname or "layer_norm" in lname or ".ln" in lname


def make_optimizer(model: torch.nn.Module, cfg) -> torch.optim.Optimizer:
    """AdamW with two groups: decay 0.01 on weight matrices, 0 on biases and LayerNorm (fused kernel when available)."""
    decay, plain = [], []
    for name, param in model.named_parameters():
        if param.requires_grad:
            (plain if no_decay(name, param) else decay).append(param)
    groups = [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": plain, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=cfg.lr, betas=tuple(cfg.adam_betas), eps=cfg.adam_eps,
                             **fused_kwargs(next(model.parameters()).device))


def fused_kwargs(device: torch.device) -> dict:
    """``fused=True`` where torch has a fused AdamW kernel for the device (CUDA, and CPU since 2.4).

    On the CPU the fused kernel is ~3x faster than the default per-tensor loop for MiniLM's
    22.7 M parameters (it is also what ``transformers.Trainer`` picks by default on torch >= 2.8).
    """
    probe = torch.zeros(1, device=device, requires_grad=True)
    try:
        torch.optim.AdamW([probe], fused=True)
    except (RuntimeError, TypeError, ValueError):
        return {}
    return {"fused": True}


def make_train_loader(features: list[dict], collator, cfg, generator: torch.Generator):
    """Uniformly shuffled batches, or length-grouped ones with ``cfg.length_grouping``."""
    from torch.utils.data import DataLoader

    if cfg.length_grouping:
        from adaft_core.data.length_grouping import LengthGroupedBatchSampler

        sampler = LengthGroupedBatchSampler([len(f["input_ids"]) for f in features], cfg.batch_size, generator)
        return DataLoader(features, batch_sampler=sampler, collate_fn=collator, num_workers=cfg.num_workers)
    return DataLoader(features, batch_size=cfg.batch_size, shuffle=True, collate_fn=collator,
                      generator=generator, num_workers=cfg.num_workers)
