"""Figures: the palette is colour-blind safe and used, every figure has a title, axis labels and a legend,
and the explorer's pictures agree with the stability theory they illustrate."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.colors import to_hex  # noqa: E402
from matplotlib.contour import ContourSet  # noqa: E402

from gfteach import METHODS  # noqa: E402
from gfteach.analysis import kepler_ivp, quadratic_path, work_precision  # noqa: E402
from gfteach.plotting import (  # noqa: E402
    METHOD_STYLE,
    OKABE_ITO,
    STYLE,
    gd_norms_plot,
    method_label,
    order_plot,
    path_plot,
    solutions_plot,
    stability_region_figure,
    step_size_figure,
    use_style,
    work_precision_plot,
)
from gfteach.widgets import EXPLORER_A, EXPLORER_THETA0, explorer_fallback_figure, explorer_figure, ode_explorer  # noqa: E402

f64 = torch.float64


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _check_readable(fig):
    """Every visible axes has a title (or the figure has one), labelled axes; a legend exists somewhere."""
    axes = [ax for ax in fig.axes if ax.get_visible()]
    assert axes
    for ax in axes:
        assert ax.get_xlabel() and ax.get_ylabel(), "unlabelled axis"
        assert ax.get_title() or fig._suptitle is not None, "untitled axes"
    assert any(ax.get_legend() for ax in axes) or fig.legends, "no legend"
    palette = {c.lower() for c in OKABE_ITO.values()}
    for ax in axes:
        for line in ax.get_lines():
            if line.get_label().startswith("_"):
                continue
            assert to_hex(line.get_color()).lower() in palette, f"{line.get_label()} uses {line.get_color()}"


def test_palette_is_okabe_ito_and_styles_are_distinct():
    assert {v.upper() for v in OKABE_ITO.values()} == {
        "#000000",
        "#E69F00",
        "#56B4E9",
        "#009E73",
        "#F0E442",
        "#0072B2",
        "#D55E00",
        "#CC79A7",
    }
    methods = [m for m in METHOD_STYLE if m != "exact"]
    assert set(methods) == set(METHODS)
    for key in ("color", "linestyle", "marker"):
        values = [str(METHOD_STYLE[m][key]) for m in methods]
        assert len(set(values)) == len(values), f"two methods share a {key}"


def test_use_style_sets_small_consistent_figures():
    use_style()
    rc = matplotlib.rcParams
    assert rc["figure.dpi"] == rc["savefig.dpi"] == 100
    assert rc["axes.grid"] and [to_hex(c["color"]).upper() for c in rc["axes.prop_cycle"]][0] == OKABE_ITO["blue"]
    assert STYLE["figure.figsize"][0] <= 8


def test_method_label():
    assert method_label("rk4") == "RK4" and method_label(METHODS["dopri5"]) == "DOPRI5"


def test_order_plot_has_slopes_in_legend():
    h = np.array([0.1, 0.05, 0.025])
    fig = order_plot({"euler": h, "rk4": h}, {"euler": 2 * h, "rk4": h**4}, {"euler": 1.0, "rk4": 4.0})
    _check_readable(fig)
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert labels == ["Euler (slope 1)", "RK4 (slope 4)"]
    assert fig.axes[0].get_xscale() == fig.axes[0].get_yscale() == "log"


def test_stability_region_figure_outlines_each_method():
    fig = stability_region_figure(["euler", "rk4"])
    _check_readable(fig)
    texts = [t.get_text() for t in fig.legends[0].get_texts()]
    assert texts == ["Euler (real limit 2)", "RK4 (real limit 2.785)"]
    # the Euler outline is the circle |z + 1| = 1
    ax = fig.axes[0]
    outlines = [c for c in ax.collections if isinstance(c, ContourSet) and not c.filled]
    assert len(outlines) == 2 and to_hex(outlines[0].get_edgecolor()[0]) == OKABE_ITO["vermillion"].lower()
    pts = np.concatenate(outlines[0].allsegs[0])
    np.testing.assert_allclose(np.hypot(pts[:, 0] + 1, pts[:, 1]), 1.0, atol=0.02)


def test_path_solution_work_step_and_norm_plots_are_readable():
    A = torch.diag(torch.tensor([1.0, 4.0], dtype=f64))
    _, p = quadratic_path(A, [1.0, 1.0], "euler", 0.1, 2.0)
    _check_readable(path_plot(A, {"euler": p}, p, title="t"))
    t = torch.linspace(0, 1, 5, dtype=f64)
    _check_readable(solutions_plot((t.numpy(), t.numpy()), {"Euler, h = 0.25": (t, t[:, None])}, title="s"))
    ivp = kepler_ivp(0.5)
    run = work_precision(ivp, "rk4", steps=[ivp.t_end / 50, ivp.t_end / 100])
    _check_readable(work_precision_plot({"RK4, fixed step": run}))
    orbit = torch.stack([ivp.solution(s) for s in np.linspace(0, ivp.t_end, 50)])
    _check_readable(step_size_figure(orbit, orbit[:10], [0.0, 0.5, 1.0], [0.5, 0.5, 0.3]))
    _check_readable(gd_norms_plot({"a": [1.0, 0.5], "b": [1.0, 2.0]}, title="GD"))


@pytest.mark.parametrize(
    "method, step, stable",
    [
        ("euler", 0.19, True),
        ("euler", 0.21, False),
        ("rk4", 0.27, True),
        ("rk4", 0.29, False),
        ("dopri5", 0.32, True),
        ("dopri5", 0.34, False),
    ],
)
def test_explorer_verdict_matches_the_iterates(method, step, stable):
    fig = explorer_figure(method, step)
    _check_readable(fig)
    title = fig.axes[0].get_title()
    assert title.endswith(": stable") if stable else title.endswith(": unstable")
    # ... and the verdict is true: the iterates shrink or grow over a long run
    _, path = quadratic_path(EXPLORER_A, EXPLORER_THETA0, method, step, 60.0)
    assert (float(path[-1].norm()) < 1e-3) if stable else (float(path[-1].norm()) > 10)
    # the marked points -h*lambda_i sit at -h and -10h
    xs = sorted(fig.axes[1].get_lines()[-1].get_xdata())
    np.testing.assert_allclose(xs, [-10 * step, -step], rtol=1e-12)


def test_explorer_matrix_has_eigenvalues_1_and_10():
    np.testing.assert_allclose(torch.linalg.eigvalsh(EXPLORER_A).numpy(), [1.0, 10.0], rtol=1e-12)


def test_fallback_figure_is_a_grid_of_small_multiples():
    cases = [("euler", 0.1), ("euler", 0.21), ("rk4", 0.1), ("heun", 0.15), ("dopri5", 0.3)]
    fig = explorer_fallback_figure(cases, ncols=3)
    _check_readable(fig)
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert len(visible) == 5 and len(fig.axes) == 6
    assert [ax.get_title().split(",")[0] for ax in visible] == ["Euler", "Euler", "RK4", "Heun", "DOPRI5"]


def test_ode_explorer_widget_calls_the_tested_figure(monkeypatch):
    pytest.importorskip("ipywidgets")
    import gfteach.widgets as W

    calls = []
    real = W.explorer_figure
    monkeypatch.setattr(W, "explorer_figure", lambda m, s: calls.append((m, s)) or real(m, s))
    box = ode_explorer(("euler", "rk4"))
    (method, step), out = box.children[0].children, box.children[1]
    assert [v for _, v in method.options] == ["euler", "rk4"] and step.min > 0 and step.max >= 0.3
    assert calls == [("euler", 0.1)] and len(out.outputs) == 1 and "image/png" in out.outputs[0]["data"]
    step.value = 0.25
    method.value = "rk4"
    assert calls[-2:] == [("euler", 0.25), ("rk4", 0.25)]
    assert len(out.outputs) == 1  # replaced, not appended
    assert not plt.get_fignums()  # figures are closed after being handed to the widget
