"""adaft's update strategies inside ``transformers.Trainer``: where each hook runs, and why there.

Trainer 5's optimizer step (``Trainer._run_epoch``) is: ``on_step_begin`` → forward/backward of
every micro-batch of the step (gradient accumulation) → ``_clip_grad_norm(model)`` (only when
``max_grad_norm > 0``; accelerate unscales fp16 gradients inside it) → ``on_pre_optimizer_step``
→ ``optimizer.step()``. The callbacks alone have no point between the last backward and the
clipping, and ``on_pre_optimizer_step`` sees gradients already unscaled and clipped, so the
strategy's two gradient hooks wrap the trainer's own ``_clip_grad_norm`` (on the instance, not
a subclass, so a user's ``Trainer`` subclass keeps working):

- ``before_step(step)`` — ``on_step_begin`` (once per optimizer step, before its first forward);
- ``after_backward(step)`` — in ``_clip_grad_norm``, before clipping: the raw (still loss-scaled
  under fp16, as in adaft's engine; the strategies divide by ``accelerator.scaler``'s scale) and
  fully accumulated gradients;
- ``after_clip(step)`` — in ``_clip_grad_norm``, after clipping, before the optimizer step
  (ChildTuning-F's 1/keep rescale);
- ``eval_start()`` / ``eval_end()`` around ``Trainer.evaluate`` (DPS-Mix evaluates raw weights).

``step`` is 1-based (``state.global_step + 1`` while the step runs), as in adaft's run log.
"""

from __future__ import annotations

from transformers import TrainerCallback

from adaft_core.errors import ConfigError


class StrategyCallback(TrainerCallback):
    """Sets the strategy up when training begins and calls ``before_step`` once per optimizer step."""

    def __init__(self, kit):
        self.kit = kit

    def on_train_begin(self, args, state, control, model=None, train_dataloader=None, **kwargs):
        kit = self.kit
        sched = kit.schedule
        total = sched.settings.max_epochs * sched.steps_per_epoch if sched.fixed_length else None
        kit.strategy.setup(model, steps_per_epoch=sched.steps_per_epoch, total_steps=total, emit=kit.emit,
                           accelerator=kit.trainer.accelerator, train_loader=train_dataloader, seed=args.seed)
        if kit.resume_point is not None and kit.resume_point.strategy is not None:
            kit.strategy.load_state_dict(kit.resume_point.strategy)  # after setup, before on_train_start
        kit.strategy.on_train_start(run_dir=kit.run_dir)  # after run_started: ChildTuning-D's Fisher pass

    def on_step_begin(self, args, state, control, **kwargs):
        self.kit.step_info = {}  # this step's loss / grad norm / LR, for the run log
        self.kit.strategy.before_step(state.global_step + 1)


def install_gradient_hooks(trainer, kit) -> None:
    """Wrap ``trainer._clip_grad_norm`` and ``trainer.evaluate`` with the strategy's hooks; also record
    each step's training loss and pre-clip gradient norm (the run log's ``step`` fields)."""
    if trainer.args.max_grad_norm is None or trainer.args.max_grad_norm <= 0:
        if kit.strategy.name != "vanilla":
            raise ConfigError(f"strategy {kit.strategy.name!r} needs TrainingArguments(max_grad_norm > 0): its "
                              "gradient hooks run around Trainer's clipping (adaft's engine always clips; "
                              "1.0 is Trainer's default)")
    clip, evaluate, step_fn = trainer._clip_grad_norm, trainer.evaluate, trainer.training_step

    def _clip_grad_norm(model):
        step = trainer.state.global_step + 1
        kit.strategy.after_backward(step)
        norm = clip(model)
        kit.strategy.after_clip(step)
        kit.step_info["grad_norm"] = norm
        return norm

    def _evaluate(*args, **kwargs):
        kit.strategy.eval_start()
        try:
            return evaluate(*args, **kwargs)
        finally:
            kit.strategy.eval_end()

    def training_step(model, inputs, num_items_in_batch=None):
        loss = step_fn(model, inputs, num_items_in_batch)
        kit.step_info["loss"] = kit.step_info.get("loss", 0.0) + loss  # Trainer's own per-step loss
        return loss

    trainer._clip_grad_norm, trainer.evaluate, trainer.training_step = _clip_grad_norm, _evaluate, training_step
