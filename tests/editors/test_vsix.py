"""The VS Code extension builds into a .vsix (scripts/build-vsix.sh: `npm ci`, then `vsce
package` with the versions pinned in editors/vscode/package-lock.json), and the package holds
what VS Code needs: the manifest's grammar and language configuration, the client, and the
client's runtime dependencies, which load from the package itself."""

from __future__ import annotations

import json
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXT = ROOT / "editors" / "vscode"

# Loads the packaged client with a stand-in for the `vscode` module (which only VS Code
# provides): every `require` of the client must resolve inside the package.
PROBE = """
const Module = require("module");
// anything read from it is another such stand-in: a function, a class, an object
const handler = {
  get: (target, prop) => (prop === "then" ? undefined : new Proxy(function () {}, handler)),
  apply: () => new Proxy(function () {}, handler),
  construct: () => new Proxy(function () {}, handler),
};
const stub = new Proxy(function () {}, handler);
const load = Module._load;
Module._load = function (request) {
  if (request === "vscode") return stub;
  return load.apply(this, arguments);
};
const ext = require(process.argv[2]);
require(require.resolve("vscode-languageclient/node", { paths: [process.argv[3]] }));
console.log(typeof ext.activate, typeof ext.deactivate);
"""


@pytest.fixture(scope="module")
def vsix() -> Path:
    if shutil.which("npm") is None or shutil.which("node") is None:
        pytest.skip("npm is not installed: the .vsix cannot be built here (needs Node.js >= 20)")
    done = subprocess.run(
        ["bash", str(ROOT / "scripts" / "build-vsix.sh")],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr
    path = Path(done.stdout.strip().splitlines()[-1])
    assert path == EXT / "kdsl.vsix" and path.is_file()
    return path


def test_the_vsix_holds_the_grammar_the_client_and_its_dependencies(vsix: Path) -> None:
    with zipfile.ZipFile(vsix) as z:
        names = set(z.namelist())
        manifest = json.loads(z.read("extension/package.json"))
    contributes = manifest["contributes"]
    for grammar in contributes["grammars"]:
        assert "extension/" + grammar["path"].removeprefix("./") in names
    for language in contributes["languages"]:
        assert ".kdsl" in language["extensions"]
        assert "extension/" + language["configuration"].removeprefix("./") in names
    assert "extension/" + manifest["main"].removeprefix("./") in names
    assert "extension/node_modules/vscode-languageclient/node.js" in names
    assert any(
        n.startswith("extension/node_modules/vscode-languageserver-protocol/") for n in names
    )
    # the build and test tools stay out of the package
    assert not any(n.startswith("extension/node_modules/@vscode/") for n in names)
    assert not any(n.startswith("extension/node_modules/vscode-textmate/") for n in names)
    assert not any(n.startswith("extension/test/") for n in names)
    assert manifest["contributes"]["configuration"]["properties"]["kdsl.kcheckPath"]


def test_the_packaged_client_loads_from_the_package(vsix: Path, tmp_path: Path) -> None:
    with zipfile.ZipFile(vsix) as z:
        z.extractall(tmp_path)
    probe = tmp_path / "probe.js"
    probe.write_text(PROBE, encoding="utf-8")
    done = subprocess.run(
        [
            "node",
            str(probe),
            str(tmp_path / "extension" / "extension.js"),
            str(tmp_path / "extension"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["function", "function"]


def test_the_extension_starts_kcheck_lsp() -> None:
    """The client runs the configured kcheck with `lsp`, the command this package tests."""
    source = (EXT / "extension.js").read_text(encoding="utf-8")
    assert 'args: ["lsp"]' in source and '"kcheckPath"' in source
    manifest = json.loads((EXT / "package.json").read_text(encoding="utf-8"))
    lock = json.loads((EXT / "package-lock.json").read_text(encoding="utf-8"))
    # every dependency pinned to one version, and the lock agrees with it
    for section in ("dependencies", "devDependencies"):
        for name, version in manifest[section].items():
            assert version[0].isdigit(), (name, version)
            assert lock["packages"][f"node_modules/{name}"]["version"] == version
