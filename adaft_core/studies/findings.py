"""The study tables in a few generated sentences (Markdown), so a notebook's text quotes the
numbers of the run it shows, whatever its scale — the interpretation stays in the notebook."""

from __future__ import annotations


def _pm(mean, std) -> str:
    return f"{mean:.3f}" + ("" if std != std else f" ± {std:.3f}")  # NaN std: one run


def modes_findings(table, metric: str = "f1", method: str = "mode", row: str = "data") -> str:
    """Per dataset: each method's test score and epochs from the smallest to the largest size,
    its converged runs, and which method scored best at each size."""
    if table.empty:
        return "_No finished runs yet._"
    size = "train_examples" if table["train_examples"].notna().all() else "train_fraction"
    lines = []
    for name, part in table.groupby(row, sort=False):
        part = part.sort_values(size)
        sizes = [f"{s:g}" for s in dict.fromkeys(part[size])]
        unit = "training examples" if size == "train_examples" else "of the training set"
        lines.append(f"- **{name}** ({' → '.join(sizes)} {unit}):")
        for m, runs in part.groupby(method, sort=False):
            scores = " → ".join(_pm(r["mean"], r["std"]) for _, r in runs.iterrows())
            epochs = " → ".join(f"{e:.1f}" for e in runs["epochs"])
            lines.append(f"  - `{m}`: test {metric} {scores}; epochs {epochs}; "
                         f"converged {int(runs['converged'].sum())}/{int(runs['runs'].sum())}")
        best = []
        for s in dict.fromkeys(part[size]):
            cell = part[part[size] == s]
            best.append(" = ".join(f"`{m}`" for m in cell[cell["mean"] == cell["mean"].max()][method]))
        same = len(set(best)) == 1
        lines.append(f"  - best mean: {best[0]} at every size" if same else
                     "  - best mean: " + ", ".join(f"{b} at {s}" for b, s in zip(best, sizes)))
    return "\n".join(lines)


def overlap_findings(overlap) -> str:
    """Per pair of runs: the mean Jaccard overlap over the layers against its chance level."""
    lines = []
    for pair, part in overlap.groupby("pair", sort=False):
        j, c = part["jaccard"].mean(), part["chance"].mean()
        lines.append(f"- **{pair}**: {j:.3f} in common on average over {len(part)} layers "
                     f"(chance {c:.3f}; {part['jaccard'].min():.3f}–{part['jaccard'].max():.3f} by layer)")
    return "\n".join(lines)


def drift_findings(final, by: str = "strategy") -> str:
    """Per strategy: the mean drift over the transformer layers at the end, and its range by layer."""
    layers = final[final["group"].astype(str).str.isdigit()]
    lines = []
    for name, part in layers.groupby(by, sort=False):
        lines.append(f"- `{name}`: ‖W − W⁰‖/‖W⁰‖ {part['mean'].mean():.4f} on average over "
                     f"{len(part)} layers "
                     f"({part['mean'].min():.4f}–{part['mean'].max():.4f} by layer)")
    return "\n".join(lines)
