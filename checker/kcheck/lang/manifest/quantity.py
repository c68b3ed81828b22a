"""Kubernetes resource quantities (`500m`, `2`, `1Gi`, `1e3`, `0.5`), parsed as
k8s.io/apimachinery's resource.ParseQuantity reads them, into exact fractions."""

from __future__ import annotations

import re
from fractions import Fraction

_NUMBER = r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)"
_QUANTITY = re.compile(rf"({_NUMBER})(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE][+-]?[0-9]+)?")

BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
DECIMAL = {
    "n": Fraction(1, 10**9),
    "u": Fraction(1, 10**6),
    "m": Fraction(1, 1000),
    "": Fraction(1),
    "k": Fraction(10**3),
    "M": Fraction(10**6),
    "G": Fraction(10**9),
    "T": Fraction(10**12),
    "P": Fraction(10**15),
    "E": Fraction(10**18),
}
# what each unit a model may ask for (`in m`, `in Gi`) is worth
UNITS: dict[str, Fraction] = {**{k: Fraction(v) for k, v in BINARY.items()}, **DECIMAL}
del UNITS[""]


class QuantityError(ValueError):
    """The text is not a quantity; `hint` says what was probably meant."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint


def parse_quantity(text: str) -> Fraction:
    """The value of a quantity, exactly. Kubernetes' suffixes are case-sensitive: `m` is milli,
    `M` mega, `Mi` mebi; an exponent is `e` or `E` followed by an integer."""
    m = _QUANTITY.fullmatch(text)
    if m is None or len(text) > 100:
        raise QuantityError(f"`{text}` is not a Kubernetes quantity", _hint(text))
    number, suffix = Fraction(m.group(1)), m.group(2) or ""
    if suffix in BINARY:
        return number * BINARY[suffix]
    if suffix in DECIMAL:
        return number * DECIMAL[suffix]
    exponent = int(suffix[1:])
    if abs(exponent) > 30:
        raise QuantityError(f"`{text}`: the exponent is out of range")
    return number * Fraction(10) ** exponent


def _hint(text: str) -> str | None:
    m = re.fullmatch(rf"({_NUMBER})([A-Za-z]+)", text.strip())
    if m is None:
        return "a quantity is a number with an optional suffix: 500m, 2, 1.5, 1Gi, 512Mi, 1e3"
    suffix = m.group(2)
    for good in [*BINARY, *DECIMAL]:
        if good and suffix.lower() == good.lower() and suffix != good:
            return (
                f"did you mean `{m.group(1)}{good}`? suffixes are case-sensitive "
                "(m is milli, M mega, Mi mebi)"
            )
    return "the suffixes are n u m k M G T P E (powers of 10) and Ki Mi Gi Ti Pi Ei (of 2)"
