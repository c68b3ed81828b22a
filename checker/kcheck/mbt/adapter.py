"""The adapter protocol of `kcheck test`: loading the user's class (`module:Class` or
`path/to/file.py:Class`), the method each action calls (`<actor>_<action>`, objects by the
names `observe()` gives them) and the checks on what `observe()` returns. A broken adapter is
bad input (AdapterError), never a verdict on the implementation."""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kcheck.lang.types import TBool, TEnum, TInt, TRef, TSet
from kcheck.model.ir import ActionInfo, CompiledModel


class AdapterError(Exception):
    """The adapter breaks the protocol (spec/testing.md#the-adapter); the message says how."""


def method_name(action: ActionInfo) -> str:
    """`replicaset.scale_up` -> `replicaset_scale_up`; what is not a letter, digit or `_` in
    an action's name becomes `_` (`replicaset.sync@Pod` -> `replicaset_sync_Pod`, the step
    `deployment.rollout:2` -> `deployment_rollout_2`)."""
    return re.sub(r"\W", "_", f"{action.actor}_{action.name}")


def signature(action: ActionInfo) -> str:
    """The method an adapter defines for `action`, as the docs and the errors show it."""
    params = "".join(f", {name}: {_py_type(ty)}" for name, ty in action.params)
    return f"def {method_name(action)}(self{params}) -> None"


def _py_type(ty: Any) -> str:
    match ty:
        case TBool():
            return "bool"
        case TInt():
            return "int"
        case TSet():
            return "list[str]"
    return "str"


def load_class(spec: str, base_dir: Path) -> type:
    """The class named by `module:Class` (imported with the current directory on the path) or
    `file.py:Class`."""
    module_name, sep, class_name = spec.rpartition(":")
    if not sep or not module_name or not class_name.isidentifier():
        raise AdapterError(
            f"--adapter {spec!r}: expected MODULE:CLASS or FILE.py:CLASS,"
            " e.g. examples.replicaset_controller.adapter:ReplicaSetAdapter"
        )
    try:
        if module_name.endswith(".py") or "/" in module_name:
            path = (base_dir / module_name).resolve()
            if not path.is_file():
                raise AdapterError(f"--adapter {spec!r}: no file {module_name}")
            loader_spec = importlib.util.spec_from_file_location(
                f"kcheck_adapter_{path.stem}", path
            )
            assert loader_spec is not None and loader_spec.loader is not None
            module = importlib.util.module_from_spec(loader_spec)
            sys.path.insert(0, str(path.parent))  # the adapter imports its neighbours
            try:
                loader_spec.loader.exec_module(module)
            finally:
                sys.path.remove(str(path.parent))
        else:
            if str(base_dir) not in sys.path:
                sys.path.insert(0, str(base_dir))
            module = importlib.import_module(module_name)
    except AdapterError:
        raise
    except Exception as err:  # the user's module failed to import: say where
        raise AdapterError(
            f"--adapter {spec!r}: importing {module_name} failed: {type(err).__name__}: {err}"
        ) from None
    cls = getattr(module, class_name, None)
    if not isinstance(cls, type):
        raise AdapterError(f"--adapter {spec!r}: {module_name} has no class {class_name}")
    return cls


@dataclass(frozen=True)
class Binding:
    """How each action reaches the adapter: the method, and whether it takes `expect`."""

    methods: dict[int, str]
    wants_expect: frozenset[int]


def bind(cls: type, model: CompiledModel) -> Binding:
    """Every action's method, checked against its parameters; all missing ones in one error."""
    missing: list[str] = []
    wrong: list[str] = []
    methods: dict[int, str] = {}
    wants: set[int] = set()
    for action in model.actions:
        name = method_name(action)
        fn = getattr(cls, name, None)
        if not callable(fn):
            missing.append(f"  {signature(action)}")
            continue
        methods[action.id] = name
        try:
            params = list(inspect.signature(fn).parameters.values())[1:]  # without self
        except (TypeError, ValueError):
            continue
        if any(p.name == "expect" for p in params):
            wants.add(action.id)
        positional = [p for p in params if p.name != "expect" and p.kind != p.VAR_KEYWORD]
        if len(positional) != len(action.params) and not any(
            p.kind == p.VAR_POSITIONAL for p in positional
        ):
            wrong.append(
                f"  {name} takes {len(positional)} argument(s), the action"
                f" {action.label} has {len(action.params)}: {signature(action)}"
            )
    if not callable(getattr(cls, "observe", None)):
        missing.append("  def observe(self) -> dict[str, Any]")
    if missing or wrong:
        parts = [f"the adapter {cls.__name__} does not follow the protocol (kcheck docs testing):"]
        if missing:
            parts.append("it has no method for:")
            parts.extend(missing)
        parts.extend(wrong)
        raise AdapterError("\n".join(parts))
    return Binding(methods, frozenset(wants))


def check_observation(model: CompiledModel, seen: Any) -> Mapping[str, Any]:
    """`observe()`'s answer, checked for shape: kinds and vars the model has, fields of
    theirs, values of the right sort. Objects are keyed by the implementation's names."""
    layout = model.layout
    if not isinstance(seen, Mapping):
        raise AdapterError(f"observe() returned {type(seen).__name__}, not a dict")
    kinds = {k.name: k for k in layout.kinds}
    variables = {v.name: v for v in layout.vars if "@" not in v.name}
    for key, value in seen.items():
        if key in kinds:
            kind = kinds[key]
            if not isinstance(value, Mapping):
                raise AdapterError(f"observe()[{key!r}] must map object names to their fields")
            fields = {f.name: f for f in kind.fields if not f.hidden and f.offset != 0}
            for obj, values in value.items():
                if not isinstance(obj, str) or not isinstance(values, Mapping):
                    raise AdapterError(
                        f"observe()[{key!r}][{obj!r}]: objects are name -> dict of fields"
                    )
                for fname, v in values.items():
                    if fname not in fields:
                        raise AdapterError(
                            f"observe()[{key!r}][{obj!r}] has field {fname!r}; {key} has"
                            f" {', '.join(fields) or 'no fields'}"
                        )
                    _check_value(f"observe()[{key!r}][{obj!r}][{fname!r}]", fields[fname].type,
                                 v, layout.enums)  # fmt: skip
        elif key in variables:
            _check_value(f"observe()[{key!r}]", variables[key].type, value, layout.enums)
        else:
            known = ", ".join([*kinds, *variables])
            raise AdapterError(f"observe() returned {key!r}; the model has {known}")
    return seen


def _check_value(where: str, ty: Any, v: Any, enums: Mapping[str, tuple[str, ...]]) -> None:
    ok: Callable[[Any], bool]
    match ty:
        case TBool():
            ok, want = (lambda x: isinstance(x, bool)), "a bool"
        case TInt():
            ok, want = (lambda x: isinstance(x, int) and not isinstance(x, bool)), "an int"
        case TEnum(name=e):
            ok, want = (lambda x: x in enums[e]), f"one of {', '.join(enums[e])}"
        case TRef():
            ok, want = (lambda x: x is None or isinstance(x, str)), "an object's name or None"
        case TSet(elem=e):
            ok, want = (lambda x: isinstance(x, (list, set, frozenset, tuple))), f"a list of {e}"
        case _:
            return
    if not ok(v):
        raise AdapterError(f"{where} is {v!r}: expected {want}")
