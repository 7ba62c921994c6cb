"""The throughput section of ``bench/README.md``, kept in parts so that each run rewrites only its own.

``ABOUT`` explains the tables; the parts (``README_PARTS``) are the main variants table
(``bench/throughput.py``), the per-dataset table (``bench/throughput_datasets.py``) and the GPU
checks' results, read from ``bench/results/gpu_checks.md`` (:func:`gpu_part`). :func:`write_readme`
puts the parts given and keeps the others as the README has them.
"""

from __future__ import annotations

import json
from pathlib import Path

from readme_section import replace_section  # bench/ is on sys.path

HERE = Path(__file__).resolve().parent
README_PARTS = ("main", "datasets", "gpu")
ABOUT = """\
Variants and options: `bench/throughput.py`'s docstring. `--data NAME|FOLDER` runs them on another
dataset (`wnut17`, `snli`: the folders of `shared/datasets`; SNLI is sentence-pair classification:
the encoder runs packed, the pooler and head on the padded grid; a model that cannot take padding-free
shows "padding-free: fallback (padded)" instead of a ratio); `--datasets a,b,c` measures adaft padded
vs padding-free per dataset (the second table);
`--readme-only` rebuilds this section from its saved parts and `bench/results/gpu_checks.md`.
Real tokens/s = the split's non-pad tokens per second of training (one epoch) or evaluation; % of
ceiling = those tokens × FLOPs per token ÷ the GEMM rate measured in the same run, with 6·N FLOPs per
real token for training (forward + backward) and 2·N for evaluation, N = the matmul parameters a token
passes through, `layers · (4h² + 2h·f) + h · labels` (10.62 M for MiniLM-L6 with WikiGold's 9 labels).
Work on padding and attention's own products are not counted, so padded variants show the share of
useful work."""


def _between(text: str, name: str) -> str | None:
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    if start not in text or end not in text:
        return None
    return text[text.index(start) + len(start):text.index(end)].strip()


def gpu_part() -> str:
    """The GPU checks' results (``bench/gpu_checks.py``), or the statement that there are none."""
    md, js = HERE / "results" / "gpu_checks.md", HERE / "results" / "gpu_checks.json"
    if md.exists() and js.exists() and not json.loads(js.read_text()).get("smoke", True):
        text = md.read_text(encoding="utf-8").split("\n", 1)[-1].strip()  # without its title line
        return f"### GPU (`bench/gpu_checks.py`, [results/gpu_checks.md](results/gpu_checks.md))\n\n{text}"
    return ("### GPU\n\nNo GPU results: `bench/gpu_checks.py` (speed vs Trainer in bf16, fused AdamW, exactness "
            "against the padded path) has not been run on a GPU; its results go to `bench/results/gpu_checks.md`.")


def write_readme(main: str | None = None, datasets: str | None = None) -> None:
    """The README's throughput section: ABOUT, then the main table, the per-dataset table and the GPU
    part; a part not given keeps what the README has (the main table of an older layout: the whole
    section below its title)."""
    readme = HERE / "README.md"
    text = readme.read_text(encoding="utf-8") if readme.exists() else ""
    section = _between(text, "throughput") or ""
    old = {name: _between(section, f"throughput-{name}") for name in README_PARTS}
    if old["main"] is None and section.startswith("## Throughput"):
        old["main"] = section.split("\n", 1)[-1].strip()
    parts = {"main": main or old["main"] or "Not measured yet: `python bench/throughput.py --repeats 3`.",
             "datasets": datasets or old["datasets"] or ("Per-dataset gains: not measured yet "
                                                         "(`python bench/throughput.py --datasets wikigold,wnut17,snli "
                                                         "--repeats 3`)."),
             "gpu": gpu_part()}
    body = "\n\n".join([f"## Throughput: adaft vs Hugging Face Trainer\n\n{ABOUT}",
                        *(f"<!-- throughput-{n}:start -->\n{parts[n]}\n<!-- throughput-{n}:end -->"
                          for n in README_PARTS)])
    replace_section(readme, "throughput", body)
