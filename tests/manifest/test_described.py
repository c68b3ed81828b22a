"""What a model describes of fields it does not map (`spec.revisionHistoryLimit: 0` in its
`manifest` section, spec/manifests.md §4): declared in the model, so a renamed copy keeps its
refusals; parsed, checked (located errors with hints), printed back by `kcheck fmt`, and held
against the manifests with Kubernetes' defaults for absent fields."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from kcheck.cli.main import main
from kcheck.lang import ast
from kcheck.lang.diagnostics import KcheckError, Source
from kcheck.lang.fmt import format_program
from kcheck.lang.frontend import check_source
from kcheck.lang.parser import parse

ROOT = Path(__file__).resolve().parents[2]
EX = ROOT / "examples" / "manifests"

# model, example, (text, replacement) that the model refuses, the field, its YAML line:col
RENAMED = [
    ("cronjob_names", "nightly-cronjob.yaml",
     ("  schedule:", "  concurrencyPolicy: Forbid\n  schedule:"), "spec.concurrencyPolicy", "10:22"),
    ("deployment_crash_between_writes", "web-deployment-crash.yaml",
     ("  revisionHistoryLimit: 0\n", ""), "spec.revisionHistoryLimit", "6:7"),
    ("federation_no_rebalance", "federated-web-rsp.yaml", ("maxReplicas: 3", "maxReplicas: 2"),
     "spec.clusters", "15:5"),
]  # fmt: skip


def verify(model: Path, *manifests: Path) -> tuple[int, str]:
    args = [a for m in manifests for a in ("--manifest", str(m))]
    got = CliRunner().invoke(main, ["verify", str(model), *args, "-q"])
    assert "Traceback" not in got.output
    return got.exit_code, got.stderr


@pytest.mark.parametrize(("model", "example", "change", "field", "at"), RENAMED)
def test_a_renamed_copy_of_a_model_keeps_its_refusal(
    model: str, example: str, change: tuple[str, str], field: str, at: str, tmp_path: Path
) -> None:
    """The refusals were a table keyed by model name: a copy under another name lost them."""
    text = (ROOT / "models" / f"{model}.kdsl").read_text(encoding="utf-8")
    assert f"model {model}\n" in text
    copy = tmp_path / "my_copy.kdsl"
    copy.write_text(text.replace(f"model {model}\n", "model my_copy\n", 1), encoding="utf-8")
    manifest = (EX / example).read_text(encoding="utf-8")
    assert change[0] in manifest
    changed = tmp_path / example
    changed.write_text(manifest.replace(change[0], change[1], 1), encoding="utf-8")
    code, err = verify(copy, changed)
    assert code == 2, err
    assert f"{example}:{at}: error[KC0610]: the model does not map `{field}`" in err
    assert "model my_copy describes" in err


def test_a_renamed_ingress_model_still_reads_its_ingress(tmp_path: Path) -> None:
    text = (ROOT / "models" / "ingress.kdsl").read_text(encoding="utf-8")
    copy = tmp_path / "shop.kdsl"
    copy.write_text(text.replace("model ingress\n", "model shop\n", 1), encoding="utf-8")
    ingress = (EX / "shop-ingress.yaml").read_text(encoding="utf-8")
    other = tmp_path / "shop-ingress.yaml"
    other.write_text(ingress.replace("name: web", "name: cart", 1), encoding="utf-8")
    code, err = verify(copy, EX / "shop-services.yaml", other)
    assert code == 2
    assert "error[KC0610]: the model does not map `spec.rules` of Ingress `shop`" in err
    assert "backend.service.name` is cart" in err
    assert "KC0609" not in err  # the Ingress is read (by its section), not ignored
    code, err = verify(copy, EX / "shop-services.yaml", EX / "shop-ingress.yaml")
    assert code == 0, err


HEAD = "model m\nconst N = 3\nparam p: 0..5 = 1\nvar v: 0..1 = 0\nprocess q {\n  action a { v := 1 - v }\n}\n"


def model_with(section: str) -> str:
    return HEAD + section + "\n"


def errors(section: str) -> list[tuple[str, str, int, int]]:
    with pytest.raises(KcheckError) as info:
        check_source(Source("t.kdsl", model_with(section)))
    return [(d.code, d.message, d.span.line, d.span.col) for d in info.value.diagnostics]


@pytest.mark.parametrize(
    ("section", "code", "fragment", "at"),
    [
        ('manifest { CronJob { spec.concurencyPolicy: "Allow" } }', "KC0602",
         "no field `spec.concurencyPolicy` of a CronJob", "spec.concurencyPolicy"),
        ("manifest { CronJob { spec.suspend: 3 } }", "KC0301", "`true` or `false`; not an integer",
         "3 }"),
        ("manifest { CronJob { spec.concurrencyPolicy: 3 } }", "KC0301", "a string; not an integer",
         "3 }"),
        ("manifest { Deployment { spec.revisionHistoryLimit: none } }", "KC0301",
         "never unset: Kubernetes defaults it to 10", "none"),
        ("manifest { ReplicaSchedulingPreference { spec.clusters: { *: { weight: NN } } } }",
         "KC0201", "`NN` is not an integer const or param", "NN"),
        ("manifest { ReplicaSchedulingPreference { spec.clusters: [1] } }", "KC0301",
         "a map of names; not a list", "[1]"),
        ("manifest { ReplicaSchedulingPreference { spec.clusters: { *: { wieght: 2 } } } }",
         "KC0602", "`spec.clusters.*.wieght`", "wieght"),
        ("manifest { Ingress { spec.rules: [{ http.paths: [{ backend.service.name: Servce {} }] }] } }",
         "KC0601", "no Kubernetes kind `Servce`", "Servce"),
        ("manifest { Deployment { p = spec.replicas spec.replicas: 1 } }", "KC0202",
         "both mapped and described", "spec.replicas:"),
        ("manifest { CronJob { spec.suspend: false spec.suspend: true } }", "KC0202",
         "described twice", "spec.suspend: true"),
        ("manifest { Ingress { N = spec.rules } }", "KC0602", "no field `spec.rules` of an Ingress",
         "spec.rules"),
        ("manifest { ReplicaSchedulingPreference { spec.clusters: { " + "*: {}, " * 7 + "} } }",
         "KC0301", "7 entries `*`: kcheck pairs at most 6", "{ *"),
    ],
)  # fmt: skip
def test_a_description_kcheck_cannot_hold_is_a_located_error(
    section: str, code: str, fragment: str, at: str
) -> None:
    errs = errors(section)
    line, col = HEAD.count("\n") + 1, section.index(at) + 1
    assert any(c == code and fragment in m and ln == line and cl == col for c, m, ln, cl in errs), (
        errs
    )


def test_the_help_of_an_unknown_path_suggests_the_near_one() -> None:
    with pytest.raises(KcheckError) as info:
        check_source(Source("t.kdsl", model_with("manifest { CronJob { spec.suspnd: true } }")))
    (d,) = info.value.diagnostics
    assert d.help == "did you mean `spec.suspend`?"


SECTION = """manifest {
  ReplicaSchedulingPreference {
    N = spec.totalReplicas
    spec.rebalance: true
    // the clusters
    spec.clusters: {
      *: { weight: 2, maxReplicas: none | >= N, minReplicas: 0 },  // uncapped
      *: { weight: 1, maxReplicas: N - 1 },
    }
  }
  Ingress {
    spec.rules: [{ host: "a.example.com", http.paths: [{ backend.service.name: Service { spec.selector.app: "web" } }] }]
    spec.defaultBackend: none
  }
}"""


def test_descriptions_parse_to_their_patterns() -> None:
    prog = parse(Source("t.kdsl", model_with(SECTION)))
    (man,) = [d for d in prog.decls if isinstance(d, ast.Manifest)]
    rsp, ing = man.sections
    assert [fx.path for fx in rsp.fixed] == [("spec", "rebalance"), ("spec", "clusters")]
    assert rsp.fixed[0].value == ast.PatBool(True)
    clusters = rsp.fixed[1].value
    assert isinstance(clusters, ast.PatObject) and all(e.star for e in clusters.entries)
    first = clusters.entries[0].value
    assert isinstance(first, ast.PatObject)
    assert first.entries[1] == ast.PatEntry(
        ("maxReplicas",),
        ast.PatAny((ast.PatNone(), ast.PatCmp(">=", ast.Name("N")))),
    )
    second = clusters.entries[1].value
    assert isinstance(second, ast.PatObject)
    assert second.entries[1].value == ast.PatInt(ast.Binary("-", ast.Name("N"), ast.IntLit(1)))
    assert ing.items == () and ing.fixed[1].value == ast.PatNone()
    rules = ing.fixed[0].value
    assert isinstance(rules, ast.PatList)
    check_source(Source("t.kdsl", model_with(SECTION)))


def test_descriptions_round_trip_through_the_formatter() -> None:
    text = model_with(SECTION)
    once = format_program(parse(Source("t.kdsl", text)), text)
    assert parse(Source("t.kdsl", once)) == parse(Source("t.kdsl", text))
    assert format_program(parse(Source("t.kdsl", once)), once) == once
    # short ones stay on one line, a wide one is broken one entry a line, comments stay
    assert "    spec.rebalance: true\n    // the clusters\n    spec.clusters: {\n" in once
    assert (
        "      *: { weight: 2, maxReplicas: none | >= N, minReplicas: 0 },  // uncapped\n" in once
    )
    assert '    spec.rules: [\n      {\n        host: "a.example.com",\n' in once
    assert 'http.paths: [{ backend.service.name: Service { spec.selector.app: "web" } }],\n' in once
    # a key that is a word of the language is written so that it parses back
    odd = model_with('manifest { CronJob { "none".weight: 1 } }')
    out = format_program(parse(Source("t.kdsl", odd)), odd)
    assert '"none".weight: 1' in out and parse(Source("t.kdsl", out)) == parse(
        Source("t.kdsl", odd)
    )


CRON = """model c
var v: 0..1 = 0
process q {
  action a { v := 1 - v }
}
manifest {
  CronJob {
    spec.concurrencyPolicy: "Allow"
    spec.startingDeadlineSeconds: none | >= 100
  }
  Deployment {
    spec.revisionHistoryLimit: 0
  }
}
"""


@pytest.mark.parametrize(
    ("yaml_text", "refused"),
    [
        ("kind: CronJob\nmetadata: {name: a}\nspec: {}\n", None),  # Allow is the default
        ("kind: CronJob\nmetadata: {name: a}\nspec: {concurrencyPolicy: Allow}\n", None),
        ("kind: CronJob\nmetadata: {name: a}\nspec: {startingDeadlineSeconds: 100}\n", None),
        ("kind: CronJob\nmetadata: {name: a}\nspec: {startingDeadlineSeconds: null}\n", None),
        ("kind: CronJob\nmetadata: {name: a}\nspec: {startingDeadlineSeconds: 99}\n",
         "`spec.startingDeadlineSeconds` of CronJob `a` (99 here); the model describes "
         "it unset or >= 100"),
        ("kind: CronJob\nmetadata: {name: a}\nspec: {concurrencyPolicy: Replace}\n",
         "(Replace here); the model describes Allow"),
        ("kind: Deployment\nmetadata: {name: d}\nspec: {revisionHistoryLimit: 0}\n", None),
        # absent is Kubernetes' 10, not what the model describes: refused at the kind
        ("kind: Deployment\nmetadata: {name: d}\nspec: {}\n",
         "`spec.revisionHistoryLimit` of Deployment `d` (unset: 10); the "
         "model describes 0"),
    ],
)  # fmt: skip
def test_an_absent_field_reads_as_kubernetes_default(
    yaml_text: str, refused: str | None, tmp_path: Path
) -> None:
    model = tmp_path / "c.kdsl"
    model.write_text(CRON, encoding="utf-8")
    manifest = tmp_path / "m.yaml"
    manifest.write_text(yaml_text, encoding="utf-8")
    code, err = verify(model, manifest)
    if refused is None:
        assert code == 0, err
    else:
        assert code == 2 and "error[KC0610]" in err and refused in err, err


_KEYS = st.sampled_from(["spec", "weight", "app", "kind", "none", "a.b", "x-y", "maxReplicas"])
_INTS = st.builds(
    lambda terms: _chain(terms),
    st.lists(st.one_of(st.integers(0, 99).map(ast.IntLit), st.just(ast.Name("N"))), min_size=1,
             max_size=3),
)  # fmt: skip


def _chain(terms: list[ast.Expr]) -> ast.Expr:
    e = terms[0]
    for i, t in enumerate(terms[1:]):
        e = ast.Binary("+-"[i % 2], e, t)
    return e


_SCALARS: st.SearchStrategy[ast.Pattern] = st.one_of(
    st.just(ast.PatNone()),
    st.booleans().map(ast.PatBool),
    st.sampled_from(["Allow", "25%", "", "a b", "/"]).map(ast.PatString),
    _INTS.map(ast.PatInt),
    st.builds(ast.PatCmp, st.sampled_from([">=", "<", "!="]), _INTS),
)


def _entries(
    children: st.SearchStrategy[ast.Pattern],
) -> st.SearchStrategy[tuple[ast.PatEntry, ...]]:
    named = st.builds(
        lambda k, v: ast.PatEntry(tuple(k), v), st.lists(_KEYS, min_size=1, max_size=3), children
    )
    star = st.builds(lambda v: ast.PatEntry(("*",), v, True), children)
    return st.lists(st.one_of(named, star), max_size=3).map(tuple)


def _nested(children: st.SearchStrategy[ast.Pattern]) -> st.SearchStrategy[ast.Pattern]:
    return st.one_of(
        _entries(children).map(ast.PatObject),
        st.lists(children, max_size=3).map(lambda xs: ast.PatList(tuple(xs))),
        st.builds(ast.PatRef, st.sampled_from(["Service", "Pod"]), _entries(children)),
        st.lists(_SCALARS, min_size=2, max_size=3).map(lambda xs: ast.PatAny(tuple(xs))),
    )


PATTERNS = st.recursive(_SCALARS, _nested, max_leaves=12)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.tuples(st.lists(_KEYS, min_size=1, max_size=3), PATTERNS), min_size=1, max_size=3)
)
def test_any_description_prints_and_parses_back_to_itself(
    items: list[tuple[list[str], ast.Pattern]],
) -> None:
    """Printer and parser agree: the tree printed (wide or broken over lines) parses back."""
    fixed = tuple(ast.ManifestFixed(tuple(path), p) for path, p in items)
    section = ast.ManifestSection("CronJob", (), fixed=fixed)
    prog = ast.Program("m", (ast.Manifest((section,)),))
    once = format_program(prog, "")
    again = parse(Source("t.kdsl", once))
    assert again == prog, once
    assert format_program(again, once) == once
