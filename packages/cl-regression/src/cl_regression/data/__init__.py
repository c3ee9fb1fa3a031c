"""Regression tables (real data with data cards), rotated real images, CSV loading, regimes, and
the synthetic curve of the SupReMix sanity check."""

from cl_regression.data.csv_table import load_csv_table
from cl_regression.data.regimes import RegimeSplit, make_regime_split
from cl_regression.data.rotated_images import load_rotated_fashion_mnist_table, rotate_images
from cl_regression.data.synthetic import SyntheticCurve, make_synthetic_curve
from cl_regression.data.tables import (
    RegressionTable,
    load_diabetes_table,
    load_diamonds_table,
    load_randhie_table,
)

__all__ = [
    "RegimeSplit",
    "RegressionTable",
    "SyntheticCurve",
    "load_csv_table",
    "load_diabetes_table",
    "load_diamonds_table",
    "load_randhie_table",
    "load_rotated_fashion_mnist_table",
    "make_regime_split",
    "make_synthetic_curve",
    "rotate_images",
]
