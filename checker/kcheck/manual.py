"""The reference that ships with kcheck (`kcheck docs [TOPIC]`): the pages of spec/,
docs/ci.md and docs/tutorial.md. The repository's files are the one source; the wheel carries
copies of them under kcheck/spec/ (pyproject.toml, force-include), and a source checkout reads
them in place."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

_ROOT = Path(__file__).resolve().parents[2]
# where each page lives in a source checkout; the wheel has them all in kcheck/spec/
_CHECKOUT_DIRS = (_ROOT / "spec", _ROOT / "docs")
_CHECKOUT_EXTRA = ("ci.md", "tutorial.md")  # the docs/ pages the wheel carries beside spec/'s


@dataclass(frozen=True)
class Page:
    topic: str  # the file name without .md, lowercased (`readme` is the index)
    title: str  # its first heading
    source: Traversable

    def text(self) -> str:
        return self.source.read_text(encoding="utf-8")


def _files() -> list[Traversable]:
    packaged = resources.files("kcheck").joinpath("spec")
    if packaged.is_dir():
        return [f for f in packaged.iterdir() if f.name.endswith(".md")]
    spec_dir, docs_dir = _CHECKOUT_DIRS
    found = sorted(spec_dir.glob("*.md"))
    found += [docs_dir / name for name in _CHECKOUT_EXTRA if (docs_dir / name).is_file()]
    return list(found)


def _title(text: str) -> str:
    for line in text.splitlines():
        if line.startswith("#"):
            return line.lstrip("#").strip().replace("`", "")
    return ""


def pages() -> list[Page]:
    """Every page, the index (`readme`) first, then by topic."""
    out = [Page(f.name[:-3].lower(), _title(f.read_text(encoding="utf-8")), f) for f in _files()]
    return sorted(out, key=lambda p: (p.topic != "readme", p.topic))


def find(topic: str) -> Page | None:
    wanted = topic.lower().removesuffix(".md")
    return next((p for p in pages() if p.topic == wanted), None)


def listing() -> str:
    """What `kcheck docs` prints without a topic."""
    rows = pages()
    width = max(len(p.topic) for p in rows)
    lines = ["kcheck's reference: `kcheck docs TOPIC` prints a page.", ""]
    lines += [f"  {p.topic:<{width}}  {p.title}" for p in rows]
    return "\n".join(lines)


class UnknownTopic(Exception):
    """A topic no page has; the message lists them (and the nearest, when one is close)."""


def render(topic: str | None) -> str:
    """What `kcheck docs [TOPIC]` prints: the listing, or the page's Markdown text."""
    if topic is None:
        return listing()
    page = find(topic)
    if page is None:
        topics = [p.topic for p in pages()]
        near = difflib.get_close_matches(topic.lower(), topics, n=1, cutoff=0.6)
        hint = f"; did you mean `{near[0]}`?" if near else ""
        raise UnknownTopic(
            f"no page {topic!r} in kcheck's reference{hint} (topics: {', '.join(topics)})"
        )
    return page.text().rstrip("\n")
