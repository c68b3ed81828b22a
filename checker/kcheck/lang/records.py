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
from dataclasses import dataclass, fields, is_dataclass, replace
from typing import Any

from kcheck.lang import ast
from kcheck.lang.diagnostics import Diagnostic
from kcheck.lang.fmt_expr import format_expr
from kcheck.lang.part_index import EMPTY, Known, Scope
from kcheck.lang.record_sites import Site

# The most parts one array field may hold: a variable index becomes a case split over them.
MAX_ARRAY = 8

# a part's key: its number in `R[N]`, its enum member in `R[E]`
Key = int | str


def flat_name(array: str, key: Key, field: str) -> str:
    """The field of the object that part `key` of `array`'s `field` becomes (traces show it)."""
    return f"{array}[{key}].{field}"


@dataclass(frozen=True)
class _Array:
    record: ast.Record
    keys: tuple[Key, ...]  # 0..N-1, or the members of the enum E of `R[E]`
    enum: str | None = None

    @property
    def size(self) -> int:
        return len(self.keys)

    def shown_keys(self) -> str:
        return self.enum if self.enum is not None else f"0..{self.size - 1}"


def key_expr(key: Key, span: ast.Span) -> ast.Expr:
    return ast.IntLit(key, span) if isinstance(key, int) else ast.Name(key, span)


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
        self.kinds = {d.name for d in program.decls if isinstance(d, ast.Kind)}
        self.enums = {d.name for d in program.decls if isinstance(d, ast.Enum)}
        self.records: dict[str, ast.Record] = {}
        taken = {getattr(d, "name", "") for d in program.decls if not isinstance(d, ast.Record)}
        for d in program.decls:
            if isinstance(d, ast.Record):
                if d.name in self.records or d.name in taken:
                    self.error("KC0202", f"`{d.name}` is declared twice", d.name_span,
                               help="rename the record")  # fmt: skip
                    continue
                self.records[d.name] = d
                self.record_fields(d)
        self.arrays = self.array_fields(program)

    # ---- declarations ---------------------------------------------------------------------

    def record_fields(self, r: ast.Record) -> None:
        """A record's fields are stored in every object's parts: what a `create` cannot give
        (a non-optional reference) or an object cannot hold twice (a name) is refused."""
        for f in r.fields:
            t = f.type
            if f.key:
                self.error("KC0802", f"a record's field cannot be a `key`: `{f.name}`",
                           f.name_span, help="make the object's own field the key")  # fmt: skip
            if isinstance(t, ast.ArrayType):
                self.error("KC0802", "a record cannot hold an array", t.span,
                           help="declare the parts as an array field of the kind")  # fmt: skip
            elif isinstance(t, ast.NamedType) and t.name in self.kinds:
                self.error(
                    "KC0802",
                    f"a record's field cannot be a non-optional reference `{t.name}`",
                    t.span,
                    notes=("a `create` gives no value to a part's fields",),
                    help=f"make it optional, `{t.name}?`",
                )

    def array_fields(self, program: ast.Program) -> dict[str, _Array]:
        """Every array field by name. A name is an array in every kind that has it, of one
        record and size: expressions are lowered before their objects' kinds are known."""
        out: dict[str, _Array] = {}
        plain: dict[str, ast.FieldDecl] = {}
        for d in program.decls:
            if not isinstance(d, ast.Kind):
                continue
            for f in d.fields:
                if not isinstance(f.type, ast.ArrayType):
                    plain.setdefault(f.name, f)
                    continue
                arr = self.array_type(f)
                if arr is None:
                    continue
                if f.name in out and out[f.name] != arr:
                    self.error(
                        "KC0802",
                        f"`{f.name}` is an array of another record or size in another kind",
                        f.name_span,
                        help="give the two arrays different names",
                    )
                out.setdefault(f.name, arr)
        for name, f in plain.items():
            if name in out:
                self.error(
                    "KC0802",
                    f"`{name}` is an array field in one kind and a plain field in another",
                    f.name_span,
                    help="give the two fields different names",
                )
        return out

    def array_type(self, f: ast.FieldDecl) -> _Array | None:
        assert isinstance(f.type, ast.ArrayType)
        t = f.type
        if f.key or f.default is not None:
            self.error(
                "KC0802",
                f"an array field cannot be a `key` or have a default: `{f.name}`",
                f.name_span,
                help="give the defaults in the record's fields",
            )
        if t.elem not in self.records:
            if t.elem in self.kinds or t.elem in self.enums:
                self.error("KC0802", f"an array holds records, and `{t.elem}` is not one",
                           t.span, help=f"a field holding several is `set<{t.elem}>`")  # fmt: skip
            else:
                close = difflib.get_close_matches(t.elem, list(self.records), 1)
                self.error("KC0204", f"unknown record `{t.elem}`", t.span,
                           help=f"did you mean `{close[0]}`?" if close else
                           f"declare it: `record {t.elem} {{ ... }}`")  # fmt: skip
            return None
        rec = self.records[t.elem]
        if isinstance(t.size, ast.Name) and t.size.id in self.known.enums:
            members = self.known.enums[t.size.id]
            if len(members) > MAX_ARRAY:
                self.error("KC0403", f"an array holds 1 to {MAX_ARRAY} parts, and "
                           f"`{t.size.id}` has {len(members)} members", t.size.span,
                           help="index by a smaller enum")  # fmt: skip
                return None
            return _Array(rec, members, t.size.id)
        size = self.known.const(t.size)
        if size is None:
            self.error("KC0402", "an array's size must be a constant or an enum", t.size.span,
                       help="use a number, a `const`, or an enum whose members name the "
                       "parts")  # fmt: skip
            return None
        if not 1 <= size <= MAX_ARRAY:
            self.error(
                "KC0403",
                f"an array holds 1 to {MAX_ARRAY} parts, not {size}",
                t.size.span,
                notes=("a variable index becomes a case over the parts",),
                help="model more parts as objects of a kind",
            )
            return None
        return _Array(rec, tuple(range(size)))

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
                obj = self.rewrite(el.obj, scope)
                index = self.rewrite(el.index, scope)
                return self.read(obj, el.name, el.name_span, index, el.index, rf, node, scope)
            case ast.Field(obj=ast.Name(id=c), name=rf) if c in scope.parts:
                obj, array = scope.parts[c]
                idx = ast.Name(c, node.obj.span)
                return self.read(obj, array, node.obj.span, idx, idx, rf, node, scope)
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
                obj = self.rewrite(d.expr.obj, scope)
                part = (obj, d.expr.name)
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

    def read(
        self,
        obj: ast.Expr,
        array: str,
        array_span: ast.Span,
        index: ast.Expr,
        written: ast.Expr,
        field: str,
        node: ast.Field,
        scope: Scope,
    ) -> ast.Expr:
        """`obj.array[index].field`: one flat field, or a case over the index's values."""
        values = self.indexes(array, array_span, written, field, node.name_span, scope)
        if not values:
            return ast.Field(obj, field, node.name_span, node.span)
        if len(values) > 1:
            self.sites.append(Site(node.span, format_expr(node), array, field))
        reads = [ast.Field(obj, flat_name(array, i, field), node.name_span, node.span)
                 for i in values]  # fmt: skip
        out: ast.Expr = reads[-1]
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
        if field not in names:
            close = difflib.get_close_matches(field, names, 1)
            self.error(
                "KC0203",
                f"record `{arr.record.name}` has no field `{field}`",
                field_span,
                notes=(f"its fields: {', '.join(names)}",),
                help=f"did you mean `{close[0]}`?" if close else None,
            )
            return []
        return self.keys_of(arr, array, index, scope)

    def keys_of(self, arr: _Array, array: str, index: ast.Expr, scope: Scope) -> list[Key]:
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
        """`x.array[i].field := e`, or `c.field := e` for a part binder `c`."""
        lv = st.target
        rest = (
            replace(st, value=self.rewrite(st.value, scope))
            if isinstance(st, ast.Assign)
            else replace(st, domain=self.rewrite(st.domain, scope))
        )
        if lv.elem is not None:
            at = lv.elem_at
            head, array, tail = lv.parts[:at], lv.parts[at], lv.parts[at + 1 :]
            spans = lv.part_spans
            index = self.rewrite(lv.elem, scope)
            values = self.indexes(array, spans[at], lv.elem, tail[0], spans[at + 1], scope)
            base = replace(lv, index=self.rewrite(lv.index, scope), elem=None, elem_at=0)
        elif lv.parts[0] in scope.parts and len(lv.parts) > 1:
            obj, part_array = scope.parts[lv.parts[0]]
            path = _path(obj)
            index = ast.Name(lv.parts[0], lv.part_spans[0])
            values = self.indexes(part_array, lv.part_spans[0], index, lv.parts[1],
                                  lv.part_spans[1], scope)  # fmt: skip
            if path is None:
                self.error("KC0802", "a part is assigned through a name or a field path",
                           lv.span, help="bind the object first: `let x = ...`")  # fmt: skip
                return rest
            head, array, tail = path[0], part_array, lv.parts[1:]
            spans = (*[lv.part_spans[0]] * len(head), lv.part_spans[0], *lv.part_spans[1:])
            base = replace(lv, index=path[1], elem=None, elem_at=0)
        else:
            if lv.parts[0] in scope.parts:
                part_array = scope.parts[lv.parts[0]][1]
                self.not_a_value(f"`{lv.parts[0]}`", lv.span, part_array, ast.Name(lv.parts[0]))
            return replace(rest, target=replace(lv, index=self.rewrite(lv.index, scope)))
        if not values:
            return rest
        if len(values) > 1:
            self.sites.append(Site(st.span, _lvalue_text(lv), array, tail[0]))
        n = len(head)

        def target_at(i: Key) -> ast.Stmt:
            parts = (*head, flat_name(array, i, tail[0]), *tail[1:])
            pspans = (*spans[:n], spans[n + 1], *spans[n + 2 :])
            return replace(rest, target=replace(base, parts=parts, part_spans=pspans))

        out: ast.Stmt = target_at(values[-1])
        for i in reversed(values[:-1]):
            cond = ast.Binary("==", index, key_expr(i, index.span), index.span, index.span)
            else_ = out if isinstance(out, ast.If) else ast.Block((out,), st.span)
            out = ast.If(cond, ast.Block((target_at(i),), st.span), else_, st.span)
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
    if lv.elem is None:
        return ".".join(lv.parts)
    head, tail = lv.parts[: lv.elem_at + 1], lv.parts[lv.elem_at + 1 :]
    return ".".join(head) + f"[{format_expr(lv.elem)}]." + ".".join(tail)


def _path(e: ast.Expr) -> tuple[tuple[str, ...], ast.Expr | None] | None:
    """`x.f.g` as the parts of an lvalue (and `K[i]`'s index), or None."""
    match e:
        case ast.Name(id=n):
            return (n,), None
        case ast.Index(kind=k, index=i):
            return (k,), i
        case ast.Field(obj=o, name=f):
            inner = _path(o)
            return None if inner is None else ((*inner[0], f), inner[1])
    return None
