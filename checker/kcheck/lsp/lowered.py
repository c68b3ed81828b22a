"""Names that lowering (lang/frontend.py `lower_program`) rewrites before they resolve, mapped
back to what the user wrote. The index is built from the lowered program, where `c.ready` is
the flat field `containers[0].ready` of a Pod, `expected[rs]` a field `replicaset.expected` of
the ReplicaSet, `skew SKEW` a generated fault and an array's size gone: this pass walks the
program as written and makes each of its names lead to its own declaration, with its type."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace

from kcheck.lang import ast
from kcheck.lang.fmt_expr import format_expr
from kcheck.lang.symbols import Symbols
from kcheck.lsp.index import Index, Ref, top_level_ref

_FLAT = re.compile(r"^(\w+)\[\d+\]\.(\w+)$")  # records.flat_name


def uses(program: ast.Program) -> Iterator[tuple[str, ast.Span, ast.Expr | None]]:
    """Every place the written program names something, with the object a field is read from."""
    for n in ast.walk_nodes(program):
        match n:
            case ast.Name(id=name):
                yield name, n.span, None
            case ast.Field(obj=obj, name=name) | ast.Elem(obj=obj, name=name):
                yield name, n.name_span, obj
            case ast.Call(func=name):
                yield name, n.func_span, None
            case ast.LValue(parts=parts):
                for name, span in zip(parts, n.part_spans, strict=False):
                    yield name, span, None


def _last(name: str) -> str:
    return name.split(".")[-1]


def _contains(outer: ast.Span, inner: ast.Span) -> bool:
    return (outer.line, outer.col) <= (inner.line, inner.col) and (
        inner.end_line,
        inner.end_col,
    ) <= (outer.end_line, outer.end_col)


class _Repair:
    def __init__(self, program: ast.Program, symbols: Symbols, index: Index) -> None:
        self.symbols = symbols
        self.index = index
        self.records = {d.name: d for d in program.decls if isinstance(d, ast.Record)}
        # kind -> array field -> its declaration
        self.arrays: dict[str, dict[str, ast.FieldDecl]] = {
            d.name: {f.name: f for f in d.fields if isinstance(f.type, ast.ArrayType)}
            for d in program.decls
            if isinstance(d, ast.Kind)
        }
        self.keyed: dict[str, tuple[str, ast.Var]] = {}  # `actor.v` -> (actor, v)
        for d in program.decls:
            if isinstance(d, ast.Controller | ast.Process):
                for v in d.locals:
                    if isinstance(v.type, ast.KeyedSetType):
                        self.keyed[f"{d.name}.{v.name}"] = (d.name, v)

    def rename(self, r: Ref) -> Ref:
        """A lowered field as the user declared it: a record's field, an actor's keyed local."""
        m = _FLAT.match(r.name)
        if m is not None and r.what.startswith("field of "):
            for fields in self.arrays.values():
                f = fields.get(m.group(1))
                if f is None or not isinstance(f.type, ast.ArrayType):
                    continue
                rec = self.records.get(f.type.elem)
                part = next((x for x in rec.fields if x.name == m.group(2)), None) if rec else None
                if rec is not None and part is not None:
                    return replace(
                        r, name=part.name, what=f"field of {rec.name}", decl=part.name_span
                    )
        if r.name in self.keyed and r.what.startswith("field of "):
            actor, v = self.keyed[r.name]
            assert isinstance(v.type, ast.KeyedSetType)
            what = f"local of {actor}, one per {v.type.key}"
            return replace(r, name=v.name, what=what, decl=v.name_span)
        return r

    def resolves(self, name: str, span: ast.Span) -> bool:
        r = self.index.at(span.line, span.col)
        return r is not None and _last(r.name) == _last(name)

    def resolve(self, name: str, span: ast.Span, obj: ast.Expr | None) -> Ref | None:
        # a name the lowering widened (`expected[rs] :=` is one lvalue part spanning it all)
        around = [
            r
            for r in self.index.refs
            if _contains(r.span, span) and _last(r.name) == _last(name) and r.span != span
        ]
        if around:
            best = min(around, key=lambda r: (r.span.end_line - r.span.line, r.span.end_col))
            return replace(best, span=span)
        if obj is not None:  # `p.containers`: an array field, read through p's type
            owner = next((r for r in self.index.refs if r.span == obj.span), None)
            kind = (owner.type or "").rstrip("?") if owner is not None else ""
            f = self.arrays.get(kind, {}).get(name)
            if f is not None and isinstance(f.type, ast.ArrayType):
                shown = f"{f.type.elem}[{format_expr(f.type.size)}]"
                return Ref(span, name, f"field of {kind}", shown, f.name_span)
            return None
        return top_level_ref(self.symbols, name, span)


def repair(program: ast.Program, symbols: Symbols, index: Index) -> None:
    """Make every name of `program` (as written) resolve in `index` (built from it lowered)."""
    fix = _Repair(program, symbols, index)
    index.refs = [fix.rename(r) for r in index.refs]
    for name, span, obj in uses(program):
        if span == ast.NOWHERE or span.file or fix.resolves(name, span):
            continue
        ref = fix.resolve(name, span, obj)
        if ref is not None:
            # a generated name in the user's place (`skew SKEW` is the fault `A_clock`) goes
            index.refs = [r for r in index.refs if r.span != span]
            index.refs.append(ref)
