"""gfteach: gradient descent is Euler's method for gradient flow.

The package behind the course. Chapters import only from here; the public API is small and stable.
"""

from .butcher import METHODS, Tableau, get_method
from .ode import IntegrationError, ODESolution, odeint
from .utils import seed_everything

__version__ = "0.1.0"

__all__ = [
    "METHODS",
    "Tableau",
    "get_method",
    "IntegrationError",
    "ODESolution",
    "odeint",
    "seed_everything",
]
