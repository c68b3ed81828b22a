"""Syntax tree -> canonical KDSL text: what `kcheck fmt` prints (spec/language.md, "Formatting").

The contract: for every program P that parses, `parse(format_program(P)) == P` (spans are left
out of AST equality), and formatting is idempotent on its own output. The layout rules are
spec/language.md §10; a line wider than MAX_LINE columns is broken at its outermost break points
(`layout.py`).

Comments are not in the syntax tree, so each output line carries the source lines it came from
(the first and last), and `attach_comments` puts every comment back: a comment on a line of its
own goes before the first output line with code from after it, at that line's indentation; a
comment after code goes at the end of the last output line with code from its source line. No
comment is ever lost. The items of a scheduler are printed filters first, then scores, then its
`on bind` block, then actions, because the tree keeps them in separate lists.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass

from kcheck.lang import ast
from kcheck.lang.fmt_expr import (
    P_ADD,
    P_BIND,
    binders_text,
    comma_docs,
    domain_text,
    expr_doc,
    expr_text,
    format_expr,
    quant_head,
)
from kcheck.lang.fmt_modules import header, module_decl
from kcheck.lang.layout import MAX_LINE, Chain, Doc, PLine, Src, cat, flat, layout
from kcheck.lang.manifest import show as manifest_show

INDENT = "  "
# A logical output line and the source line it was made from (0: none, e.g. a blank separator).
Line = tuple[Doc, int]


def format_program(program: ast.Program, source_text: str | None = None) -> str:
    """The canonical text of a program, ending in one newline. Given the text it was parsed
    from, its comments are kept."""
    lines = [pl for doc, anchor in _program_lines(program) for pl in _physical(doc, anchor)]
    if source_text is not None:
        return "\n".join(attach_comments(lines, find_comments(source_text))) + "\n"
    return "\n".join(text for text, _, _ in lines) + "\n"


def _physical(doc: Doc, anchor: int) -> list[PLine]:
    return layout(doc, anchor) if doc != "" else [("", 0, 0)]


def check_formatted(source_text: str, program: ast.Program) -> bool:
    """True when `source_text` (which parsed to `program`) is exactly its canonical layout,
    comments included."""
    return format_program(program, source_text) == source_text


def format_diff(path: str, old: str, new: str) -> str:
    """A unified diff from `old` to `new`, headed `a/PATH` and `b/PATH` as git heads them."""
    name = path.removeprefix("./").lstrip("/")
    out = []
    for line in difflib.unified_diff(
        old.splitlines(keepends=True), new.splitlines(keepends=True), f"a/{name}", f"b/{name}"
    ):
        out.append(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n")
    return "".join(out)


def _program_lines(program: ast.Program) -> list[Line]:
    out: list[Line] = [(header(program), program.name_span.line)]
    prev_group: str | None = "model"
    for decl in program.decls:
        lines = _decl(decl)
        group = _group(decl, lines)
        # A block declaration (group None) is set off on both sides; others only from a
        # different sort.
        if group is None or group != prev_group:
            out.append(("", 0))
        out.extend(lines)
        prev_group = group
    return out


# One left-to-right scan with every alternative handles `/*` inside a line comment, `//` inside
# a block comment, and either inside a string literal (the `binding`/`manifest` sections' keys
# and values): a string is matched so that it is skipped, and a quote inside a comment is not.
_COMMENT = re.compile(r'"[^"\n]*"|//[^\n]*|/\*[\s\S]*?\*/')


@dataclass(frozen=True)
class Comment:
    line: int  # 1-based line where the comment starts
    text: str  # as written, `//` or `/* */` included
    trailing: bool  # code stands before it on its line


def find_comments(text: str) -> list[Comment]:
    """Every comment of a model's text, in order."""
    out = []
    for m in _COMMENT.finditer(text):
        if m.group().startswith('"'):
            continue
        line_start = text.rfind("\n", 0, m.start()) + 1
        line = text.count("\n", 0, m.start()) + 1
        before = text[line_start : m.start()]
        out.append(Comment(line, m.group().rstrip(), bool(before.strip())))
    return out


def attach_comments(lines: list[PLine], comments: list[Comment]) -> list[str]:
    """Put each comment back next to the output line made from its source line."""
    # A source line's trailing comment goes to the last output line with code from that line
    # (a wrapped line's last physical line).
    last_of: dict[int, int] = {}
    for i, (_, first, last) in enumerate(lines):
        for n in range(first, last + 1) if first else ():
            last_of[n] = i
    trailing: dict[int, list[str]] = {}
    standalone: list[Comment] = []
    for c in comments:
        at = last_of.get(c.line)
        # Only the last comment of a line may be a `//` one: it would swallow any after it.
        if (
            c.trailing
            and at is not None
            and "\n" not in c.text
            and not any(t.startswith("//") for t in trailing.get(at, ()))
        ):
            trailing.setdefault(at, []).append(c.text)
        else:
            standalone.append(c)
    out: list[str] = []
    ci = 0
    for i, (text, first, last) in enumerate(lines):
        if first:
            indent = text[: len(text) - len(text.lstrip())]
            if text.strip().startswith("}"):
                indent += INDENT  # a comment before a closing brace belongs inside the block
            while ci < len(standalone) and standalone[ci].line < last:
                out.extend(_comment_lines(standalone[ci].text, indent))
                ci += 1
        if i in trailing:
            text = text + "  " + "  ".join(trailing[i])
        out.append(text)
    while ci < len(standalone):
        out.extend(_comment_lines(standalone[ci].text, ""))
        ci += 1
    return out


def _comment_lines(text: str, indent: str) -> list[str]:
    first, *rest = text.split("\n")
    return [indent + first.strip(), *(r.rstrip() for r in rest)]


# ---- declarations ---------------------------------------------------------------------------


def _group(decl: ast.Decl, lines: list[Line]) -> str | None:
    if isinstance(decl, ast.Import | ast.Requires):
        return type(decl).__name__
    if isinstance(decl, ast.Const | ast.Param):
        return "value"
    if isinstance(decl, ast.Enum):
        return "enum"
    if isinstance(decl, ast.Var):
        return "var"
    if isinstance(decl, ast.Def):
        return "def" if len(lines) == 1 and len(flat(lines[0][0])) <= MAX_LINE else None
    if isinstance(decl, ast.Invariant | ast.Property | ast.Assume):
        return "prop"
    return None


def _decl(d: ast.Decl) -> list[Line]:
    at = d.span.line
    if isinstance(d, ast.Const):
        return [(cat(f"const {d.name} = ", expr_doc(d.value, P_BIND)), at)]
    if isinstance(d, ast.Param):
        return [(cat(f"param {d.name}: {_type(d.type)} = ", expr_doc(d.default, P_BIND)), at)]
    if isinstance(d, ast.Enum):
        members = ", ".join(m.name for m in d.members)
        return [(f"enum {d.name} {{ {members} }}" if members else f"enum {d.name} {{}}", at)]
    if isinstance(d, ast.Kind | ast.Record):
        head = f"record {d.name}" if isinstance(d, ast.Record) else (
            f"kind {d.name}[{expr_text(d.size, P_BIND)}]" + (" ordered" if d.ordered else "")
        )  # fmt: skip
        # Fields are never separated by the optional comma: a field's default expression is
        # a full `expr`, and a `count x in K` default followed by `,` would read the next field
        # as another binder.
        return _braced(head, [(_field_decl(f), f.span.line) for f in d.fields], d.span)
    if isinstance(d, ast.Var):
        return [(cat(f"var {d.name}: {_type(d.type)} = ", expr_doc(d.init, P_BIND)), at)]
    if isinstance(d, ast.Init):
        return _braced("init", _stmts(d.body.stmts), d.span)
    if isinstance(d, ast.Def):
        params = ", ".join(f"{p.name}: {_type(p.type)}" for p in d.params)
        return [(_headed(f"def {d.name}({params}): {_type(d.ret)} =", d.body), at)]
    if isinstance(d, ast.Controller | ast.Process):
        skew = f" skew {format_expr(d.skew)}" if d.skew is not None else ""
        head = f"{type(d).__name__.lower()} {d.name}" + "".join(
            f" watches {w.kind}"
            + (" stale" if w.stale else " coalesced" if w.coalesced else "")
            + (" unsynced" if w.unsynced else "")
            for w in getattr(d, "watches", ())
        )
        return _braced(head + skew, _actor_locals(d.locals) + _actions(d.actions), d.span)
    if isinstance(d, ast.Scheduler):
        items: list[Line] = [
            (_headed(f"filter {f.name}({f.pod}, {f.node}) =", f.expr, len(INDENT)), f.span.line)
            for f in d.filters
        ]
        for sc in d.scores:
            line = _headed(f"score {sc.name}({sc.pod}, {sc.node}) =", sc.expr, len(INDENT))
            if sc.weight is not None:
                line = cat(line, f" weight {expr_text(sc.weight, P_BIND)}")
            items.append((line, sc.span.line))
        for h in d.hooks:
            items += _braced(f"on {h.event}({', '.join(h.params)})", _stmts(h.body.stmts), h.span)
        head = f"scheduler {d.name} binds {d.pod_kind}.{d.node_field}"
        return _braced(head, items + _actions(d.actions), d.span)
    if isinstance(d, ast.Fault):
        head = f"fault {d.name} budget {expr_text(d.budget, P_BIND)}"
        return _braced(head, _actions(d.actions), d.span)
    if isinstance(d, ast.Invariant):
        word = "lemma" if d.lemma else "invariant"
        return [(_headed(f"{word} {d.name}:", d.expr), at)]
    if isinstance(d, ast.Property):
        lines = [(_headed(f"property {d.name}:", d.expr), at)]
        if d.decreases:  # on a line of its own, indented as a continuation
            measures = ", ".join(expr_text(m, P_BIND) for m in d.decreases)
            lines.append((f"    decreases {measures}", d.decreases[0].span.line))
        return lines
    if isinstance(d, ast.Assume):
        return [(_headed(f"assume {d.name}:", d.expr), at)]
    if isinstance(d, ast.Docker):
        sections: list[Line] = []
        for sec in d.sections:
            items = [(f"{it.key}: {_bind_value(it.value)},", it.span.line) for it in sec.items]
            sections += _braced(f"{sec.role} {sec.kind}", items, sec.span)
        return _braced("docker", sections, d.span)
    if isinstance(d, ast.Manifest):
        return _manifest(d)
    if isinstance(d, ast.Import | ast.Requires):
        return module_decl(d, _braced, _field_decl)
    raise TypeError(f"not a declaration: {d!r}")


def _headed(head: str, e: ast.Expr, indent: int = 0) -> Doc:
    """`head e` (a def, invariant, property, filter...): broken, `e` goes on the next line,
    except the heads of `eventually`/`always` and `forall`/`exists` at its front, which stay
    on the first line while it fits (`invariant i: forall p in Pod:`, then the body)."""
    while isinstance(e, ast.Temporal | ast.Quant):
        word = e.op if isinstance(e, ast.Temporal) else flat(quant_head(e))
        if indent + len(head) + 1 + len(word) > MAX_LINE:
            break
        head += f" {word}"
        e = e.body
    return Chain((head, cat(Src(e.span.line), expr_doc(e, P_BIND))))


def _manifest(d: ast.Manifest) -> list[Line]:
    """`manifest { Kind { NAME = a.b.c in UNIT } }`, one item a line (spec/manifests.md)."""
    sections: list[Line] = []
    for sec in d.sections:
        # items and descriptions (`path: value`) in the order they were written
        both: list[ast.ManifestItem | ast.ManifestFixed] = [*sec.items, *sec.fixed]
        both.sort(key=lambda x: (x.span.line, x.span.col))
        items: list[Line] = []
        for it in both:
            if isinstance(it, ast.ManifestFixed):
                head = manifest_show.key_text(it.path) + ": "
                items += manifest_show.lines(head, it.value, len(INDENT) * 2)
            else:
                items.append((_manifest_item(it), it.span.line))
        head = sec.kind if sec.model_kind is None else f"kind {sec.model_kind} = {sec.kind}"
        sections += _braced(head, items, sec.span)
    return _braced("manifest", sections, d.span)


def _manifest_item(it: ast.ManifestItem) -> Doc:
    def key(k: str) -> str:  # quoted unless a name that parses bare there
        return manifest_show.key_text((k,))

    # a long path (a pod's required node affinity) breaks after a dot, its map after the path
    # (each part marked with its source line, so that a comment stays with its code)
    keys: list[Doc] = [key(k) for k in it.path]
    keys[-1] = cat(Src(it.path_span.end_line), keys[-1])
    path = Chain(tuple(keys), ".", fill=True)
    parts: list[Doc] = [f"{it.name} =", cat(Src(it.path_span.line), path)]
    if it.unit:
        parts.append(cat(Src(it.unit_span.line), f"in {it.unit}"))
    if it.values is not None:
        # a long map breaks between its entries (two finalizer strings fill a line)
        entries: list[Doc] = [f"{key(k)}: {v}" for k, v in it.values]
        if entries:
            entries[0] = cat("{ ", entries[0])
            entries[-1] = cat(entries[-1], " }")
            shown: Doc = Chain(tuple(entries), ", ", fill=True)
        else:
            shown = "{  }"
        parts.append(cat(Src(it.span.end_line), shown))
    return Chain(tuple(parts), " ", fill=True)


def _bind_value(v: ast.FieldName | str | int | tuple[str, ...]) -> str:
    if isinstance(v, ast.FieldName):
        return v.name
    if isinstance(v, str):
        return f'"{v}"'
    if isinstance(v, tuple):
        return "[" + ", ".join(f'"{x}"' for x in v) + "]"
    return str(v)


def _braced(head: Doc, body: Sequence[Line], span: ast.Span) -> list[Line]:
    opening = cat(head, " {") if head != "" else "{"
    if not body:
        return [(cat(head, " {}") if head != "" else "{}", span.line)]
    return [
        (opening, span.line),
        *((cat(INDENT, doc) if doc != "" else doc, anchor) for doc, anchor in body),
        ("}", span.end_line),
    ]


def _field_decl(f: ast.FieldDecl) -> str:
    text = ("key " if f.key else "") + f"{f.name}: {_type(f.type)}"
    if f.default is not None:
        text += f" = {expr_text(f.default, P_BIND)}"
    return text


def _type(t: ast.TypeExpr) -> str:
    if isinstance(t, ast.BoolType):
        return "bool"
    if isinstance(t, ast.IntType):
        return "int"
    if isinstance(t, ast.RangeType):
        return f"{expr_text(t.lo, P_ADD)}..{expr_text(t.hi, P_ADD)}"
    if isinstance(t, ast.NamedType):
        return t.name
    if isinstance(t, ast.OptionalType):
        return f"{t.name}?"
    if isinstance(t, ast.SetType):
        return f"set<{t.elem}>"
    if isinstance(t, ast.ListType):
        return f"list<{t.elem}, {expr_text(t.size, P_BIND)}>"
    if isinstance(t, ast.ArrayType | ast.KeyedSetType):
        return f"set<{t.elem}>[{t.key}]" if isinstance(t, ast.KeyedSetType) else (
            f"{t.elem}[{expr_text(t.size, P_BIND)}]"
        )  # fmt: skip
    raise TypeError(f"not a type: {t!r}")


def _actor_locals(local: Sequence[ast.Var]) -> list[Line]:
    """An actor's `var`s, first in its body, like a struct's fields before its methods."""
    return [(cat(f"var {v.name}: {_type(v.type)} = ", expr_doc(v.init, P_BIND)), v.span.line)
            for v in local]  # fmt: skip


def _actions(actions: Sequence[ast.Action]) -> list[Line]:
    lines: list[Line] = []
    for a in actions:
        head = (f"{a.fairness} " if a.fairness else "") + f"action {a.name}"
        clauses: list[Doc] = []
        if a.handler:
            head += f" on {binders_text(a.binders)}"
        elif a.binders:
            head += f" for {binders_text(a.binders)}"
            if a.where is not None:
                clauses.append(_clause("where", a.where))
        if a.when is not None:
            clauses.append(_clause("when", a.when))
        clauses += [_clause("within", a.within)] if a.within is not None else []
        lines.extend(_braced(Chain((head, *clauses)), _stmts(a.body.stmts), a.span))
    return lines


def _clause(word: str, e: ast.Expr) -> Doc:
    return cat(Src(e.span.line), f"{word} ", expr_doc(e, P_BIND))


# ---- statements -----------------------------------------------------------------------------


def _stmts(stmts: Sequence[ast.Stmt]) -> list[Line]:
    lines: list[Line] = []
    for st in stmts:
        lines.extend(_stmt(st))
    return lines


def _stmt(st: ast.Stmt) -> list[Line]:
    at = st.span.line
    if isinstance(st, ast.Assign):
        return [(cat(f"{_lvalue(st.target)} := ", expr_doc(st.value, P_BIND)), at)]
    if isinstance(st, ast.AssignAny):
        return [(f"{_lvalue(st.target)} := any {domain_text(st.domain)}", at)]
    if isinstance(st, ast.CreateStmt) and st.otherwise is not None:
        return _braced(cat(_create(st.create), " else"), _stmts(st.otherwise.stmts), st.span)
    if isinstance(st, ast.CreateStmt):
        return [(_create(st.create), at)]
    if isinstance(st, ast.Let):
        value = (
            _create(st.value) if isinstance(st.value, ast.Create) else expr_doc(st.value, P_BIND)
        )
        return [(cat(f"let {st.name} = ", value), at)]
    if isinstance(st, ast.Delete):
        return [(cat("delete ", expr_doc(st.target, P_BIND)), at)]
    if isinstance(st, ast.Choose | ast.For):
        head = ("choose " if isinstance(st, ast.Choose) else "for ") + binders_text(st.binders)
        clauses = () if st.where is None else (_clause("where", st.where),)
        return _braced(Chain((head, *clauses)), _stmts(st.body.stmts), st.span)
    if isinstance(st, ast.If):
        return _if(st)
    if isinstance(st, ast.Step):
        return [("step", at)]
    if isinstance(st, ast.Restart):
        return [(f"restart {st.controller}", at)]
    raise TypeError(f"not a statement: {st!r}")


def _if(st: ast.If) -> list[Line]:
    then_span = ast.Span(st.span.line, st.span.col, st.then.span.end_line, st.then.span.end_col)
    lines = _braced(cat("if ", expr_doc(st.cond, P_BIND)), _stmts(st.then.stmts), then_span)
    if st.else_ is None:
        return lines
    # `} else {` / `} else if c {` continue the closing line of the branch before.
    closing, _ = lines.pop()
    if isinstance(st.else_, ast.If):
        rest = _if(st.else_)
    else:
        rest = _braced("", _stmts(st.else_.stmts), st.else_.span)
    lines.append((cat(closing, " else ", rest[0][0]), rest[0][1]))
    lines.extend(rest[1:])
    return lines


def _lvalue(lv: ast.LValue) -> str:
    if lv.elem is not None:  # `p.containers[i].ready`, `p.containers[i].ports[j].open`
        at = lv.indexes()
        return ".".join(
            p + (f"[{expr_text(at[i], P_BIND)}]" if i in at else "") for i, p in enumerate(lv.parts)
        )
    if lv.index is not None:
        return f"{lv.parts[0]}[{expr_text(lv.index, P_BIND)}]" + "".join(
            "." + p for p in lv.parts[1:]
        )
    return ".".join(lv.parts)


def _init_name(f: ast.FieldInit) -> str:
    if f.index is None:
        return f.name
    return f"{f.name}[{expr_text(f.index, P_BIND)}].{f.part}"  # a part's field


def _create(c: ast.Create) -> Doc:
    if not c.fields:
        return f"create {c.kind} {{}}"
    inits = comma_docs([f.value for f in c.fields])
    fields = tuple(cat(f"{_init_name(f)}: ", v) for f, v in zip(c.fields, inits, strict=True))
    return cat(f"create {c.kind} {{ ", Chain(fields, ", ", fill=True), " }")
