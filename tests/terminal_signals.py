"""Children that take Ctrl-C as a terminal user's run does. A suite started in the background by
a non-interactive shell (`cmd &`, nohup, some CI runners) inherits SIGINT ignored, every child
inherits that through exec, and kcheck leaves an ignored signal ignored on purpose (a background
job's); a test that sends its child SIGINT must give it the default first."""

from __future__ import annotations

import signal


def default_sigint() -> None:
    """For subprocess.Popen's preexec_fn: SIGINT back to its default in the child."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
