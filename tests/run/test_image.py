"""`kcheck image`: the pod image's contents, built from the host's static busybox (CI installs
busybox-static), and a clear error for a busybox that cannot run in an empty image."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from kcheck.run import image
from kcheck.run.driver import DriverError


def test_the_image_holds_busybox_a_link_per_applet_and_a_world_writable_tmp() -> None:
    data = image.image_tar(image.find_busybox())
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        members = {m.name: m for m in tar.getmembers()}
    assert members["bin/busybox"].isfile() and members["bin/busybox"].mode == 0o755
    for applet in ("sh", "httpd", "nc", "nslookup", "hostname"):
        assert members[f"bin/{applet}"].issym() and members[f"bin/{applet}"].linkname == "busybox"
    assert members["tmp"].isdir() and members["tmp"].mode == 0o1777
    assert not [m for m in members if not m.startswith(("bin", "tmp"))]  # nothing else


def test_a_dynamically_linked_busybox_is_refused_with_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = tmp_path / "busybox"
    fake.write_bytes(b"\x7fELF....../lib64/ld-linux-x86-64.so.2....")
    monkeypatch.setattr(image.shutil, "which", lambda name: str(fake))
    with pytest.raises(DriverError, match="install busybox-static"):
        image.find_busybox()


@pytest.mark.parametrize("tag", ["Bad Tag!", "UPPER/case", "a:", ""])
def test_a_bad_image_name_is_a_usage_error_before_the_engine_is_asked(tag: str) -> None:
    from click.testing import CliRunner

    from kcheck.cli.main import main

    r = CliRunner().invoke(main, ["image", "--tag", tag])
    assert r.exit_code == 2
    assert "not an image name" in r.output and "Traceback" not in r.output
