"""Parsed AST -> parsed AST without bounded lists (spec/language.md §2, "Lists").

`finalizers: list<Finalizer, 3>` is an ordered list of at most 3 distinct elements (enum
members or objects). It is lowered here, before names resolve, into fields every later pass
knows, so every engine runs it unchanged:

    finalizers: list<Finalizer, 3>    `finalizers.len: 0..3`, `finalizers[0]` .. `finalizers[2]`
    x in p.finalizers                 (0 < p.len and p.[0] == x) or (1 < p.len and p.[1] == x) ...
    size(p.finalizers), len(...)      p.`finalizers.len`
    f in p.finalizers  (a binder)     f in {f in Finalizer where f in p.finalizers}
    l := append(l, x)                 unless x in l: the slot at len := x; len := len + 1
    l := remove(l, x)                 the slots after x's move down one; len := len - 1
    l := [A, x]                       len := 2 (1 when x == A); the slots: A, x, filler...
    create K { l: [A, x] }            the same, as the create's field values

The list is packed at the front of its slots and every slot past its length holds a filler
(the enum's first member, or `none`), so one list value has one state: append writes the
first free slot, remove shifts the rest down and refills the last. An append to a full list
stores `len + 1` past the length's range, the runtime error `range` naming the list.

A list literal means its elements appended in turn to an empty list: an element equal to an
earlier one (and, in a list of objects, `none`) is dropped. Elements the lowering knows apart
(distinct members of the enum) give the length and slots as constants; others give a case per
slot (`if x != A then x else filler`).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, fields, is_dataclass, replace
from typing import Any

from kcheck.lang import ast
from kcheck.lang.diagnostics import Diagnostic
from kcheck.lang.fmt_expr import format_expr
from kcheck.lang.part_index import Known

MAX_LIST = 8


def len_name(lst: str) -> str:
    return f"{lst}.len"


def slot_name(lst: str, i: int) -> str:
    return f"{lst}[{i}]"


def list_size(names: Collection[str], lst: str) -> int | None:
    """How many slots the list `lst` was lowered to, among an object's field `names`; None
    when `lst` is no list there (a record array's parts are `lst[0].f`, not `lst[0]`)."""
    if len_name(lst) not in names:
        return None
    size = 0
    while slot_name(lst, size) in names:
        size += 1
    return size or None


@dataclass(frozen=True)
class _List:
    elem: str
    size: int
    enum: tuple[str, ...] | None  # the members, for a list of an enum; None: of objects

    def filler(self, span: ast.Span) -> ast.Expr:
        return ast.Name(self.enum[0], span) if self.enum else ast.NoneLit(span)

    def slot_type(self, span: ast.Span) -> ast.TypeExpr:
        return ast.NamedType(self.elem, span) if self.enum else ast.OptionalType(self.elem, span)


def lower_lists(
    program: ast.Program, overrides: Mapping[str, int | str] | None = None
) -> tuple[ast.Program, list[Diagnostic]]:
    if not any(isinstance(n, ast.ListType | ast.ListLit) for n in ast.walk_nodes(program)):
        return program, []
    low = _Lowering(program, overrides or {})
    decls: list[ast.Decl] = []
    for d in program.decls:
        if isinstance(d, ast.Kind):
            decls.append(replace(d, fields=tuple(low.kind_fields(d))))
        else:
            for n in ast.walk_nodes(d):
                if isinstance(n, ast.ListType):
                    low.error("KC0802", "only a kind's field can be a list", n.span,
                              help="declare it as a field of the kind")  # fmt: skip
            decls.append(low.rewrite(d))
    return replace(program, decls=tuple(decls)), low.diags


class _Lowering:
    def __init__(self, program: ast.Program, overrides: Mapping[str, int | str]) -> None:
        self.diags: list[Diagnostic] = []
        self.known = Known(program, overrides)
        kinds = {d.name for d in program.decls if isinstance(d, ast.Kind)}
        self.lists: dict[str, _List] = {}
        # kind -> the names of its list fields (a create gives only its own kind's lists)
        self.kind_lists = {
            d.name: {f.name for f in d.fields if isinstance(f.type, ast.ListType)}
            for d in program.decls
            if isinstance(d, ast.Kind)
        }
        plain: dict[str, ast.FieldDecl] = {}
        for d in program.decls:
            if not isinstance(d, ast.Kind):
                continue
            for f in d.fields:
                if not isinstance(f.type, ast.ListType):
                    plain.setdefault(f.name, f)
                    continue
                lst = self.list_type(f, f.type, kinds)
                if lst is not None and self.lists.setdefault(f.name, lst) != lst:
                    self.error("KC0802", f"`{f.name}` is a list of another type or size "
                               "in another kind", f.name_span,
                               help="give the two lists different names")  # fmt: skip
        for name, f in plain.items():
            if name in self.lists:
                self.error("KC0802", f"`{name}` is a list in one kind and another field in "
                           "another", f.name_span, help="give the two fields different names")  # fmt: skip

    def list_type(self, f: ast.FieldDecl, t: ast.ListType, kinds: set[str]) -> _List | None:
        if f.key or f.default is not None:
            self.error("KC0802", f"a list field cannot be a `key` or have a default: "
                       f"`{f.name}`", f.name_span, help="a list starts empty")  # fmt: skip
        enum = self.known.enums.get(t.elem)
        if enum is None and t.elem not in kinds:
            self.error("KC0204", f"unknown enum or kind `{t.elem}`", t.span,
                       help="a list holds enum members or objects of a kind")  # fmt: skip
            return None
        size = self.known.const(t.size)
        if size is None or not 1 <= size <= MAX_LIST:
            self.error("KC0403", f"a list holds 1 to {MAX_LIST} elements", t.size.span,
                       help="give a constant bound from 1 to 8")  # fmt: skip
            return None
        return _List(t.elem, size, enum)

    def kind_fields(self, k: ast.Kind) -> list[ast.FieldDecl]:
        out: list[ast.FieldDecl] = []
        for f in k.fields:
            lst = self.lists.get(f.name) if isinstance(f.type, ast.ListType) else None
            if lst is None:
                if not isinstance(f.type, ast.ListType):
                    out.append(replace(f, default=self.rewrite(f.default)))
                continue
            s = f.name_span
            size = ast.RangeType(ast.IntLit(0, s), ast.IntLit(lst.size, s), s)
            out.append(replace(f, name=len_name(f.name), type=size, default=ast.IntLit(0, s)))
            for i in range(lst.size):
                out.append(replace(f, name=slot_name(f.name, i), type=lst.slot_type(s),
                                   default=lst.filler(s)))  # fmt: skip
        return out

    # ---- uses ------------------------------------------------------------------------------

    def the_list(self, e: ast.Expr | None) -> tuple[ast.Expr, str, _List] | None:
        if isinstance(e, ast.Field) and e.name in self.lists:
            return e.obj, e.name, self.lists[e.name]
        return None

    def rewrite(self, node: Any) -> Any:
        if isinstance(node, tuple):
            return tuple(self.rewrite(x) for x in node)
        if not is_dataclass(node) or isinstance(node, type):
            return node
        match node:
            case ast.Block(stmts=stmts):  # a list literal assigned is several statements
                out: list[ast.Stmt] = []
                for st in stmts:
                    new = self.rewrite(st)
                    out += new if isinstance(new, list) else [new]
                return replace(node, stmts=tuple(out))
            case ast.Create():
                return self.create(node)
            case ast.Assign(target=lv, value=ast.ListLit() as lit) if (
                lv.parts[-1] in self.lists and lv.elem is None
            ):
                return self.assign_literal(node, lit)
            case ast.ListLit():
                self.error("KC0802", "a list literal is the whole value of a list field, given in "
                           "a create or assigned; it is not a value here", node.span,
                           help="give it in a create (`create Pod { finalizers: [A] }`) or "
                           "assign it (`p.finalizers := [A]`)")  # fmt: skip
                return node
            case ast.Binary(op="in", left=x, right=r) if self.the_list(r) is not None:
                obj, name, lst = self.the_list(r)  # type: ignore[misc]  # tested just above
                return self.member(self.rewrite(obj), name, lst, self.rewrite(x), node.span)
            case ast.Call(func="size" | "len", args=(r,)) if self.the_list(r) is not None:
                obj, name, _ = self.the_list(r)  # type: ignore[misc]
                return ast.Field(self.rewrite(obj), len_name(name), node.span, node.span)
            case (
                ast.Quant()
                | ast.Count()
                | ast.Aggregate()
                | ast.Action()
                | ast.Choose()
                | (ast.For())
            ) if self.binds_a_list(node.binders):
                binders, tests = self.binders(node.binders)
                return self.guarded(replace(node, binders=binders), tests)
            case ast.SetBuilder() if self.binds_a_list((node.binder,)):
                (binder,), tests = self.binders((node.binder,))
                return self.guarded(replace(node, binder=binder), tests)
            case ast.Field(name=f) if f in self.lists:
                self.error(
                    "KC0802",
                    f"the list `{format_expr(node)}` is read by `x in l`, `size(l)` or a "
                    "binder `x in l`, not as a value",
                    node.span,
                    help="for its elements bind them: `forall x in l: ...`",
                )
                return node
            case ast.Assign(target=lv) if lv.parts[-1] in self.lists and lv.elem is None:
                return self.assign(node)
            case ast.AssignAny(target=lv) if lv.parts[-1] in self.lists and lv.elem is None:
                self.error("KC0802", "a list is changed by `l := append(l, x)` or "
                           "`l := remove(l, x)`", node.span,
                           help="choose the element: `l := append(l, any_element)`")  # fmt: skip
                return node
        changes = {f.name: self.rewrite(getattr(node, f.name)) for f in fields(node)
                   if "span" not in f.name}  # fmt: skip
        return replace(node, **changes)

    def binds_a_list(self, binders: tuple[ast.Binder, ...]) -> bool:
        return any(
            isinstance(b.domain, ast.ExprDomain) and self.the_list(b.domain.expr) is not None
            for b in binders
        )

    def binders(
        self, binders: tuple[ast.Binder, ...]
    ) -> tuple[tuple[ast.Binder, ...], list[ast.Expr]]:
        """`f in p.finalizers` as `f in Finalizer` with the test `f in p.finalizers`: each
        element once (a list holds distinct elements), in the order of its type."""
        out, tests = [], []
        for b in binders:
            found = self.the_list(b.domain.expr) if isinstance(b.domain, ast.ExprDomain) else None
            if found is None:
                out.append(self.rewrite(b))
                continue
            obj, name, lst = found
            s = b.domain.span
            out.append(replace(b, domain=ast.ExprDomain(ast.Name(lst.elem, s), s)))
            tests.append(self.member(self.rewrite(obj), name, lst, ast.Name(b.name, s), s))
        return tuple(out), tests

    def guarded(self, node: Any, tests: list[ast.Expr]) -> Any:
        """`node` (its binders lowered) with the other parts lowered and `where` holding only
        for the lists' elements."""
        rest = {f.name: self.rewrite(getattr(node, f.name)) for f in fields(node)
                if "span" not in f.name and f.name not in ("binders", "binder", "where")}  # fmt: skip
        where = node.where if node.where is None else self.rewrite(node.where)
        for t in reversed(tests):
            where = t if where is None else ast.Binary("and", t, where, t.span, t.span)
        return replace(node, where=where, **rest)

    def member(self, obj: ast.Expr, name: str, lst: _List, x: ast.Expr, span: ast.Span) -> ast.Expr:
        """`x in obj.name`: one of the first `len` slots holds x."""
        length = ast.Field(obj, len_name(name), span, span)
        out: ast.Expr | None = None
        for i in range(lst.size):
            held = ast.Binary("<", ast.IntLit(i, span), length, span, span)
            same = ast.Binary("==", ast.Field(obj, slot_name(name, i), span, span), x, span, span)
            test = ast.Binary("and", held, same, span, span)
            out = test if out is None else ast.Binary("or", out, test, span, span)
        assert out is not None
        return out

    def assign(self, st: ast.Assign) -> ast.Stmt:
        lv, name = st.target, st.target.parts[-1]
        lst = self.lists[name]
        value = st.value
        ok = (
            isinstance(value, ast.Call)
            and value.func in ("append", "remove")
            and len(value.args) == 2
            and _same_place(value.args[0], lv)
        )
        if not ok:
            self.error(
                "KC0802",
                f"a list is changed by `{_text(lv)} := append({_text(lv)}, x)`, "
                f"`{_text(lv)} := remove({_text(lv)}, x)` or given whole, "
                f"`{_text(lv)} := [x, y]`",
                st.value.span,
                notes=(
                    "append adds x at the end unless the list holds it; remove takes it "
                    "out, keeping the order",
                ),
                help="to empty it, remove its elements: `for x in l { l := remove(l, x) }`",
            )
            return st
        assert isinstance(value, ast.Call)
        x = value.args[1]
        if any(isinstance(n, ast.Field) and n.name == name for n in ast.walk_nodes(x)):
            self.error("KC0802", "the element appended or removed reads the list itself",
                       x.span, help="compute it first: `let y = ...`")  # fmt: skip
            return st
        x = self.rewrite(x)
        obj = _obj_of(lv, self.rewrite(lv.index))
        # the list is read through the argument as written (the same place as `lv`), so that
        # its names keep their spans in the lowered program (the language server's index)
        arg = value.args[0]
        read = self.rewrite(arg.obj) if isinstance(arg, ast.Field) else obj
        s = st.span
        length = ast.Field(obj, len_name(name), s, s)
        head = replace(lv, index=self.rewrite(lv.index))

        def put(i: int, e: ast.Expr) -> ast.Stmt:
            return ast.Assign(replace(head, parts=(*lv.parts[:-1], slot_name(name, i))), e, s)

        def set_len(op: str) -> ast.Stmt:
            new = ast.Binary(op, length, ast.IntLit(1, s), s, s)
            return ast.Assign(replace(head, parts=(*lv.parts[:-1], len_name(name))), new, s)

        def slot(i: int) -> ast.Expr:
            return ast.Field(read, slot_name(name, i), s, s)

        if value.func == "append":
            chain: ast.If | None = None
            for i in reversed(range(lst.size)):  # the first free slot; none when full
                at = ast.Binary("==", length, ast.IntLit(i, s), s, s)
                chain = ast.If(at, ast.Block((put(i, x),), s), chain, s)
            absent: ast.Expr = ast.Unary("not", self.member(read, name, lst, x, s), s)
            if lst.enum is None:  # `none` is no element: appending it changes nothing
                absent = ast.Binary("and", ast.Binary("!=", x, ast.NoneLit(s), s, s), absent, s, s)
            assert chain is not None
            return ast.If(absent, ast.Block((chain, set_len("+")), s), None, s)
        out: ast.If | None = None
        for i in reversed(range(lst.size)):
            held = ast.Binary("<", ast.IntLit(i, s), length, s, s)
            test = ast.Binary("and", held, ast.Binary("==", slot(i), x, s, s), s, s)
            shift = [put(j, slot(j + 1)) for j in range(i, lst.size - 1)]
            body = (*shift, put(lst.size - 1, lst.filler(s)), set_len("-"))
            out = ast.If(test, ast.Block(body, s), out, s)
        assert out is not None
        return out

    # ---- list literals ----------------------------------------------------------------------

    def create(self, c: ast.Create) -> ast.Create:
        """`create K { l: [A, x] }`: the list's length and slots as the create's values; a
        slot no element can reach keeps its default, the filler."""
        inits: list[ast.FieldInit] = []
        for fi in c.fields:
            if fi.name not in self.lists or fi.index is not None:
                inits.append(self.rewrite(fi))
                continue
            if fi.name not in self.kind_lists.get(c.kind, {fi.name}):
                self.error("KC0203", f"kind `{c.kind}` has no list `{fi.name}`", fi.name_span,
                           help="give the lists of the kind created")  # fmt: skip
                continue
            if not isinstance(fi.value, ast.ListLit):
                self.error("KC0802", f"a list is given in a create as a list literal: "
                           f"`{fi.name}: [...]`", fi.value.span,
                           help=f"write its elements: `{fi.name}: [A, B]`, or `[]`")  # fmt: skip
                continue
            got = self.literal(fi.value, fi.name, self.lists[fi.name], None)
            if got is None:
                continue
            length, slots = got
            s = fi.name_span
            inits.append(replace(fi, name=len_name(fi.name), value=length))
            inits += [replace(fi, name=slot_name(fi.name, i), value=v, name_span=s)
                      for i, v in enumerate(slots) if v is not None]  # fmt: skip
        return replace(c, fields=tuple(inits))

    def assign_literal(self, st: ast.Assign, lit: ast.ListLit) -> list[ast.Stmt] | ast.Stmt:
        """`l := [A, x]`: the length, then every slot (past the elements, the filler)."""
        lv, name = st.target, st.target.parts[-1]
        lst = self.lists[name]
        got = self.literal(lit, name, lst, name)
        if got is None:
            return st
        length, slots = got
        head = replace(lv, index=self.rewrite(lv.index))
        s = st.span

        def put(field: str, e: ast.Expr) -> ast.Stmt:
            return ast.Assign(replace(head, parts=(*lv.parts[:-1], field)), e, s)

        return [
            put(len_name(name), length),
            *(put(slot_name(name, i), v if v is not None else lst.filler(s))
              for i, v in enumerate(slots)),
        ]  # fmt: skip

    def literal(
        self, lit: ast.ListLit, name: str, lst: _List, itself: str | None
    ) -> tuple[ast.Expr, list[ast.Expr | None]] | None:
        """The length and the slots (None: no element reaches it) a list literal gives the
        list `name`: its elements appended in turn to an empty list, so an element equal to an
        earlier one, or `none`, is dropped. `itself`: the elements may not read that list (an
        assignment writes it slot by slot). None after an error, reported here."""
        xs = lit.elems
        errors = len(self.diags)
        members = lst.enum or ()
        seen: dict[str, ast.Expr] = {}
        for i, x in enumerate(xs):
            text = format_expr(x)
            where = f"a list of {lst.elem}" if lst.enum else f"a list of {lst.elem} objects"
            if isinstance(x, ast.ListLit):
                self.error("KC0802", "a list holds no lists", x.span,
                           help="write the elements themselves")  # fmt: skip
            elif isinstance(x, ast.NoneLit):
                self.error("KC0301", f"`none` is no element of {where}", x.span,
                           help="leave it out: `[]` is the empty list")  # fmt: skip
            elif isinstance(x, ast.IntLit | ast.BoolLit):
                self.error("KC0301", f"`{text}` is no element of {where}", x.span,
                           help=_members_hint(lst))  # fmt: skip
            elif isinstance(x, ast.Name) and x.id in self.known.member_of and x.id not in members:
                self.error("KC0301", f"`{text}` is a member of {self.known.member_of[x.id]}, "
                           f"not an element of {where}", x.span,
                           help=_members_hint(lst))  # fmt: skip
            elif text in seen:
                self.error("KC0802", f"`{text}` is twice in the list: a list holds distinct "
                           "elements", x.span, notes=(f"first at line {seen[text].span.line}, "
                           f"column {seen[text].span.col}",), help="write it once")  # fmt: skip
            elif itself is not None and any(
                isinstance(n, ast.Field) and n.name == itself for n in ast.walk_nodes(x)
            ):
                self.error("KC0802", "an element of the list assigned reads the list itself",
                           x.span, help="compute it first: `let y = ...`")  # fmt: skip
            seen.setdefault(text, x)
            if i == lst.size:
                self.error("KC0401", f"`{name}` holds at most {lst.size} elements; this list "
                           f"has {len(xs)}", x.span,
                           help=f"give at most {lst.size}, or raise the bound of "
                           f"`{name}: list<{lst.elem}, ...>`")  # fmt: skip
        if len(self.diags) > errors:
            return None
        xs = tuple(self.rewrite(x) for x in xs)
        known = [isinstance(x, ast.Name) and x.id in members for x in xs]

        def pair(a: ast.Expr, b: ast.Expr) -> ast.Span:  # from one element to another
            return ast.Span(a.span.line, a.span.col, b.span.end_line, b.span.end_col, a.span.file)

        def conj(tests: list[ast.Expr]) -> ast.Expr | None:
            out: ast.Expr | None = None
            for t in tests:
                out = t if out is None else ast.Binary("and", out, t, t.span, t.span)
            return out

        # kept[j]: the test that element j is appended (None: it always is)
        kept: list[ast.Expr | None] = []
        for j, x in enumerate(xs):
            tests: list[ast.Expr] = []
            if lst.enum is None:
                tests.append(ast.Binary("!=", x, ast.NoneLit(x.span), x.span, x.span))
            tests += [
                ast.Binary("!=", x, xs[i], pair(xs[i], x), pair(xs[i], x))
                for i in range(j)
                if not (known[i] and known[j])
            ]
            kept.append(conj(tests))

        def one_if(t: ast.Expr) -> ast.Expr:
            return ast.IfExpr(t, ast.IntLit(1, t.span), ast.IntLit(0, t.span), t.span)

        def count(upto: int, span: ast.Span) -> ast.Expr:
            """How many of the first `upto` elements are appended."""
            fixed = sum(1 for t in kept[:upto] if t is None)
            out: ast.Expr = ast.IntLit(fixed, span)
            for t in kept[:upto]:
                if t is not None:
                    out = ast.Binary("+", out, one_if(t), span, span)
            return out

        length = count(len(xs), lit.span)
        slots: list[ast.Expr | None] = []
        for slot in range(lst.size):
            value: ast.Expr | None = None
            for j in reversed(range(len(xs))):
                before = sum(1 for t in kept[:j] if t is None)  # it lands at `before` or later
                if not before <= slot <= j:
                    continue
                x = xs[j]
                at: list[ast.Expr] = [] if kept[j] is None else [kept[j]]  # type: ignore[list-item]
                if before < j:  # earlier elements that may be dropped
                    at.append(ast.Binary("==", count(j, x.span), ast.IntLit(slot, x.span),
                                         x.span, x.span))  # fmt: skip
                elif before != slot:
                    continue
                test = conj(at)
                if test is None:
                    value = x
                else:
                    value = ast.IfExpr(
                        test, x, value if value is not None else lst.filler(x.span), x.span
                    )
            slots.append(value)
        return length, slots

    def error(self, code: str, msg: str, span: ast.Span, **kw: Any) -> None:
        self.diags.append(Diagnostic(code, msg, span, **kw))


def _members_hint(lst: _List) -> str:
    if lst.enum:
        return f"its elements are members of {lst.elem}: {', '.join(lst.enum)}"
    return f"its elements are {lst.elem} objects"


def _text(lv: ast.LValue) -> str:
    return ".".join(lv.parts)


def _same_place(e: ast.Expr, lv: ast.LValue) -> bool:
    """Is `e` the list `lv` writes (`append(p.finalizers, x)` for `p.finalizers :=`)?"""
    return lv.index is None and format_expr(e) == _text(lv)


def _obj_of(lv: ast.LValue, index: ast.Expr | None) -> ast.Expr:
    obj = replace(lv, index=index).base()
    for p, span in zip(lv.parts[1:-1], lv.part_spans[1:-1], strict=False):
        obj = ast.Field(obj, p, span, span)
    return obj


_TYPE_SAID = re.compile(r"(?:cannot store|different types:|cannot compare) (\S+?)\??(?: |$)")


def speak_literals(diags: list[Diagnostic], program: ast.Program) -> list[Diagnostic]:
    """The checker's type errors about a list literal's elements in the user's words: the
    lowering stores each element in slots (`p.fins[0]`), in cases (`if ... then g else A`)
    and compares it with the others, so one wrong element gave several errors naming lowered
    fields. Each becomes `g is a G, not an element of a list of F`, once, at the element; a
    comparison of two elements goes, as the wrong one of them is reported."""
    decls = {f.name: f.type for d in program.decls if isinstance(d, ast.Kind) for f in d.fields
             if isinstance(f.type, ast.ListType)}  # fmt: skip
    lits: list[tuple[ast.ListLit, ast.ListType]] = []
    for n in ast.walk_nodes(program):
        name = None
        if isinstance(n, ast.FieldInit) and isinstance(n.value, ast.ListLit):
            name, lit = n.name, n.value
        elif isinstance(n, ast.Assign) and isinstance(n.value, ast.ListLit):
            name, lit = n.target.parts[-1], n.value
        if name is not None and name in decls:
            lits.append((lit, decls[name]))
    if not lits:
        return diags
    kinds_of = {t.elem: f"{t.elem} objects" for _, t in lits}
    kinds_of.update({d.name: f"members of {d.name}" for d in program.decls
                     if isinstance(d, ast.Enum)})  # fmt: skip
    out: list[Diagnostic] = []
    for d in diags:
        found = next(((lit, t) for lit, t in lits if d.code == "KC0301"
                      and d.span.file == lit.span.file and _inside(d.span, lit.span)), None)  # fmt: skip
        if found is None:
            out.append(d)
            continue
        lit, t = found
        elem = next((x for x in lit.elems if x.span == d.span), None)
        said = _TYPE_SAID.search(d.message)
        if elem is not None and said is not None:
            out.append(replace(d, message=f"`{format_expr(elem)}` is a {said.group(1)}, not an "
                               f"element of a list of {t.elem}", notes=(),
                               help=f"its elements are {kinds_of[t.elem]}"))  # fmt: skip
        elif elem is None and d.message.startswith("cannot compare"):
            continue  # two elements compared (is the second a duplicate?): one is wrong
        else:
            out.append(d)
    return list(dict.fromkeys(out))


def _inside(inner: ast.Span, outer: ast.Span) -> bool:
    return (outer.line, outer.col) <= (inner.line, inner.col) and (
        inner.end_line,
        inner.end_col,
    ) <= (outer.end_line, outer.end_col)


_SLOT = re.compile(r"^(.+)\[(\d+)\]$")


def unfolded(obj: Mapping[str, Any], name: str, filler: Any) -> Any:
    """The value of a lowered list field (`finalizers.len`, `finalizers[1]`) read from an
    object shown folded (fold_lists): a slot past the length holds `filler`, as in the state.
    KeyError when `name` is neither the object's field nor a part of one of its lists."""
    if name in obj:
        return obj[name]
    if name.endswith(".len") and isinstance(obj.get(name[: -len(".len")]), tuple):
        return len(obj[name[: -len(".len")]])
    m = _SLOT.match(name)
    if m is not None and isinstance(obj.get(m.group(1)), tuple):
        items = obj[m.group(1)]
        i = int(m.group(2))
        return items[i] if i < len(items) else filler
    raise KeyError(name)


def fold_lists(obj: dict[str, Any]) -> dict[str, Any]:
    """An object's fields as shown (traces, JSON): a list's length and slots as one value,
    `finalizers: [Foreground]`, where lowering made them (`finalizers.len`, `finalizers[0]`)."""
    lists = {k[: -len(".len")] for k in obj if k.endswith(".len") and f"{k[:-4]}[0]" in obj}
    if not lists:
        return obj
    out: dict[str, Any] = {}
    for k, v in obj.items():
        m = _SLOT.match(k)
        if k.endswith(".len") and k[:-4] in lists:
            name = k[:-4]
            out[name] = tuple(obj[slot_name(name, i)] for i in range(int(v)))
        elif m is None or m.group(1) not in lists:
            out[k] = v
    return out
