"""The one training loop: ``train(config, sinks=...) -> RunResult``.

Read top to bottom, a run is: validate config → prepare task (data, tokenizer; every input error
is raised here, before anything is written) → create run folder and emit ``run_started`` → for
each epoch: steps (data, forward, backward, strategy hook, clip, strategy hook, LR, optimizer
step, ``step`` event) → validation (``eval``) → decision (``decision``) → checkpoint → after the
last epoch: final model, test evaluation, ``run_ended``. Every exit path — completed, early
stopped, stop signal, NaN loss, crash — emits ``run_ended`` (see ``_Run._end``). The run folder,
its log, heartbeat and ``run.json`` are the run recorder's (``store/recorder.py``, shared with the
Trainer kit).

Every checkpoint (after each epoch, and when a stop is requested mid-epoch) holds the full
training state (``state.py``): ``resume(run)`` reopens the run folder, restores it, appends
a ``resumed`` event to the same log and continues — bit-exactly the uninterrupted run on the CPU.
A run that completes or stops early then drops its checkpoint, unless ``keep_checkpoint``.
A write that fails (a full disk) ends the run with one :class:`~adaft_core.errors.OutputError`.

Devices, mixed precision and data parallelism come from ``accelerate``: start the same code
with ``accelerate launch`` or ``torchrun`` and it runs on every rank; only rank 0 writes.
"""

from __future__ import annotations

import math
import threading
import time
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import torch
from adaft_core.settings.config import TrainConfig
from adaft_core.run.results import RunResult, run_versions
from adaft_core.run.setup import make_accelerator, make_optimizer, make_train_loader
from adaft_core.run.evaluate import eval_loader, evaluate
from adaft_core.run.padding_free import PackedCollator, packed_collator
from adaft_core.run.checkpoints import RunCheckpoints
from adaft_core.modes import MonitorState, decide, get_mode, lr_at, start_plan
from adaft_core.store.runs import check_resumable, check_run_name_free, find_run
from adaft_core.store.run_log import iter_events
from adaft_core.store.recorder import RunRecorder
from adaft_core.strategies import make_strategy
from adaft_core.tasks.base import get_task
from adaft_core.store.atomic import check_output_dir, output_error, save_model_dir
from adaft_core.events.display import epoch_label
from adaft_core.store.retention import drop_checkpoint
from adaft_core.errors import OutputError
from adaft_core.run.state import whole_checkpoint

__all__ = ["train", "resume", "RunResult"]


def train(config: TrainConfig | dict, sinks: Iterable[Any] = (), stop_event: threading.Event | None = None) -> RunResult:
    """Fine-tune per ``config``; events go to the run log and to ``sinks``.

    ``stop_event`` (a ``threading.Event``) or a ``STOP`` file in the run folder ends the run
    after the current optimizer step with status ``stopped``. Input errors raise
    :class:`~adaft_core.errors.AdaftError` before anything is written.
    """
    cfg = config if isinstance(config, TrainConfig) else TrainConfig.from_dict(config)
    cfg = cfg.validated()
    check_output_dir(cfg.output_dir)  # a file in the way, no permission: said before any work
    if cfg.run_name:
        check_run_name_free(cfg.output_dir, cfg.run_name)  # before the model is loaded
    return _prepare(cfg, sinks, stop_event).execute()


def resume(run: str | Path, *, output_dir: str | Path = "runs", sinks: Iterable[Any] = (),
           stop_event: threading.Event | None = None) -> RunResult:
    """Continue a stopped, interrupted or failed run from its last checkpoint.

    ``run``: a run id, a unique id prefix (in ``output_dir``) or a run folder. The run's config
    comes from its ``run.json``; events are appended to its log after a ``resumed`` event, and the
    result equals the uninterrupted run's (bit-exact on the CPU). A run still running or already
    ended is refused with a :class:`~adaft_core.errors.ConfigError`. Without a checkpoint yet
    (stopped in its first epoch) the run starts again from step 0 in the same folder.
    """
    run_dir = find_run(output_dir, str(run))
    info = check_resumable(run_dir)
    # a run from before the padding_free setting trained on padded batches: it goes on padded (bit-exact)
    cfg = TrainConfig.from_dict({"padding_free": False, **info["config"]}).validated()
    checkpoint = whole_checkpoint(run_dir)  # read whole before any work; a damaged one is refused here
    run = _prepare(cfg, sinks, stop_event, resume_dir=run_dir, started=info.get("started"), checkpoint=checkpoint)
    # run_started says "packed" since sentence-level tasks are packed too; a run begun before trained them padded
    run.pack_sentences = "packed" in next((e for e in iter_events(run_dir) if e.get("event") == "run_started"), {})
    return run.execute()


def _prepare(cfg: TrainConfig, sinks, stop_event, resume_dir: Path | None = None, started=None,
             checkpoint: Path | None = None) -> "_Run":
    """Trackers, accelerator, seeds, task (data and tokenizer: raises on bad input) and strategy of a run."""
    from adaft_core.exports.live import report_sinks  # report_to's trackers (a resumed run: as it did); a missing library stops here

    sinks = [*sinks, *report_sinks(cfg.report_to, resume_dir.parent if resume_dir is not None else cfg.output_dir)]
    accelerator = make_accelerator(cfg)
    from accelerate.utils import set_seed

    set_seed(cfg.seed)
    task = get_task(cfg.task)(cfg)  # reads data + tokenizer: raises on bad input
    strategy = make_strategy(cfg.strategy, cfg.strategy_options)
    return _Run(cfg, task, accelerator, strategy, list(sinks), stop_event, resume_dir=resume_dir, started=started,
                checkpoint=checkpoint)


@dataclass
class _Run(RunCheckpoints):
    """The state of one run; ``execute`` is the loop, the other methods its phases."""

    cfg: TrainConfig
    task: Any
    accelerator: Any
    strategy: Any
    sinks: list
    stop_event: threading.Event | None
    run_dir: Path | None = None
    step: int = 0
    epoch: int = -1
    monitor: MonitorState = field(default_factory=MonitorState)
    evals: dict[int, dict] = field(default_factory=dict)
    best_state: dict | None = None
    last_checkpoint: str | None = None
    recorder: RunRecorder | None = None  # the run folder's log, heartbeat and run.json (rank 0 only writes)
    eval_data_metrics: dict[str, dict] = field(default_factory=dict)  # --eval-data name -> metrics
    resume_dir: Path | None = None  # the run folder being continued (resume)
    started: float | None = None  # run.json "started" (a resumed run keeps its first one)
    checkpoint: Path | None = None  # the checkpoint folder to restore (resume; whole_checkpoint's choice)
    resumed_from: str | None = None  # the checkpoint folder restored
    start_epoch: int = 0  # the epoch training (re)starts in ...
    skip_batches: int = 0  # ... after this many of its micro-batches (a mid-epoch checkpoint)
    finished: str | None = None  # the checkpoint came after the final decision: only _finish is left
    checkpoint_step: int = 0  # the optimizer step of the newest checkpoint
    pending_rng: dict | None = None  # RNG states restored where training continues
    collator: Any = None  # the task's padded collator or the packed one (padding_free.py)
    pack_sentences: bool = True  # sentence-level tasks packed too (False: a resumed run begun padded)

    # ------------------------------------------------------------------ setup
    def _setup(self) -> None:
        cfg, acc = self.cfg, self.accelerator
        torch.manual_seed(cfg.seed)  # the same fresh head on every rank and every run of a seed
        model = self.task.load_model()
        padded = self.task.collator
        self.collator = (packed_collator(model, self.task, padded, sentences=self.pack_sentences)
                         if cfg.padding_free else padded)
        optimizer = make_optimizer(model, cfg)
        generator = self.loader_generator = torch.Generator().manual_seed(cfg.seed)
        train_loader = make_train_loader(self.task.features["train"], self.collator, cfg, generator)
        self.model, self.optimizer, self.train_loader = acc.prepare(model, optimizer, train_loader)
        self.val_loader = eval_loader(self.task.features["validation"], self.collator,
                                      cfg.eval_batch_size, acc)
        self.steps_per_epoch = math.ceil(len(self.train_loader) / cfg.grad_accum)
        self.settings = cfg.mode_settings()
        fixed = get_mode(cfg.mode).fixed_length  # strategies size their stages by the total
        self.strategy.setup(self.model, steps_per_epoch=self.steps_per_epoch,
                            total_steps=self.settings.max_epochs * self.steps_per_epoch if fixed else None,
                            emit=self._emit, accelerator=acc, train_loader=self.train_loader, seed=cfg.seed)
        if self.resume_dir is not None:
            self._restore()  # every rank: weights, optimizer, strategy, mode state, RNGs, position
        if not acc.is_main_process:
            self.recorder = RunRecorder.quiet()  # only rank 0 writes and reports
            return
        record = dict(config=cfg.to_dict(), sinks=self.sinks, started=self.started or self.t0)
        if self.resume_dir is not None:  # the same folder; the log's numbering goes on
            self.recorder = RunRecorder.reopen(self.resume_dir, **record)
        else:
            self.recorder = RunRecorder.new(cfg.output_dir, task=cfg.task, mode=cfg.mode, seed=cfg.seed,
                                            run_name=cfg.run_name, **record)
        self.run_dir = self.recorder.run_dir

    def _emit(self, name: str, **fields) -> None:
        self.recorder.emit(name, **fields)

    # ------------------------------------------------------------------ the loop
    def execute(self) -> RunResult:
        self.t0 = time.time()
        try:
            self._setup()
        except OSError as exc:
            raise output_error(exc, self.resume_dir or self.cfg.output_dir, "create the run's files") from exc
        status, error = "failed", None
        try:
            if self.resume_dir is None:
                self._emit_run_started()
            else:
                self.recorder.resumed(step=self.step, epoch=self.start_epoch, checkpoint=self.resumed_from,
                                      steps_per_epoch=self.steps_per_epoch, max_epochs=self.settings.max_epochs,
                                      metric=self.task.metric)
            self.strategy.on_train_start(run_dir=self.run_dir)  # e.g. ChildTuning-D's Fisher pass
            status, error = (self.finished, None) if self.finished else self._train_epochs()
            if status in ("completed", "early_stopped"):
                self._finish()
        except KeyboardInterrupt:
            status, error = "stopped", "interrupted (KeyboardInterrupt)"
        except OutputError as exc:  # a write failed (a full disk): one message, the log still ends
            self._end("failed", str(exc))
            raise
        except BaseException as exc:
            status, error = "failed", f"{type(exc).__name__}: {exc}"
            self._end(status, error)
            raise
        return self._end(status, error)

    def _train_epochs(self) -> tuple[str, str | None]:
        cfg, acc, model = self.cfg, self.accelerator, self.model
        model.train()
        for epoch in range(self.start_epoch, self.settings.max_epochs):
            self.epoch = epoch
            if hasattr(self.train_loader, "set_epoch"):
                self.train_loader.set_epoch(epoch)
            batches, skip = self._epoch_batches()
            n_batches = len(self.train_loader)
            for group_start in range(skip, n_batches, cfg.grad_accum):
                # -- stop signal, checked between optimizer steps (agreed by every rank)
                if self._any_rank(self._stop_requested()):
                    self._checkpoint(epoch, batches_done=group_start)  # so that resume continues here
                    return "stopped", f"stop requested during epoch {epoch_label(epoch)} after step {self.step}"
                step = self.step + 1
                self.strategy.before_step(step)
                # -- data, forward, backward (gradient accumulation over `group` micro-batches)
                group = min(cfg.grad_accum, n_batches - group_start)
                loss_sum = torch.zeros((), device=acc.device)
                for i in range(group):
                    batch = next(batches)
                    sync = nullcontext() if i == group - 1 else acc.no_sync(model)
                    with sync:
                        loss = model(**batch).loss
                        acc.backward(loss / group)
                    loss_sum += loss.detach()
                loss_value = self._mean_over_ranks(loss_sum / group)
                if not math.isfinite(loss_value):
                    self.optimizer.zero_grad(set_to_none=True)
                    return "failed", (f"non-finite training loss ({loss_value}) at step {step}, epoch {epoch}; "
                                      f"last good checkpoint: {self.last_checkpoint or 'none yet'}")
                # -- strategy hook 1: raw gradients, before clipping
                self.strategy.after_backward(step)
                # -- clip
                grad_norm = acc.clip_grad_norm_(model.parameters(), cfg.max_grad_norm)
                grad_norm = float(grad_norm) if grad_norm is not None else None
                # -- strategy hook 2: clipped gradients, before the optimizer step
                self.strategy.after_clip(step)
                # -- schedule: this step's LR is a pure function of the step and the monitor
                lr = lr_at(self.step, self.monitor, self.settings, self.steps_per_epoch, cfg.lr)
                for g in self.optimizer.param_groups:
                    g["lr"] = lr
                # -- optimizer step
                self.optimizer.step()
                self.optimizer.zero_grad(set_to_none=True)
                self.step = step
                # -- events
                self._emit("step", step=step, epoch=epoch, loss=loss_value, lr=lr, grad_norm=grad_norm,
                           stage=self.strategy.stage(step))
            # -- validation, decision, checkpoint
            metrics = self._evaluate("validation", epoch)
            self.monitor, decision = decide(self.monitor, epoch=epoch, value=metrics["loss"], lr_max=cfg.lr,
                                            settings=self.settings, steps_per_epoch=self.steps_per_epoch)
            self.recorder.validation(epoch=epoch, step=self.step, metric=self.task.metric, metrics=metrics,
                                     decision=decision, strategy=self.strategy)  # eval, decision, telemetry
            if not math.isfinite(metrics["loss"]):
                return "failed", f"non-finite validation loss after epoch {epoch}"
            final = ("early_stopped" if decision.early_stop else "completed") if decision.action == "stop" else None
            self._checkpoint(epoch, is_best=decision.improved, finished=final)
            if final:
                return final, None
        return "completed", None

    # ------------------------------------------------------------------ phases
    def _evaluate(self, split: str, epoch: int) -> dict:
        features = self.task.features[split]
        loader = self.val_loader if split == "validation" else eval_loader(
            features, self.collator, self.cfg.eval_batch_size, self.accelerator)
        metrics = evaluate(self.model, loader, features, self.task, self.accelerator, self.strategy)
        if split == "validation":
            self.evals[epoch] = metrics  # its eval event comes with the decision (recorder.validation)
        else:
            self.recorder.eval(epoch=epoch, step=self.step, split=split, metric=self.task.metric, metrics=metrics)
        return metrics

    def _finish(self) -> None:
        """Final model (last or best), saved for ``pipeline``; then the test evaluation."""
        acc = self.accelerator
        if self.cfg.final_model == "best" and self.best_state is not None:
            acc.unwrap_model(self.model).load_state_dict(self.best_state)
        if self.cfg.save_model:
            acc.wait_for_everyone()
            if acc.is_main_process:
                try:
                    save_model_dir(self.run_dir / "model", acc.unwrap_model(self.model), self.task.tokenizer)
                except OSError as exc:
                    raise output_error(exc, self.run_dir, "save the final model") from exc
        if self.cfg.evaluate_test and self.task.features.get("test"):
            self.test_metrics = self._evaluate("test", self.epoch)
        for split in getattr(self.task, "eval_splits", ()):  # out-of-domain sets ("eval:<name>")
            self.eval_data_metrics[split.split(":", 1)[1]] = self._evaluate(split, self.epoch)

    def _end(self, status: str, error: str | None) -> RunResult:
        """Emit ``run_ended`` (on every path) and write the final ``run.json``."""
        final = self.cfg.final_model if status in ("completed", "early_stopped") else None
        best_epoch = self.monitor.best_epoch if self.monitor.best_epoch >= 0 else None
        val_epoch = best_epoch if final == "best" else max(self.evals, default=None)
        result = RunResult(
            run_id=self.recorder.run_id, run_dir=self.run_dir, status=status, epochs=len(self.evals),
            steps=self.step, best_epoch=best_epoch, final_model=final,
            val=self.evals.get(val_epoch) if val_epoch is not None else None,
            test=getattr(self, "test_metrics", None), wall_time=time.time() - self.t0, error=error,
            eval_data=self.eval_data_metrics or None,
            model_dir=(self.run_dir / "model") if (final and self.cfg.save_model and self.run_dir) else None,
        )
        self.recorder.end(status, dict(epochs=result.epochs, steps=result.steps, best_epoch=best_epoch,
                                       final_model=final, val=result.val, test=result.test,
                                       eval_data=result.eval_data, wall_time=result.wall_time, error=error),
                          result=result.to_dict())
        if self.accelerator.is_main_process:
            if status in ("completed", "early_stopped") and not self.cfg.keep_checkpoint:
                drop_checkpoint(self.run_dir)  # weights + AdamW state of a run that cannot be resumed
            from adaft_core.report.model_card import write_model_cards

            write_model_cards(self.run_dir)  # README.md in model/ (and a kept checkpoint/), from the log
        return result

    # ------------------------------------------------------------------ helpers
    def _emit_run_started(self) -> None:
        cfg, acc, info = self.cfg, self.accelerator, self.task.info
        self.recorder.run_started(
            config=cfg.to_dict(), task=cfg.task, mode=cfg.mode, strategy=cfg.strategy,
            lr_plan=start_plan(self.settings, self.steps_per_epoch, cfg.lr),
            model=cfg.model, model_path=self.task.model_path, seed=cfg.seed,
            train_size=info["train_size"], val_size=info["val_size"], test_size=info.get("test_size"),
            steps_per_epoch=self.steps_per_epoch, max_epochs=self.settings.max_epochs,
            labels=self.task.labels, device=str(acc.device), num_processes=acc.num_processes,
            mixed_precision=acc.mixed_precision, data=info.get("data"), chunks=info.get("chunks"),
            metric=self.task.metric, versions=run_versions(), truncated=info.get("truncated"),
            dropped=info.get("dropped"), sample=info.get("sample"), eval_data=info.get("eval_data"),
            glue_task=info.get("glue_task"), empty_tokens=info.get("empty_tokens"),
            packed=isinstance(self.collator, PackedCollator))

    def _stop_requested(self) -> bool:
        return bool(self.stop_event is not None and self.stop_event.is_set()) or self.recorder.stop_requested()

    def _any_rank(self, flag: bool) -> bool:
        if self.accelerator.num_processes == 1:
            return flag
        t = torch.tensor([1.0 if flag else 0.0], device=self.accelerator.device)
        return bool(self.accelerator.reduce(t, "sum").item() > 0)

    def _mean_over_ranks(self, loss: torch.Tensor) -> float:
        if self.accelerator.num_processes > 1:
            loss = self.accelerator.reduce(loss, "mean")
        return float(loss)  # the one host sync per step the events need
