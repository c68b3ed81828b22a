"""Names that lowering (lang/frontend.py `lower_program`) rewrites before they resolve, mapped
back to what the user wrote. The index is built from the lowered program, where `c.ready` is
the flat field `containers[0].ready` of a Pod, `expected[rs]` a field `replicaset.expected` of
the ReplicaSet, `skew SKEW` a generated fault and an array's size gone: this pass walks the
program as written and makes each of its names lead to its own declaration, with its type."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import replace

from kcheck.lang import ast
from kcheck.lang.fmt_expr import format_expr
from kcheck.lang.symbols import Symbols
from kcheck.lsp.index import Index, Ref, top_level_ref

_FLAT = re.compile(r"^(\w+)\[\w+\]\.(.+)$")  # records.flat_name (a number or a member)


def uses(program: ast.Program) -> Iterator[tuple[str, ast.Span, ast.Span | None]]:
    """Every place the written program names something, with where the object a field is read
    from stands."""
    for n in ast.walk_nodes(program):
        match n:
            case ast.Name(id=name):
                yield name, n.span, None
            case ast.Field(obj=obj, name=name) | ast.Elem(obj=obj, name=name):
                yield name, n.name_span, obj.span
            case ast.Call(func=name):
                yield name, n.func_span, None
            case ast.LValue(parts=parts):
                owners = (None, *n.part_spans)  # `p.containers[i].ready :=`: p's, then ...
                for name, span, owner in zip(parts, n.part_spans, owners, strict=False):
                    yield name, span, owner


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
        # kind -> list field -> its declaration (lang/lists.py makes it a length and slots)
        self.lists: dict[str, dict[str, ast.FieldDecl]] = {
            d.name: {f.name: f for f in d.fields if isinstance(f.type, ast.ListType)}
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
            kind = r.what.removeprefix("field of ")
            f = self.arrays.get(kind, {}).get(m.group(1))
            if f is not None and isinstance(f.type, ast.ArrayType):
                if r.span == f.name_span:  # the flat fields are declared where the array is
                    return self.array_field(kind, f, r.span)
                rec = self.records.get(f.type.elem)
                rest = m.group(2)
                inner = _FLAT.match(rest)
                while rec is not None and inner is not None:  # an array inside the record
                    arr = next((x for x in rec.fields if x.name == inner.group(1)), None)
                    elem = arr.type.elem if arr and isinstance(arr.type, ast.ArrayType) else ""
                    rec, rest = self.records.get(elem), inner.group(2)
                    inner = _FLAT.match(rest)
                part = next((x for x in rec.fields if x.name == rest), None) if rec else None
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

    def array_field(self, kind: str, f: ast.FieldDecl, span: ast.Span) -> Ref:
        if isinstance(f.type, ast.ListType):
            shown = f"list<{f.type.elem}, {format_expr(f.type.size)}>"
            return Ref(span, f.name, f"field of {kind}", shown, f.name_span)
        assert isinstance(f.type, ast.ArrayType)
        shown = f"{f.type.elem}[{format_expr(f.type.size)}]"
        return Ref(span, f.name, f"field of {kind}", shown, f.name_span)

    def part_binders(self, program: ast.Program) -> None:
        """`c in p.containers` is lowered to an index `c in 0..1`: `c` is shown as the record
        it stands for."""
        for n in ast.walk_nodes(program):
            if not (isinstance(n, ast.Binder) and isinstance(n.domain, ast.ExprDomain)):
                continue
            d = n.domain.expr
            if not isinstance(d, ast.Field):
                continue
            owner = next((r for r in self.index.refs if r.span == d.obj.span), None)
            kind = (owner.type or "").rstrip("?") if owner is not None else ""
            f = self.arrays.get(kind, {}).get(d.name)
            if f is None or not isinstance(f.type, ast.ArrayType):
                continue
            rec = f.type.elem
            self.index.refs = [
                replace(r, type=rec) if r.decl == n.name_span and r.name == n.name else r
                for r in self.index.refs
            ]

    def create_parts(self, program: ast.Program) -> None:
        """`create Pod { containers[0].ready: e }`: `containers` is the kind's array field."""
        for n in ast.walk_nodes(program):
            if isinstance(n, ast.Create):
                for init in n.fields:
                    f = self.arrays.get(n.kind, {}).get(init.name)
                    if init.index is not None and f is not None:
                        self.add(self.array_field(n.kind, f, init.name_span))

    def record_decls(self) -> None:
        """A record's declaration is gone from the lowered program: its name, its fields' names
        and the record named in an array's type are indexed from the program as written."""
        for rec in self.records.values():
            self.add(Ref(rec.name_span, rec.name, "record", None, rec.name_span))
            for f in rec.fields:
                shown = self.part_type(rec.name, f.name)
                self.add(Ref(f.name_span, f.name, f"field of {rec.name}", shown, f.name_span))
        for fields in self.arrays.values():
            for f in fields.values():
                t = f.type
                if isinstance(t, ast.ArrayType) and t.elem in self.records and t.span.line:
                    at = ast.Span(t.span.line, t.span.col, t.span.line, t.span.col + len(t.elem))
                    decl = self.records[t.elem].name_span
                    self.add(Ref(at, t.elem, "record", None, decl))

    def part_type(self, record: str, name: str) -> str | None:
        """The type the checker gives a record's field: that of its first flat field."""
        for kind, fields in self.arrays.items():
            info = self.symbols.kinds.get(kind)
            for f in fields.values():
                if info is not None and isinstance(f.type, ast.ArrayType) and f.type.elem == record:
                    found = (x for x in info.fields if x.name.startswith(f"{f.name}[")
                             and x.name.endswith(f"].{name}"))  # fmt: skip
                    flat = next(found, None)
                    if flat is not None:
                        return str(flat.type)
        return None

    def add(self, r: Ref) -> None:
        if r.span != ast.NOWHERE and not r.span.file:
            self.index.refs.append(r)

    def resolves(self, name: str, span: ast.Span) -> bool:
        r = self.index.at(span.line, span.col)
        return r is not None and _last(r.name) == _last(name)

    def resolve(self, name: str, span: ast.Span, obj: ast.Span | None) -> Ref | None:
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
            owner = next((r for r in self.index.refs if r.span == obj), None)
            kind = (owner.type or "").rstrip("?") if owner is not None else ""
            f = self.arrays.get(kind, {}).get(name) or self.lists.get(kind, {}).get(name)
            if f is not None:
                return self.array_field(kind, f, span)
            return None
        return top_level_ref(self.symbols, name, span)


def _written(r: Ref, lines: Sequence[str]) -> bool:
    """Does the text at `r` name what `r` says? Lowering gives what it generates the span of
    what it came from (`since: clock` becomes a var read by the generated `tick`; `c.ready` reads
    `p`'s flat field): those are not names the user can point at."""
    s = r.span
    if s.line != s.end_line or not 1 <= s.line <= len(lines):
        return True
    text = lines[s.line - 1][s.col - 1 : s.end_col - 1]
    return re.search(rf"\b{re.escape(_last(r.name))}\b", text) is not None


def repair(program: ast.Program, symbols: Symbols, index: Index, lines: Sequence[str]) -> None:
    """Make every name of `program` (as written, its text `lines`) resolve in `index` (built
    from it lowered), and drop what lowering generated in the user's places."""
    fix = _Repair(program, symbols, index)
    index.refs = [r for r in map(fix.rename, index.refs) if _written(r, lines)]
    fix.record_decls()
    for kind, lists in fix.lists.items():  # a list's declaration (its fields are generated)
        for f in lists.values():
            index.refs = [r for r in index.refs if r.span != f.name_span]
            fix.add(fix.array_field(kind, f, f.name_span))
    fix.create_parts(program)
    for name, span, obj in uses(program):
        if span == ast.NOWHERE or span.file or fix.resolves(name, span):
            continue
        ref = fix.resolve(name, span, obj)
        if ref is not None:
            # a generated name in the user's place (`skew SKEW` is the fault `A_clock`) goes
            index.refs = [r for r in index.refs if r.span != span]
            index.refs.append(ref)
    fix.part_binders(program)
