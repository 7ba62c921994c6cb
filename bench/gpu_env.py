"""What a GPU script needs of the machine it runs on, said in words (shared by bench/*gpu*.py)."""

from __future__ import annotations

import importlib
import sys


def gpu_problem() -> str | None:
    """Why there is no usable CUDA GPU here (one phrase), or None."""
    try:
        import torch
    except ImportError:
        return f"torch is not installed for {sys.executable}"
    if torch.version.cuda is None:
        return f"torch {torch.__version__} is a CPU-only build"
    if not torch.cuda.is_available():
        return f"torch {torch.__version__} (CUDA {torch.version.cuda}) sees no GPU"
    return None


def missing_packages(names, hint: str = "") -> list[str]:
    """One line per Python package of ``names`` that cannot be imported here."""
    out = []
    for name in names:
        try:
            importlib.import_module(name)
        except ImportError as exc:
            out.append(f"Python package {name!r} ({exc}){hint}")
    return out
