"""The form's settings as an ``adaft train`` command to copy (a run designed on the page, scripted).

:func:`adaft_core.settings.command_line.command_line` writes the command from the one settings declaration;
this module only shows it: a read-only text box and a copy button (the browser's clipboard).
"""

from __future__ import annotations

import html

from adaft_core.settings.command_line import command_line
from adaft_core.settings.config import TrainConfig

COPY_JS = ("navigator.clipboard && navigator.clipboard.writeText(this.parentNode.querySelector('textarea').value);"
           " this.textContent='copied'")


def command_html(cfg: TrainConfig | None) -> str:
    """The command of ``cfg`` to copy; for None (settings not valid yet), a line saying it comes."""
    if cfg is None:
        return ("<div class='adaft-command-box' style='font-size:12px;color:#6b7280'>the equivalent "
                "<code>adaft train</code> command appears once the settings are valid</div>")
    line = html.escape(command_line(cfg))
    return (f"<div class='adaft-command-box' style='font-size:12px;margin-top:6px'>the same run from a shell: "
            f"<button type='button' onclick=\"{COPY_JS}\" style='font-size:11px'>copy</button>"
            f"<textarea class='adaft-command' readonly rows='4' style='width:100%;font-family:monospace;"
            f"font-size:11px;box-sizing:border-box'>{line}</textarea></div>")
