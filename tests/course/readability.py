"""The readability check shared by the chapters' course tests (imported as ``from readability import ...``:
pytest puts this folder on ``sys.path`` for the test modules beside it, which have no ``__init__.py``).

:func:`assert_readable` is the contract every course figure meets:

* it is at most :data:`gfteach.course.style.MAX_WIDTH` inches wide;
* it has at least one visible axes, and every visible axes has a title (or the figure has a suptitle) and a
  label on both axes, where a label on an axis shared with another visible axes counts (``sharex=True``
  with only the bottom row labelled);
* it has a legend (on some axes or on the figure);
* every visible, non-empty text (tick labels, titles, labels, legend entries, annotations) is at least 8 pt;
* every labelled line (label not starting with ``_``) is drawn in the Okabe–Ito palette
  :data:`gfteach.course.style.OKABE_ITO`.
"""

from matplotlib.colors import to_hex
from matplotlib.text import Text

from gfteach.course.style import MAX_WIDTH, OKABE_ITO

__all__ = ["PALETTE", "MIN_FONT_SIZE", "assert_readable"]

#: the palette's colours as lower-case hex, as :func:`matplotlib.colors.to_hex` writes them.
PALETTE = frozenset(c.lower() for c in OKABE_ITO.values())
#: the smallest font size, in points, of any text a reader has to read.
MIN_FONT_SIZE = 8


def _labelled(ax, axis, visible):
    """Whether ``ax`` has an ``axis`` ("x" or "y") label, its own or one on an axis it shares."""
    group = ax.get_shared_x_axes() if axis == "x" else ax.get_shared_y_axes()
    label = (lambda a: a.get_xlabel()) if axis == "x" else (lambda a: a.get_ylabel())
    return any(label(other) for other in group.get_siblings(ax) if other is ax or other in visible)


def assert_readable(fig, *, own_title_and_legend=False, all_lines=False, palette_exempt=()):
    """Assert that ``fig`` meets the module's readability contract.

    ``own_title_and_legend``: every visible axes must carry its own title and its own legend; a suptitle or
    a legend elsewhere does not stand in (figures whose rows are read one by one).
    ``all_lines``: unlabelled lines too must be in the palette (no grey guide lines).
    ``palette_exempt``: lines whose label contains one of these strings need not be in the palette (a neutral
    marker that is labelled so the legend explains it).
    """
    assert fig.get_figwidth() <= MAX_WIDTH + 1e-9, f"{fig.get_figwidth()} in wide, more than {MAX_WIDTH}"
    fig.canvas.draw()
    axes = [ax for ax in fig.axes if ax.get_visible()]
    assert axes, "no visible axes"
    for i, ax in enumerate(axes):
        where = f"axes {i} ({ax.get_title()!r})"
        assert _labelled(ax, "x", axes) and _labelled(ax, "y", axes), f"unlabelled axis on {where}"
        if own_title_and_legend:
            assert ax.get_title(), f"untitled {where}"
            assert ax.get_legend() is not None, f"no legend on {where}"
        else:
            assert ax.get_title() or fig.get_suptitle(), f"untitled {where} and no suptitle"
        for line in ax.get_lines():
            label = line.get_label()
            if (all_lines or not label.startswith("_")) and not any(s in label for s in palette_exempt):
                assert to_hex(line.get_color()).lower() in PALETTE, f"{label!r} on {where} is off the palette"
    assert any(ax.get_legend() for ax in axes) or fig.legends, "no legend"
    texts = [t for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()]
    assert texts, "no text"
    small = [(t.get_text(), t.get_fontsize()) for t in texts if t.get_fontsize() < MIN_FONT_SIZE]
    assert not small, f"text below {MIN_FONT_SIZE} pt: {small}"
