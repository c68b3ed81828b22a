"""A model's `manifest` section is checked like the rest of the model (unknown kinds and fields,
units, targets that are not consts or params), and `kcheck fmt` prints it."""

from __future__ import annotations

import pytest

from kcheck.lang import ast
from kcheck.lang.diagnostics import KcheckError, Source
from kcheck.lang.fmt import format_program
from kcheck.lang.frontend import check_source
from kcheck.lang.parser import parse

HEAD = """model m
const MAX = 3
param replicas: 0..MAX = 1
param cordoned: bool = false
var v: 0..1 = 0
process p {
  action a { v := 1 - v }
}
"""


def errors(body: str) -> list[tuple[str, str, int, int]]:
    with pytest.raises(KcheckError) as info:
        check_source(Source("t.kdsl", HEAD + body))
    return [(d.code, d.message, d.span.line, d.span.col) for d in info.value.diagnostics]


@pytest.mark.parametrize(
    ("block", "code", "fragment", "col"),
    [
        ("manifest { Deploymnet { } }", "KC0601", "no Kubernetes kind `Deploymnet`", 12),
        ("manifest { Deployment { replicas = spec.replica } }", "KC0602",
         "no field `spec.replica` of a Deployment", 36),
        ("manifest { Deployment { replicas = spec.replicas in m } }", "KC0603",
         "cannot be read `in m`", 53),
        ("manifest { Node { MAX = status.allocatable.cpu in mi } }", "KC0603",
         "cannot be read `in mi`", 51),
        ("manifest { Deployment { replica = spec.replicas } }", "KC0201",
         "`replica` is not a const or param", 25),
        ("manifest { Deployment { v = spec.replicas } }", "KC0201", "not a const or param", 25),
        ("manifest { Node { replicas = spec.unschedulable } }", "KC0301", "is a bool", 30),
        ("manifest { Node { cordoned = status.capacity.pods } }", "KC0301", "an integer", 30),
        ("manifest { Deployment { MAX = spec.replicas MAX = spec.replicas } }", "KC0202",
         "filled twice", 45),
        ("manifest { }\nmanifest { }", "KC0202", "a second `manifest` section", 1),
    ],
)  # fmt: skip
def test_mapping_mistakes_are_located_errors(
    block: str, code: str, fragment: str, col: int
) -> None:
    errs = errors(block + "\n")
    assert any(c == code and fragment in msg and ln > 8 and cl == col for c, msg, ln, cl in errs), (
        errs
    )


def test_a_good_mapping_checks() -> None:
    check_source(
        Source(
            "t.kdsl",
            HEAD + "manifest {\n  Deployment {\n    replicas = spec.replicas\n"
            "    MAX = spec.template.spec.containers.resources.requests.cpu in m\n  }\n"
            "  Node {\n    cordoned = spec.unschedulable\n  }\n}\n",
        )
    )


def test_a_mapping_round_trips_through_the_formatter() -> None:
    text = (
        HEAD + "\nmanifest { Deployment { replicas = spec.replicas MAX = "
        "spec.template.spec.containers.resources.requests.memory in Gi } }\n"
    )
    once = format_program(parse(Source("t.kdsl", text)), text)
    assert format_program(parse(Source("t.kdsl", once)), once) == once
    assert "  Deployment {\n    replicas = spec.replicas\n" in once
    assert "MAX = spec.template.spec.containers.resources.requests.memory in Gi\n" in once
    check_source(Source("t.kdsl", once))


def test_the_names_a_manifest_section_fills_lead_to_their_declarations() -> None:
    """In an editor, `replicas` in the section goes to the param, `cpu` to the kind's field."""
    from pathlib import Path

    from kcheck.lsp.analysis import analyse

    for model in ("deployment_rollout", "scheduler_plugins", "pvc_finalizers"):
        path = Path(__file__).resolve().parents[2] / "models" / f"{model}.kdsl"
        text = path.read_text(encoding="utf-8")
        analysis = analyse(str(path), text)
        assert analysis.index is not None
        program = parse(Source(str(path), text))
        items = [
            (it, sec) for d in program.decls if isinstance(d, ast.Manifest)
            for sec in d.sections for it in sec.items
        ]  # fmt: skip
        assert items
        for it, _ in items:
            ref = analysis.index.at(it.name_span.line, it.name_span.col)
            assert ref is not None and ref.name == it.name, it
            line = analysis.source.lines[ref.decl.line - 1]
            assert line[ref.decl.col - 1 : ref.decl.end_col - 1] == it.name, (ref, line)


LISTS = """model m
enum Finalizer { PvcProtection, BackupHook }
kind Pod[1] {
  finalizers: list<Finalizer, 2>
  deleting: bool = false
}
manifest {
  kind Pod = Pod {
    NAME = metadata.labels.app
  }
}
"""


@pytest.mark.parametrize(
    ("name", "code", "col", "fragment", "hint"),
    [
        # a list of an enum is filled from a list of strings, not from one label
        ("finalizers", "KC0301", 18, "cannot fill `Pod.finalizers`, a list of Finalizer",
         "is filled from a list of strings"),
        ("finalizerz", "KC0203", 5, "has no field `finalizerz`", "did you mean `finalizers`?"),
    ],
)  # fmt: skip
def test_a_list_field_named_in_a_section_is_told_so_by_its_own_name(
    name: str, code: str, col: int, fragment: str, hint: str
) -> None:
    """Lowering made `finalizers.len` and `finalizers[0]` of the list: neither the error nor
    its hint may name those parts (it suggested `finalizers[1]`)."""
    text = LISTS.replace("NAME = metadata.labels.app", f"{name} = metadata.labels.app")
    with pytest.raises(KcheckError) as info:
        check_source(Source("t.kdsl", text))
    found = [d for d in info.value.diagnostics if d.code == code]
    assert [(d.span.line, d.span.col) for d in found] == [(9, col)], found
    assert fragment in found[0].message
    assert hint in (found[0].help or "")
    assert "[0]" not in found[0].message + (found[0].help or "")


LIST_SECTIONS = """model m
enum Finalizer { PvcProtection, BackupHook }
kind Node[1] { up: bool = true }
kind Pod[1] {
  finalizers: list<Finalizer, 2>
  owners: list<Node, 1>
}
manifest {
  kind Pod = Pod {
    finalizers = metadata.finalizers { "kubernetes.io/pvc-protection": PvcProtection }
  }
}
"""


def test_a_list_of_an_enum_is_filled_from_a_list_of_strings() -> None:
    check_source(Source("t.kdsl", LIST_SECTIONS))


@pytest.mark.parametrize(
    ("item", "code", "fragment"),
    [
        # a value map naming no member
        ('finalizers = metadata.finalizers { "kubernetes.io/pvc-protection": Pvc }', "KC0201",
         "Finalizer has no member `Pvc`"),
        # a list of objects is not filled from manifests yet
        ("owners = metadata.finalizers", "KC0301", "cannot fill `Pod.owners`, a list of Node"),
        # one integer is no list
        ("finalizers = spec.priority", "KC0301", "cannot fill `Pod.finalizers`"),
    ],
)  # fmt: skip
def test_a_list_filled_from_the_wrong_field_is_a_located_error(
    item: str, code: str, fragment: str
) -> None:
    text = LIST_SECTIONS.replace(
        'finalizers = metadata.finalizers { "kubernetes.io/pvc-protection": PvcProtection }', item
    )
    with pytest.raises(KcheckError) as info:
        check_source(Source("t.kdsl", text))
    found = [d for d in info.value.diagnostics if d.severity == "error"]
    assert [(d.code, d.span.line) for d in found] == [(code, 10)], found
    assert fragment in found[0].message
