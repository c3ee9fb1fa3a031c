"""The argparse value types every package's command line shares (cl_core.cli)."""

from __future__ import annotations

import argparse

import pytest

from cl_core.cli import devices_arg, non_negative_float, positive_float, positive_int


@pytest.mark.parametrize(
    ("parse", "text", "expected"),
    [
        (positive_int, "3", 3),
        (positive_float, "0.5", 0.5),
        (non_negative_float, "0", 0.0),
        (non_negative_float, "2.5", 2.5),
        (devices_arg, "auto", "auto"),
        (devices_arg, "2", 2),
        (devices_arg, "-1", -1),
    ],
)
def test_accepts_values_in_range(parse, text, expected) -> None:
    assert parse(text) == expected


@pytest.mark.parametrize(
    ("parse", "text", "message"),
    [
        (positive_int, "0", "integer >= 1"),
        (positive_int, "1.5", "integer >= 1"),
        (positive_float, "0", "number > 0"),
        (positive_float, "nan", "number > 0"),
        (non_negative_float, "-0.1", "number >= 0"),
        (non_negative_float, "nan", "number >= 0"),
        (non_negative_float, "abc", "number >= 0"),
    ],
)
def test_rejects_values_out_of_range_with_an_argparse_error(parse, text, message) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match=message):
        parse(text)


def test_parser_reports_a_bad_value_as_a_usage_error(capsys) -> None:
    parser = argparse.ArgumentParser(prog="demo")
    parser.add_argument("--weight", type=non_negative_float)
    with pytest.raises(SystemExit):
        parser.parse_args(["--weight", "-1"])
    assert "expected a number >= 0, got -1.0" in capsys.readouterr().err
