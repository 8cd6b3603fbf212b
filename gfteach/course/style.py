"""The course's look: one colour-blind-safe palette, figure sizes that stay readable at column width,
and tables rendered as tables.

Every figure of the course is at most :data:`MAX_WIDTH` inches wide, so that in the book's text column
(about 670 CSS px in a 1280-px window) it renders at ≥ 80 effective dpi: 8-pt tick labels stay ≥ 9 px.
Wide content is laid out in rows, not squeezed side by side. A chapter calls :func:`use_style` once.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib as mpl
from cycler import cycler

__all__ = ["OKABE_ITO", "CYCLE", "STYLE", "MAX_WIDTH", "use_style", "figsize", "table"]

#: Okabe & Ito (2008), "Color Universal Design": safe for protanopia, deuteranopia and tritanopia.
OKABE_ITO = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky blue": "#56B4E9",
    "bluish green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish purple": "#CC79A7",
}

#: the order in which series take colours (yellow last: it is faint on white).
_ORDER = ("blue", "vermillion", "bluish green", "orange", "reddish purple", "sky blue", "black", "yellow")
CYCLE = [OKABE_ITO[k] for k in _ORDER]

#: the widest figure, in inches: 7 in in a ~670-px column is ~96 effective dpi.
MAX_WIDTH = 7.0

#: rcParams of every figure. dpi 120 keeps lines crisp when a reader clicks to enlarge.
STYLE = {
    "figure.dpi": 120,
    "savefig.dpi": 120,
    "figure.figsize": (MAX_WIDTH, 4.0),
    "figure.constrained_layout.use": True,
    "figure.facecolor": "white",
    "axes.prop_cycle": cycler(color=CYCLE),
    "axes.grid": True,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": 10.5,
    "axes.labelsize": 10,
    "figure.titlesize": 11,
    "grid.alpha": 0.35,
    "grid.linewidth": 0.6,
    "font.size": 10,
    "xtick.labelsize": 9,
    "ytick.labelsize": 9,
    "legend.fontsize": 9,
    "legend.frameon": False,
    "lines.linewidth": 1.6,
    "lines.markersize": 4.5,
    "image.cmap": "cividis",
}


def use_style() -> None:
    """Apply :data:`STYLE` to matplotlib's rcParams (chapters call this once; figure helpers call it too)."""
    mpl.rcParams.update(STYLE)


def figsize(rows: int = 1, height_per_row: float = 3.2, width: float = MAX_WIDTH) -> tuple[float, float]:
    """A figure size for ``rows`` rows of panels, never wider than :data:`MAX_WIDTH`."""
    if width > MAX_WIDTH:
        raise ValueError(f"width must be at most MAX_WIDTH = {MAX_WIDTH} in (readability at column width), got {width}")
    return (width, rows * height_per_row)


class _Table:
    """A table shown as Markdown (the book renders it as an HTML table; Jupyter and Colab too)."""

    def __init__(self, markdown: str, text: str):
        self.markdown, self.text = markdown, text

    def _repr_markdown_(self) -> str:
        return self.markdown

    def __repr__(self) -> str:
        return self.text


def _cell(value, digits: int) -> str:
    if isinstance(value, float):
        return f"{value:.{digits}g}"
    return str(value)


def table(rows: Sequence[Sequence], headers: Sequence[str], *, digits: int = 4, align: str | None = None) -> _Table:
    """A table of ``rows`` under ``headers``, floats rounded to ``digits`` significant digits.

    Leave it as a cell's last value to display it. ``align`` is one character per column (``l``/``r``/``c``);
    by default text columns are left-aligned and numbers right-aligned.
    """
    rows = [list(r) for r in rows]
    if any(len(r) != len(headers) for r in rows):
        raise ValueError(f"every row must have {len(headers)} cells (one per header)")
    cells = [[_cell(v, digits) for v in r] for r in rows]
    if align is None:
        numeric = [all(isinstance(r[j], (int, float)) for r in rows) for j in range(len(headers))]
        align = "".join("r" if n else "l" for n in numeric)
    rule = {"l": ":---", "r": "---:", "c": ":---:"}
    md = [
        "| " + " | ".join(h.replace("|", "\\|") for h in headers) + " |",
        "| " + " | ".join(rule[a] for a in align) + " |",
    ]
    md += ["| " + " | ".join(c.replace("|", "\\|") for c in r) + " |" for r in cells]
    widths = [max(len(h), *(len(r[j]) for r in cells)) if cells else len(h) for j, h in enumerate(headers)]
    text = ["  ".join(h.ljust(w) for h, w in zip(headers, widths))]
    text += ["  ".join(c.rjust(w) if a == "r" else c.ljust(w) for c, w, a in zip(r, widths, align)) for r in cells]
    return _Table("\n".join(md), "\n".join(text))
