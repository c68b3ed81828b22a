"""Syntax tree -> canonical KDSL text: what `kcheck fmt` prints (spec/language.md, "Formatting").

The contract: for every program P that parses, `parse(format_program(P)) == P` (spans are left
out of AST equality), and formatting is idempotent on its own output. Layout rules:

- declarations in source order; one blank line between groups of different sorts, and around
  every block declaration (kind, init, controller, process, scheduler, fault, and a def whose
  body does not fit on its line). Sorts that share a group: `const` with `param`, `invariant`
  with `property` (the way the models in `models/` are written);
- two-space indentation, one statement per line, one kind field per line, an enum on one line;
- single spaces around binary operators; parentheses only where the grammar's precedence
  needs them to keep the tree;
- a line wider than MAX_LINE columns is broken at its outermost break points (`layout.py`).

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
from kcheck.lang.layout import MAX_LINE, Chain, Doc, PLine, Src, cat, flat, layout

INDENT = "  "
# A logical output line and the source line it was made from (0: none, e.g. a blank separator).
Line = tuple[Doc, int]

# Precedence levels, lowest to highest, as the grammar's rule chain defines them.
P_BIND = 0  # forall/exists/count/sum/max/min/if/eventually/always: take everything to the right
P_LEADS = 1
P_IMPLIES = 2
P_OR = 3
P_AND = 4
P_NOT = 5
P_CMP = 6  # comparisons and `in`; non-associative
P_SETOP = 7  # `|` and `&`
P_ADD = 8  # also the level of a binder's domain and a range's bounds (`arith` in the grammar)
P_MUL = 9
P_NEG = 10
P_POSTFIX = 11
P_ATOM = 12

# op -> (its level, the least level its left operand may have unparenthesised, same for right).
# Left-associative operators demand one level more on the right (`a - (b - c)`), `implies` is
# right-associative, comparisons take `|`/`&`-level operands on both sides.
_BINARY: dict[str, tuple[int, int, int]] = {
    "implies": (P_IMPLIES, P_OR, P_IMPLIES),
    "or": (P_OR, P_OR, P_AND),
    "and": (P_AND, P_AND, P_NOT),
    **{op: (P_CMP, P_SETOP, P_SETOP) for op in ("==", "!=", "<", "<=", ">", ">=", "in")},
    "|": (P_SETOP, P_SETOP, P_ADD),
    "&": (P_SETOP, P_SETOP, P_ADD),
    "+": (P_ADD, P_ADD, P_MUL),
    "-": (P_ADD, P_ADD, P_MUL),
    "*": (P_MUL, P_MUL, P_NEG),
    "/": (P_MUL, P_MUL, P_NEG),
    "%": (P_MUL, P_MUL, P_NEG),
}


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
    out: list[Line] = [(f"model {program.name}", program.name_span.line)]
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


def format_expr(e: ast.Expr) -> str:
    """One expression, as it would appear where the grammar takes a full `expr`."""
    return _expr(e, P_BIND)


# ---- declarations ---------------------------------------------------------------------------


def _group(decl: ast.Decl, lines: list[Line]) -> str | None:
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
        return [(cat(f"const {d.name} = ", _edoc(d.value, P_BIND)), at)]
    if isinstance(d, ast.Param):
        return [(cat(f"param {d.name}: {_type(d.type)} = ", _edoc(d.default, P_BIND)), at)]
    if isinstance(d, ast.Enum):
        members = ", ".join(m.name for m in d.members)
        return [(f"enum {d.name} {{ {members} }}" if members else f"enum {d.name} {{}}", at)]
    if isinstance(d, ast.Kind):
        head = f"kind {d.name}[{_expr(d.size, P_BIND)}]" + (" ordered" if d.ordered else "")
        # Fields are never separated by the optional comma: a field's default expression is
        # a full `expr`, and a `count x in K` default followed by `,` would read the next field
        # as another binder.
        return _braced(head, [(_field_decl(f), f.span.line) for f in d.fields], d.span)
    if isinstance(d, ast.Var):
        return [(cat(f"var {d.name}: {_type(d.type)} = ", _edoc(d.init, P_BIND)), at)]
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
                line = cat(line, f" weight {_expr(sc.weight, P_BIND)}")
            items.append((line, sc.span.line))
        for h in d.hooks:
            items += _braced(f"on {h.event}({', '.join(h.params)})", _stmts(h.body.stmts), h.span)
        head = f"scheduler {d.name} binds {d.pod_kind}.{d.node_field}"
        return _braced(head, items + _actions(d.actions), d.span)
    if isinstance(d, ast.Fault):
        head = f"fault {d.name} budget {_expr(d.budget, P_BIND)}"
        return _braced(head, _actions(d.actions), d.span)
    if isinstance(d, ast.Invariant):
        word = "lemma" if d.lemma else "invariant"
        return [(_headed(f"{word} {d.name}:", d.expr), at)]
    if isinstance(d, ast.Property):
        lines = [(_headed(f"property {d.name}:", d.expr), at)]
        if d.decreases:  # on a line of its own, indented as a continuation
            measures = ", ".join(_expr(m, P_BIND) for m in d.decreases)
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
    raise TypeError(f"not a declaration: {d!r}")


def _headed(head: str, e: ast.Expr, indent: int = 0) -> Doc:
    """`head e` (a def, invariant, property, filter...): broken, `e` goes on the next line,
    except the heads of `eventually`/`always` and `forall`/`exists` at its front, which stay
    on the first line while it fits (`invariant i: forall p in Pod:`, then the body)."""
    while isinstance(e, ast.Temporal | ast.Quant):
        word = e.op if isinstance(e, ast.Temporal) else flat(_quant_head(e))
        if indent + len(head) + 1 + len(word) > MAX_LINE:
            break
        head += f" {word}"
        e = e.body
    return Chain((head, cat(Src(e.span.line), _edoc(e, P_BIND))))


def _manifest(d: ast.Manifest) -> list[Line]:
    """`manifest { Kind { NAME = a.b.c in UNIT } }`, one item a line (spec/manifests.md)."""
    sections: list[Line] = []
    for sec in d.sections:
        items = [(_manifest_item(it), it.span.line) for it in sec.items]
        head = sec.kind if sec.model_kind is None else f"kind {sec.model_kind} = {sec.kind}"
        sections += _braced(head, items, sec.span)
    return _braced("manifest", sections, d.span)


def _manifest_item(it: ast.ManifestItem) -> Doc:
    def key(k: str) -> str:
        return k if k.isidentifier() and k.isascii() else f'"{k}"'

    # a long path (a pod's required node affinity) breaks after a dot, its map after the path
    # (each part marked with its source line, so that a comment stays with its code)
    keys: list[Doc] = [key(k) for k in it.path]
    keys[-1] = cat(Src(it.path_span.end_line), keys[-1])
    path = Chain(tuple(keys), ".", fill=True)
    parts: list[Doc] = [f"{it.name} =", cat(Src(it.path_span.line), path)]
    if it.unit:
        parts.append(cat(Src(it.unit_span.line), f"in {it.unit}"))
    if it.values is not None:
        shown = ", ".join(f"{key(k)}: {v}" for k, v in it.values)
        parts.append(cat(Src(it.span.end_line), "{ " + shown + " }"))
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
        text += f" = {_expr(f.default, P_BIND)}"
    return text


def _type(t: ast.TypeExpr) -> str:
    if isinstance(t, ast.BoolType):
        return "bool"
    if isinstance(t, ast.IntType):
        return "int"
    if isinstance(t, ast.RangeType):
        return f"{_expr(t.lo, P_ADD)}..{_expr(t.hi, P_ADD)}"
    if isinstance(t, ast.NamedType):
        return t.name
    if isinstance(t, ast.OptionalType):
        return f"{t.name}?"
    if isinstance(t, ast.SetType):
        return f"set<{t.elem}>"
    raise TypeError(f"not a type: {t!r}")


def _actor_locals(local: Sequence[ast.Var]) -> list[Line]:
    """An actor's `var`s, first in its body, like a struct's fields before its methods."""
    return [(cat(f"var {v.name}: {_type(v.type)} = ", _edoc(v.init, P_BIND)), v.span.line)
            for v in local]  # fmt: skip


def _actions(actions: Sequence[ast.Action]) -> list[Line]:
    lines: list[Line] = []
    for a in actions:
        head = (f"{a.fairness} " if a.fairness else "") + f"action {a.name}"
        clauses: list[Doc] = []
        if a.handler:
            head += f" on {_binders(a.binders)}"
        elif a.binders:
            head += f" for {_binders(a.binders)}"
            if a.where is not None:
                clauses.append(_clause("where", a.where))
        if a.when is not None:
            clauses.append(_clause("when", a.when))
        clauses += [_clause("within", a.within)] if a.within is not None else []
        lines.extend(_braced(Chain((head, *clauses)), _stmts(a.body.stmts), a.span))
    return lines


def _clause(word: str, e: ast.Expr) -> Doc:
    return cat(Src(e.span.line), f"{word} ", _edoc(e, P_BIND))


# ---- statements -----------------------------------------------------------------------------


def _stmts(stmts: Sequence[ast.Stmt]) -> list[Line]:
    lines: list[Line] = []
    for st in stmts:
        lines.extend(_stmt(st))
    return lines


def _stmt(st: ast.Stmt) -> list[Line]:
    at = st.span.line
    if isinstance(st, ast.Assign):
        return [(cat(f"{_lvalue(st.target)} := ", _edoc(st.value, P_BIND)), at)]
    if isinstance(st, ast.AssignAny):
        return [(f"{_lvalue(st.target)} := any {_domain(st.domain)}", at)]
    if isinstance(st, ast.CreateStmt) and st.otherwise is not None:
        return _braced(cat(_create(st.create), " else"), _stmts(st.otherwise.stmts), st.span)
    if isinstance(st, ast.CreateStmt):
        return [(_create(st.create), at)]
    if isinstance(st, ast.Let):
        value = _create(st.value) if isinstance(st.value, ast.Create) else _edoc(st.value, P_BIND)
        return [(cat(f"let {st.name} = ", value), at)]
    if isinstance(st, ast.Delete):
        return [(cat("delete ", _edoc(st.target, P_BIND)), at)]
    if isinstance(st, ast.Choose | ast.For):
        head = ("choose " if isinstance(st, ast.Choose) else "for ") + _binders(st.binders)
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
    lines = _braced(cat("if ", _edoc(st.cond, P_BIND)), _stmts(st.then.stmts), then_span)
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
    if lv.index is not None:
        return f"{lv.parts[0]}[{_expr(lv.index, P_BIND)}]." + ".".join(lv.parts[1:])
    return ".".join(lv.parts)


def _create(c: ast.Create) -> Doc:
    if not c.fields:
        return f"create {c.kind} {{}}"
    inits = _comma_docs([f.value for f in c.fields])
    fields = tuple(cat(f"{f.name}: ", v) for f, v in zip(c.fields, inits, strict=True))
    return cat(f"create {c.kind} {{ ", Chain(fields, ", ", fill=True), " }")


# ---- expressions ----------------------------------------------------------------------------


def _binders(binders: Sequence[ast.Binder]) -> str:
    return ", ".join(f"{b.name} in {_domain(b.domain)}" for b in binders)


def _domain(d: ast.Domain) -> str:
    if isinstance(d, ast.RangeDomain):
        return f"{_expr(d.lo, P_ADD)}..{_expr(d.hi, P_ADD)}"
    return _expr(d.expr, P_ADD)


def _where(where: ast.Expr | None) -> str:
    return "" if where is None else f" where {_expr(where, P_BIND)}"


def _is_not_in(e: ast.Expr) -> bool:
    """`not (a in b)`, which reads better as `a not in b` (the same tree)."""
    return (
        isinstance(e, ast.Unary)
        and e.op == "not"
        and isinstance(e.operand, ast.Binary)
        and e.operand.op == "in"
    )


def _prec(e: ast.Expr) -> int:
    if isinstance(e, ast.Binary):
        return _BINARY[e.op][0]
    if _is_not_in(e):
        return P_CMP
    if isinstance(e, ast.Unary):
        return P_NOT if e.op == "not" else P_NEG
    if isinstance(e, ast.LeadsTo):
        return P_LEADS
    if isinstance(e, ast.Quant | ast.Count | ast.Aggregate | ast.IfExpr | ast.Temporal):
        return P_BIND
    if isinstance(e, ast.Field | ast.Call | ast.Index | ast.CountAll):
        return P_POSTFIX
    return P_ATOM


def _open_binders(e: ast.Expr) -> bool:
    """Does the text of `e` end with a binder list that has no `where`?

    Such text cannot be followed by `,`: the parser takes the comma as the start of another
    binder (the grammar's one shift/reduce conflict, resolved as shift), so `f(count x in K, 1)`
    does not parse. Binding forms as operands are parenthesised anyway, so only the trailing
    part of a binding form can leave its binders open.
    """
    if isinstance(e, ast.Count | ast.Aggregate):
        return e.where is None or _open_binders(e.where)
    if isinstance(e, ast.Quant | ast.Temporal):
        return _open_binders(e.body)
    if isinstance(e, ast.IfExpr):
        return _open_binders(e.else_)
    return False


def _comma_docs(items: Sequence[ast.Expr]) -> list[Doc]:
    """Full expressions separated by commas; all but the last must not leave binders open."""
    out = []
    for i, item in enumerate(items):
        doc = _edoc(item, P_BIND)
        if i < len(items) - 1 and _open_binders(item):
            doc = cat("(", doc, ")")
        out.append(cat(Src(item.span.line), doc))
    return out


def _expr(e: ast.Expr, min_prec: int) -> str:
    return flat(_edoc(e, min_prec))


def _edoc(e: ast.Expr, min_prec: int) -> Doc:
    doc = _doc(e)
    return cat("(", doc, ")") if _prec(e) < min_prec else doc


def _quant_head(e: ast.Quant) -> Doc:
    """`forall x in K where c:`, breakable before `where`."""
    binders = f"{e.quant} {_binders(e.binders)}"
    if e.where is None:
        return binders + ":"
    return Chain((binders, cat(Src(e.where.span.line), "where ", _edoc(e.where, P_BIND), ":")))


def _operands(e: ast.Binary) -> list[tuple[str, ast.Expr, int]]:
    """A chain of operators of one level as (operator, operand, the operand's least level):
    `a - b + c` (left-nested) as [("", a, ..), ("-", b, ..), ("+", c, ..)]; `implies` nests to
    the right."""
    level, left_min, right_min = _BINARY[e.op]
    if e.op == "implies":
        right = e.right
        rest = (
            _operands(right)
            if isinstance(right, ast.Binary) and right.op == "implies"
            else [("", right, right_min)]
        )
        return [("", e.left, left_min), (e.op, *rest[0][1:]), *rest[1:]]
    left = e.left
    if isinstance(left, ast.Binary) and _BINARY[left.op][0] == level:
        head = _operands(left)
    else:
        head = [("", left, left_min)]
    return [*head, (e.op, e.right, right_min)]


def _doc(e: ast.Expr) -> Doc:
    """The text of `e` without parentheses around it, with its break points."""
    if isinstance(e, ast.Binary) and _BINARY[e.op][0] == P_CMP:
        # Not a break point: `f(a,\n b) > 0` reads better than `f(a, b)\n> 0`.
        _, left_min, right_min = _BINARY[e.op]
        return cat(_edoc(e.left, left_min), f" {e.op} ", _edoc(e.right, right_min))
    if isinstance(e, ast.Binary):
        # One operand per line, the operator leading the line.
        (_, first, first_min), *rest = _operands(e)
        operands = [_edoc(first, first_min)]
        operands += [cat(Src(o.span.line), f"{op} ", _edoc(o, m)) for op, o, m in rest]
        return Chain(tuple(operands), align=True)
    if isinstance(e, ast.LeadsTo):
        right = cat(Src(e.right.span.line), "leads_to ", _edoc(e.right, P_IMPLIES))
        return Chain((_edoc(e.left, P_IMPLIES), right), align=True)
    if isinstance(e, ast.Call):
        return cat(f"{e.func}(", Chain(tuple(_comma_docs(e.args)), ", ", fill=True), ")")
    if isinstance(e, ast.Quant):
        return Chain((_quant_head(e), cat(Src(e.body.span.line), _edoc(e.body, P_BIND))))
    if isinstance(e, ast.IfExpr):
        parts: list[Doc] = []
        cur: ast.Expr = e
        # `else if` chains stay flat: if, then, else if, then, ..., else.
        while isinstance(cur, ast.IfExpr):
            word = "if " if not parts else "else if "
            parts += [
                cat(Src(cur.cond.span.line), word, _edoc(cur.cond, P_BIND)),
                cat(Src(cur.then.span.line), "then ", _edoc(cur.then, P_BIND)),
            ]
            cur = cur.else_
        parts.append(cat(Src(cur.span.line), "else ", _edoc(cur, P_BIND)))
        return Chain(tuple(parts), align=True)
    if isinstance(e, ast.Temporal):
        return cat(f"{e.op} ", _edoc(e.body, P_BIND))
    if isinstance(e, ast.Unary) and e.op == "not" and not _is_not_in(e):
        if _is_not_in(e.operand):
            return cat("not (", _edoc(e.operand, P_BIND), ")")  # not `not a not in b`
        return cat("not ", _edoc(e.operand, P_NOT))
    if isinstance(e, ast.Count) and e.where is not None:
        return cat(f"count {_binders(e.binders)} where ", _edoc(e.where, P_BIND))
    return _bare(e)


def _bare(e: ast.Expr) -> str:
    if isinstance(e, ast.IntLit):
        return str(e.value)
    if isinstance(e, ast.BoolLit):
        return "true" if e.value else "false"
    if isinstance(e, ast.NoneLit):
        return "none"
    if isinstance(e, ast.Name):
        return e.id
    if isinstance(e, ast.Field):
        return f"{_expr(e.obj, P_POSTFIX)}.{e.name}"
    if isinstance(e, ast.Index):
        return f"{e.kind}[{_expr(e.index, P_BIND)}]"
    if isinstance(e, ast.CountAll):
        return f"count({_expr(e.arg, P_BIND)})"
    if isinstance(e, ast.Budget):
        return f"budget({e.fault})"
    if isinstance(e, ast.Unary):
        if _is_not_in(e):
            assert isinstance(e.operand, ast.Binary)
            return f"{_expr(e.operand.left, P_SETOP)} not in {_expr(e.operand.right, P_SETOP)}"
        return f"-{_expr(e.operand, P_NEG)}"
    if isinstance(e, ast.SetLit):
        return "{" + ", ".join(_expr(x, P_ADD) for x in e.elems) + "}"
    if isinstance(e, ast.SetBuilder):
        return "{" + _binders((e.binder,)) + _where(e.where) + "}"
    if isinstance(e, ast.Count):
        return f"count {_binders(e.binders)}{_where(e.where)}"
    if isinstance(e, ast.Aggregate):
        # The body is parsed at `implies` level, so a binding form or `leads_to` there needs
        # parentheses even though it is not an operand.
        body = _expr(e.body, P_IMPLIES)
        return f"{e.op} {body} for {_binders(e.binders)}{_where(e.where)}"
    raise TypeError(f"not an expression: {e!r}")
