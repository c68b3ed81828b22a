"""kcheck's optional extra `run` (`pip install "kcheck[run]"`): the Docker SDK, for `kcheck run
--driver docker`, `kcheck run --cleanup` and `kcheck image`, and the Prometheus client, for
`--metrics-port`. kcheck installs and runs without them; `need` says exactly what to install
when a command needs one that is missing, before any work is done."""

from __future__ import annotations

import importlib
import re
import sys
from importlib import metadata

# import name -> distribution name
_PACKAGES = {"docker": "docker", "prometheus_client": "prometheus-client"}


class MissingExtra(Exception):
    """A package of the `run` extra that a command needs is not installed; the message says
    what to install."""


def _requirement(package: str) -> str:
    """The package's requirement as kcheck's own metadata states it (e.g. `docker<8,>=7.1`),
    or its bare name when the metadata cannot be read (a source tree on sys.path)."""
    try:
        requires = metadata.requires("kcheck") or []
    except metadata.PackageNotFoundError:
        requires = []
    for req in requires:
        spec, _, marker = req.partition(";")
        name = re.split(r"[<>=!~\[ ]", spec.strip(), maxsplit=1)[0]
        if name.lower() == package and "extra" in marker:
            return spec.strip().replace(" ", "")
    return package


def need(module: str, feature: str) -> None:
    """Raise MissingExtra when `module` (docker or prometheus_client) cannot be imported."""
    try:
        importlib.import_module(module)
    except ImportError:
        package = _PACKAGES[module]
        raise MissingExtra(
            f"{feature} needs the Python package `{package}`, which is not installed; it is"
            f" part of kcheck's optional extra `run`. Install it into kcheck's environment:"
            f" {sys.executable} -m pip install '{_requirement(package)}'"
            f" (or install kcheck as `kcheck[run]`, see `kcheck docs run`)"
        ) from None
