"""Temporal checks: where `always`, `eventually` and `leads_to` may stand, and the shapes a
`property` may take (spec/language.md, "Properties").
"""

from __future__ import annotations

from dataclasses import replace

from kcheck.lang import ast
from kcheck.lang.check.base import CheckerBase
from kcheck.lang.check.context import Ctx, has_temporal

PROPERTY_SHAPES = (
    "accepted property shapes, each optionally under `forall x in D [where c]:`: "
    "`eventually always P`, `always eventually P`, `P leads_to Q`, `always P`"
)
_PROPERTY_PRED = "the state predicate of a property"


class TemporalChecker(CheckerBase):
    def temporal(self, op: str, span: ast.Span, ctx: Ctx) -> None:
        if ctx.temporal_lax:
            return
        if ctx.place == _PROPERTY_PRED:
            self.error(
                "KC0303",
                f"`{op}` cannot be nested inside {_PROPERTY_PRED}",
                span,
                notes=(PROPERTY_SHAPES,),
            )
        else:
            self.error(
                "KC0303",
                f"temporal operator `{op}` in {ctx.place}",
                span,
                help="temporal operators are only allowed in a `property`",
            )

    def property(self, p: ast.Property) -> None:
        ctx = Ctx(place=_PROPERTY_PRED, observes=True)
        e = p.expr
        while isinstance(e, ast.Quant) and e.quant == "forall" and has_temporal(e.body):
            ctx = self.binders_where(e.binders, e.where, ctx)
            e = e.body
        match e:
            case ast.Temporal(op="eventually", body=ast.Temporal(op="always", body=inner)) | (
                ast.Temporal(op="always", body=ast.Temporal(op="eventually", body=inner))
            ):
                self.want_bool(inner, ctx, "a property's predicate")
            case ast.Temporal(op="always", body=inner):
                self.want_bool(inner, ctx, "a property's predicate")
            case ast.LeadsTo(left=a, right=b):
                self.want_bool(a, ctx, "the left side of `leads_to`")
                self.want_bool(b, ctx, "the right side of `leads_to`")
            case _ if not has_temporal(e):
                self.error(
                    "KC0303",
                    f"property `{p.name}` has no temporal operator",
                    p.name_span,
                    help="use `invariant` for a state predicate",
                )
                self.want_bool(e, ctx, "a property")
            case _:
                self.error(
                    "KC0303",
                    f"property `{p.name}` has an unsupported shape",
                    e.span,
                    notes=(PROPERTY_SHAPES,),
                    help="for convergence write `eventually always P`"
                    if isinstance(e, ast.Temporal) and e.op == "eventually"
                    else None,
                )
                self.want_bool(e, replace(ctx, temporal_lax=True), "a property")
        self.measures(p, e, ctx)

    def measures(self, p: ast.Property, e: ast.Expr, ctx: Ctx) -> None:
        """`decreases M, ...`: int expressions over the state and the property's binders, on
        a property a loop can break (spec/smt.md, "Measures")."""
        if not p.decreases:
            return
        if not isinstance(e, ast.LeadsTo) and not (
            isinstance(e, ast.Temporal) and isinstance(e.body, ast.Temporal)
        ):
            self.error(
                "KC0303",
                "`decreases` needs a property a loop can break",
                p.decreases[0].span,
                help="give measures to `eventually always P`, `always eventually P` or "
                "`P leads_to Q`; `always P` is proved like an invariant",
            )
        for m in p.decreases:
            self.want_int(m, ctx, "a `decreases` measure")
