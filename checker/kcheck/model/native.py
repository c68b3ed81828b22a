"""Builds and loads kcheck's C extensions on first use: canon.c, the native canonicaliser, and
explore/store.c, the search's packed visited-state store; and the byte-code of a model's
generated Python, cached the same way (`compiled_code`).

The C sources ship inside the package; each is compiled once per Python version and platform with
the system C compiler into a cache folder ($KCHECK_CACHE, else ~/.cache/kcheck) and loaded from
there. Without a compiler, or with KCHECK_NATIVE=0, kcheck uses the generated Python
canonicaliser and the Python state store instead, which give identical results more slowly.

Loading a damaged shared library can kill the process (SIGBUS on a truncated file), so a module
is loaded only when its SHA-256 matches the checksum file written beside it when it was built;
anything else is rebuilt, or, if that fails, the Python canonicaliser is used.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.machinery
import importlib.util
import marshal
import os
import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from types import CodeType, ModuleType

from kcheck.cache import cache_dir
from kcheck.model.ir import State

SOURCE = Path(__file__).with_name("canon.c")


def enabled() -> bool:
    return os.environ.get("KCHECK_NATIVE", "1") != "0"


def load() -> ModuleType | None:
    """The compiled canonicaliser, building it if needed; None when it cannot be built."""
    return load_extension(SOURCE, "_canon")


def unavailable(source: Path) -> str:
    """Why the extension built from `source` is not in use (for --verbose and stats)."""
    if not enabled():
        return "KCHECK_NATIVE=0"
    return _why.get(source, "no C compiler or Python headers to build it with")


# why the last build of a source failed, when the compiler was there: the report says that, not
# "no compiler" (a compiler that rejects kcheck's C is a kcheck bug to report)
_why: dict[Path, str] = {}


def load_extension(source_path: Path, name: str) -> ModuleType | None:
    """The module `name` compiled from the C file `source_path` (its init function is
    PyInit_<name>), building it if needed; None when it cannot be built or KCHECK_NATIVE=0."""
    return _built(source_path, name) if enabled() else None


@functools.cache
def _built(source_path: Path, name: str) -> ModuleType | None:
    try:
        source = source_path.read_bytes()
        # a file it includes from its own folder is part of it (store.c includes store_gen.c)
        for inc in re.findall(rb'#include "([\w.]+)"', source):
            source += source_path.with_name(inc.decode()).read_bytes()
    except OSError:
        return None
    suffix = importlib.machinery.EXTENSION_SUFFIXES[0]
    tag = hashlib.sha256(source + sys.version.encode() + sys.platform.encode()).hexdigest()[:16]
    target = cache_dir() / f"{name}_{tag}{suffix}"
    if not _intact(target) and (not _build(source_path, target) or not _intact(target)):
        return None
    try:
        spec = importlib.util.spec_from_file_location(f"kcheck.{name}", target)
        if spec is None or spec.loader is None:
            return None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    except (ImportError, OSError):
        return None
    return module


def _checksum_file(target: Path) -> Path:
    return target.with_name(target.name + ".sha256")


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _intact(target: Path) -> bool:
    """Is the cached module exactly what a build wrote?"""
    try:
        return _checksum_file(target).read_text(encoding="ascii").strip() == _digest(target)
    except (OSError, UnicodeDecodeError):
        return False


def _build(source: Path, target: Path) -> bool:
    # imported here: a build is rare, and these modules cost every run's start-up time
    import shutil
    import subprocess
    import sysconfig
    import tempfile

    compiler = shutil.which(os.environ.get("CC", "cc")) or shutil.which("gcc")
    include = sysconfig.get_paths().get("include")
    if compiler is None or include is None or not Path(include, "Python.h").exists():
        return False
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
            out = Path(tmp) / target.name
            cmd = [
                compiler,
                "-O2",
                "-pthread",
                "-shared",
                "-fPIC",
                f"-I{include}",
                str(source),
                "-o",
                str(out),
            ]
            done = subprocess.run(cmd, capture_output=True, timeout=120, check=False)
            if done.returncode != 0:
                _why[source] = _compile_error(compiler, source, done.stderr)
                return False
            digest = Path(tmp) / "digest"
            digest.write_text(_digest(out) + "\n", encoding="ascii")
            # atomic: concurrent builds cannot see half a file; a reader that sees a module
            # and a checksum from two builds rebuilds once more
            os.replace(out, target)
            os.replace(digest, _checksum_file(target))
    except (OSError, subprocess.SubprocessError) as e:
        _why[source] = f"building {source.name} failed: {e}"
        return False
    _why.pop(source, None)  # an earlier failure's reason no longer holds
    return True


def _compile_error(compiler: str, source: Path, stderr: bytes) -> str:
    """The compiler's first error on `source`, in one line."""
    lines = stderr.decode(errors="replace").splitlines()
    first = next((ln for ln in lines if "error" in ln), lines[0] if lines else "no message")
    return f"{Path(compiler).name} could not compile {source.name}: {first.strip()}"


def native_canonicalizer(plan: Sequence[int]) -> Callable[[State], State] | None:
    module = load()
    if module is None:
        return None
    fn: Callable[[State], State] = module.make(list(plan))
    return fn


def compiled_code(source: str, filename: str) -> CodeType:
    """`compile(source, filename, "exec")`, cached as byte-code beside the extensions: a model's
    generated Python is the same on every run of the same model and size, and compiling it is
    a tenth of a small `kcheck verify`'s time. The file holds a SHA-256 of its byte-code, so a
    damaged or foreign file is compiled afresh, never executed."""
    key = hashlib.sha256(f"{sys.version}\0{filename}\0{source}".encode()).hexdigest()[:24]
    path = cache_dir() / "code" / f"{key}.marshal"
    try:
        data = path.read_bytes()
        digest, payload = data[:32], data[32:]
        if hashlib.sha256(payload).digest() == digest:
            code = marshal.loads(payload)
            if isinstance(code, CodeType):
                return code
    except (OSError, ValueError, EOFError, TypeError):
        pass
    code = compile(source, filename, "exec")
    payload = marshal.dumps(code)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_bytes(hashlib.sha256(payload).digest() + payload)
        os.replace(tmp, path)  # atomic: a concurrent reader sees the old file or the new one
    except OSError:
        pass  # an unwritable cache only costs the compile next time
    return code
