"""Parsed AST -> parsed AST without records and arrays (spec/language.md §2, "Records and
arrays").

`record Container { ready: bool }` and a kind's field `containers: Container[2]` give each
object a fixed number of parts. They are lowered here, before names resolve, into what every
later pass already knows, so the checker, the compiler, the generated C, the Z3 encoder, the
reference interpreter and `kcheck run` meet no new construct and cannot disagree about it:

    containers: Container[2]            fields `containers[0].ready`, `containers[1].ready`
    p.containers[1].ready               p.`containers[1].ready`   (a field of p)
    p.containers[i].ready               if i == 0 then p.`containers[0].ready` else ...[1]...
    p.containers[i].ready := e          if i == 0 { p.`containers[0].ready` := e } else { ... }
    forall c in p.containers: c.ready   forall c in 0..1: p.containers[c].ready   (as above)

The flat fields belong to the object, so symmetry permutes an object's parts with it, and
traces, JSON and diagnostics show them under the user's own spelling (`containers[0].ready`).
An index is never out of range at run time: a constant index is checked here, and a variable
index must have a range kcheck knows (a binder over a range, a range-typed field, var, param or
`let`, and sums of those) inside the array's (KC0801), so no engine needs an index check.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import fields, is_dataclass, replace
from typing import Any

from kcheck.lang import ast
from kcheck.lang.diagnostics import Diagnostic
from kcheck.lang.fmt_expr import format_expr
from kcheck.lang.part_index import EMPTY, Known, Scope
from kcheck.lang.record_decls import Array, Declarations, Key, flat_name, key_expr
from kcheck.lang.record_sites import Site


def lower_records(
    program: ast.Program, overrides: Mapping[str, int | str] | None = None
) -> tuple[ast.Program, list[Diagnostic], list[Site]]:
    """`program` with every record array made flat fields (the same object if it has none),
    the errors of their declaration and use, and the places a variable index was lowered."""
    if not any(isinstance(d, ast.Record) for d in program.decls) and not _mentions_parts(program):
        return program, [], []
    low = _Lowering(program, overrides or {})
    decls: list[ast.Decl] = []
    for d in program.decls:
        if isinstance(d, ast.Record):
            continue
        if isinstance(d, ast.Kind):
            decls.append(replace(d, fields=tuple(low.kind_fields(d))))
        else:
            low.no_arrays(d)
            decls.append(low.rewrite(d, EMPTY))
    return replace(program, decls=tuple(decls)), low.diags, low.sites


def _mentions_parts(program: ast.Program) -> bool:
    for n in ast.walk_nodes(program):
        if isinstance(n, ast.Elem | ast.ArrayType) or (
            isinstance(n, ast.LValue | ast.FieldInit)
            and (n.elem if isinstance(n, ast.LValue) else n.index) is not None
        ):
            return True
    return False


class _Lowering:
    def __init__(self, program: ast.Program, overrides: Mapping[str, int | str]) -> None:
        self.diags: list[Diagnostic] = []
        self.sites: list[Site] = []
        self.known = Known(program, overrides)
        declared = Declarations(program, self.known, self.error)
        self.records = declared.records
        self.arrays = declared.arrays

    def kind_fields(self, k: ast.Kind) -> list[ast.FieldDecl]:
        out: list[ast.FieldDecl] = []
        for f in k.fields:
            arr = self.arrays.get(f.name) if isinstance(f.type, ast.ArrayType) else None
            if arr is None:
                if not isinstance(f.type, ast.ArrayType):
                    out.append(replace(f, default=self.rewrite(f.default, EMPTY)))
                continue
            for key in arr.keys:
                for rf in arr.record.fields:
                    name = flat_name(f.name, key, rf.name)
                    out.append(replace(rf, name=name, key=False, name_span=f.name_span))
        return out

    def no_arrays(self, d: ast.Decl) -> None:
        """An array is only a kind's field."""
        for n in ast.walk_nodes(d):
            if isinstance(n, ast.ArrayType):
                self.error("KC0802", "only a kind's field can be an array", n.span,
                           help="declare it as a field of the kind")  # fmt: skip

    # ---- expressions and statements -------------------------------------------------------

    def rewrite(self, node: Any, scope: Scope) -> Any:
        if isinstance(node, tuple):
            return tuple(self.rewrite(x, scope) for x in node)
        if not is_dataclass(node) or isinstance(node, type):
            return node
        match node:
            case ast.Field(obj=ast.Elem() as el, name=rf):
                return self.read(el, rf, node, scope)
            case ast.Field(obj=ast.Name(id=c), name=rf) if c in scope.parts:
                return self.read(self.as_elem(c, node.obj.span, scope), rf, node, scope)
            case ast.Elem():
                self.not_a_value(f"`{format_expr(node)}`", node.span, node.name, node)
                return node.index  # any int: the error stops the check
            case ast.Name(id=c) if c in scope.parts:
                self.not_a_value(f"`{c}`", node.span, scope.parts[c][1], node)
                return node
            case ast.Field(name=f) if f in self.arrays:
                self.not_a_value(f"`{format_expr(node)}`", node.span, f, None)
                return node
            case (
                ast.Quant()
                | ast.Count()
                | ast.Aggregate()
                | ast.Action()
                | ast.For()
                | (ast.Choose())
            ):
                binders, inner = self.binders(node.binders, scope)
                out: dict[str, Any] = {"binders": binders}
                for name in ("where", "when", "body"):
                    if hasattr(node, name):
                        out[name] = self.rewrite(getattr(node, name), inner)
                return replace(node, **out)
            case ast.SetBuilder():
                (binder,), inner = self.binders((node.binder,), scope)
                if node.binder.name in inner.parts:
                    self.not_a_value("a set of parts", node.binder.span, "", None)
                return replace(node, binder=binder, where=self.rewrite(node.where, inner))
            case ast.Def():
                inner = scope
                for p in node.params:
                    inner = inner.bind(p.name, rng=self.known.range_of(p.type),
                                       enum=self.known.enum_type(p.type))  # fmt: skip
                return replace(node, body=self.rewrite(node.body, inner))
            case ast.Block(stmts=stmts):
                return replace(node, stmts=self.block(stmts, scope))
            case ast.Create():
                return replace(node, fields=tuple(self.create_inits(node, scope)))
        return self.generic(node, scope)

    def create_inits(self, node: ast.Create, scope: Scope) -> list[ast.FieldInit]:
        """A create's fields, a part's field given as `containers[0].ready: e` made the flat
        field. A whole array cannot be given (its parts take their records' defaults)."""
        out = []
        for init in node.fields:
            if init.index is None and init.name in self.arrays:
                self.error(
                    "KC0802",
                    f"`{init.name}` is an array of parts: give a part's field, "
                    f"`{init.name}[{self.arrays[init.name].keys[0]}].FIELD: ...`",
                    init.name_span,
                    help="or leave it out: each part takes its record's defaults",
                )
                continue
            value = self.rewrite(init.value, scope)
            if init.index is None:
                out.append(replace(init, value=value))
                continue
            keys = self.indexes(
                init.name, init.name_span, init.index, init.part, init.part_span, scope
            )
            if len(keys) > 1:
                self.error(
                    "KC0801",
                    "a create gives one part's field: its index must be one number or member",
                    init.index.span,
                    help=f"write one line per part: `{init.name}[{keys[0]}].{init.part}: ...`",
                )
            elif keys:
                name = flat_name(init.name, keys[0], init.part)
                out.append(ast.FieldInit(name, value, init.part_span, init.span))
        return out

    def generic(self, node: Any, scope: Scope) -> Any:
        changes = {
            f.name: self.rewrite(getattr(node, f.name), scope)
            for f in fields(node)
            if "span" not in f.name
        }
        return replace(node, **changes)

    def binders(
        self, binders: tuple[ast.Binder, ...], scope: Scope
    ) -> tuple[tuple[ast.Binder, ...], Scope]:
        """Binders in order (each domain sees the binders before it); `c in p.containers`
        becomes `c in 0..N-1`, an index into the parts."""
        out = []
        for b in binders:
            self.capture(scope, b.name, b.name_span)
            d = b.domain
            if (
                isinstance(d, ast.ExprDomain)
                and isinstance(d.expr, ast.Field)
                and d.expr.name in self.arrays
            ):
                arr = self.arrays[d.expr.name]
                part = (d.expr.obj, d.expr.name)  # as written: lowered where it is read
                if not self.is_part(d.expr.obj, scope):
                    self.rewrite(d.expr.obj, scope)  # its errors, once
                if arr.enum is not None:
                    domain: ast.Domain = ast.ExprDomain(ast.Name(arr.enum, d.span), d.span)
                    scope = scope.bind(b.name, part, enum=arr.enum)
                else:
                    last = ast.IntLit(arr.size - 1, d.span)
                    domain = ast.RangeDomain(ast.IntLit(0, d.span), last, d.span)
                    scope = scope.bind(b.name, part, (0, arr.size - 1))
                out.append(replace(b, domain=domain))
                continue
            out.append(replace(b, domain=self.rewrite(d, scope)))
            rng_of = None
            if isinstance(d, ast.RangeDomain):
                lo, hi = self.known.const(d.lo), self.known.const(d.hi)
                rng_of = (lo, hi) if lo is not None and hi is not None else None
            enum = None
            if isinstance(d, ast.ExprDomain) and isinstance(d.expr, ast.Name):
                enum = d.expr.id if d.expr.id in self.known.enums else None
            scope = scope.bind(b.name, rng=rng_of, enum=enum)
        return tuple(out), scope

    def block(self, stmts: tuple[ast.Stmt, ...], scope: Scope) -> tuple[ast.Stmt, ...]:
        out: list[ast.Stmt] = []
        for st in stmts:
            if isinstance(st, ast.Assign | ast.AssignAny):
                out.append(self.assign(st, scope))
                continue
            out.append(self.rewrite(st, scope))
            if isinstance(st, ast.Let):
                self.capture(scope, st.name, st.name_span)
                value = st.value
                rng, enum = None, None
                if not isinstance(value, ast.Create):
                    rng = self.known.interval(value, scope)
                    found = self.known.members(value, scope)
                    enum = found[0] if found is not None and len(found[1]) > 1 else None
                scope = scope.bind(st.name, rng=rng, enum=enum)
        return tuple(out)

    # ---- one part's field -----------------------------------------------------------------

    def is_part(self, e: ast.Expr, scope: Scope) -> bool:
        return isinstance(e, ast.Elem) or (isinstance(e, ast.Name) and e.id in scope.parts)

    def as_elem(self, c: str, span: ast.Span, scope: Scope) -> ast.Elem:
        """A part binder `c` over `obj.array` as the part it names, `obj.array[c]`."""
        obj, array = scope.parts[c]
        return ast.Elem(obj, array, ast.Name(c, span), span, span)

    def index(self, index: ast.Expr, scope: Scope) -> ast.Expr:
        """An index lowered (a part binder standing for its own number is left as it is)."""
        if isinstance(index, ast.Name) and index.id in scope.parts:
            return index
        return self.rewrite(index, scope)  # type: ignore[no-any-return]

    def read(self, el: ast.Elem, field: str, node: ast.Field, scope: Scope) -> ast.Expr:
        """`obj.array[index].field`: one flat field, or a case over the index's values. When
        `obj` is itself a part (an array inside a record), the flat field is a field of that
        part, lowered the same way."""
        values = self.indexes(el.name, el.name_span, el.index, field, node.name_span, scope)
        if not values:
            return ast.Field(el.obj, field, node.name_span, node.span)  # the error stops
        if len(values) > 1:
            self.sites.append(Site(node.span, format_expr(node), el.name, field))
        reads: list[ast.Expr] = []
        for k in values:
            flat, obj = flat_name(el.name, k, field), el.obj
            if isinstance(obj, ast.Name) and obj.id in scope.parts:
                obj = self.as_elem(obj.id, obj.span, scope)
            if isinstance(obj, ast.Elem):
                reads.append(self.read(obj, flat, node, scope))
            else:
                reads.append(ast.Field(self.rewrite(obj, scope), flat, node.name_span, node.span))
        index = self.index(el.index, scope)
        out = reads[-1]
        for i, r in zip(reversed(values[:-1]), reversed(reads[:-1]), strict=True):
            cond = ast.Binary("==", index, key_expr(i, index.span), index.span, index.span)
            out = ast.IfExpr(cond, r, out, node.span)
        return out

    def indexes(
        self,
        array: str,
        array_span: ast.Span,
        index: ast.Expr,
        field: str,
        field_span: ast.Span,
        scope: Scope,
    ) -> list[Key]:
        """The parts an index may name (empty after an error)."""
        arr = self.arrays.get(array)
        if arr is None:
            self.error("KC0802", f"`{array}` is not an array field", array_span,
                       help="index an array field declared `NAME: Record[N]`")  # fmt: skip
            return []
        names = [f.name for f in arr.record.fields]
        if field not in names and field in arr.written:  # an array inside the record
            self.not_a_value(f"`{field}`", field_span, field, None)
            return []
        if field not in names:
            close = difflib.get_close_matches(field, arr.written, 1)
            self.error(
                "KC0203",
                f"record `{arr.record.name}` has no field `{field}`",
                field_span,
                notes=(f"its fields: {', '.join(arr.written)}",),
                help=f"did you mean `{close[0]}`?" if close else None,
            )
            return []
        return self.keys_of(arr, array, index, scope)

    def keys_of(self, arr: Array, array: str, index: ast.Expr, scope: Scope) -> list[Key]:
        if arr.enum is not None:
            found = self.known.members(index, scope)
            if found is not None and found[0] == arr.enum:
                return list(found[1])
            if found is not None:
                known = f"this index is a `{found[0]}`"
            elif self.known.interval(index, scope) is not None:
                known = "this index is a number"
            else:
                known = "kcheck does not know this index to be a member of an enum"
            self.error(
                "KC0801",
                f"{known}, and `{array}` is indexed by `{arr.enum}`",
                index.span,
                help=f"index with a member (`{array}[{arr.keys[0]}]`), a binder "
                f"`t in {arr.enum}` or a field, var or `let` of type `{arr.enum}`; or bind the "
                f"parts: `c in x.{array}`",
            )
            return []
        rng = self.known.interval(index, scope)
        last = arr.size - 1
        if rng is None or rng[0] < 0 or rng[1] > last:
            found = self.known.members(index, scope)
            if found is not None:
                known = f"this index is a `{found[0]}`, not a number"
            elif rng is None:
                known = "kcheck knows no bounds of this index"
            elif rng[0] == rng[1]:
                known = f"this index is {rng[0]}"
            else:
                bad = rng[0] if rng[0] < 0 else rng[1]
                known = f"this index may be {bad} (its range is {rng[0]}..{rng[1]})"
            self.error(
                "KC0801",
                f"{known}, and `{array}` has parts 0..{last}",
                index.span,
                help=f"index with a constant, a binder `i in 0..{last}` or a field, var or "
                f"`let` of a range inside 0..{last}; or bind the parts: `c in x.{array}`",
            )
            return []
        return list(range(rng[0], rng[1] + 1))

    def assign(self, st: ast.Assign | ast.AssignAny, scope: Scope) -> ast.Stmt:
        """`x.array[i].field := e`, `x.a[i].b[j].field := e`, or `c.field := e` for a part
        binder `c`: one flat field, or a case over the parts the indexes may name."""
        lv = st.target
        rest = (
            replace(st, value=self.rewrite(st.value, scope))
            if isinstance(st, ast.Assign)
            else replace(st, domain=self.rewrite(st.domain, scope))
        )
        if lv.elem is None and not (lv.parts[0] in scope.parts and len(lv.parts) > 1):
            if lv.parts[0] in scope.parts:
                part_array = scope.parts[lv.parts[0]][1]
                self.not_a_value(f"`{lv.parts[0]}`", lv.span, part_array, ast.Name(lv.parts[0]))
            return replace(rest, target=replace(lv, index=self.rewrite(lv.index, scope)))
        cases = self.targets(lv, scope)
        if not cases:
            return rest
        if len(cases) > 1:
            if lv.elem is not None:
                last = max(lv.indexes())
                array, field = lv.parts[last], lv.parts[last + 1]
            else:
                array, field = scope.parts[lv.parts[0]][1], lv.parts[1]
            self.sites.append(Site(st.span, _lvalue_text(lv), array, field))
        out: ast.Stmt = replace(rest, target=cases[-1][1])
        for conds, target in reversed(cases[:-1]):
            cond = conds[0]
            for c in conds[1:]:
                cond = ast.Binary("and", cond, c, c.span, c.span)
            else_ = out if isinstance(out, ast.If) else ast.Block((out,), st.span)
            then = ast.Block((replace(rest, target=target),), st.span)
            out = ast.If(cond, then, else_, st.span)
        return out

    def targets(
        self, lv: ast.LValue, scope: Scope
    ) -> list[tuple[tuple[ast.Expr, ...], ast.LValue]]:
        """The flat lvalues `lv` may name, each with the conditions (on its indexes) under
        which it does; empty after an error."""
        if lv.elem is None:  # `c.rest` for a part binder `c` over `obj.array`: obj.array[c].rest
            c = lv.parts[0]
            obj, array = scope.parts[c]
            path = _path(obj)
            if path is None:
                self.error("KC0802", "a part is assigned through a name or a field path",
                           lv.span, help="bind the object first: `let x = ...`")  # fmt: skip
                return []
            head, index, elems = path
            at = {**elems, len(head): ast.Name(c, lv.part_spans[0])}
            first = min(at)
            pspans = (*[lv.part_spans[0]] * (len(head) + 1), *lv.part_spans[1:])
            more = tuple((k, v) for k, v in at.items() if k != first)
            whole = ast.LValue((*head, array, *lv.parts[1:]), pspans, lv.span, index, at[first],
                               first, more)  # fmt: skip
            return self.targets(whole, scope)
        cases: list[tuple[tuple[ast.Expr, ...], list[str], list[ast.Span]]]
        cases = [((), list(lv.parts), list(lv.part_spans))]
        at = lv.indexes()
        for pos in sorted(at, reverse=True):  # the innermost array first
            index, found = at[pos], []
            for conds, parts, spans in cases:
                array, field = parts[pos], parts[pos + 1]
                keys = self.indexes(array, spans[pos], index, field, spans[pos + 1], scope)
                if not keys:
                    return []
                low = self.index(index, scope)
                for k in keys:
                    test = ast.Binary("==", low, key_expr(k, index.span), index.span, index.span)
                    found.append((
                        (*conds, test) if len(keys) > 1 else conds,
                        [*parts[:pos], flat_name(array, k, field), *parts[pos + 2 :]],
                        [*spans[:pos], spans[pos + 1], *spans[pos + 2 :]],
                    ))  # fmt: skip
            cases = found
        base = replace(lv, index=self.rewrite(lv.index, scope), elem=None, elem_at=0, more=())
        out = []
        for conds, parts, spans in cases:
            flat = replace(base, parts=tuple(parts), part_spans=tuple(spans))
            if parts[0] in scope.parts:  # the object is itself a part binder's part
                out += [((*conds, *more), t) for more, t in self.targets(flat, scope)]
            else:
                out.append((conds, flat))
        return out

    # ---- errors ---------------------------------------------------------------------------

    def capture(self, scope: Scope, name: str, span: ast.Span) -> None:
        c = scope.captures(name)
        if c is not None:
            self.error(
                "KC0207",
                f"`{name}` hides the object whose parts `{c}` ranges over",
                span,
                notes=(f"`{c}.FIELD` reads a part of that object",),
                help="rename this one",
            )

    def not_a_value(self, what: str, span: ast.Span, array: str, part: ast.Expr | None) -> None:
        """A part (`part`, when it is one) or an array used as a value."""
        arr = self.arrays.get(array)
        first = arr.record.fields[0].name if arr and arr.record.fields else "FIELD"
        if part is not None:
            hint = f"read one of its fields: `{format_expr(part)}.{first}`"
            sort = f"a `{arr.record.name}` part of an object" if arr else "a record part"
        elif arr is not None:
            hint = f"bind its parts, `c in x.{array}`, and read their fields, `c.{first}`"
            sort = f"an array of `{arr.record.name}` parts"
        else:
            hint = "count the parts, or quantify over them"
            sort = "made of record parts"
        self.error(
            "KC0802",
            f"{what} is {sort}, not a value",
            span,
            notes=("parts are read and written one field at a time",),
            help=hint,
        )

    def error(self, code: str, msg: str, span: ast.Span, **kw: Any) -> None:
        self.diags.append(Diagnostic(code, msg, span, **kw))


def _lvalue_text(lv: ast.LValue) -> str:
    at = lv.indexes()
    return ".".join(
        p + (f"[{format_expr(at[i])}]" if i in at else "") for i, p in enumerate(lv.parts)
    )


def _path(e: ast.Expr) -> tuple[tuple[str, ...], ast.Expr | None, dict[int, ast.Expr]] | None:
    """`x.f.g` as the parts of an lvalue, `K[i]`'s index, and each array's index by its
    position (`x.containers[i]`), or None."""
    match e:
        case ast.Name(id=n):
            return (n,), None, {}
        case ast.Index(kind=k, index=i):
            return (k,), i, {}
        case ast.Field(obj=o, name=f):
            inner = _path(o)
            return None if inner is None else ((*inner[0], f), inner[1], inner[2])
        case ast.Elem(obj=o, name=f, index=i):
            inner = _path(o)
            if inner is None:
                return None
            return (*inner[0], f), inner[1], {**inner[2], len(inner[0]): i}
    return None
