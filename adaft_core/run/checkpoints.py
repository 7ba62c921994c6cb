"""The resume seam of a run (:class:`adaft_core.run.engine._Run`): its checkpoints written and read back.

:class:`RunCheckpoints` holds the run's methods that save the full training state after an epoch
(or inside one, when a stop is requested), restore it on resume, and position a resumed epoch's
batches exactly where the checkpoint left them; the state itself is ``state.py``'s typed
:class:`~adaft_core.run.state.TrainState`, built from the run's fields (:meth:`RunCheckpoints._state`)
and put back into them (:meth:`RunCheckpoints._restore`). The loop in ``engine.py`` calls them.
"""

from __future__ import annotations

import time
from typing import Any

from adaft_core.store.atomic import output_error, save_model_dir
from adaft_core.errors import ConfigError
from adaft_core.run.state import TrainState, capture_rng, load_weights, restore_rng, write_state


class RunCheckpoints:
    """Checkpoint, restore and resumed-epoch positioning of :class:`adaft_core.run.engine._Run`."""

    def _epoch_batches(self) -> tuple[Any, int]:
        """The epoch's batch iterator and the micro-batches it skips. The loader generator's state
        at the epoch start fixes the permutation: a resumed epoch draws the same one, skips the
        batches already trained on, and only then gets the other RNG states back."""
        self.epoch_start_rng = self.loader_generator.get_state()
        skip, self.skip_batches = self.skip_batches, 0
        rng, self.pending_rng = self.pending_rng, None
        if rng is not None and skip == 0:
            restore_rng(rng)  # an end-of-epoch checkpoint: the state before the epoch's loader
        batches = iter(self.train_loader)
        for _ in range(skip):
            next(batches)
        if rng is not None and skip > 0:
            restore_rng(rng)  # a mid-epoch checkpoint: the state after its consumed batches
        return batches, skip

    def _checkpoint(self, epoch: int, is_best: bool = False, batches_done: int | None = None,
                    finished: str | None = None) -> None:
        """Weights + full training state, after epoch ``epoch`` or (``batches_done``) inside it."""
        acc = self.accelerator
        if is_best and self.cfg.final_model == "best":
            self.best_state = {k: v.detach().to("cpu", copy=True)
                               for k, v in acc.unwrap_model(self.model).state_dict().items()}
        if not self.cfg.save_checkpoints or (batches_done is not None and self.step == self.checkpoint_step):
            return  # (a stop right after a checkpoint: that one already holds this state)
        acc.wait_for_everyone()
        if acc.is_main_process:
            state = self._state(epoch, batches_done, finished).to_tree(self.settings.mode)
            try:
                path = save_model_dir(self.run_dir / "checkpoint", acc.unwrap_model(self.model),
                                      self.task.tokenizer, extra=lambda folder: write_state(folder, state))
            except OSError as exc:
                raise output_error(exc, self.run_dir, "save the checkpoint") from exc
            self.last_checkpoint = str(path)
            self._emit("checkpoint", epoch=epoch, step=self.step, path=str(path), is_best=is_best)
        self.checkpoint_step = self.step

    def _state(self, epoch: int, batches_done: int | None, finished: str | None) -> TrainState:
        """The run's training state after epoch ``epoch`` or (``batches_done``) inside it."""
        mid_epoch = batches_done is not None
        return TrainState(
            step=self.step, epoch=epoch if mid_epoch else epoch + 1, batches_done=batches_done or 0,
            finished=finished, elapsed=time.time() - self.t0, steps_per_epoch=self.steps_per_epoch,
            monitor=self.monitor, evals=self.evals, best_state=self.best_state,
            optimizer=self.optimizer.state_dict(), strategy=self.strategy.state_dict(),
            rng=capture_rng(self.epoch_start_rng if mid_epoch else self.loader_generator.get_state()))

    def _restore(self) -> None:
        """Load the run's newest whole checkpoint (none yet: the run starts again from step 0)."""
        folder = self.checkpoint
        if folder is None:
            return
        state = TrainState.read(folder, self.settings.mode, steps_per_epoch=self.steps_per_epoch)
        load_weights(self.accelerator.unwrap_model(self.model), folder)
        try:
            self.optimizer.load_state_dict(state.optimizer)
            self.strategy.load_state_dict(state.strategy)  # after setup, before on_train_start
        except (KeyError, TypeError, ValueError, RuntimeError) as exc:  # a state that reads but does not fit
            raise ConfigError(f"the training state in {folder} does not fit this run ({type(exc).__name__}: "
                              f"{exc}); it cannot be resumed") from exc
        self.monitor, self.evals = state.monitor, state.evals
        self.best_state, self.finished = state.best_state, state.finished
        self.step = self.checkpoint_step = state.step
        self.start_epoch, self.skip_batches = state.epoch, state.batches_done
        self.epoch = self.start_epoch - 1  # the last epoch trained to its end
        self.t0 -= state.elapsed
        restore_rng(state.rng, self.loader_generator)  # the others: in _epoch_batches
        self.pending_rng = state.rng
        self.resumed_from = self.last_checkpoint = str(folder)

