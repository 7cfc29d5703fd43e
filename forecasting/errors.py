"""What the forecasting room raises for input a user can fix."""
from __future__ import annotations


class ForecastInputError(ValueError):
    """A series that cannot be forecast as asked: a bad CSV, a missing column, too few points.

    The message is one line a user can act on."""
