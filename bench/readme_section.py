"""Write one benchmark's results into its own marked section of ``bench/README.md``."""

from __future__ import annotations

from pathlib import Path


def replace_section(readme: str | Path, name: str, body: str) -> None:
    """Put ``body`` between ``<!-- NAME:start -->`` and ``<!-- NAME:end -->``, appending the
    section if it is not there yet; text outside the markers (hand-written notes) is kept."""
    path = Path(readme)
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    section = f"{start}\n{body.strip()}\n{end}"
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    if start in text and end in text:
        text = text[:text.index(start)] + section + text[text.index(end) + len(end):]
    else:
        text = text.rstrip() + "\n\n" + section + "\n"
    path.write_text(text, encoding="utf-8")
