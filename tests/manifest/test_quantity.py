"""Kubernetes quantities are read as resource.ParseQuantity reads them, exactly."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kcheck.lang.manifest.quantity import BINARY, QuantityError, parse_quantity


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("500m", Fraction(1, 2)),
        ("2", Fraction(2)),
        ("0.5", Fraction(1, 2)),
        (".5", Fraction(1, 2)),
        ("1Gi", Fraction(2**30)),
        ("512Mi", Fraction(512 * 2**20)),
        ("1e3", Fraction(1000)),
        ("1E3", Fraction(1000)),
        ("1E", Fraction(10**18)),  # E alone is exa, not an exponent
        ("1.5k", Fraction(1500)),
        ("100M", Fraction(10**8)),
        ("250u", Fraction(1, 4000)),
        ("-1", Fraction(-1)),
    ],
)
def test_quantities_parse_as_kubernetes_reads_them(text: str, value: Fraction) -> None:
    assert parse_quantity(text) == value


@pytest.mark.parametrize("text", ["500mi", "1gi", "1KI", "1 Gi ", "Gi", "", "1.2.3", "1e", "1x"])
def test_bad_quantities_are_refused(text: str) -> None:
    with pytest.raises(QuantityError):
        parse_quantity(text)


def test_a_lowercase_binary_suffix_gets_a_hint() -> None:
    with pytest.raises(QuantityError) as err:
        parse_quantity("500mi")
    assert err.value.hint is not None and "`500Mi`" in err.value.hint


@given(st.integers(0, 10**6), st.sampled_from(sorted(BINARY)))
def test_binary_suffixes_are_powers_of_two(n: int, suffix: str) -> None:
    assert parse_quantity(f"{n}{suffix}") == n * BINARY[suffix]


@given(st.integers(0, 10**6))
def test_milli_and_exponent_agree(n: int) -> None:
    assert parse_quantity(f"{n}m") == parse_quantity(f"{n}e-3")
