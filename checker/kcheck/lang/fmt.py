"""Syntax tree -> canonical KDSL text: what `kcheck fmt` prints (spec/language.md, "Formatting").

The contract: for every program P that parses, `parse(format_program(P)) == P` (spans are left
out of AST equality), and formatting is idempotent on its own output. Layout rules:

- declarations in source order; one blank line between groups of different sorts, and around
  every block declaration (kind, init, controller, process, scheduler, fault, and a def whose
  body does not fit on its line). Sorts that share a group: `const` with `param`, `invariant`
  with `property` (the way the models in `models/` are written);
- two-space indentation, one statement per line, one kind field per line, an enum on one line;
- single spaces around binary operators; parentheses only where the grammar's precedence
  needs them to keep the tree.

Comments are not in the syntax tree, so each output line carries the source line it came from
(its anchor), and `attach_comments` puts every comment back: a comment on a line of its own
goes before the first output line anchored after it, at that line's indentation; a comment
after code goes at the end of the last output line from its source line. A comment inside a
multi-line expression moves to just before its statement; no comment is ever lost. The items
of a scheduler are printed filters first, then scores, then its `on bind` block, then actions,
because the tree keeps them in separate lists.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from kcheck.lang import ast

INDENT = "  "
# An output line and the source line it was made from (0: none, e.g. a blank separator).
Line = tuple[str, int]
# A def longer than this puts its body on its own indented line (and becomes a block
# declaration, set off by blank lines). Nothing else is ever wrapped.
MAX_LINE = 100

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
    lines = _program_lines(program)
    if source_text is not None:
        return "\n".join(attach_comments(lines, find_comments(source_text))) + "\n"
    return "\n".join(text for text, _ in lines) + "\n"


def check_formatted(source_text: str, program: ast.Program) -> bool:
    """True when `source_text` (which parsed to `program`) is exactly its canonical layout,
    comments included."""
    return format_program(program, source_text) == source_text


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


# KDSL has no string literals, so `//` and `/*` always open a comment; one left-to-right scan
# with both alternatives handles `/*` inside a line comment and `//` inside a block comment.
_COMMENT = re.compile(r"//[^\n]*|/\*[\s\S]*?\*/")


@dataclass(frozen=True)
class Comment:
    line: int  # 1-based line where the comment starts
    text: str  # as written, `//` or `/* */` included
    trailing: bool  # code stands before it on its line


def find_comments(text: str) -> list[Comment]:
    """Every comment of a model's text, in order."""
    out = []
    for m in _COMMENT.finditer(text):
        line_start = text.rfind("\n", 0, m.start()) + 1
        line = text.count("\n", 0, m.start()) + 1
        before = text[line_start : m.start()]
        out.append(Comment(line, m.group().rstrip(), bool(before.strip())))
    return out


def attach_comments(lines: list[Line], comments: list[Comment]) -> list[str]:
    """Put each comment back next to the output line made from its source line."""
    last_of: dict[int, int] = {}
    for i, (_, anchor) in enumerate(lines):
        if anchor:
            last_of[anchor] = i
    trailing: dict[int, list[str]] = {}
    standalone: list[Comment] = []
    for c in comments:
        if c.trailing and c.line in last_of and "\n" not in c.text:
            trailing.setdefault(last_of[c.line], []).append(c.text)
        else:
            standalone.append(c)
    out: list[str] = []
    ci = 0
    for i, (text, anchor) in enumerate(lines):
        if anchor:
            indent = text[: len(text) - len(text.lstrip())]
            if text.strip().startswith("}"):
                indent += INDENT  # a comment before a closing brace belongs inside the block
            while ci < len(standalone) and standalone[ci].line < anchor:
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
        return "def" if len(lines) == 1 else None
    if isinstance(decl, ast.Invariant | ast.Property | ast.Assume):
        return "prop"
    return None


def _decl(d: ast.Decl) -> list[Line]:
    at = d.span.line
    if isinstance(d, ast.Const):
        return [(f"const {d.name} = {_expr(d.value, P_BIND)}", at)]
    if isinstance(d, ast.Param):
        return [(f"param {d.name}: {_type(d.type)} = {_expr(d.default, P_BIND)}", at)]
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
        return [(f"var {d.name}: {_type(d.type)} = {_expr(d.init, P_BIND)}", at)]
    if isinstance(d, ast.Init):
        return _braced("init", _stmts(d.body.stmts), d.span)
    if isinstance(d, ast.Def):
        params = ", ".join(f"{p.name}: {_type(p.type)}" for p in d.params)
        head = f"def {d.name}({params}): {_type(d.ret)} ="
        return [(text, at) for text in _maybe_split(head, _expr(d.body, P_BIND))]
    if isinstance(d, ast.Controller):
        head = f"controller {d.name}" + "".join(
            f" watches {w.kind}"
            + (" stale" if w.stale else " coalesced" if w.coalesced else "")
            + (" unsynced" if w.unsynced else "")
            for w in d.watches
        )
        return _braced(head, _actions(d.actions), d.span)
    if isinstance(d, ast.Process):
        return _braced(f"process {d.name}", _actions(d.actions), d.span)
    if isinstance(d, ast.Scheduler):
        items: list[Line] = [
            (f"filter {f.name}({f.pod}, {f.node}) = {_expr(f.expr, P_BIND)}", f.span.line)
            for f in d.filters
        ]
        for sc in d.scores:
            line = f"score {sc.name}({sc.pod}, {sc.node}) = {_expr(sc.expr, P_BIND)}"
            if sc.weight is not None:
                line += f" weight {_expr(sc.weight, P_BIND)}"
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
        return [(f"{word} {d.name}: {_expr(d.expr, P_BIND)}", at)]
    if isinstance(d, ast.Property):
        return [(f"property {d.name}: {_expr(d.expr, P_BIND)}", at)]
    if isinstance(d, ast.Assume):
        return [(f"assume {d.name}: {_expr(d.expr, P_BIND)}", at)]
    if isinstance(d, ast.Docker):
        sections: list[Line] = []
        for sec in d.sections:
            items = [(f"{it.key}: {_bind_value(it.value)},", it.span.line) for it in sec.items]
            sections += _braced(f"{sec.role} {sec.kind}", items, sec.span)
        return _braced("docker", sections, d.span)
    if isinstance(d, ast.Manifest):
        return _manifest(d)
    raise TypeError(f"not a declaration: {d!r}")


def _manifest(d: ast.Manifest) -> list[Line]:
    """`manifest { Kind { NAME = a.b.c in UNIT } }`, one item a line (spec/manifests.md)."""
    sections: list[Line] = []
    for sec in d.sections:
        items = [(_manifest_item(it), it.span.line) for it in sec.items]
        head = sec.kind if sec.model_kind is None else f"kind {sec.model_kind} = {sec.kind}"
        sections += _braced(head, items, sec.span)
    return _braced("manifest", sections, d.span)


def _manifest_item(it: ast.ManifestItem) -> str:
    def key(k: str) -> str:
        return k if k.isidentifier() and k.isascii() else f'"{k}"'

    text = f"{it.name} = {'.'.join(key(k) for k in it.path)}"
    if it.unit:
        text += f" in {it.unit}"
    if it.values is not None:
        text += " { " + ", ".join(f"{key(k)}: {v}" for k, v in it.values) + " }"
    return text


def _bind_value(v: ast.FieldName | str | int | tuple[str, ...]) -> str:
    if isinstance(v, ast.FieldName):
        return v.name
    if isinstance(v, str):
        return f'"{v}"'
    if isinstance(v, tuple):
        return "[" + ", ".join(f'"{x}"' for x in v) + "]"
    return str(v)


def _maybe_split(head: str, body: str) -> list[str]:
    one_line = f"{head} {body}"
    if len(one_line) <= MAX_LINE:
        return [one_line]
    return [head, INDENT + body]


def _braced(head: str, body: Sequence[Line], span: ast.Span) -> list[Line]:
    if not body:
        return [(f"{head} {{}}", span.line)]
    return [
        (f"{head} {{", span.line),
        *((INDENT + text if text else text, anchor) for text, anchor in body),
        ("}", span.end_line),
    ]


def _field_decl(f: ast.FieldDecl) -> str:
    text = f"{f.name}: {_type(f.type)}"
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


def _actions(actions: Sequence[ast.Action]) -> list[Line]:
    lines: list[Line] = []
    for a in actions:
        head = (f"{a.fairness} " if a.fairness else "") + f"action {a.name}"
        if a.handler:
            head += f" on {_binders(a.binders)}"
        elif a.binders:
            head += f" for {_binders(a.binders)}"
            if a.where is not None:
                head += f" where {_expr(a.where, P_BIND)}"
        if a.when is not None:
            head += f" when {_expr(a.when, P_BIND)}"
        lines.extend(_braced(head, _stmts(a.body.stmts), a.span))
    return lines


# ---- statements -----------------------------------------------------------------------------


def _stmts(stmts: Sequence[ast.Stmt]) -> list[Line]:
    lines: list[Line] = []
    for st in stmts:
        lines.extend(_stmt(st))
    return lines


def _stmt(st: ast.Stmt) -> list[Line]:
    at = st.span.line
    if isinstance(st, ast.Assign):
        return [(f"{_lvalue(st.target)} := {_expr(st.value, P_BIND)}", at)]
    if isinstance(st, ast.AssignAny):
        return [(f"{_lvalue(st.target)} := any {_domain(st.domain)}", at)]
    if isinstance(st, ast.CreateStmt):
        return [(_create(st.create), at)]
    if isinstance(st, ast.Let):
        value = _create(st.value) if isinstance(st.value, ast.Create) else _expr(st.value, P_BIND)
        return [(f"let {st.name} = {value}", at)]
    if isinstance(st, ast.Delete):
        return [(f"delete {_expr(st.target, P_BIND)}", at)]
    if isinstance(st, ast.Choose | ast.For):
        head = ("choose " if isinstance(st, ast.Choose) else "for ") + _binders(st.binders)
        if st.where is not None:
            head += f" where {_expr(st.where, P_BIND)}"
        return _braced(head, _stmts(st.body.stmts), st.span)
    if isinstance(st, ast.If):
        return _if(st)
    if isinstance(st, ast.Step):
        return [("step", at)]
    if isinstance(st, ast.Restart):
        return [(f"restart {st.controller}", at)]
    raise TypeError(f"not a statement: {st!r}")


def _if(st: ast.If) -> list[Line]:
    then_span = ast.Span(st.span.line, st.span.col, st.then.span.end_line, st.then.span.end_col)
    lines = _braced(f"if {_expr(st.cond, P_BIND)}", _stmts(st.then.stmts), then_span)
    if st.else_ is None:
        return lines
    # `} else {` / `} else if c {` continue the closing line of the branch before.
    closing, _ = lines.pop()
    if isinstance(st.else_, ast.If):
        rest = _if(st.else_)
    else:
        rest = _braced("", _stmts(st.else_.stmts), st.else_.span)
    lines.append((f"{closing} else {rest[0][0].lstrip()}", rest[0][1]))
    lines.extend(rest[1:])
    return lines


def _lvalue(lv: ast.LValue) -> str:
    if lv.index is not None:
        return f"{lv.parts[0]}[{_expr(lv.index, P_BIND)}]." + ".".join(lv.parts[1:])
    return ".".join(lv.parts)


def _create(c: ast.Create) -> str:
    if not c.fields:
        return f"create {c.kind} {{}}"
    inits = _comma_list([f.value for f in c.fields])
    body = ", ".join(f"{f.name}: {v}" for f, v in zip(c.fields, inits, strict=True))
    return f"create {c.kind} {{ {body} }}"


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


def _comma_list(items: Sequence[ast.Expr]) -> list[str]:
    """Full expressions separated by commas; all but the last must not leave binders open."""
    out = []
    for i, item in enumerate(items):
        text = _expr(item, P_BIND)
        if i < len(items) - 1 and _open_binders(item):
            text = f"({text})"
        out.append(text)
    return out


def _expr(e: ast.Expr, min_prec: int) -> str:
    text = _bare(e)
    return f"({text})" if _prec(e) < min_prec else text


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
    if isinstance(e, ast.Call):
        return f"{e.func}({', '.join(_comma_list(e.args))})"
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
        if e.op == "not" and _is_not_in(e.operand):
            return f"not ({_expr(e.operand, P_BIND)})"  # not `not a not in b`
        if e.op == "not":
            return f"not {_expr(e.operand, P_NOT)}"
        return f"-{_expr(e.operand, P_NEG)}"
    if isinstance(e, ast.Binary):
        _, left_min, right_min = _BINARY[e.op]
        return f"{_expr(e.left, left_min)} {e.op} {_expr(e.right, right_min)}"
    if isinstance(e, ast.LeadsTo):
        return f"{_expr(e.left, P_IMPLIES)} leads_to {_expr(e.right, P_IMPLIES)}"
    if isinstance(e, ast.SetLit):
        return "{" + ", ".join(_expr(x, P_BIND) for x in e.elems) + "}"
    if isinstance(e, ast.SetBuilder):
        return "{" + _binders((e.binder,)) + _where(e.where) + "}"
    if isinstance(e, ast.Quant):
        return f"{e.quant} {_binders(e.binders)}{_where(e.where)}: {_expr(e.body, P_BIND)}"
    if isinstance(e, ast.Count):
        return f"count {_binders(e.binders)}{_where(e.where)}"
    if isinstance(e, ast.Aggregate):
        # The body is parsed at `implies` level, so a binding form or `leads_to` there needs
        # parentheses even though it is not an operand.
        body = _expr(e.body, P_IMPLIES)
        return f"{e.op} {body} for {_binders(e.binders)}{_where(e.where)}"
    if isinstance(e, ast.IfExpr):
        return (
            f"if {_expr(e.cond, P_BIND)} then {_expr(e.then, P_BIND)} else {_expr(e.else_, P_BIND)}"
        )
    if isinstance(e, ast.Temporal):
        return f"{e.op} {_expr(e.body, P_BIND)}"
    raise TypeError(f"not an expression: {e!r}")
