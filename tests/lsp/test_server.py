"""`kcheck lsp` spoken to over its protocol, as an editor does: the server runs as a subprocess on
stdio and this test frames JSON-RPC messages by hand (Content-Length headers), so what is tested
is the bytes an editor sees. Every wait is bounded by a timeout."""

from __future__ import annotations

import json
import queue
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import pytest

from kcheck.lang.diagnostics import Source
from kcheck.lang.fmt import format_program
from kcheck.lang.parser import parse

KCHECK = Path(sys.executable).parent / "kcheck"
ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 60.0  # seconds for any one answer; the machine is shared and may be slow

# Line numbers (0-based, as LSP counts) are used below: keep the text's layout in step.
BROKEN = """model lsp_demo

const PODS = 2

enum Phase { Pending, Running }

kind Pod[PODS] {
  phase: Phase = Pending
  ready: bool = false
}

process kubelet {
  action start for p in Pod when p.phase == Pending {
    p.phse := Running
  }
}

invariant ready_runs: forall p in Pod: p.ready implies p.phase == Running
"""
FIXED = BROKEN.replace("p.phse", "p.phase")
UNFORMATTED = FIXED.replace("const PODS = 2", "const   PODS=2").replace(
    "    p.phase := Running", "        p.phase := Running"
)
URI = "file:///tmp/lsp_demo.kdsl"


class Client:
    """A minimal LSP client: requests wait for their response, notifications are queued."""

    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        self.proc = proc
        self.next_id = 0
        self.inbox: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self.notes: list[dict[str, Any]] = []
        threading.Thread(target=self._read, args=(proc.stdout,), daemon=True).start()

    def _read(self, stream: IO[bytes]) -> None:
        while True:
            headers: dict[str, str] = {}
            while True:
                line = stream.readline()
                if not line:
                    self.inbox.put(None)  # the server closed its output
                    return
                if line in (b"\r\n", b"\n"):
                    break
                key, _, value = line.decode("ascii").partition(":")
                headers[key.strip().lower()] = value.strip()
            body = stream.read(int(headers["content-length"]))
            self.inbox.put(json.loads(body))

    def send(self, message: dict[str, Any]) -> None:
        body = json.dumps({"jsonrpc": "2.0", **message}).encode()
        assert self.proc.stdin is not None
        self.proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self.proc.stdin.flush()

    def notify(self, method: str, params: Any) -> None:
        self.send({"method": method, "params": params})

    def _next(self) -> dict[str, Any]:
        try:
            msg = self.inbox.get(timeout=TIMEOUT)
        except queue.Empty:
            pytest.fail(f"no message from kcheck lsp within {TIMEOUT} s")
        if msg is None:
            pytest.fail("kcheck lsp closed its output")
        return msg

    def request(self, method: str, params: Any) -> Any:
        self.next_id += 1
        self.send({"id": self.next_id, "method": method, "params": params})
        for _ in range(1000):  # bounded: notifications may come first
            msg = self._next()
            if msg.get("id") == self.next_id and "method" not in msg:
                assert "error" not in msg, msg
                return msg.get("result")
            if "id" in msg and "method" in msg:  # a request from the server: answer it
                self.send({"id": msg["id"], "result": None})
            else:
                self.notes.append(msg)
        pytest.fail(f"no answer to {method}")

    def diagnostics(self, uri: str, version: int | None = None) -> list[dict[str, Any]]:
        """The next diagnostics published for `uri` (for its `version`, if given)."""
        for _ in range(1000):
            msg = self.notes.pop(0) if self.notes else self._next()
            if (
                msg.get("method") == "textDocument/publishDiagnostics"
                and msg["params"]["uri"] == uri
                and version in (None, msg["params"].get("version"))
            ):
                return list(msg["params"]["diagnostics"])
        pytest.fail(f"no diagnostics for {uri}")


@pytest.fixture
def client() -> Iterator[Client]:
    proc = subprocess.Popen(
        [str(KCHECK), "lsp"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    c = Client(proc)
    try:
        result = c.request(
            "initialize",
            {
                "processId": None,
                "rootUri": None,
                "capabilities": {},
                "clientInfo": {"name": "test"},
            },
        )
        caps = result["capabilities"]
        assert caps["hoverProvider"] and caps["definitionProvider"]
        assert caps["documentFormattingProvider"]
        assert result["serverInfo"]["name"] == "kcheck"
        c.notify("initialized", {})
        yield c
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=TIMEOUT)
        for stream in (proc.stdin, proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()


def open_doc(client: Client, text: str, uri: str = URI) -> list[dict[str, Any]]:
    client.notify(
        "textDocument/didOpen",
        {"textDocument": {"uri": uri, "languageId": "kdsl", "version": 1, "text": text}},
    )
    return client.diagnostics(uri)


def at(line: int, character: int, uri: str = URI) -> dict[str, Any]:
    return {"textDocument": {"uri": uri}, "position": {"line": line, "character": character}}


def test_diagnostics_as_you_type_then_cleared_by_the_fix(client: Client) -> None:
    diags = open_doc(client, BROKEN)
    assert len(diags) == 1
    d = diags[0]
    assert d["code"] == "KC0203" and d["source"] == "kcheck" and d["severity"] == 1
    # `phse` on line 14 (0-based 13), columns 6..10
    assert d["range"] == {
        "start": {"line": 13, "character": 6},
        "end": {"line": 13, "character": 10},
    }
    assert "kind `Pod` has no field `phse`" in d["message"]
    assert "help: did you mean `phase`?" in d["message"]
    client.notify(
        "textDocument/didChange",
        {"textDocument": {"uri": URI, "version": 2}, "contentChanges": [{"text": FIXED}]},
    )
    assert client.diagnostics(URI) == []


def test_an_incremental_change_is_checked_too(client: Client) -> None:
    open_doc(client, FIXED)
    # type `x` after `Running` on line 14: an unknown name
    end = len("    p.phase := Running")
    change = {
        "range": {"start": {"line": 13, "character": end}, "end": {"line": 13, "character": end}},
        "text": "x",
    }
    client.notify(
        "textDocument/didChange",
        {"textDocument": {"uri": URI, "version": 2}, "contentChanges": [change]},
    )
    diags = client.diagnostics(URI)
    assert [d["code"] for d in diags] == ["KC0201"]
    assert diags[0]["range"]["start"] == {"line": 13, "character": 15}


def test_a_burst_of_changes_ends_with_the_diagnostics_of_the_last(client: Client) -> None:
    open_doc(client, BROKEN)
    # typing `phase` over `phse` one key at a time, then a mistake, then its fix
    texts = [BROKEN.replace("p.phse", "p.ph"), FIXED, FIXED.replace("Running\n  }", "Runn\n  }")]
    texts.append(FIXED)
    for version, text in enumerate(texts, start=2):
        client.notify(
            "textDocument/didChange",
            {"textDocument": {"uri": URI, "version": version}, "contentChanges": [{"text": text}]},
        )
    assert client.diagnostics(URI, version=len(texts) + 1) == []


def test_hover_right_after_a_change_answers_for_the_new_text(client: Client) -> None:
    open_doc(client, FIXED)
    moved = FIXED.replace(
        "  phase: Phase = Pending\n", "  // moved down a line\n  phase: Phase = Pending\n"
    )
    client.notify(
        "textDocument/didChange",
        {"textDocument": {"uri": URI, "version": 2}, "contentChanges": [{"text": moved}]},
    )
    lines = moved.split("\n")
    hover = client.request("textDocument/hover", at(13, lines[13].index("p.phase") + 3))
    assert "declared at line 9: `phase: Phase = Pending`" in hover["contents"]["value"]


def test_a_syntax_error_is_a_diagnostic_with_its_position(client: Client) -> None:
    diags = open_doc(client, "model m\n\nvar x: bool = true &&\n")
    assert [d["code"] for d in diags] == ["KC0101"] or [d["code"] for d in diags] == ["KC0102"]
    assert diags[0]["range"]["start"]["line"] == 2


def test_positions_count_utf16_units(client: Client) -> None:
    # The emoji is one character for kcheck and two UTF-16 units for the editor.
    text = "model m\n\n/* 😀 */ var x: bool = tru\n"
    diags = open_doc(client, text)
    assert [d["code"] for d in diags] == ["KC0201"]
    start = text.split("\n")[2].index("tru") + 1  # +1: the emoji's second unit
    assert diags[0]["range"] == {
        "start": {"line": 2, "character": start},
        "end": {"line": 2, "character": start + 3},
    }


def test_hover_on_a_field_shows_its_type_and_declaration(client: Client) -> None:
    open_doc(client, FIXED)
    # `p.phase` in the `when` guard, line 13 (0-based 12)
    col = BROKEN.split("\n")[12].index("p.phase") + 3
    hover = client.request("textDocument/hover", at(12, col))
    value = hover["contents"]["value"]
    assert "(field of Pod) phase: Phase" in value
    assert "declared at line 8: `phase: Phase = Pending`" in value
    # a const shows its value; a param or a bound name its type
    hover = client.request("textDocument/hover", at(6, BROKEN.split("\n")[6].index("PODS")))
    assert "(const) PODS: int = 2" in hover["contents"]["value"]
    hover = client.request("textDocument/hover", at(12, BROKEN.split("\n")[12].index(" p ") + 1))
    assert "(bound name) p: Pod" in hover["contents"]["value"]


def test_hover_on_nothing_is_null(client: Client) -> None:
    open_doc(client, FIXED)
    assert client.request("textDocument/hover", at(1, 0)) is None


def test_definition_of_a_kind_field_and_member(client: Client) -> None:
    open_doc(client, FIXED)
    lines = FIXED.split("\n")
    # `Pod` in `for p in Pod` -> `kind Pod[PODS]`, line 7 (0-based 6), columns 5..8
    loc = client.request("textDocument/definition", at(12, lines[12].index("Pod") + 1))
    assert loc == {
        "uri": URI,
        "range": {"start": {"line": 6, "character": 5}, "end": {"line": 6, "character": 8}},
    }
    # `ready` in the invariant -> the field declaration
    loc = client.request("textDocument/definition", at(17, lines[17].index("ready implies") + 1))
    assert loc["range"]["start"] == {"line": 8, "character": 2}
    # `Running` -> its enum member
    loc = client.request("textDocument/definition", at(13, lines[13].index("Running")))
    assert loc["range"]["start"] == {"line": 4, "character": lines[4].index("Running")}


def test_formatting_gives_what_kcheck_fmt_writes(client: Client, tmp_path: Path) -> None:
    open_doc(client, UNFORMATTED)
    edits = client.request("textDocument/formatting", {**at(0, 0), "options": _options()})
    assert len(edits) == 1
    assert edits[0]["range"]["start"] == {"line": 0, "character": 0}
    model = tmp_path / "lsp_demo.kdsl"
    model.write_text(UNFORMATTED, encoding="utf-8")
    subprocess.run([str(KCHECK), "fmt", str(model)], check=True, capture_output=True, timeout=60)
    assert edits[0]["newText"] == model.read_text(encoding="utf-8")
    assert edits[0]["newText"] != UNFORMATTED


def test_formatting_a_formatted_or_unparsable_file_changes_nothing(client: Client) -> None:
    canonical = format_program(parse(Source("m", FIXED)), FIXED)
    open_doc(client, canonical)
    assert client.request("textDocument/formatting", {**at(0, 0), "options": _options()}) == []
    client.notify(
        "textDocument/didChange",
        {"textDocument": {"uri": URI, "version": 2}, "contentChanges": [{"text": "model m\nvar"}]},
    )
    assert client.request("textDocument/formatting", {**at(0, 0), "options": _options()}) == []


def test_shutdown_then_exit_ends_the_server(client: Client) -> None:
    assert client.request("shutdown", None) is None
    client.notify("exit", None)
    assert client.proc.wait(timeout=TIMEOUT) == 0


def _options() -> dict[str, Any]:
    return {"tabSize": 2, "insertSpaces": True}


def test_without_pygls_kcheck_lsp_says_what_to_install() -> None:
    code = (
        "import sys; sys.modules['pygls'] = None; from kcheck.cli.main import main; main(['lsp'])"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 2
    assert "pip install 'kcheck[lsp]'" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_record_fields_declaration_through_the_server(client: Client) -> None:
    # `c.running` (lowered to a flat field of the Pod) -> `running` in `record Container`
    text = (ROOT / "models/pod_readiness.kdsl").read_text(encoding="utf-8")
    open_doc(client, text)
    lines = text.split("\n")
    use = next(i for i, s in enumerate(lines) if "c.running := true" in s)
    decl = next(i for i, s in enumerate(lines) if s.strip().startswith("running: bool"))
    loc = client.request("textDocument/definition", at(use, lines[use].index("running") + 1))
    assert loc["range"]["start"] == {"line": decl, "character": lines[decl].index("running")}
    hover = client.request("textDocument/hover", at(use, lines[use].index("running") + 1))
    assert "(field of Container) running: bool" in hover["contents"]["value"]
