"""Explorers: a figure that answers its controls, live in Jupyter and Colab, and in the static book.

An explorer is a drawing function and a few discrete controls::

    explorer(draw, choice("method", "method", {"Euler": "euler", "RK4": "rk4"}),
             slider("step", "step h", [0.05, 0.1, 0.2, 0.3]), alt="paths of a method on a quadratic")

where ``draw(method=..., step=...)`` returns a matplotlib figure. Left as a cell's last value it shows

* **live** (a kernel is running: Jupyter, JupyterLab, Colab, on ipywidgets 8 or Colab's 7.7.1): a
  ``Dropdown``/``SelectionSlider`` per control above the figure, redrawn on every change;
* **in the static book** (no kernel, no network): the same controls as plain HTML, switching between
  figures precomputed over the whole control grid by ``book/_static/gfteach-explorer.js``, which the
  book serves itself. Frames are precomputed only when ``GFTEACH_EXPLORER_FRAMES=all`` is set (as
  ``python3 tasks.py refresh`` does); otherwise the HTML holds the initial figure alone and no controls,
  so a control shown in the book is never dead. With JavaScript off the initial figure still shows.

Both views come in one display bundle (widget view and ``text/html``): a live front end picks the widget,
the book (``nb_mime_priority_overrides`` in ``_config.yml``) the HTML. Every frame is drawn by the same
``draw`` the tests call, so what a reader sees is what the tests check.
"""

from __future__ import annotations

import base64
import hashlib
import html
import io
import itertools
import json
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import matplotlib.pyplot as plt

__all__ = ["Control", "choice", "slider", "Explorer", "explorer", "figure_png", "FRAMES_ENV", "MAX_FRAMES"]

#: set to ``all`` to precompute every frame for the static book (``tasks.py refresh`` does).
FRAMES_ENV = "GFTEACH_EXPLORER_FRAMES"
#: the largest control grid an explorer may have (keeps a chapter page small).
MAX_FRAMES = 60


@dataclass(frozen=True)
class Control:
    """One control: the keyword ``name`` passed to ``draw``, its ``description``, its discrete
    ``values`` with their display ``labels``, the initial ``index``, and its ``kind`` (``choice`` or ``slider``)."""

    name: str
    description: str
    values: tuple
    labels: tuple[str, ...]
    index: int
    kind: str


def _control(kind: str, name: str, description: str, values, labels, value) -> Control:
    if not (isinstance(name, str) and name.isidentifier()):
        raise ValueError(f"name must be a Python identifier (the keyword passed to draw), got {name!r}")
    values, labels = tuple(values), tuple(str(x) for x in labels)
    if not values:
        raise ValueError(f"control {name!r} needs at least one value")
    if len(set(labels)) != len(labels):
        raise ValueError(f"control {name!r} has repeated labels: {labels}")
    if value is None:
        index = 0
    else:
        matches = [i for i, v in enumerate(values) if v == value]
        if not matches:
            raise ValueError(f"initial value {value!r} of control {name!r} is not among its values {values}")
        index = matches[0]
    return Control(name, description, values, labels, index, kind)


def choice(name: str, description: str, options: Sequence | Mapping, value=None) -> Control:
    """A drop-down: ``options`` is a sequence of values (shown as ``str``) or a mapping label → value."""
    if isinstance(options, Mapping):
        labels, values = list(options.keys()), list(options.values())
    else:
        values = list(options)
        labels = [str(v) for v in values]
    return _control("choice", name, description, values, labels, value)


def slider(name: str, description: str, values: Sequence[float], value=None, fmt: str = "{:g}") -> Control:
    """A slider over the discrete, increasing ``values`` (each shown with ``fmt``)."""
    values = list(values)
    if any(b <= a for a, b in zip(values, values[1:])):
        raise ValueError(f"slider {name!r} needs strictly increasing values, got {values}")
    return _control("slider", name, description, values, [fmt.format(v) for v in values], value)


def figure_png(fig: plt.Figure) -> bytes:
    """``fig`` as PNG bytes (at the style's dpi, tight bounding box); closes ``fig``."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", bbox_inches="tight")
    plt.close(fig)
    return buffer.getvalue()


def _data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


class Explorer:
    """See the module. ``alt`` describes the figure for screen readers (the values are appended)."""

    def __init__(self, draw: Callable[..., plt.Figure], controls: Sequence[Control], alt: str):
        if not callable(draw):
            raise TypeError(f"draw must be a function returning a matplotlib figure, got {draw!r}")
        if not controls or not all(isinstance(c, Control) for c in controls):
            raise TypeError("controls must be one or more Control objects (made by choice or slider)")
        if len({c.name for c in controls}) != len(controls):
            raise ValueError("controls must have distinct names")
        size = 1
        for c in controls:
            size *= len(c.values)
        if size > MAX_FRAMES:
            raise ValueError(f"the control grid has {size} combinations; at most {MAX_FRAMES} are allowed")
        if not (isinstance(alt, str) and alt.strip()):
            raise ValueError("alt must describe the figure (a non-empty string)")
        self.draw, self.controls, self.alt = draw, tuple(controls), alt
        self._pngs: dict[tuple[int, ...], bytes] = {}

    @property
    def initial(self) -> tuple[int, ...]:
        return tuple(c.index for c in self.controls)

    def values(self, index: Sequence[int]) -> dict:
        """The keyword arguments of ``draw`` at grid position ``index``."""
        return {c.name: c.values[i] for c, i in zip(self.controls, index)}

    def png(self, index: Sequence[int]) -> bytes:
        """The frame at grid position ``index``, drawn once and cached."""
        index = tuple(index)
        if index not in self._pngs:
            fig = self.draw(**self.values(index))
            if not isinstance(fig, plt.Figure):
                raise TypeError(f"draw must return a matplotlib Figure, got {type(fig).__name__}")
            self._pngs[index] = figure_png(fig)
        return self._pngs[index]

    def describe(self, index: Sequence[int]) -> str:
        words = ", ".join(f"{c.description} = {c.labels[i]}" for c, i in zip(self.controls, index))
        return f"{self.alt} ({words})"

    # -- the static book ------------------------------------------------------------------------------

    def html(self, all_frames: bool | None = None) -> str:
        """The static view: controls and precomputed frames (``all_frames``), or the initial figure alone."""
        if all_frames is None:
            all_frames = os.environ.get(FRAMES_ENV, "") == "all"
        first = self.initial
        img = (
            f'<img class="gft-explorer-frame" src="{_data_uri(self.png(first))}" '
            f'alt="{html.escape(self.describe(first))}">'
        )
        if not all_frames:
            return f'<div class="gft-explorer gft-explorer-static">{img}</div>'
        grid = itertools.product(*(range(len(c.values)) for c in self.controls))
        frames = {"-".join(map(str, index)): _data_uri(self.png(index)) for index in grid}
        data = {"alt": self.alt, "descriptions": [c.description for c in self.controls],
                "labels": [list(c.labels) for c in self.controls], "frames": frames}  # fmt: skip
        uid = "gft-" + hashlib.sha1(json.dumps(data, sort_keys=True).encode()).hexdigest()[:12]
        parts = []
        for j, c in enumerate(self.controls):
            field = f"{uid}-{j}"
            label = f'<label for="{field}">{html.escape(c.description)}</label>'
            if c.kind == "choice":
                options = "".join(
                    f'<option value="{i}"{" selected" if i == c.index else ""}>{html.escape(lab)}</option>'
                    for i, lab in enumerate(c.labels)
                )
                widget = f'<select id="{field}" data-control="{j}">{options}</select>'
            else:
                widget = (
                    f'<input id="{field}" type="range" min="0" max="{len(c.values) - 1}" step="1" '
                    f'value="{c.index}" data-control="{j}">'
                    f'<output data-for="{j}">{html.escape(c.labels[c.index])}</output>'
                )
            parts.append(f'<span class="gft-explorer-control">{label}{widget}</span>')
        payload = json.dumps(data).replace("</", "<\\/")
        return (
            f'<div class="gft-explorer" id="{uid}">'
            f'<div class="gft-explorer-controls" hidden>{"".join(parts)}</div>{img}'
            f'<script type="application/json" class="gft-explorer-data">{payload}</script></div>'
        )

    # -- live, in a kernel ------------------------------------------------------------------------------

    def widget(self):
        """The live view: ipywidgets controls above an ``Output`` showing the figure (ipywidgets 7.7 or 8)."""
        import ipywidgets as W
        from IPython.display import Image

        boxes = []
        for c in self.controls:
            options = list(zip(c.labels, range(len(c.values))))
            cls = W.Dropdown if c.kind == "choice" else W.SelectionSlider
            extra = {} if c.kind == "choice" else {"continuous_update": False}
            boxes.append(cls(options=options, value=c.index, description=c.description,
                             style={"description_width": "initial"}, **extra))  # fmt: skip
        out = W.Output()

        def redraw(*_):
            png = self.png(tuple(b.value for b in boxes))
            # append_display_data, not `with out:`, so drawing sends no output-capture messages and
            # headless execution (nbconvert, nbval) stays deterministic
            out.outputs = ()
            out.append_display_data(Image(data=png, format="png"))

        for b in boxes:
            b.observe(redraw, names="value")
        redraw()
        return W.VBox([W.HBox(boxes), out])

    def _repr_mimebundle_(self, include=None, exclude=None):
        bundle = {"text/plain": self.describe(self.initial), "text/html": self.html()}
        try:
            from IPython import get_ipython

            live = get_ipython() is not None and getattr(get_ipython(), "kernel", None) is not None
            if live:
                box = self.widget()
                bundle["application/vnd.jupyter.widget-view+json"] = {
                    "version_major": 2,
                    "version_minor": 0,
                    "model_id": box.model_id,
                }
                self._box = box  # keep the widget alive while it is displayed
        except ImportError:  # no ipywidgets: the HTML view alone
            pass
        return bundle


def explorer(draw: Callable[..., plt.Figure], *controls: Control, alt: str) -> Explorer:
    """An :class:`Explorer` of ``draw`` over ``controls``; leave it as a cell's last value to show it."""
    return Explorer(draw, controls, alt)
