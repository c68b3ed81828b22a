"""A compiled model's generated C, function by function: the hot successor function and its
tagged form (each top-level statement translated by cgen.py, or left as Python in its place),
the invariants and the temporal properties' state formulas. The subset and its exactness are
described in cgen.py.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable
from typing import Any

from kcheck.explore.cgen import STATE_RO, Translation, Untranslatable, _Fn, _Translator
from kcheck.model.ir import CompiledModel


def translate(model: CompiledModel, symmetric: bool = False) -> Translation | None:
    """The C translation, or None when the successor function's shape is not the expected
    one (then the search keeps the Python successor function). `symmetric`: translate the
    successor functions of a search with symmetry reduction (`_successors_sym`, `_tagged_sym`:
    fewer duplicates up to symmetry), the ones that search calls."""
    ns: dict[str, Any] = dict(model.successors.__globals__)
    source, width = model.python_source, model.layout.width
    return translate_source(source, width, len(model.invariants), ns, symmetric)


def translate_source(
    source: str, width: int, invariants: int, ns: dict[str, Any], symmetric: bool = False
) -> Translation | None:
    """`translate` from the model's Python source, its width, its number of invariants and
    the namespace the source runs in (a distributed search's worker has these, not the
    compiled model)."""
    tree = ast.parse(source)
    t = _Translator(tree, width)
    if width == 0:
        return None
    suffix = "_sym" if symmetric else ""
    hot = _hot(t, f"_successors{suffix}", ns, False)
    tagged = _hot(t, f"_tagged{suffix}", ns, True)
    if hot is None or tagged is None:
        return None
    inv_names = [f"_inv_{k}" for k in range(invariants)]
    inv_src, done = _predicates(t, inv_names, "inv")
    # the temporal properties' formulas, `_prop_i_n_j` (model/properties.py), numbered in the
    # order the source defines them
    pred_names = [name for name in t.funcs if _PROP.fullmatch(name)]
    pred_src, pred_done = _predicates(t, pred_names, "pred")
    source = "\n".join(t.statics + t.helper_src + [hot[0], tagged[0]] + inv_src + pred_src)
    numbers = {name: k for k, name in enumerate(pred_names)}
    return Translation(source, hot[1], tagged[1], done, len(hot[1]), numbers, pred_done)


_PROP = re.compile(r"_prop_\d+_\d+_\d+")


def _hot(
    t: _Translator, name: str, ns: dict[str, Any], tagged: bool
) -> tuple[str, list[Callable[..., Any]]] | None:
    """`_successors` (or `_tagged`, whose successors carry their action) as C: its source
    and the statements left in Python, by number."""
    node = t.funcs.get(name)
    if node is None:
        return None
    f = _Fn(t.width, tagged=tagged)
    f.types["s"] = (STATE_RO, t.width)
    prelude: list[ast.stmt] = []
    fallbacks: list[Callable[..., Any]] = []
    body = node.body
    if (
        len(body) < 3
        or ast.unparse(body[0]) != "out = []"
        or ast.unparse(body[1]) != "_ap = out.append"
        or ast.unparse(body[-1]) != "return out"
    ):
        return None
    for st in body[2:-1]:
        emits = any(isinstance(n, ast.Name) and n.id == "_ap" for n in ast.walk(st))
        mark, types = len(f.lines), dict(f.types)
        try:
            t.stmt(f, st)
        except Untranslatable:
            del f.lines[mark:]
            f.types = types
            if not emits:
                return None  # a shared computation C cannot do: all of it stays Python
            k = len(fallbacks)
            fallbacks.append(_python_statement(prelude, st, ns, f"{name}_{k}"))
            guard = None
            if isinstance(st, ast.If) and not st.orelse:
                try:
                    guard = t.expr(f, st.test)
                except Untranslatable:
                    guard = None
            call = f"r = ops->python(o, {k}); if (r) return r;"
            if guard is not None:
                f.emit(f"{{ int64_t g = {guard}; if (bad) return 1; if (g) {{ {call} }} }}")
            else:
                f.emit(f"{{ {call} }}")
        if not emits:
            prelude.append(st)
    try:
        local = t.locals(f, set())
    except Untranslatable:
        return None
    src = (
        f"static int kg_{'tagged' if tagged else 'successors'}"
        "(int64_t *v_s, const KgenOps *ops, KgenOut *o) {\n"
        "    int bad = 0, r = 0;\n    (void)r;\n"
        + "\n".join(local + f.lines)
        + "\n    return 0;\n}"
    )
    return src, fallbacks


def _python_statement(
    prelude: list[ast.stmt], st: ast.stmt, ns: dict[str, Any], k: str
) -> Callable[..., Any]:
    """One top-level statement of _successors as a function of the state: the statements
    before it that compute what the actions share (hoisted counts), then it."""
    template = f"def _kgen_fallback_{k}(s):\n    out = []\n    _ap = out.append\n    return out"
    fn = ast.parse(template).body[0]
    assert isinstance(fn, ast.FunctionDef)
    fn.body[2:2] = [*prelude, st]
    mod = ast.fix_missing_locations(ast.Module([fn], []))
    exec(compile(mod, f"<kcheck fallback {k}>", "exec"), ns)
    out: Callable[..., Any] = ns[f"_kgen_fallback_{k}"]
    return out


def _predicates(t: _Translator, names: list[str], what: str) -> tuple[list[str], frozenset[int]]:
    """`kg_{what}(k, s)` for the state predicates `names` (each `return bool(...)` after
    plain statements), k their place in `names`: 1 holds, 0 fails, 2 ask Python (not
    translated, or a check failed: Python answers, or raises as it always does)."""
    done: set[int] = set()
    funcs: list[str] = []
    cases: list[str] = []
    for k, name in enumerate(names):
        node = t.funcs.get(name)
        if node is None:
            continue
        f = _Fn(t.width, fail="return 2;")
        f.types["s"] = (STATE_RO, t.width)
        try:
            *pre, last = node.body
            if not isinstance(last, ast.Return) or last.value is None:
                raise Untranslatable("a predicate without a final return")
            t.block(f, pre)
            r = t.expr(f, last.value)
            f.emit(f"int64_t r = {r};")
            f.emit("if (bad) return 2;")
            f.emit("return r != 0;")
            local = t.locals(f, set())
        except Untranslatable:
            continue
        done.add(k)
        funcs.append(
            f"static int kg_{what}_{k}(int64_t *v_s) {{\n    int bad = 0;\n"
            + "\n".join(local + f.lines)
            + "\n}"
        )
        cases.append(f"    case {k}: return kg_{what}_{k}(s);")
    funcs.append(
        f"static int kg_{what}(int k, int64_t *s) {{\n    switch (k) {{\n"
        + "\n".join(cases)
        + "\n    default: return 2;\n    }\n}"
    )
    return funcs, frozenset(done)
