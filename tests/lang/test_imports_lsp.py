"""The language server on a model that imports modules (spec/language.md §13): names resolve
into the module's file (go-to-definition opens it), names inside a module do not land on the
document's positions, and an error inside a module is shown with its file, not misplaced."""

from __future__ import annotations

from pathlib import Path

from pygls.uris import from_fs_path
from pygls.workspace import TextDocument

from kcheck.lang.imports import stdlib_root
from kcheck.lsp.analysis import analyse
from kcheck.lsp.server import _diagnostic

MODEL = """model m

import k8s.taints

enum Effect { NoSchedule, PreferNoSchedule, NoExecute }

kind Node[1] {
  taints: set<Effect>
}

kind Pod[1] {
  tolerations: set<Effect>
}

invariant i: forall p in Pod, n in Node: taints.tolerates(p, n) or true
"""


def test_a_module_function_resolves_into_the_module_file(tmp_path: Path) -> None:
    analysis = analyse(str(tmp_path / "m.kdsl"), MODEL)
    assert analysis.index is not None and not [
        d for d in analysis.diagnostics if d.severity == "error"
    ]
    line = MODEL.split("\n").index(
        "invariant i: forall p in Pod, n in Node: taints.tolerates(p, n) or true"
    )
    ref = analysis.index.at(line + 1, MODEL.split("\n")[line].index("tolerates") + 2)
    assert ref is not None and ref.name == "taints.tolerates"
    module = stdlib_root() / "k8s" / "taints.kdsl"
    assert Path(ref.decl.file) == module
    assert module.read_text().split("\n")[ref.decl.line - 1].startswith("def tolerates(")
    # nothing of the module's own text is indexed at this document's positions
    assert all(not r.span.file for r in analysis.index.refs)


def test_an_error_inside_a_module_is_shown_with_its_file(tmp_path: Path) -> None:
    (tmp_path / "lib.kdsl").write_text("module lib\ndef f(): int = true\n")
    path = tmp_path / "m.kdsl"
    text = 'model m\nimport "lib.kdsl"\nvar x: 0..1 = 0\ninvariant i: lib.f() == 1\n'
    analysis = analyse(str(path), text)
    (d,) = analysis.diagnostics
    shown = _diagnostic(TextDocument(from_fs_path(str(path)) or "", text), d)
    assert shown.message.startswith(f"{tmp_path / 'lib.kdsl'}:2:16: ")
    assert (shown.range.start.line, shown.range.start.character) == (0, 0)
