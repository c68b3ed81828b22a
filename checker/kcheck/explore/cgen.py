"""C for a compiled model's hot successor function, its invariants and its temporal properties'
state formulas, translated from the model's own generated Python (model.python_source), for
the native store (store_gen.c) to run on unpacked int64 states without a tuple per state.

The translation is a subset, exact where it applies: ints with Python's semantics (`and`/`or`
answer an operand, floor division and modulo, negative indexes count from the end) and every
case where C would differ from Python (an index out of range, an overflow, a division by zero,
a call to `_err`) answers "redo this state in Python", so the Python code decides. A top-level
statement of `_successors` that does not translate (a comprehension, `min` over a list) stays
Python: C calls it, as its own function, in its place in the order, so the successors come in
the same order as from `_successors` itself; when its guard translates, only on the states where
the guard holds. An invariant (or a temporal property's state formula) that does not translate
is evaluated in Python.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

INT, STATE, STATE_RO, ARRAY, OPAQUE = "int", "state", "state_ro", "array", "opaque"
OPT, LIST = "opt", "list"  # an int or None (a scheduler's best score); a short list of ints
LIST_CAP = 64  # a longer list redoes the state in Python
STACK_LIMIT = 256 * 1024  # bytes of lists one generated function may keep on the stack
I64_MIN, I64_MAX = -(2**63), 2**63 - 1


# kcheck.model.runtime's checks that translate, and how many arguments each takes
RUNTIME = {"_some": 5, "_div": 6, "_member": 2, "_live": 9, "_deref": 9, "_cached": 9}


class Untranslatable(Exception):
    """A construct outside the subset: that statement (or invariant) stays Python."""


@dataclass
class Translation:
    source: str  # the C module's source, without its module boilerplate
    fallbacks: list[Callable[..., Any]]  # the Python statements C calls, by number
    tagged_fallbacks: list[Callable[..., Any]]  # likewise for the tagged form (liveness)
    invariants: frozenset[int]  # the invariants translated (the others are checked in Python)
    python_statements: int  # top-level statements of _successors left in Python
    # the temporal properties' predicates (`_prop_i_n_j`) by name: their numbers in kg_pred
    predicates: dict[str, int] = field(default_factory=dict)
    predicates_done: frozenset[int] = frozenset()  # the predicates translated, by number


@dataclass
class _Fn:
    """One C function being written: its lines and the types of its Python locals."""

    state_width: int
    types: dict[str, tuple[str, int]] = field(default_factory=dict)
    lines: list[str] = field(default_factory=list)
    depth: int = 1
    fail: str = "return 1;"  # what a failed check does (an invariant answers 2)
    in_helper: bool = False
    tagged: bool = False  # successors go out with their action (`_ap((aid, tuple(st)))`)

    def emit(self, line: str) -> None:
        self.lines.append("    " * self.depth + line)


class _Translator:
    def __init__(self, tree: ast.Module, width: int) -> None:
        self.width = width
        self.funcs = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}
        self.consts: dict[str, tuple[int, ...]] = {}
        for n in tree.body:
            if isinstance(n, ast.Assign) and len(n.targets) == 1:
                t = n.targets[0]
                if isinstance(t, ast.Name):
                    try:
                        v = ast.literal_eval(n.value)
                    except ValueError:
                        continue
                    if isinstance(v, list | tuple) and all(type(x) is int for x in v):
                        self.consts[t.id] = tuple(v)
        self.helpers: dict[tuple[str, tuple[str, ...]], str] = {}
        self.helper_src: list[str] = []
        self.statics: list[str] = []
        self.n = 0

    def fresh(self, prefix: str) -> str:
        self.n += 1
        return f"{prefix}{self.n}"

    # ---- expressions -------------------------------------------------------------------------

    def expr(self, f: _Fn, e: ast.expr) -> str:
        match e:
            case ast.Constant(value=bool() as b):
                return "1" if b else "0"
            case ast.Constant(value=int() as v):
                if not I64_MIN < v <= I64_MAX:
                    raise Untranslatable("a constant beyond 64 bits")
                return f"INT64_C({v})"
            case ast.Name(id=name):
                kind = f.types.get(name, ("", 0))[0]
                if kind == OPT:  # None in arithmetic or a comparison: Python raises
                    return f"({{ if (n_{name}) bad = 1; v_{name}; }})"
                if kind != INT:
                    raise Untranslatable(f"not an int: {name}")
                return f"v_{name}"
            case ast.Compare(
                left=ast.Name(id=name), ops=[ast.Is() | ast.IsNot() as op], comparators=[none]
            ) if isinstance(none, ast.Constant) and none.value is None:
                kind = f.types.get(name, ("", 0))[0]
                if kind not in (OPT, INT):
                    raise Untranslatable("`is None` of something else")
                is_none = f"n_{name}" if kind == OPT else "0"
                return f"({is_none})" if isinstance(op, ast.Is) else f"(!{is_none})"
            case ast.Subscript(value=ast.Name(id=name), slice=idx) if not isinstance(
                idx, ast.Slice
            ):
                arr, n = self.sequence(f, name)
                if isinstance(idx, ast.Constant) and type(idx.value) is int:
                    i = idx.value + n if idx.value < 0 else idx.value
                    if 0 <= i < n:
                        return f"{arr}[{i}]"
                return f"kg_get({arr}, {self.expr(f, idx)}, {n}, &bad)"
            case ast.BinOp(left=a, op=op, right=b):
                x, y = self.expr(f, a), self.expr(f, b)
                fn = {
                    ast.Add: "kg_add",
                    ast.Sub: "kg_sub",
                    ast.Mult: "kg_mul",
                    ast.FloorDiv: "kg_floordiv",
                    ast.Mod: "kg_mod",
                    ast.LShift: "kg_lshift",
                    ast.RShift: "kg_rshift",
                }.get(type(op))
                if fn is not None:
                    return f"{fn}({x}, {y}, &bad)"
                sym = {ast.BitAnd: "&", ast.BitOr: "|", ast.BitXor: "^"}.get(type(op))
                if sym is None:
                    raise Untranslatable("an operator")
                return f"(({x}) {sym} ({y}))"
            case ast.UnaryOp(op=op, operand=a):
                x = self.expr(f, a)
                if isinstance(op, ast.Not):
                    return f"(!({x}))"
                if isinstance(op, ast.USub):
                    return f"kg_sub(0, {x}, &bad)"
                if isinstance(op, ast.Invert):
                    return f"(~({x}))"
                return x
            case ast.BoolOp(op=op, values=vals):
                # Python's `and`/`or` answer one of their operands, not a truth value
                out = self.expr(f, vals[-1])
                for operand in reversed(vals[:-1]):
                    t = self.fresh("t")
                    x = self.expr(f, operand)
                    if isinstance(op, ast.And):
                        out = f"({{ int64_t {t} = {x}; {t} ? ({out}) : {t}; }})"
                    else:
                        out = f"({{ int64_t {t} = {x}; {t} ? {t} : ({out}); }})"
                return out
            case ast.Compare(left=a, ops=ops, comparators=cs):
                syms = []
                for cmp in ops:
                    s = {
                        ast.Lt: "<",
                        ast.LtE: "<=",
                        ast.Gt: ">",
                        ast.GtE: ">=",
                        ast.Eq: "==",
                        ast.NotEq: "!=",
                    }.get(type(cmp))
                    if s is None:
                        raise Untranslatable("a comparison")
                    syms.append(s)
                left = self.expr(f, a)
                if len(ops) == 1:
                    return f"(({left}) {syms[0]} ({self.expr(f, cs[0])}))"
                # a chain evaluates each middle operand once, and stops at the first false
                names = [self.fresh("c") for _ in range(len(cs) + 1)]
                out = f"({names[-2]} {syms[-1]} {names[-1]})"
                for k in range(len(cs) - 1, 0, -1):
                    out = (
                        f"({names[k - 1]} {syms[k - 1]} {names[k]} && "
                        f"({{ int64_t {names[k + 1]} = {self.expr(f, cs[k])}; {out}; }}))"
                    )
                return f"({{ int64_t {names[0]} = {left}, {names[1]} = {self.expr(f, cs[0])}; {out}; }})"
            case ast.IfExp(test=t, body=b, orelse=o):
                return f"(({self.expr(f, t)}) ? ({self.expr(f, b)}) : ({self.expr(f, o)}))"
            case ast.Call(func=ast.Name(id=name), args=args, keywords=[]) if name in RUNTIME:
                return self.runtime(f, name, args)
            case ast.Call(func=ast.Name(id="bool"), args=[a], keywords=[]):
                return f"(({self.expr(f, a)}) != 0)"
            case ast.Call(func=ast.Name(id="abs"), args=[a], keywords=[]):
                t = self.fresh("t")
                return f"({{ int64_t {t} = {self.expr(f, a)}; {t} < 0 ? kg_sub(0, {t}, &bad) : {t}; }})"
            case ast.Call(func=ast.Name(id=("min" | "max") as m), args=args, keywords=[]) if len(
                args
            ) >= 2 and not any(isinstance(x, ast.Starred) for x in args):
                # the first of equal values, as Python's min and max answer (equal ints anyway)
                out = self.expr(f, args[0])
                for arg in args[1:]:
                    t, u = self.fresh("t"), self.fresh("t")
                    better = "<" if m == "min" else ">"
                    out = (
                        f"({{ int64_t {t} = {out}, {u} = {self.expr(f, arg)};"
                        f" {u} {better} {t} ? {u} : {t}; }})"
                    )
                return out
        raise Untranslatable(ast.dump(e)[:60])

    def runtime(self, f: _Fn, name: str, args: list[ast.expr]) -> str:
        """kcheck.model.runtime's checks, each raising StepError (here: redo in Python)
        exactly where the Python one does."""
        need = RUNTIME[name]
        if len(args) != need or any(isinstance(a, ast.Starred) for a in args):
            raise Untranslatable(f"{name} with {len(args)} arguments")
        t, u = self.fresh("t"), self.fresh("t")
        if name == "_some":  # (v, what, aid, args, line)
            return f"({{ int64_t {t} = {self.expr(f, args[0])}; if ({t} < 0) bad = 1; {t}; }})"
        if name == "_div":  # (a, b, op, aid, args, line)
            op = args[2]
            if not isinstance(op, ast.Constant) or op.value not in ("//", "%"):
                raise Untranslatable("_div with an unknown operator")
            fn = "kg_floordiv" if op.value == "//" else "kg_mod"
            return f"{fn}({self.expr(f, args[0])}, {self.expr(f, args[1])}, &bad)"
        if name == "_member":  # (x, set)
            x, v = self.expr(f, args[0]), self.expr(f, args[1])
            return (
                f"({{ int64_t {t} = {x}, {u} = {v};"
                f" {t} >= 0 && ((kg_rshift({u}, {t}, &bad) & 1) == 1); }})"
            )
        # _live(st, i, base, stride, slots, ...), _deref(st, x, base, stride, ...),
        # _cached(st, x, flag, stride, ...): a cell of the object must be set
        if not isinstance(args[0], ast.Name):
            raise Untranslatable(f"{name} of an expression")
        arr, n = self.sequence(f, args[0].id)
        i, base, stride = (self.expr(f, a) for a in args[1:4])
        cell = f"kg_get({arr}, kg_add({base}, kg_mul({t}, {stride}, &bad), &bad), {n}, &bad)"
        if name == "_live":
            slots = self.expr(f, args[4])
            ok = f"0 <= {t} && {t} < {slots} && {cell}"
        else:
            ok = cell
        return f"({{ int64_t {t} = {i}; if (!({ok})) bad = 1; {t}; }})"

    def sequence(self, f: _Fn, name: str) -> tuple[str, int]:
        """The C array a Python name holds (a state, a local list, a module constant)."""
        kind, n = f.types.get(name, ("", 0))
        if kind in (STATE, STATE_RO, ARRAY):
            return f"v_{name}", n
        if kind == "" and name in self.consts:
            c = f"k_{name}"
            decl = f"static const int64_t {c}[] = {{{', '.join(map(str, self.consts[name]))}, 0}};"
            if decl not in self.statics:
                self.statics.append(decl)
            return c, len(self.consts[name])
        raise Untranslatable(f"not a sequence: {name}")

    def is_state_copy(self, f: _Fn, e: ast.expr) -> str | None:
        """`list(x)` or `x[:]` of a state: the state copied."""
        match e:
            case ast.Call(func=ast.Name(id="list"), args=[ast.Name(id=x)], keywords=[]):
                pass
            case ast.Subscript(
                value=ast.Name(id=x), slice=ast.Slice(lower=None, upper=None, step=None)
            ):
                pass
            case _:
                return None
        if f.types.get(x, ("", 0))[0] not in (STATE, STATE_RO):
            raise Untranslatable("a copy of something other than a state")
        return x

    # ---- statements --------------------------------------------------------------------------

    def check(self, f: _Fn) -> None:
        f.emit(f"if (bad) {f.fail}")

    def bind(self, f: _Fn, name: str, kind: str, n: int) -> None:
        old = f.types.get(name)
        if old is not None and old != (kind, n):
            raise Untranslatable(f"{name} changes type")
        f.types[name] = (kind, n)

    def block(self, f: _Fn, stmts: list[ast.stmt]) -> None:
        for st in stmts:
            self.stmt(f, st)

    def stmt(self, f: _Fn, st: ast.stmt) -> None:
        match st:
            case ast.Pass():
                return
            case ast.Continue():
                f.emit("continue;")
            case ast.Break():
                f.emit("break;")
            case ast.Assign(targets=[ast.Name(id=name)], value=value):
                self.assign_name(f, name, value)
            case ast.Assign(targets=[ast.Subscript(value=ast.Name(id=name), slice=idx)], value=v):
                self.store(f, name, idx, v, None)
            case ast.AugAssign(target=ast.Subscript(value=ast.Name(id=name), slice=idx), op=op):
                self.store(f, name, idx, st.value, op)
            case ast.AugAssign(target=ast.Name(id=name), op=op, value=v):
                if f.types.get(name) != (INT, 0):
                    raise Untranslatable("+= on a non-int")
                rhs = self.expr(f, ast.BinOp(ast.Name(name), op, v))
                f.emit(f"v_{name} = {rhs};")
                self.check(f)
            case ast.If(test=t, body=body, orelse=orelse):
                c = self.fresh("c")
                f.emit(f"{{ int64_t {c} = {self.expr(f, t)};")
                f.depth += 1
                self.check(f)
                f.emit(f"if ({c}) {{")
                f.depth += 1
                self.block(f, body)
                f.depth -= 1
                if orelse:
                    f.emit("} else {")
                    f.depth += 1
                    self.block(f, orelse)
                    f.depth -= 1
                f.emit("}")
                f.depth -= 1
                f.emit("}")
            case ast.For(
                target=ast.Name(id=var),
                iter=ast.Call(func=ast.Name(id="range"), args=args, keywords=[]),
                body=body,
                orelse=[],
            ) if 1 <= len(args) <= 3:
                self.for_range(f, var, args, body)
            case ast.For(target=ast.Name(id=var), iter=ast.Name(id=seq), body=body, orelse=[]):
                self.for_list(f, var, seq, body)
            case ast.Expr(
                value=ast.Call(
                    func=ast.Attribute(value=ast.Name(id=seq), attr="append"), args=[v], keywords=[]
                )
            ) if f.types.get(seq, ("", 0))[0] == LIST:
                e = self.fresh("e")
                f.emit(f"{{ int64_t {e} = {self.expr(f, v)};")
                f.depth += 1
                self.check(f)
                f.emit(f"if (l_{seq} >= {LIST_CAP}) {f.fail}")
                f.emit(f"v_{seq}[l_{seq}++] = {e};")
                f.depth -= 1
                f.emit("}")
            case ast.Return(value=v) if f.in_helper and v is not None:
                r = self.expr(f, v)
                f.emit(f"*ret = {r};")
                self.check(f)
                f.emit("return 0;")
            case ast.Expr(value=ast.Call(func=ast.Name(id="_err"))):
                f.emit(f"{f.fail} /* a step error: Python reports it */")
            case ast.Expr(
                value=ast.Call(
                    func=ast.Name(id="_ap"),
                    args=[ast.Call(func=ast.Name(id="tuple"), args=[ast.Name(id=x)])],
                )
            ) if not f.in_helper:
                if f.tagged or f.types.get(x, ("", 0))[0] not in (STATE, STATE_RO):
                    raise Untranslatable("appends something other than a state")
                f.emit(f"if (ops->emit(o, -1, v_{x}) < 0) return -1;")
            case ast.Expr(
                value=ast.Call(
                    func=ast.Name(id="_ap"),
                    args=[
                        ast.Tuple(
                            elts=[
                                ast.Constant(value=int() as aid),
                                ast.Call(func=ast.Name(id="tuple"), args=[ast.Name(id=x)]),
                            ]
                        )
                    ],
                )
            ) if f.tagged and not f.in_helper and 0 <= aid < 2**16:
                if f.types.get(x, ("", 0))[0] not in (STATE, STATE_RO):
                    raise Untranslatable("appends something other than a state")
                f.emit(f"if (ops->emit(o, {aid}, v_{x}) < 0) return -1;")
            case ast.Expr(value=ast.Call() as call):
                self.call_helper(f, call, None)
            case _:
                raise Untranslatable(type(st).__name__)

    def assign_name(self, f: _Fn, name: str, value: ast.expr) -> None:
        src = self.is_state_copy(f, value)
        if src is not None:
            self.bind(f, name, STATE, self.width)
            f.emit(f"memcpy(v_{name}, v_{src}, sizeof(int64_t) * {self.width});")
            return
        kind = f.types.get(name, ("", 0))[0]
        if isinstance(value, ast.Constant) and value.value is None:
            self.bind(f, name, OPT, 0)
            f.emit(f"n_{name} = 1;")
            return
        if kind == OPT:  # an int into a name that may hold None
            rhs = self.expr(f, value)
            f.emit(f"v_{name} = {rhs};")
            self.check(f)
            f.emit(f"n_{name} = 0;")
            return
        match value:
            case ast.List(elts=elts) if len(elts) <= LIST_CAP:
                vals = [self.expr(f, e) for e in elts]
                self.bind(f, name, LIST, LIST_CAP)
                tmp = [self.fresh("e") for _ in vals]
                f.emit(
                    "{ " + "".join(f"int64_t {t} = {v}; " for t, v in zip(tmp, vals, strict=True))
                )
                f.depth += 1
                self.check(f)
                for k, t in enumerate(tmp):
                    f.emit(f"v_{name}[{k}] = {t};")
                f.emit(f"l_{name} = {len(tmp)};")
                f.depth -= 1
                f.emit("}")
                return
            case ast.BinOp(
                left=ast.List(elts=[ast.Constant(value=int() as c)]),
                op=ast.Mult(),
                right=ast.Constant(value=int() as n),
            ) if 0 < n <= 4096 and type(c) is int and I64_MIN < c <= I64_MAX:
                self.bind(f, name, ARRAY, n)
                f.emit(f"for (int k = 0; k < {n}; k++) v_{name}[k] = INT64_C({c});")
                return
            case ast.Call(func=ast.Name(id=fn)) if fn in self.funcs:
                self.bind(f, name, INT, 0)
                self.call_helper(f, value, f"v_{name}")
                return
        rhs = self.expr(f, value)
        self.bind(f, name, INT, 0)
        f.emit(f"v_{name} = {rhs};")
        self.check(f)

    def store(
        self, f: _Fn, name: str, idx: ast.expr, value: ast.expr, op: ast.operator | None
    ) -> None:
        kind, n = f.types.get(name, ("", 0))
        if kind not in (STATE, ARRAY):
            raise Untranslatable("a store into something other than a list")
        if isinstance(idx, ast.Slice):
            self.store_slice(f, name, n, idx, value, op)
            return
        rhs = self.expr(f, value)
        p = self.fresh("p")
        f.emit(f"{{ int64_t *{p} = kg_ref(v_{name}, {self.expr(f, idx)}, {n}, &bad);")
        f.depth += 1
        if op is None:
            f.emit(f"int64_t {p}v = {rhs};")
        else:
            cur = ast.Name(f"{p}cur")
            f.types[f"{p}cur"] = (INT, 0)
            f.emit(f"int64_t v_{p}cur = *{p};")
            f.emit(f"int64_t {p}v = {self.expr(f, ast.BinOp(cur, op, value))};")
            del f.types[f"{p}cur"]
        self.check(f)
        f.emit(f"*{p} = {p}v;")
        f.depth -= 1
        f.emit("}")

    def store_slice(
        self, f: _Fn, name: str, n: int, sl: ast.Slice, value: ast.expr, op: ast.operator | None
    ) -> None:
        if op is not None or sl.step is not None or sl.lower is None or sl.upper is None:
            raise Untranslatable("a slice store")
        if not isinstance(value, ast.Name) or value.id not in self.consts:
            raise Untranslatable("a slice store of a non-constant")
        src, m = self.sequence(f, value.id)
        lo, hi = self.fresh("lo"), self.fresh("hi")
        f.emit(f"{{ int64_t {lo} = {self.expr(f, sl.lower)}, {hi} = {self.expr(f, sl.upper)};")
        f.depth += 1
        self.check(f)
        # a slice that would not replace exactly m cells in range changes the list's length
        f.emit(f"if ({lo} < 0 || {hi} > {n} || {hi} - {lo} != {m}) {f.fail}")
        f.emit(f"memcpy(v_{name} + {lo}, {src}, sizeof(int64_t) * {m});")
        f.depth -= 1
        f.emit("}")

    def for_range(self, f: _Fn, var: str, args: list[ast.expr], body: list[ast.stmt]) -> None:
        vals = [self.expr(f, a) for a in args]
        if len(vals) == 1:
            vals = ["INT64_C(0)", vals[0]]
        if len(vals) == 2:
            vals.append("INT64_C(1)")
        a, b, c, k = (self.fresh(x) for x in "abck")
        self.bind(f, var, INT, 0)
        f.emit(f"{{ int64_t {a} = {vals[0]}, {b} = {vals[1]}, {c} = {vals[2]};")
        f.depth += 1
        self.check(f)
        f.emit(f"if ({c} == 0) {f.fail}")
        f.emit(f"for (int64_t {k} = {a}; {c} > 0 ? {k} < {b} : {k} > {b}; {k} += {c}) {{")
        f.depth += 1
        f.emit(f"v_{var} = {k};")
        self.block(f, body)
        f.depth -= 1
        f.emit("}")
        f.depth -= 1
        f.emit("}")

    def for_list(self, f: _Fn, var: str, seq: str, body: list[ast.stmt]) -> None:
        if f.types.get(seq, ("", 0))[0] != LIST:
            raise Untranslatable("a loop over something other than a list")
        if any(isinstance(n, ast.Name) and n.id == seq for b in body for n in ast.walk(b)):
            raise Untranslatable("a loop that changes the list it walks")
        k = self.fresh("k")
        self.bind(f, var, INT, 0)
        f.emit(f"for (int64_t {k} = 0; {k} < l_{seq}; {k}++) {{")
        f.depth += 1
        f.emit(f"v_{var} = v_{seq}[{k}];")
        self.block(f, body)
        f.depth -= 1
        f.emit("}")

    def call_helper(self, f: _Fn, call: ast.Call, into: str | None) -> None:
        if not isinstance(call.func, ast.Name) or call.keywords:
            raise Untranslatable("a call")
        fn = call.func.id
        if fn not in self.funcs or fn in ("_successors", "_initial"):
            raise Untranslatable(f"a call to {fn}")
        kinds: list[str] = []
        cargs: list[str] = []
        for a in call.args:
            if isinstance(a, ast.Name) and f.types.get(a.id, ("", 0))[0] in (STATE, STATE_RO):
                kinds.append(f.types[a.id][0])
                cargs.append(f"v_{a.id}")
            elif isinstance(a, ast.Tuple):
                kinds.append(OPAQUE)  # an action's arguments: only ever passed on to _err
            else:
                kinds.append(INT)
                cargs.append(self.expr(f, a))
        cname = self.helper(fn, tuple(kinds))
        r = self.fresh("r")
        f.emit(f"{{ int64_t {r} = 0;")
        f.depth += 1
        self.check(f)
        # 0: a value, 1: redo in Python, 2: it answered None (fine for a statement)
        call_c = f"{cname}(&{r}{''.join(', ' + x for x in cargs)})"
        if into is not None:
            f.emit(f"if ({call_c} != 0) {f.fail}")
            f.emit(f"{into} = {r};")
        else:
            f.emit(f"if ({call_c} == 1) {f.fail}")
        f.depth -= 1
        f.emit("}")

    def helper(self, name: str, kinds: tuple[str, ...]) -> str:
        """A module-level helper (`_free_Pod`, `_del_Pod`) as a C function for these argument
        kinds: 0 with its value in *ret, 1 (redo the state in Python) or 2 (it answered None)."""
        key = (name, kinds)
        if key in self.helpers:
            return self.helpers[key]
        node = self.funcs[name]
        params = [a.arg for a in node.args.args]
        if len(params) != len(kinds) or node.args.defaults or node.args.vararg:
            raise Untranslatable(f"the arguments of {name}")
        cname = f"kh_{name.strip('_')}_{len(self.helper_src)}"
        f = _Fn(self.width, in_helper=True)
        decl = ["int64_t *ret"]
        for p, k in zip(params, kinds, strict=True):
            if k == OPAQUE:
                f.types[p] = (OPAQUE, 0)
                continue
            f.types[p] = (k, self.width if k != INT else 0)
            decl.append(f"int64_t *v_{p}" if k != INT else f"int64_t v_{p}")
        self.block(f, node.body)
        body = self.locals(f, set(params)) + f.lines
        self.helper_src.append(
            f"static int {cname}({', '.join(decl)}) {{\n    int bad = 0;\n"
            + "\n".join(body)
            + "\n    return 2; /* fell off the end: Python answers None */\n}"
        )
        self.helpers[key] = cname
        return cname

    def locals(self, f: _Fn, params: set[str]) -> list[str]:
        """The function's locals, its lists on the stack (not static: two searches in two
        threads may run the same model's code at once)."""
        out = []
        stack = 0
        for name, (kind, n) in sorted(f.types.items()):
            if name in params or kind == OPAQUE or name == "s":
                continue
            if kind in (INT, OPT):
                out.append(f"    int64_t v_{name} = 0;")
                if kind == OPT:
                    out.append(f"    int n_{name} = 1;")
                continue
            # one buffer per name: a name's old list is dead when it is reassigned
            out.append(f"    int64_t v_{name}[{n}];")
            stack += 8 * n
            if kind == LIST:
                out.append(f"    int64_t l_{name} = 0;")
        if stack > STACK_LIMIT:
            raise Untranslatable("more lists than the stack should hold")
        return out
