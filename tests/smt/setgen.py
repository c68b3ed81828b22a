"""A hypothesis strategy for small models built on sets, as text: a kind whose objects carry a
`set<C>` of enum members, a `set<N>` var of objects, and actions that create, update, pick and
delete with set literals, builders, `|`, `&`, `-`, `size`, `count`, `in` and `not in`; the
controller may read N through a stale cache (its sets copied with it) and split an update by
`step`. tests/explore/modelgen.py generates no sets; this covers them for the Z3 engine's cross-checks.
"""

from __future__ import annotations

from hypothesis import strategies as st

MEMBERS = ("R", "G", "B")


@st.composite
def colour_sets(draw: st.DrawFn, obj: str | None, depth: int = 2) -> str:
    """A `set<C>` expression; `obj` names a bound object of N whose `cs` may be read."""
    atoms = ["{}", "mark", *[f"{{{m}}}" for m in MEMBERS], "{G, B}"]
    if obj:
        atoms.append(f"{obj}.cs")
    if depth <= 0 or draw(st.booleans()):
        return draw(st.sampled_from(atoms))
    form = draw(st.integers(0, 3))
    a = draw(colour_sets(obj, depth - 1))
    if form == 3:
        return f"{{k{depth} in C where k{depth} in {a}}}"  # one name per nesting level
    b = draw(colour_sets(obj, depth - 1))
    return f"({a} {'|&-'[form]} {b})"


@st.composite
def node_sets(draw: st.DrawFn) -> str:
    m = draw(st.sampled_from(MEMBERS))
    atoms = ["picked", "{x in N where x.up}", f"{{x in N where {m} in x.cs}}", "{}"]
    a = draw(st.sampled_from(atoms))
    if draw(st.booleans()):
        return a
    return f"({a} {draw(st.sampled_from('|&-'))} {draw(st.sampled_from(atoms))})"


@st.composite
def conditions(draw: st.DrawFn, obj: str | None) -> str:
    m = draw(st.sampled_from(MEMBERS))
    forms = [
        f"size({draw(colour_sets(obj, 1))}) <= {draw(st.integers(0, 2))}",
        f"{m} in {draw(colour_sets(obj, 1))}",
        f"{m} not in {draw(colour_sets(obj, 1))}",
        f"{draw(colour_sets(obj, 1))} == {draw(colour_sets(obj, 1))}",
        f"count({draw(node_sets())}) < 2",
        "(forall x in picked: size(x.cs) >= 1)",
        f"(exists e in mark: e in {draw(colour_sets(obj, 1))})",
    ]
    return draw(st.sampled_from(forms))


@st.composite
def set_models(draw: st.DrawFn) -> str:
    slots = draw(st.integers(1, 2))
    lines = [
        "model sets",
        "enum C { R, G, B }",
        f"kind N[{slots}] {{",
        "  cs: set<C> = {}",
        "  up: bool = true",
        "}",
        "var picked: set<N> = {}",
        "var mark: set<C> = {R}",
        f"init {{ create N {{ cs: {draw(colour_sets(None, 1))} }} }}",
        f"controller c{draw(st.sampled_from(['', ' watches N stale']))} {{",
        f"  action add when count(N) < {slots} {{ create N {{ cs: {draw(colour_sets(None))} }} }}",
        f"  action upd for n in N where {draw(conditions('n'))} {{ n.cs := {draw(colour_sets('n'))}"
        + draw(st.sampled_from([" }", "\n    step\n    n.up := not n.up\n  }"])),
        f"  action pick {{ picked := {draw(node_sets())} }}",
        f"  action mk {{ mark := {draw(colour_sets(None))} }}",
        "  action down for n in N where n.up { n.up := false }",
        f"  action drop for n in N where {draw(conditions('n'))} {{ delete n }}",
        "  action choose_one {",
        "    choose n in picked { n.up := true }",
        "  }",
        "}",
        f"invariant i0: {draw(conditions(None))}",
        f"invariant i1: {draw(conditions(None))}",
    ]
    return "\n".join(lines) + "\n"
