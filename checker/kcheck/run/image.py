"""`kcheck image`: a small local image from the host's static busybox, imported with the
engine's image import (no registry needed): /bin/busybox, a link per applet, /tmp."""

from __future__ import annotations

import io
import shutil
import subprocess
import tarfile
from pathlib import Path

import docker

from kcheck.run.binding import DEFAULT_IMAGE
from kcheck.run.driver import DriverError
from kcheck.run.engine import engine_errors


def find_busybox() -> Path:
    found = shutil.which("busybox") or "/bin/busybox"
    path = Path(found)
    if not path.is_file():
        raise DriverError(
            "no busybox on this host: install a static one (Debian: apt-get install busybox-static)"
        )
    if b"ld-linux" in path.read_bytes()[:65536]:
        raise DriverError(
            f"{path} is linked dynamically: install busybox-static (Debian: apt-get install busybox-static)"
        )
    return path


def image_tar(busybox: Path) -> bytes:
    applets = subprocess.run(
        [str(busybox), "--list"], capture_output=True, text=True, check=True
    ).stdout.split()
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for d, mode in (("bin", 0o755), ("tmp", 0o1777)):
            info = tarfile.TarInfo(d)
            info.type, info.mode = tarfile.DIRTYPE, mode
            tar.addfile(info)
        data = busybox.read_bytes()
        info = tarfile.TarInfo("bin/busybox")
        info.size, info.mode = len(data), 0o755
        tar.addfile(info, io.BytesIO(data))
        for applet in applets:
            if applet == "busybox" or "/" in applet:
                continue
            link = tarfile.TarInfo(f"bin/{applet}")
            link.type, link.linkname = tarfile.SYMTYPE, "busybox"
            tar.addfile(link)
    return buf.getvalue()


def build(client: docker.DockerClient, tag: str = DEFAULT_IMAGE) -> str:
    """Import the image as `tag`; returns its id."""
    repo, _, version = tag.rpartition(":") if ":" in tag.split("/")[-1] else (tag, "", "latest")
    data = image_tar(find_busybox())
    with engine_errors():
        client.api.import_image_from_data(
            data, repository=repo, tag=version or "latest", changes=["ENV PATH=/bin", 'CMD ["sh"]']
        )
        return str(client.api.inspect_image(tag)["Id"])  # type: ignore[no-untyped-call]
