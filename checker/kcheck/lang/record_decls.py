"""Record declarations and array fields (spec/language.md §2, "Records and arrays"): which
records and arrays a program declares, their errors, and each array's record made flat (an
array inside a record, `ports: Port[2]` in `Container`, becomes the record's fields
`ports[0].open`, `ports[1].open`, so `containers[1].ports[0].open` is a field of the object).
lang/records.py lowers the uses.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from kcheck.lang import ast
from kcheck.lang.part_index import Known

# The most parts one array field may hold: a variable index becomes a case split over them.
MAX_ARRAY = 8
# The most flat fields one part may have once the arrays inside it are made flat.
MAX_PART_FIELDS = 64

# a part's key: its number in `R[N]`, its enum member in `R[E]`
Key = int | str


def flat_name(array: str, key: Key, field: str) -> str:
    """The field of the object that part `key` of `array`'s `field` becomes (traces show it)."""
    return f"{array}[{key}].{field}"


def key_expr(key: Key, span: ast.Span) -> ast.Expr:
    return ast.IntLit(key, span) if isinstance(key, int) else ast.Name(key, span)


@dataclass(frozen=True)
class Array:
    record: ast.Record  # made flat: an array inside it is its flat fields
    keys: tuple[Key, ...]  # 0..N-1, or the members of the enum E of `R[E]`
    enum: str | None = None
    written: tuple[str, ...] = ()  # the record's fields as declared (arrays by their name)

    @property
    def size(self) -> int:
        return len(self.keys)


Error = Callable[..., None]


class Declarations:
    """Every record by name and every array field (of a kind or a record) by name."""

    def __init__(self, program: ast.Program, known: Known, error: Error) -> None:
        self.known = known
        self.error = error
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
        self.cyclic = self.cycles()
        raw = self.array_fields(program)
        flat: dict[str, ast.Record] = {}
        for name in self.records:
            self.flatten(name, raw, flat)
        self.arrays = {
            n: replace(a, record=flat.get(a.record.name, a.record)) for n, a in raw.items()
        }

    def record_fields(self, r: ast.Record) -> None:
        """A record's fields are stored in every object's parts: what a `create` cannot give
        (a non-optional reference) or an object cannot hold twice (a name) is refused."""
        for f in r.fields:
            t = f.type
            if f.key:
                self.error("KC0802", f"a record's field cannot be a `key`: `{f.name}`",
                           f.name_span, help="make the object's own field the key")  # fmt: skip
            if isinstance(t, ast.NamedType) and t.name in self.kinds:
                self.error(
                    "KC0802",
                    f"a record's field cannot be a non-optional reference `{t.name}`",
                    t.span,
                    notes=("a `create` gives no value to a part's fields",),
                    help=f"make it optional, `{t.name}?`",
                )

    def cycles(self) -> set[str]:
        """Records that hold themselves through arrays (KC0802): they would have no end."""
        out: set[str] = set()
        for name, rec in self.records.items():
            seen, todo = set(), [name]
            while todo:
                r = self.records.get(todo.pop())
                for f in r.fields if r is not None else ():
                    if isinstance(f.type, ast.ArrayType) and f.type.elem not in seen:
                        seen.add(f.type.elem)
                        todo.append(f.type.elem)
            if name in seen:
                out.add(name)
                self.error("KC0802", f"record `{name}` holds itself through its arrays",
                           rec.name_span, help="an array inside a record holds another "
                           "record")  # fmt: skip
        return out

    def flatten(
        self, name: str, arrays: dict[str, Array], done: dict[str, ast.Record]
    ) -> ast.Record:
        """Record `name` with each array inside it made its flat fields (inner ones first)."""
        if name in done:
            return done[name]
        rec = self.records[name]
        fields: list[ast.FieldDecl] = []
        for f in rec.fields:
            arr = arrays.get(f.name) if isinstance(f.type, ast.ArrayType) else None
            if arr is None or arr.record.name in self.cyclic or name in self.cyclic:
                if not isinstance(f.type, ast.ArrayType):
                    fields.append(f)
                continue
            inner = self.flatten(arr.record.name, arrays, done)
            for key in arr.keys:
                for rf in inner.fields:
                    fields.append(replace(rf, name=flat_name(f.name, key, rf.name),
                                          name_span=f.name_span))  # fmt: skip
        if len(fields) > MAX_PART_FIELDS:
            self.error("KC0403", f"a `{name}` part has {len(fields)} fields with the arrays "
                       f"inside it, more than {MAX_PART_FIELDS}", rec.name_span,
                       help="make the arrays inside it smaller")  # fmt: skip
        done[name] = replace(rec, fields=tuple(fields))
        return done[name]

    def array_fields(self, program: ast.Program) -> dict[str, Array]:
        """Every array field by name. A name is an array wherever it is declared, of one
        record and size: expressions are lowered before their objects' kinds are known."""
        out: dict[str, Array] = {}
        plain: dict[str, ast.FieldDecl] = {}
        holders: list[Any] = [d for d in program.decls if isinstance(d, ast.Kind)]
        for d in [*holders, *self.records.values()]:
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
                        f"`{f.name}` is an array of another record or size elsewhere",
                        f.name_span,
                        help="give the two arrays different names",
                    )
                out.setdefault(f.name, arr)
        for name, f in plain.items():
            if name in out:
                self.error(
                    "KC0802",
                    f"`{name}` is an array field in one place and a plain field in another",
                    f.name_span,
                    help="give the two fields different names",
                )
        return out

    def array_type(self, f: ast.FieldDecl) -> Array | None:
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
        written = tuple(x.name for x in rec.fields)
        if isinstance(t.size, ast.Name) and t.size.id in self.known.enums:
            members = self.known.enums[t.size.id]
            if len(members) > MAX_ARRAY:
                self.error("KC0403", f"an array holds 1 to {MAX_ARRAY} parts, and "
                           f"`{t.size.id}` has {len(members)} members", t.size.span,
                           help="index by a smaller enum")  # fmt: skip
                return None
            return Array(rec, members, t.size.id, written)
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
        return Array(rec, tuple(range(size)), None, written)
