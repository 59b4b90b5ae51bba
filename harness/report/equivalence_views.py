"""Generations compared, for people: views and figures over equivalence.parquet and similarity.parquet
(harness/equivalence/classes.py). The notebook `generations.ipynb` and the report show these.

Two implementations are equivalent exactly when they are in the same behaviour class (classes are equality of
normalised observations over one battery), so a chain's generation x generation matrix is read off the classes.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

UNKNOWN = -1  # behaviour class of an implementation that could not be recorded entirely
NO_LATER_GENERATION = "no chain has a generation past 0 with code\nto compare with its parent"


def generation_matrix(equivalence: pd.DataFrame, chain_root: str) -> pd.DataFrame:
    """generation x generation for one chain: 1.0 where the two generations behave alike, 0.0 where they do
    not, NaN where either could not be recorded."""
    chain = equivalence[equivalence["chain_root"] == chain_root].sort_values("generation")
    classes = chain.set_index("generation")["behaviour_class"]
    grid = [[np.nan if UNKNOWN in (a, b) else float(a == b) for b in classes] for a in classes]
    return pd.DataFrame(grid, index=classes.index.rename("generation"), columns=classes.index.rename("vs"))


def class_table(equivalence: pd.DataFrame) -> pd.DataFrame:
    """Per spec and behaviour class: its size, one member, and how that member diverges from the reference
    (empty for class 0, the reference's own)."""
    rows = []
    for (spec, number), members in equivalence.groupby(["spec", "behaviour_class"], sort=True):
        first = members.sort_values("trial_id").iloc[0]
        rows.append({"spec": spec, "class": "could not record" if number == UNKNOWN else
                     "reference" if number == 0 else f"class {number}", "trials": len(members),
                     "example trial": first["trial_id"], "divergence from the reference": first["first_divergence"]})
    return pd.DataFrame(rows, columns=["spec", "class", "trials", "example trial", "divergence from the reference"])


def variant_table(equivalence: pd.DataFrame, similarity: pd.DataFrame) -> pd.DataFrame:
    """Per spec and chain variant (parent shown or not), over generations >= 1: how many children, the share
    that behave as their parent, and the median similarity to parent; unrelated pairs of the spec as the
    yardstick of what code written apart scores."""
    children = equivalence[equivalence["generation"] > 0]
    rows = []
    for (spec, shown), group in children.groupby(["spec", "show_parent"], sort=True):
        known = group["same_as_parent"].dropna().astype(bool)
        unrelated = similarity[(similarity["spec"] == spec) & (similarity["pair"] == "unrelated")]["similarity"]
        rows.append({"spec": spec, "parent shown": bool(shown), "children": len(group),
                     "behave as parent": f"{known.sum()}/{len(known)}",
                     "similarity to parent (median)": group["similarity_to_parent"].median(),
                     "unrelated pairs (median)": unrelated.median() if len(unrelated) else np.nan})
    return pd.DataFrame(rows, columns=["spec", "parent shown", "children", "behave as parent",
                                       "similarity to parent (median)", "unrelated pairs (median)"])


def plot_matrices(equivalence: pd.DataFrame, limit: int = 6):
    """One heatmap per chain (the first `limit` by root): generation x generation, same behaviour or not."""
    import matplotlib.pyplot as plt

    roots = sorted(equivalence.loc[equivalence["generation"] > 0, "chain_root"].unique())[:limit]
    fig, axes = plt.subplots(1, max(len(roots), 1), figsize=(3.2 * max(len(roots), 1), 3), squeeze=False)
    for ax, root in zip(axes[0], roots):
        grid = generation_matrix(equivalence, root)
        ax.imshow(grid.to_numpy(dtype=float), vmin=0, vmax=1, cmap="Greens")
        ax.set_xticks(range(len(grid)), grid.columns)
        ax.set_yticks(range(len(grid)), grid.index)
        ax.set_title(f"chain {root[:8]}", fontsize=9)
        ax.set_xlabel("generation")
    if not roots:  # chains may exist, but none has a later generation with code (every SmolLM2 chain)
        axes[0][0].set_axis_off()
        axes[0][0].text(0.5, 0.5, NO_LATER_GENERATION, ha="center", wrap=True)
    fig.suptitle("same behaviour (dark) by generation pair", fontsize=10)
    fig.tight_layout()
    return fig


def plot_similarity(equivalence: pd.DataFrame, similarity: pd.DataFrame):
    """Similarity to parent by generation, one line per chain (dashed when the parent was shown), and the
    spread of unrelated pairs as a band."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.2))
    children = equivalence[equivalence["generation"] > 0].dropna(subset=["similarity_to_parent"])
    for (root, shown), chain in children.groupby(["chain_root", "show_parent"], sort=True):
        chain = chain.sort_values("generation")
        ax.plot(chain["generation"], chain["similarity_to_parent"], "--o" if shown else "-o", markersize=4,
                label=f"{root[:8]}{' (parent shown)' if shown else ''}")
    unrelated = similarity.loc[similarity["pair"] == "unrelated", "similarity"]
    if len(unrelated):
        ax.axhspan(unrelated.min(), unrelated.max(), color="grey", alpha=0.2, label="unrelated pairs")
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel("generation")
    ax.set_ylabel("similarity to parent")
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=7, loc="lower left")
    if children.empty:  # empty axes alone read as a figure that failed to draw
        ax.text(0.5, 0.5, NO_LATER_GENERATION, ha="center", va="center", transform=ax.transAxes)
    fig.tight_layout()
    return fig
