"""The machine's matmul ceiling and how close the throughput bench's runs come to it.

:func:`matmul_ceiling` times the GEMMs of a BERT layer's shapes (``(T × h) @ (h × f)`` and ``(T × h) @
(h × h)``, best of a few) on this CPU or GPU; :func:`forward_flops_per_token` counts the matmul FLOPs a
real token costs in the model's forward pass (2·N, N its matmul parameters per token; training 3× that);
:func:`ceiling_meta` records both for a run, and :func:`ceiling_table` turns a run's real tokens/s per
variant into the share of that ceiling they reach (the tokens/s table of ``bench/throughput.py``,
and of ``bench/gpu_checks.py`` in bf16 on a GPU).
"""

from __future__ import annotations

import time


def matmul_ceiling(hidden: int = 384, ffn: int = 1536, tokens: int = 4096, repeats: int = 5,
                   device: str = "cpu", dtype=None) -> float:
    """This machine's matmul rate at a BERT layer's shapes, in GFLOP/s: ``(tokens × hidden) @
    (hidden × ffn)`` and ``(tokens × hidden) @ (hidden × hidden)`` (fp32 unless ``dtype``), the best
    of ``repeats`` timings after one warm-up (on a GPU each timing runs the pair 20 times)."""
    import torch

    dtype = dtype or torch.float32
    x = torch.randn(tokens, hidden, device=device, dtype=dtype)
    w1, w2 = (torch.randn(hidden, n, device=device, dtype=dtype) for n in (ffn, hidden))
    inner = 20 if str(device).startswith("cuda") else 1
    sync = torch.cuda.synchronize if str(device).startswith("cuda") else (lambda: None)
    best = float("inf")
    for i in range(repeats + 1):
        sync()
        t = time.perf_counter()
        for _ in range(inner):
            x @ w1, x @ w2
        sync()
        if i:  # the first is the warm-up
            best = min(best, time.perf_counter() - t)
    return 2 * tokens * hidden * (ffn + hidden) * inner / best / 1e9


def forward_flops_per_token(model_path: str, num_labels: int) -> tuple[float, float]:
    """(forward FLOPs per real token, N): ``2·N`` with N the matmul parameters a token passes
    through, ``layers · (4·h² + 2·h·f) + h · labels`` (Q, K, V, output, feed-forward, classifier).
    Left out: embeddings (look-ups), LayerNorm/GELU/softmax, and attention's own products
    (``4·n·h`` per token and layer for a sentence of n tokens, ~3 % at n = 30 for MiniLM)."""
    from transformers import AutoConfig

    c = AutoConfig.from_pretrained(model_path)
    h = getattr(c, "hidden_size", None) or c.dim  # BERT family; DistilBERT names them dim/hidden_dim/n_layers
    f = getattr(c, "intermediate_size", None) or c.hidden_dim
    layers = getattr(c, "num_hidden_layers", None) or c.n_layers
    n = layers * (4 * h * h + 2 * h * f) + h * num_labels
    return 2.0 * n, float(n)


def model_shapes(model_path: str) -> tuple[int, int]:
    """(hidden, feed-forward) widths of the model: the ceiling's GEMM shapes."""
    from transformers import AutoConfig

    c = AutoConfig.from_pretrained(model_path)
    return (getattr(c, "hidden_size", None) or c.dim), (getattr(c, "intermediate_size", None) or c.hidden_dim)


def ceiling_meta(model_path: str, num_labels: int, *, device: str = "cpu", dtype=None, tokens: int = 4096,
                 repeats: int = 5) -> dict:
    """The run's ceiling and FLOPs-per-token record (``meta['ceiling']``, ``meta['flops_per_token']``)."""
    import torch

    hidden, ffn = model_shapes(model_path)
    dtype = dtype or torch.float32
    gflops = matmul_ceiling(hidden, ffn, tokens, repeats, device, dtype)
    fwd, params = forward_flops_per_token(model_path, num_labels)
    return {"ceiling": {"gflops": gflops, "dtype": str(dtype).replace("torch.", ""), "tokens": tokens,
                        "hidden": hidden, "ffn": ffn, "repeats": repeats, "device": str(device)},
            "flops_per_token": {"forward": fwd, "params": params}}


def ceiling_table(s: dict, meta: dict) -> str:
    """Real tokens/s per variant and the share of the measured matmul ceiling they reach."""
    c, fpt = meta["ceiling"], meta["flops_per_token"]
    lines = [f"Real (non-pad) tokens per second against this machine's matmul ceiling, "
             f"**{c['gflops']:.1f} GFLOP/s** ({c['dtype']} GEMMs ({c['tokens']} × {c['hidden']}) · "
             f"({c['hidden']} × {c['ffn']}) and ({c['tokens']} × {c['hidden']}) · ({c['hidden']} × {c['hidden']}), "
             f"best of {c['repeats']}). FLOPs per real token: 6·N training (forward + backward), 2·N "
             f"evaluation, N = {fpt['params'] / 1e6:.2f} M matmul parameters per token (layers · (4h² + 2h·f) "
             f"+ h · labels; attention's own products, embeddings and element-wise work not counted). "
             f"{meta['tokens_train']} training / {meta['tokens_eval']} dev tokens.", "",
             "| variant | train tokens/s | train % of ceiling | eval tokens/s | eval % of ceiling |",
             "|---|---|---|---|---|"]
    for v, r in s.items():
        share = [100 * k * fpt["params"] * r[key] / (c["gflops"] * 1e9) for k, key in ((6, "train_tps"),
                                                                                    (2, "eval_tps"))]
        lines.append(f"| {v} | {r['train_tps']:.0f} | {share[0]:.1f} % | {r['eval_tps']:.0f} | {share[1]:.1f} % |")
    return "\n".join(lines)
