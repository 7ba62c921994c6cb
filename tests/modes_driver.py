"""Drive the pure mode functions with a scripted validation-loss sequence (shared by tests)."""

from adaft_core.modes import ModeSettings, MonitorState, decide, lr_at


def run_script(losses, settings: ModeSettings, steps_per_epoch: int, lr_max: float = 2e-5):
    """Returns (lrs per step, decisions); stops at the first ``stop`` action."""
    state, lrs, decisions = MonitorState(), [], []
    for epoch, value in enumerate(losses):
        for i in range(steps_per_epoch):
            lrs.append(lr_at(epoch * steps_per_epoch + i, state, settings, steps_per_epoch, lr_max))
        state, d = decide(state, epoch=epoch, value=value, settings=settings, steps_per_epoch=steps_per_epoch,
                          lr_max=lr_max)
        decisions.append(d)
        if d.action == "stop":
            break
    return lrs, decisions
