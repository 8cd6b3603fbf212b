"""Draw the intro's teaser figure, ``book/_static/teaser.png``, from the package.

Run from the repository root: ``.venv/bin/python book/_ext/make_teaser.py``. The figure is committed;
rerun this script when the package or the style changes. It computes what the caption in
``book/intro.md`` says (and checks it, so a stale caption fails here): on Chapter 2's two-well landscape,
gradient descent with a small step follows gradient flow, a large step zigzags across the valley, and the
distance between GD and GF at equal time ``t = k*eta`` halves when the step halves.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

import gfteach as gt  # noqa: E402
from gfteach.course.style import OKABE_ITO, figsize, use_style  # noqa: E402
from gfteach.landscapes import get_landscape  # noqa: E402

OUT = Path(__file__).resolve().parents[1] / "_static" / "teaser.png"
LANDSCAPE = get_landscape("two-well")  # Chapter 2's: minima at ±(1, 1/2), negative curvature for |theta_1| < 1/sqrt(3)
SMALL, LARGE = 0.05, 0.5
STEPS = (0.2, 0.1, 0.05, 0.025, 0.0125)


def runs(step: float):
    steps = round(LANDSCAPE.t_end / step)
    gd = gt.gradient_descent(LANDSCAPE.f, LANDSCAPE.start, step, steps)
    gf = gt.gradient_flow(LANDSCAPE.f, LANDSCAPE.start, gt.gd_time_grid(step, steps), rtol=1e-10, atol=1e-12)
    return gd, gf


def main() -> None:
    use_style()
    gt.seed_everything(0)
    results = {step: runs(step) for step in sorted(set(STEPS) | {SMALL, LARGE})}
    fine = runs(0.01)[1]
    objective = gt.as_objective(LANDSCAPE.f)
    lam_min = np.array([float(torch.linalg.eigvalsh(objective.hessian(th))[0]) for th in fine.thetas])
    negative = fine.times.numpy()[lam_min < 0]
    fig, (left, right) = plt.subplots(1, 2, figsize=figsize(1, 3.8), gridspec_kw={"width_ratios": [1.1, 1]})

    x, y = np.meshgrid(np.linspace(-1.6, 1.6, 241), np.linspace(-1.2, 1.5, 241))
    z = LANDSCAPE.f(torch.from_numpy(np.stack([x, y], axis=-1))).numpy()
    left.contour(x, y, z, levels=np.geomspace(0.01, 3, 12), colors="0.75", linewidths=0.7)
    left.axvspan(-1 / np.sqrt(3), 1 / np.sqrt(3), color=OKABE_ITO["sky blue"], alpha=0.15, lw=0,
                 label="negative curvature")  # fmt: skip
    for step, colour, marker, ls in ((LARGE, "vermillion", "s", "-"), (SMALL, "blue", "o", "none")):
        path = results[step][0].thetas.numpy()
        left.plot(path[:, 0], path[:, 1], marker=marker, ms=3.2, lw=0.9, ls=ls, color=OKABE_ITO[colour],
                  label=f"gradient descent, η = {step:g}")  # fmt: skip
    left.plot(*fine.thetas.T.numpy(), color=OKABE_ITO["black"], lw=1.3, label="gradient flow", zorder=3)
    left.plot(*LANDSCAPE.theta0, marker="*", ms=11, color=OKABE_ITO["orange"], ls="none", label="start", zorder=4)
    left.set(xlabel=r"$\theta_1$", ylabel=r"$\theta_2$", title="Paths on a two-well landscape", aspect="equal")
    fig.legend(*left.get_legend_handles_labels(), loc="outside lower center", ncol=3, fontsize=8.5)

    right.axvspan(negative.min(), negative.max(), color=OKABE_ITO["sky blue"], alpha=0.15, lw=0)
    for step, colour in zip(STEPS, ("vermillion", "orange", "bluish green", "blue", "reddish purple")):
        gd, gf = results[step]
        right.plot(gd.times.numpy()[1:], gt.distance(gd, gf).numpy()[1:], color=OKABE_ITO[colour],
                   label=f"η = {step:g}")  # fmt: skip
    right.set(yscale="log", xlabel=r"time $t = k\eta$", ylabel=r"$\|\theta_k - \theta(k\eta)\|$",
              title="Distance of GD from GF, ∝ η")  # fmt: skip
    right.legend(loc="lower left", ncol=2)
    fig.savefig(OUT, bbox_inches="tight")
    plt.close(fig)

    # the caption's claims
    peaks = {step: float(gt.distance(*results[step]).max()) for step in STEPS}
    ratios = [peaks[a] / peaks[b] for a, b in zip(STEPS, STEPS[1:])]
    assert all(1.8 < r < 2.4 for r in ratios), ratios  # halving the step about halves the distance
    for step in (SMALL, LARGE):
        gd, gf = results[step]
        assert torch.allclose(gd.theta_final, gf.theta_final, atol=0.05), step  # both end in the same well
    assert peaks[SMALL] < 0.05 and float(gt.distance(*results[LARGE]).max()) > 0.3
    # the distance peaks while the flow crosses the negative-curvature strip, then shrinks
    for step in STEPS:
        gd, gf = results[step]
        d = gt.distance(gd, gf)
        peak = float(gd.times[int(d.argmax())])
        assert negative.min() <= peak <= negative.max() + step, (step, peak, negative.max())
        assert float(d[-1]) < 1e-3 * float(d.max()), step  # "more than three orders of magnitude"
    print(f"negative curvature along the flow for t in [{negative.min():.3g}, {negative.max():.3g}]")
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes); peak distances {peaks}; ratios {ratios}")


if __name__ == "__main__":
    main()
