"""gfteach: gradient descent is Euler's method for gradient flow.

The package behind the course, in two layers.

* **Numerics** (this package's top-level modules): ODE methods as Butcher tableaux and one integrator
  (:mod:`~gfteach.ode`, :mod:`~gfteach.butcher`, :mod:`~gfteach.rk_analysis`), objectives
  (:mod:`~gfteach.objective`, :mod:`~gfteach.hessian`), gradient flow and gradient descent
  (:mod:`~gfteach.flow`), curvature (:mod:`~gfteach.curvature`), the theorems' bounds
  (:mod:`~gfteach.bounds`), measurements (:mod:`~gfteach.measure`), test landscapes
  (:mod:`~gfteach.landscapes`), networks and data (:mod:`~gfteach.nets`, :mod:`~gfteach.data`,
  :mod:`~gfteach.homogeneous`, :mod:`~gfteach.paper`), deep-linear theory (:mod:`~gfteach.linear`,
  :mod:`~gfteach.linear_flow`) and modified flows (:mod:`~gfteach.modified_flows`). The common
  currency is a flat float64 parameter vector θ; every tool takes θ and an objective f. None of it
  imports matplotlib or ipywidgets.
* **The course** (:mod:`gfteach.course`): style, explorers, checkers, notebook converters and one
  module per chapter. It calls the numerics; the numerics never call it.

The names below are the core API; chapters use them as ``gt.<name>`` after ``import gfteach as gt``.
"""

from .bounds import (
    ApproximationBound,
    approximation_bound,
    balanced_scalar_bound,
    classic_euler_bound,
    classic_euler_step,
    hessian_lower_bound,
    scalar_gap,
    scalar_gap_estimate,
    step_for_accuracy,
    step_from_bound,
    tracking_bound,
)
from .butcher import METHODS, Tableau, get_method
from .curvature import ConvergenceError, CurvatureAlong, ExtremeEigenvalues, curvature_along, extreme_eigenvalues
from .flow import (
    DivergenceError,
    DivergenceWarning,
    Trajectory,
    distance,
    gd_time_grid,
    gradient_descent,
    gradient_flow,
)
from .measure import cumulative_trapezoid, integral_at, loglog_slope
from .objective import FunctionObjective, Objective, as_objective
from .ode import IntegrationError, ODESolution, StiffnessError, odeint
from .utils import seed_everything, threads

__version__ = "0.1.0"

__all__ = [
    # ODE methods and solver
    "METHODS",
    "Tableau",
    "get_method",
    "odeint",
    "ODESolution",
    "IntegrationError",
    "StiffnessError",
    # objectives, flows and descents
    "Objective",
    "FunctionObjective",
    "as_objective",
    "gradient_flow",
    "gradient_descent",
    "Trajectory",
    "distance",
    "gd_time_grid",
    "DivergenceError",
    "DivergenceWarning",
    # curvature
    "extreme_eigenvalues",
    "ExtremeEigenvalues",
    "ConvergenceError",
    "curvature_along",
    "CurvatureAlong",
    # the theorems' bounds
    "approximation_bound",
    "ApproximationBound",
    "tracking_bound",
    "step_from_bound",
    "classic_euler_bound",
    "classic_euler_step",
    "scalar_gap",
    "scalar_gap_estimate",
    "step_for_accuracy",
    "hessian_lower_bound",
    "balanced_scalar_bound",
    # measurements
    "loglog_slope",
    "cumulative_trapezoid",
    "integral_at",
    # helpers
    "seed_everything",
    "threads",
]
