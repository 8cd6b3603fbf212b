"""Interactive explorers, and the static figure each one falls back to in the online book.

The widget callbacks only call tested functions (:func:`explorer_figure`), so what a reader sees
when dragging a slider is exactly what the tests check.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch

from .analysis import quadratic_ivp, quadratic_path
from .butcher import get_method
from .plotting import method_label, path_axes, stability_axes, use_style

__all__ = [
    "EXPLORER_A",
    "EXPLORER_THETA0",
    "explorer_figure",
    "explorer_fallback_figure",
    "ode_explorer",
    "show_figure",
]


def show_figure(out, fig: plt.Figure) -> None:
    """Replace what the ``ipywidgets.Output`` ``out`` shows by ``fig`` (as a PNG), and close ``fig``.

    The image goes in with ``append_display_data`` rather than by capturing output (``with out:``), so
    an explorer's first drawing sends no output-capture messages: headless execution (nbconvert,
    nbval) stays deterministic. Every explorer of the course draws through this.
    """
    from IPython.display import Image

    png = io.BytesIO()
    fig.savefig(png, format="png", bbox_inches="tight")
    plt.close(fig)
    out.outputs = ()
    out.append_display_data(Image(data=png.getvalue(), format="png"))


_c, _s = np.cos(np.pi / 6), np.sin(np.pi / 6)
_Q = torch.tensor([[_c, -_s], [_s, _c]], dtype=torch.float64)
#: the explorer's quadratic: eigenvalues 1 and 10, eigenvectors rotated by 30 degrees.
EXPLORER_A = _Q @ torch.diag(torch.tensor([1.0, 10.0], dtype=torch.float64)) @ _Q.T
EXPLORER_THETA0 = torch.tensor([-1.6, 1.2], dtype=torch.float64)
_T = 3.0


def _verdict(method: str, step: float, lam_max: float) -> str:
    limit = get_method(method).stability_limit
    ratio = step * lam_max
    sign = "<" if ratio < limit else (">" if ratio > limit else "=")
    word = "stable" if ratio < limit else "unstable"
    return f"$h\\lambda_{{\\max}} = {ratio:.3g} {sign} {limit:.4g}$: {word}"


def _panel(ax, A, theta0, method: str, step: float, t_end: float, lim: float) -> None:
    t, path = quadratic_path(A, theta0, method, step, t_end)
    ivp = quadratic_ivp(A, theta0, t_end)
    exact = torch.stack([ivp.solution(float(s)) for s in np.linspace(0, t_end, 200)])
    path_axes(ax, A, {method: path}, exact, lim=lim)
    lam_max = float(torch.linalg.eigvalsh(torch.as_tensor(A, dtype=torch.float64))[-1])
    ax.set_title(f"{method_label(method)}, $h = {step:.3g}$\n{_verdict(method, step, lam_max)}", fontsize=9.5)


def explorer_figure(method: str = "euler", step: float = 0.1, A=None, theta0=None, t_end: float = _T) -> plt.Figure:
    r"""The explorer's view for one (method, step): left, the iterates against the exact flow
    :math:`e^{-At}\theta_0`; right, the method's stability region with the points
    :math:`z_i = -h\lambda_i(A)`: the run is stable exactly when every point lies inside."""
    use_style()
    A = EXPLORER_A if A is None else torch.as_tensor(A, dtype=torch.float64)
    theta0 = EXPLORER_THETA0 if theta0 is None else torch.as_tensor(theta0, dtype=torch.float64)
    name = get_method(method).name
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9.5, 4.3))
    _panel(ax1, A, theta0, name, step, t_end, lim=2.0)
    ax1.legend(loc="lower left")
    handles = stability_axes(ax2, [name], re=(-4.5, 0.8), im=(-3.0, 3.0), n=301)
    lam = torch.linalg.eigvalsh(A).numpy()
    z = -step * lam
    pts = ax2.plot(
        z, np.zeros_like(z), linestyle="", marker="X", markersize=9, color="black", label=r"$z_i = -h\lambda_i(A)$"
    )[0]
    ax2.set_title("Stability region and the eigenvalues, scaled by $-h$", fontsize=9.5)
    ax2.legend(handles=[*handles, pts], loc="upper left")
    fig.suptitle(r"Gradient flow $\theta' = -A\theta$, eigenvalues of $A$: 1 and 10")
    return fig


def explorer_fallback_figure(
    cases: Sequence[tuple[str, float]] = (
        ("euler", 0.1),
        ("euler", 0.19),
        ("euler", 0.21),
        ("rk4", 0.1),
        ("rk4", 0.27),
        ("rk4", 0.29),
    ),
    ncols: int = 3,
    A=None,
    theta0=None,
    t_end: float = _T,
) -> plt.Figure:
    """Small multiples of the explorer's left panel over representative (method, step) pairs."""
    use_style()
    A = EXPLORER_A if A is None else torch.as_tensor(A, dtype=torch.float64)
    theta0 = EXPLORER_THETA0 if theta0 is None else torch.as_tensor(theta0, dtype=torch.float64)
    nrows = -(-len(cases) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(3.2 * ncols, 3.35 * nrows + 0.5), squeeze=False)
    for ax, (method, step) in zip(axes.flat, cases):
        _panel(ax, A, theta0, get_method(method).name, step, t_end, lim=2.0)
        ax.set(xlabel=r"$\theta_1$", ylabel=r"$\theta_2$")
    for ax in axes.flat[len(cases) :]:
        ax.set_visible(False)
    handles, labels = [], []
    for ax in axes.flat[: len(cases)]:
        for h, lab in zip(*ax.get_legend_handles_labels()):
            if lab not in labels:
                handles.append(h)
                labels.append(lab)
    fig.legend(handles, labels, loc="outside lower center", ncols=len(labels))
    fig.suptitle("Iterates on a quadratic with eigenvalues 1 and 10, just inside and just outside the stability limit")
    return fig


def explorer(controls, draw):
    """A ``VBox`` of ``controls`` (ipywidgets) above a figure, redrawn as ``draw(*values)`` on every change.

    The course's explorers are all this: controls, a figure function, and :func:`show_figure`.
    """
    import ipywidgets as W

    out = W.Output()

    def redraw(*_):
        show_figure(out, draw(*(c.value for c in controls)))

    for c in controls:
        c.observe(redraw, names="value")
    redraw()
    return W.VBox([W.HBox(list(controls)), out])


def ode_explorer(methods: Sequence[str] = ("euler", "heun", "rk4", "dopri5"), step: float = 0.1):
    """An ipywidgets explorer: pick a method and a step size; see the path and the stability picture.

    Returns a ``VBox`` (controls above, figure below); leave it as a cell's last value to display it.
    Each change redraws with :func:`explorer_figure`. The figure is placed in the ``Output`` widget with
    ``append_display_data`` rather than by capturing printed output (``with out:``), so executing the
    cell sends no output-capture messages: headless execution (nbconvert, nbval) stays deterministic.
    """
    import ipywidgets as W

    method_box = W.Dropdown(options=[(method_label(m), m) for m in methods], value=methods[0], description="method")
    step_box = W.FloatSlider(
        value=step, min=0.02, max=0.4, step=0.01, description="step h", readout_format=".2f", continuous_update=False
    )
    return explorer([method_box, step_box], explorer_figure)
