"""The image's HEALTHCHECK: healthy when the role that PID 1 runs answers.

- gunicorn (api): GET /livez on the container's own port answers 200 (liveness: the process
  serves; the load balancer's readiness probe is /healthz, which also checks the database,
  broker and workers);
- celery worker: the worker answers a ping over the broker within a few seconds;
- anything else (beat, a one-off command): running is healthy.

Exit 0 when healthy, 1 otherwise (Docker's convention).
"""

import os
import socket
import subprocess
import sys
import urllib.request


def command_line(pid: int = 1) -> list[str]:
    with open(f"/proc/{pid}/cmdline", "rb") as f:
        return [part.decode() for part in f.read().split(b"\0") if part]


def api_answers() -> bool:
    # A host the production settings allow, and https as the proxy would say (no redirect).
    allowed = [h for h in os.environ.get("DJANGO_ALLOWED_HOSTS", "").split(",") if h.strip()]
    host = allowed[0].strip().lstrip(".") if allowed else "localhost"
    if host == "*":
        host = "localhost"
    request = urllib.request.Request(
        f"http://127.0.0.1:{os.environ.get('PORT', '8000')}/livez",
        headers={"Host": host, "X-Forwarded-Proto": "https"},
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 (loopback)
            return response.status == 200
    except OSError:
        return False


def worker_answers(argv: list[str]) -> bool:
    node = argv[argv.index("-n") + 1] if "-n" in argv else "celery@%h"
    node = node.replace("%h", socket.gethostname())
    command = [sys.executable, "-m", "celery", "-A", "config.celery_app", "inspect", "ping"]
    done = subprocess.run(  # noqa: S603 (a fixed command; the node name is the worker's)
        [*command, "-d", node, "--timeout", "5"],
        capture_output=True,
        timeout=9,
        check=False,
    )
    return done.returncode == 0


def main() -> int:
    argv = command_line()
    words = " ".join(argv)
    if "gunicorn" in words:
        return 0 if api_answers() else 1
    if "celery" in words and "worker" in argv:
        return 0 if worker_answers(argv) else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
