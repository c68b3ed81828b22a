"""The README and the reference link only to files that exist in this repository, so a reader
of a clone (or of the pages `kcheck docs` prints) never meets a dead or outside link."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "spec").glob("*.md")), *sorted((ROOT / "docs").rglob("*.md"))]  # fmt: skip
LINK = re.compile(r"\]\(([^)\s]+)\)")


def _without_code(text: str) -> str:
    return re.sub(r"```.*?```", "", text, flags=re.S)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_point_at_files_inside_the_repository(page: Path) -> None:
    for target in LINK.findall(_without_code(page.read_text(encoding="utf-8"))):
        if re.match(r"[a-z]+:", target) or target.startswith("#"):
            continue
        path = (page.parent / target.split("#", 1)[0]).resolve()
        assert path.is_relative_to(ROOT), f"{page.name}: {target} leaves the repository"
        assert path.exists(), f"{page.name}: {target} does not exist"


def test_the_readme_links_only_inside_the_repository() -> None:
    text = _without_code((ROOT / "README.md").read_text(encoding="utf-8"))
    outside = [t for t in LINK.findall(text) if re.match(r"[a-z]+:", t)]
    assert outside == []
    assert "../" not in text
