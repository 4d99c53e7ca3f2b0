"""The dashboard's plots, drawn on the server as inline SVG.

Hubs are often offline, so nothing is fetched by the browser: matplotlib
draws each figure, and the SVG goes into the page itself, with text kept as
text (small, selectable) and no metadata, DOCTYPE or namespace URLs.
"""

from __future__ import annotations

import io
import re
from typing import Sequence

import matplotlib

matplotlib.use("Agg")  # a server has no display; select before pyplot is imported anywhere

from matplotlib.figure import Figure  # noqa: E402 - after the backend is chosen

# xmlns declarations are URLs the browser never fetches, but an inline <svg> in
# HTML5 needs none of them; dropping them keeps every page free of URLs.
_NAMESPACES = re.compile(r'\s+xmlns(?::\w+)?="[^"]*"')
_PROLOGUE = re.compile(r"^.*?(?=<svg)", re.DOTALL)


def _svg(figure: Figure, title: str) -> str:
    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "font.size": 9}):
        figure.savefig(buffer, format="svg", bbox_inches="tight",
                       metadata={"Creator": None, "Date": None, "Format": None, "Type": None})
    svg = _NAMESPACES.sub("", _PROLOGUE.sub("", buffer.getvalue(), count=1))
    # role and label make the figure readable to screen readers
    return svg.replace("<svg", f'<svg role="img" aria-label="{_attribute(title)}"', 1)


def _attribute(text: str) -> str:
    return text.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")


def score_histogram(scores: Sequence[float], max_score: float | None, title: str) -> str:
    """A histogram of ``scores`` from 0 to ``max_score``, as an SVG element."""
    figure = Figure(figsize=(5.0, 2.6))
    axes = figure.add_subplot()
    top = max_score if max_score else (max(scores) if scores else 1.0)
    bins = min(20, max(5, int(top))) if top >= 1 else 10
    axes.hist(list(scores), bins=bins, range=(0, top or 1.0), color="#4c72b0", edgecolor="white")
    axes.set_xlabel(f"score (out of {top:g})")
    axes.set_ylabel("submissions")
    axes.yaxis.get_major_locator().set_params(integer=True)
    axes.set_title(title if scores else f"{title}: no graded submission yet")
    axes.spines[["top", "right"]].set_visible(False)
    return _svg(figure, title)


def failure_bars(labels: Sequence[str], shares: Sequence[float], title: str) -> str:
    """Horizontal bars: the share of graded submissions failing each check, as an SVG element."""
    height = 0.9 + 0.28 * max(1, len(labels))
    figure = Figure(figsize=(5.0, height))
    axes = figure.add_subplot()
    positions = list(range(len(labels)))
    axes.barh(positions, [100 * s for s in shares], color="#c44e52")
    axes.set_yticks(positions, list(labels))
    axes.invert_yaxis()  # the most failed check on top
    axes.set_xlim(0, 100)
    axes.set_xlabel("% of graded submissions losing points")
    axes.set_title(title)
    axes.spines[["top", "right"]].set_visible(False)
    return _svg(figure, title)
