"""Expressions -> canonical KDSL text, for `kcheck fmt` (fmt.py) and for every message that
quotes an expression: an operand is parenthesised exactly when its precedence needs it, and a
long expression keeps its break points for the layout (layout.py)."""

from __future__ import annotations

from collections.abc import Sequence

from kcheck.lang import ast
from kcheck.lang.layout import Chain, Doc, Src, cat, flat

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


def format_expr(e: ast.Expr) -> str:
    """One expression, as it would appear where the grammar takes a full `expr`."""
    return expr_text(e, P_BIND)


def binders_text(binders: Sequence[ast.Binder]) -> str:
    return ", ".join(f"{b.name} in {domain_text(b.domain)}" for b in binders)


def domain_text(d: ast.Domain) -> str:
    if isinstance(d, ast.RangeDomain):
        return f"{expr_text(d.lo, P_ADD)}..{expr_text(d.hi, P_ADD)}"
    return expr_text(d.expr, P_ADD)


def where_text(where: ast.Expr | None) -> str:
    return "" if where is None else f" where {expr_text(where, P_BIND)}"


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
    if isinstance(e, ast.Field | ast.Call | ast.Index | ast.CountAll | ast.Elem):
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


def comma_docs(items: Sequence[ast.Expr]) -> list[Doc]:
    """Full expressions separated by commas; all but the last must not leave binders open."""
    out = []
    for i, item in enumerate(items):
        doc = expr_doc(item, P_BIND)
        if i < len(items) - 1 and _open_binders(item):
            doc = cat("(", doc, ")")
        out.append(cat(Src(item.span.line), doc))
    return out


def expr_text(e: ast.Expr, min_prec: int) -> str:
    return flat(expr_doc(e, min_prec))


def expr_doc(e: ast.Expr, min_prec: int) -> Doc:
    doc = _doc(e)
    return cat("(", doc, ")") if _prec(e) < min_prec else doc


def quant_head(e: ast.Quant) -> Doc:
    """`forall x in K where c:`, breakable before `where`."""
    binders = f"{e.quant} {binders_text(e.binders)}"
    if e.where is None:
        return binders + ":"
    return Chain((binders, cat(Src(e.where.span.line), "where ", expr_doc(e.where, P_BIND), ":")))


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
        return cat(expr_doc(e.left, left_min), f" {e.op} ", expr_doc(e.right, right_min))
    if isinstance(e, ast.Binary):
        # One operand per line, the operator leading the line.
        (_, first, first_min), *rest = _operands(e)
        operands = [expr_doc(first, first_min)]
        operands += [cat(Src(o.span.line), f"{op} ", expr_doc(o, m)) for op, o, m in rest]
        return Chain(tuple(operands), align=True)
    if isinstance(e, ast.LeadsTo):
        right = cat(Src(e.right.span.line), "leads_to ", expr_doc(e.right, P_IMPLIES))
        return Chain((expr_doc(e.left, P_IMPLIES), right), align=True)
    if isinstance(e, ast.Call):
        return cat(f"{e.func}(", Chain(tuple(comma_docs(e.args)), ", ", fill=True), ")")
    if isinstance(e, ast.Quant):
        return Chain((quant_head(e), cat(Src(e.body.span.line), expr_doc(e.body, P_BIND))))
    if isinstance(e, ast.IfExpr):
        parts: list[Doc] = []
        cur: ast.Expr = e
        # `else if` chains stay flat: if, then, else if, then, ..., else.
        while isinstance(cur, ast.IfExpr):
            word = "if " if not parts else "else if "
            parts += [
                cat(Src(cur.cond.span.line), word, expr_doc(cur.cond, P_BIND)),
                cat(Src(cur.then.span.line), "then ", expr_doc(cur.then, P_BIND)),
            ]
            cur = cur.else_
        parts.append(cat(Src(cur.span.line), "else ", expr_doc(cur, P_BIND)))
        return Chain(tuple(parts), align=True)
    if isinstance(e, ast.Temporal):
        return cat(f"{e.op} ", expr_doc(e.body, P_BIND))
    if isinstance(e, ast.Unary) and e.op == "not" and not _is_not_in(e):
        if _is_not_in(e.operand):
            return cat("not (", expr_doc(e.operand, P_BIND), ")")  # not `not a not in b`
        return cat("not ", expr_doc(e.operand, P_NOT))
    if isinstance(e, ast.Count) and e.where is not None:
        return cat(f"count {binders_text(e.binders)} where ", expr_doc(e.where, P_BIND))
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
        return f"{expr_text(e.obj, P_POSTFIX)}.{e.name}"
    if isinstance(e, ast.Index):
        return f"{e.kind}[{expr_text(e.index, P_BIND)}]"
    if isinstance(e, ast.Elem):
        return f"{expr_text(e.obj, P_POSTFIX)}.{e.name}[{expr_text(e.index, P_BIND)}]"
    if isinstance(e, ast.CountAll):
        return f"count({expr_text(e.arg, P_BIND)})"
    if isinstance(e, ast.Budget):
        return f"budget({e.fault})"
    if isinstance(e, ast.Unary):
        if _is_not_in(e):
            assert isinstance(e.operand, ast.Binary)
            return (
                f"{expr_text(e.operand.left, P_SETOP)} not in {expr_text(e.operand.right, P_SETOP)}"
            )
        return f"-{expr_text(e.operand, P_NEG)}"
    if isinstance(e, ast.SetLit):
        return "{" + ", ".join(expr_text(x, P_ADD) for x in e.elems) + "}"
    if isinstance(e, ast.ListLit):
        return "[" + ", ".join(expr_text(x, P_ADD) for x in e.elems) + "]"
    if isinstance(e, ast.SetBuilder):
        return "{" + binders_text((e.binder,)) + where_text(e.where) + "}"
    if isinstance(e, ast.Count):
        return f"count {binders_text(e.binders)}{where_text(e.where)}"
    if isinstance(e, ast.Aggregate):
        # The body is parsed at `implies` level, so a binding form or `leads_to` there needs
        # parentheses even though it is not an operand.
        body = expr_text(e.body, P_IMPLIES)
        return f"{e.op} {body} for {binders_text(e.binders)}{where_text(e.where)}"
    raise TypeError(f"not an expression: {e!r}")
