"""Where kcheck keeps what it builds once and reuses: the native canonicaliser and the parser's
LALR tables. $KCHECK_CACHE, else ~/.cache/kcheck."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    env = os.environ.get("KCHECK_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "kcheck"
