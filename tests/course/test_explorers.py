"""The explorer machinery: every frame is ``draw`` at its grid point, the static HTML switches between
exactly those frames, and the live widget redraws on every control (ipywidgets 8 here; the Colab-like
test runs the chapters on 7.7.1)."""

import base64
import json
import re

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from gfteach.course.explorers import FRAMES_ENV, MAX_FRAMES, Explorer, choice, explorer, slider  # noqa: E402

CALLS = []


def draw(kind, a):
    CALLS.append((kind, a))
    fig, ax = plt.subplots(figsize=(3, 2))
    ax.plot([0, 1], [0, a], color="red" if kind == "r" else "blue")
    ax.set_title(f"{kind} {a}")
    return fig


def make():
    CALLS.clear()
    return explorer(draw, choice("kind", "colour", {"red": "r", "blue": "b"}), slider("a", "slope", [1, 2, 3], value=2),
                    alt="a line whose colour and slope are chosen")  # fmt: skip


def frames_of(html):
    data = re.search(r'<script type="application/json" class="gft-explorer-data">(.*?)</script>', html, re.S)
    return json.loads(data.group(1).replace("<\\/", "</"))


def test_static_html_holds_every_frame_once_and_each_is_draw_at_its_point():
    ex = make()
    html = ex.html(all_frames=True)
    data = frames_of(html)
    assert sorted(data["frames"]) == [f"{i}-{j}" for i in range(2) for j in range(3)]
    assert sorted(CALLS) == sorted((k, a) for k in "rb" for a in (1, 2, 3))  # each point drawn exactly once
    pngs = {key: base64.b64decode(uri.split(",", 1)[1]) for key, uri in data["frames"].items()}
    assert len(set(pngs.values())) == 6  # six different pictures
    assert pngs["0-2"] == ex.png((0, 2))  # the frame at (red, 3) is the cached drawing of that point
    assert data["labels"] == [["red", "blue"], ["1", "2", "3"]]
    # the initial view is the initial values' frame, with controls at those values
    first = re.search(r'<img class="gft-explorer-frame" src="([^"]+)"', html).group(1)
    assert first == data["frames"]["0-1"]
    assert 'value="1" data-control="1"' in html and '<option value="0" selected>red</option>' in html
    assert "hidden" in html.split("gft-explorer-controls")[1][:20]  # controls appear only when the script runs


def test_without_precomputed_frames_the_book_shows_the_figure_and_no_dead_controls(monkeypatch):
    monkeypatch.delenv(FRAMES_ENV, raising=False)
    ex = make()
    html = ex._repr_mimebundle_()["text/html"]
    assert "data-control" not in html and "gft-explorer-data" not in html
    assert html.count("<img") == 1 and CALLS == [("r", 2)]
    monkeypatch.setenv(FRAMES_ENV, "all")
    assert "data-control" in make()._repr_mimebundle_()["text/html"]


def test_live_widget_redraws_on_every_control():
    pytest.importorskip("ipywidgets")
    ex = make()
    box = ex.widget()
    kind, slope = box.children[0].children
    out = box.children[1]
    seen = [out.outputs[0]["data"]["image/png"]]
    slope.value = 2
    seen.append(out.outputs[0]["data"]["image/png"])
    kind.value = 1
    seen.append(out.outputs[0]["data"]["image/png"])
    assert len(set(seen)) == 3 and len(out.outputs) == 1
    assert CALLS == [("r", 2), ("r", 3), ("b", 3)]


def test_bad_explorers_are_refused_with_clear_messages():
    with pytest.raises(ValueError, match="not among its values"):
        choice("k", "kind", ["a", "b"], value="c")
    with pytest.raises(ValueError, match="strictly increasing"):
        slider("s", "step", [0.2, 0.1])
    with pytest.raises(ValueError, match="identifier"):
        slider("step h", "step", [0.1])
    with pytest.raises(ValueError, match="at most"):
        Explorer(draw, [slider("a", "a", range(MAX_FRAMES + 1))], alt="too many frames to precompute")
    with pytest.raises(ValueError, match="alt"):
        Explorer(draw, [slider("a", "a", [1, 2])], alt=" ")
    with pytest.raises(TypeError, match="Figure"):
        Explorer(lambda a: None, [slider("a", "a", [1, 2])], alt="returns nothing at all").png((0,))
