"""Drive the pure mode functions with a scripted validation-loss sequence, and the spec's two worked
examples (their validation losses and their learning rates step by step at S = 4), shared by tests."""

from adaft_core.modes import ModeSettings, MonitorState, decide, lr_at

LR = 2e-5
EXAMPLE_1 = [1.0, 0.8, 0.7, 0.75] + [0.75 + 0.01 * i for i in range(1, 40)]
EXAMPLE_2 = [1.0, 0.8, 0.7, 0.75, 0.76, 0.69, 0.72] + [0.72 + 0.01 * i for i in range(1, 40)]


def expected_example_1():
    """The spec's first worked example written out: warm-up, constant, one 7-epoch cooldown."""
    warm = [LR * s / 8 for s in range(8)]
    const = [LR] * 8
    cool = [LR * (28 - k) / 28 for k in range(28)]
    return warm + const + cool


def expected_example_2():
    warm = [LR * s / 8 for s in range(8)]
    const = [LR] * 8  # epochs 2-3
    cool1 = [LR * (28 - k) / 28 for k in range(8)]  # epochs 4-5, cut short by the restart
    const2 = [LR] * 4  # epoch 6
    cool2 = [LR * (28 - k) / 28 for k in range(28)]  # epochs 7-13
    return warm + const + cool1 + const2 + cool2


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
