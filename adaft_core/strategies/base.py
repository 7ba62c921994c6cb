"""The update-strategy interface: the engine's two named hook points and stage bookkeeping.

A strategy decides which gradient entries reach the optimizer (``specs/dps.md``). The engine
calls, for every optimizer step ``step`` (1-based, as in the ``step`` event):

1. ``before_step(step)`` — before the first forward of the step (stage changes, forward mixing);
2. ``after_backward(step)`` — the hook point AFTER BACKWARD, BEFORE CLIPPING: raw gradients of
   the whole (accumulated) step are in ``p.grad`` (DPS statistics and Stage II masks go here);
3. ``after_clip(step)`` — the hook point AFTER CLIPPING, BEFORE THE OPTIMIZER STEP
   (ChildTuning masks go here).

``eval_start()`` / ``eval_end()`` bracket every evaluation pass (DPS-Mix evaluates raw weights).
A strategy may emit events (``mask``) through the ``emit`` callable it gets in ``setup``.
"""

from __future__ import annotations

from typing import Any, Callable


class UpdateStrategy:
    """Base class and the ``vanilla`` strategy: every gradient entry is used as is."""

    name = "vanilla"

    def __init__(self, **options: Any):
        if options:
            from ..errors import ConfigError

            raise ConfigError(f"strategy {self.name!r} takes no options, got {sorted(options)}")
        self.model = None
        self.emit: Callable[..., Any] = lambda *a, **k: None

    def setup(self, model, *, steps_per_epoch: int, total_steps: int | None, emit=None, accelerator=None) -> None:
        """Called once, after the model is prepared; ``total_steps`` is None in adaptive mode."""
        self.model = model
        if emit is not None:
            self.emit = emit

    def stage(self, step: int) -> str | None:
        """The DPS stage ("I"/"II") of optimizer step ``step``; None for non-staged strategies."""
        return None

    def before_step(self, step: int) -> None:
        pass

    def after_backward(self, step: int) -> None:
        pass

    def after_clip(self, step: int) -> None:
        pass

    def eval_start(self) -> None:
        pass

    def eval_end(self) -> None:
        pass

    def state_dict(self) -> dict[str, Any]:
        return {}
