"""Replay a recorded run step by step: the dashboard's own views fed from a run log, with a
play/pause control, so a class sees the LR phases, the validation curve and the decisions —
early stopping included — arrive as they did during training.

``ReplayView(events).widget``: a ``Play`` button linked to a step slider; frame ``k`` is the run log
up to its ``k``-th ``step`` event and the evaluations and decisions that followed it (frame 0:
``run_started`` only; the last frame: the whole log, ``run_ended`` included). Each frame is folded
into a :class:`~adaft_dashboard.live.state.RunState` and drawn by the Live tab's
:class:`~adaft_dashboard.views.figures.CurvesView` and :func:`~adaft_dashboard.views.panels.render`
(going back rebuilds the state from the start: a few hundred events, instant). Nothing is
re-derived: what is drawn is what the events say. ``ReplayView.example()`` replays the run shipped
in ``adaft_core/examples``.
"""

from __future__ import annotations

import html
from typing import Any, Iterable

import ipywidgets as W

from adaft_core.events.display import epoch_label

from adaft_dashboard.views.figures import CurvesView
from adaft_dashboard.views.panels import render
from adaft_dashboard.views.plotting import fmt
from adaft_dashboard.live.state import RunState
from adaft_dashboard.teaching.demo import later, sync_state

MOUNT_DELAY = 2.0  # s after the page showed the replay (a figure above loads first)
SPEEDS = (("1 step", 1), ("4 steps", 4), ("1 epoch", None))  # per tick; None: the run's steps per epoch


def frame_ends(events: list[dict[str, Any]]) -> list[int]:
    """``ends[k]``: how many events frame ``k`` shows (frame 0 = before the first step)."""
    steps = [i for i, ev in enumerate(events) if ev.get("event") == "step"]
    return steps + [len(events)]  # frame k < last: up to (not including) step k + 1


class ReplayView:
    """A recorded run, replayed frame by frame through the dashboard's views."""

    def __init__(self, events: Iterable[dict[str, Any]], interval_ms: int = 200):
        self.events = list(events)
        if not self.events or self.events[0].get("event") != "run_started":
            raise ValueError("a run log starts with run_started")
        self.run_id = str(self.events[0].get("run_id", "run"))
        self.ends = frame_ends(self.events)
        self.steps_per_epoch = max(1, int(self.events[0].get("steps_per_epoch") or 1))
        self.run = RunState(self.run_id)
        self.shown = 0  # events folded into self.run
        self.curves: CurvesView | None = None  # made when put on the page (mount_figure)
        self.play = W.Play(value=0, min=0, max=len(self.ends) - 1, step=1, interval=interval_ms,
                           description="play / pause")
        self.slider = W.IntSlider(value=0, min=0, max=len(self.ends) - 1, description="step",
                                  continuous_update=True, layout=W.Layout(width="520px"))
        W.jslink((self.play, "value"), (self.slider, "value"))
        self.speed = W.ToggleButtons(options=[(label, n or self.steps_per_epoch) for label, n in SPEEDS], value=1,
                                     description="per tick", style={"button_width": "70px"})
        self.speed.observe(lambda c: setattr(self.play, "step", int(c["new"])), names="value")
        self.caption = W.HTML()
        self.decisions = W.HTML(layout=W.Layout(width="100%"))
        self.slider.observe(lambda c: self.show(c["new"]), names="value")
        self.show(0)
        # The figure is made a moment after the page has shown the replay's caption (or at the
        # first frame played, whichever comes first), not with the page: a browser gives each plotly
        # FigureWidget's model 2 s (anywidget's limit) to load plotly's 5 MB module, and two figures
        # loading at once on a busy CPU miss it — that figure then ignores every update.
        self.caption._view_count = 0  # count the caption's browser views (ipywidgets' view tracking)
        self.caption.observe(self._on_caption_view, names="_view_count")
        self.figure_box = W.VBox([W.HTML("<i style='color:#6b7280'>press play or move the slider: the "
                                         "run's curves are drawn here as they were recorded</i>")],
                                 layout=W.Layout(width="100%"))
        self.widget = W.VBox([W.HBox([self.play, self.slider, self.speed]), self.caption, self.decisions,
                              self.figure_box], layout=W.Layout(width="100%"))

    @classmethod
    def example(cls, name: str = "wikigold-adaptive", **kw) -> "ReplayView":
        """The run log shipped in ``adaft_core/examples``."""
        from adaft_core.examples import example_events

        return cls(example_events(name), **kw)

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)

    def _on_caption_view(self, change) -> None:
        if (change.get("new") or 0) > (change.get("old") or 0):
            later(MOUNT_DELAY, self.mount_figure)

    def mount_figure(self) -> None:
        """Make the curves (once), draw the frame shown last and put them on the page."""
        if self.curves is not None:
            return
        self.curves = CurvesView()
        self.curves.x_mode.value = "epoch"
        self.curves.controls.layout.display = "none"  # the replay's own controls are above
        self.curves.widget.layout.width = "100%"
        self.curves.update([self.run], force=True)
        sync_state(self.curves.fig)  # a view starts from this frame
        self.figure_box.children = [self.curves.widget]

    def show(self, frame: int) -> None:
        """Draw frame ``frame``: fold in the events up to it (from the start when going back)."""
        frame = max(0, min(int(frame), len(self.ends) - 1))
        end = self.ends[frame]
        if end < self.shown:
            self.run, self.shown = RunState(self.run_id), 0
        for ev in self.events[self.shown:end]:
            self.run.apply(ev)
        self.shown = end
        if self.curves is not None:
            self.curves.update([self.run], force=True)
        elif frame:
            self.mount_figure()
        self.decisions.value = render(self.run, history=8)
        self.caption.value = self.caption_html()

    def caption_html(self) -> str:
        """Where the replay is: step, epoch, the LR of the last step, the last decision's action."""
        run = self.run
        if not run.n_steps:
            return "<div class='adaft-replay-caption'>before the first step — press play</div>"
        lr = run.series["lr"].view[-1]
        last = run.decisions[-1] if run.decisions else None
        said = (f" · after epoch {epoch_label(last['epoch'])}: <b>{html.escape(str(last.get('action')))}</b>"
                if last else "")
        end = f" · run ended: <b>{html.escape(run.status)}</b>" if run.ended is not None else ""
        return (f"<div class='adaft-replay-caption'>step {run.n_steps} of {len(self.ends) - 1} · "
                f"epoch {epoch_label(int(run.series['epoch'].view[-1]))} · LR {fmt(lr, '.2e')}{said}{end}</div>")
