"""The values of an invariant's sub-expressions in a state, for the page: a `forall` or
`exists` over kinds is opened per object (`n = Node#0`), `and`, `or` and `implies` per operand,
and a comparison shows the values of both its sides (`used(n) = 5`, `n.cpu = 4`). Each
sub-expression is compiled by the model's own compiler
(kcheck.model.compile.expression_compiler, in the namespace of the model's generated code) with the bound objects as constants, so a value shown
is the one the checker computes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kcheck.lang import ast
from kcheck.lang.frontend import CheckedModel
from kcheck.lang.types import TRef, TSet, Type
from kcheck.model.compile import expression_compiler
from kcheck.model.env import Ctx, Env, Local
from kcheck.model.ir import CompiledModel, State, StepError
from kcheck.model.runtime import RUNTIME_NS
from kcheck.trace import ObjectNames

MAX_ROWS = 60  # per invariant
MAX_BINDINGS = 24  # objects opened per quantifier
LOGIC = ("and", "or", "implies")
COMPARE = ("==", "!=", "<", "<=", ">", ">=", "in", "not in")


class Explainer:
    def __init__(self, checked: CheckedModel, model: CompiledModel) -> None:
        self.sym = checked.symbols
        self.lines = checked.source.text.split("\n")
        self.model = model
        self.compiler = expression_compiler(self.sym)
        self.ns: dict[str, Any] = dict(RUNTIME_NS)
        exec(compile(model.python_source, f"<kcheck model {model.name}>", "exec"), self.ns)
        self.compiled: dict[tuple[int, tuple[tuple[str, str], ...]], Any] = {}

    def text(self, e: Any) -> str:
        sp = e.span
        if sp.line <= 0:
            return "?"
        if sp.line == sp.end_line:
            return str(self.lines[sp.line - 1][sp.col - 1 : sp.end_col - 1])
        parts = [self.lines[sp.line - 1][sp.col - 1 :]]
        parts += self.lines[sp.line : sp.end_line - 1]
        parts.append(self.lines[sp.end_line - 1][: sp.end_col - 1])
        return " ".join(p.strip() for p in parts)

    def _fn(self, e: ast.Expr, env: Env) -> tuple[Callable[[State], int], Type] | None:
        key = (id(e), tuple(sorted((k, v.code) for k, v in env.items())))
        if key not in self.compiled:
            try:
                code = self.compiler.expr(e, env, "s", Ctx(-2, "()", "s"))
                ty = self.compiler.types.type_of(e, env)
                fn = eval(f"lambda s: {code}", self.ns)
                self.compiled[key] = (fn, ty)
            except Exception:  # a form the explainer cannot compile alone: left out
                self.compiled[key] = None
        return self.compiled[key]  # type: ignore[no-any-return]

    def _value(self, e: ast.Expr, env: Env, s: State, names: ObjectNames) -> Any:
        got = self._fn(e, env)
        if got is None:
            return None
        fn, ty = got
        try:
            raw = fn(s)
        except StepError as err:
            return {"error": err.message}
        shown = self.model.layout.show_value(ty, int(raw))
        if isinstance(ty, TRef) and isinstance(shown, str):
            return names.display(shown)
        if isinstance(ty, TSet) and isinstance(shown, list):
            return [names.display(x) if isinstance(x, str) else x for x in shown]
        return shown

    def explain(self, name: str, s: State, names: ObjectNames) -> list[dict[str, Any]]:
        inv = next((i for i in self.sym.invariants if i.name == name), None)
        if inv is None:
            return []
        rows: list[dict[str, Any]] = []
        self._walk(inv.expr, {}, s, names, 0, rows, top=True)
        return rows

    def _row(self, rows: list[dict[str, Any]], depth: int, text: str, value: Any) -> None:
        if len(rows) < MAX_ROWS:
            rows.append({"depth": depth, "expr": text, "value": value})

    def _walk(
        self,
        e: ast.Expr,
        env: Env,
        s: State,
        names: ObjectNames,
        depth: int,
        rows: list[dict[str, Any]],
        top: bool = False,
    ) -> None:
        if len(rows) >= MAX_ROWS:
            return
        if not top:
            self._row(rows, depth, self.text(e), self._value(e, env, s, names))
        match e:
            case ast.Quant(binders=(b,), where=w, body=body) if self._kind_of(b) is not None:
                kind = self.model.layout.kind(self._kind_of(b) or "")
                opened = 0
                for slot in range(kind.slots):
                    if not s[kind.slot_base(slot)] or opened >= MAX_BINDINGS:
                        continue
                    inner = {**env, b.name: Local(str(slot), TRef(kind.name), True)}
                    if w is not None and self._value(w, inner, s, names) is not True:
                        continue
                    opened += 1
                    who = names.display(f"{kind.name}#{slot}")
                    self._row(rows, depth + 1, f"{b.name} = {who}:", None)
                    self._walk(body, inner, s, names, depth + 2, rows)
            case ast.Binary(op=op, left=left, right=right) if op in LOGIC:
                self._walk(left, env, s, names, depth + 1, rows)
                self._walk(right, env, s, names, depth + 1, rows)
            case ast.Binary(op=op, left=left, right=right) if op in COMPARE:
                for side in (left, right):
                    if not isinstance(side, ast.IntLit):
                        self._row(
                            rows, depth + 1, self.text(side), self._value(side, env, s, names)
                        )
            case _:
                pass

    def _kind_of(self, b: ast.Binder) -> str | None:
        d = b.domain
        named = isinstance(d, ast.ExprDomain) and isinstance(d.expr, ast.Name)
        if named and d.expr.id in self.sym.kinds:  # type: ignore[union-attr]
            return d.expr.id  # type: ignore[union-attr]
        return None
