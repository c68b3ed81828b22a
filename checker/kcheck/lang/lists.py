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

The list is packed at the front of its slots and every slot past its length holds a filler
(the enum's first member, or `none`), so one list value has one state: append writes the
first free slot, remove shifts the rest down and refills the last. An append to a full list
stores `len + 1` past the length's range, the runtime error `range` naming the list.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
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
    if not any(isinstance(n, ast.ListType) for n in ast.walk_nodes(program)):
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
            case ast.FieldInit(name=f) if f in self.lists:
                self.error("KC0802", f"a list starts empty: `{f}` cannot be given in a create",
                           node.name_span, help=f"append after the create: `let x = create "
                           f"... {{}}` then `x.{f} := append(x.{f}, ...)`")  # fmt: skip
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
                f"a list is changed by `{_text(lv)} := append({_text(lv)}, x)` or "
                f"`{_text(lv)} := remove({_text(lv)}, x)`",
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

    def error(self, code: str, msg: str, span: ast.Span, **kw: Any) -> None:
        self.diags.append(Diagnostic(code, msg, span, **kw))


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
