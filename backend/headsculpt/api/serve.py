"""`headsculpt serve`: bind, decide on auth, open the job store, run uvicorn.

Loopback binds need no token (a token file still turns auth on); any other bind
needs ``--token-file``: its token is read, or generated and written there (mode
0600) when the file does not exist. The server prints one line when it listens:
``headsculpt serving on http://HOST:PORT``, with the real port when asked for 0.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import secrets
import socket
import sys
from pathlib import Path

from headsculpt import __version__

DEFAULT_PORT = 7860


def default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "headsculpt"


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def load_or_create_token(path: Path) -> tuple[str, bool]:
    """(token, whether it was just created). An empty or unreadable file is an error."""
    if path.exists():
        token = path.read_text(encoding="utf-8").strip()
        if len(token) < 16:
            raise ValueError(f"--token-file {path} holds no usable token (16+ characters)")
        return token, False
    path.parent.mkdir(parents=True, exist_ok=True)
    token = secrets.token_urlsafe(32)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(token + "\n")
    return token, True


def describe_device() -> str:
    try:
        import torch

        if torch.cuda.is_available():
            return f"cuda ({torch.cuda.get_device_name(0)})"
    except Exception:  # no torch or a broken driver: the CPU is what we have
        pass
    return "cpu"


def serve(
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    data_dir: Path | None = None,
    token_file: Path | None = None,
    executors=None,
) -> None:
    """Run the server until interrupted (Ctrl+C or SIGTERM stop it cleanly)."""
    import uvicorn

    from headsculpt.api.app import create_app
    from headsculpt.api.executors import default_executors
    from headsculpt.api.job_store import JobStore
    from headsculpt.api.runner import JobRunner

    if not 0 <= port <= 65535:
        raise ValueError(f"--port must be in 0..65535, got {port}")
    token = None
    if token_file is not None:
        token, created = load_or_create_token(Path(token_file))
        if created:
            print(f"wrote a new token to {token_file}", file=sys.stderr)
    elif not is_loopback(host):
        raise ValueError(
            f"--host {host} is reachable from other machines: pass --token-file F "
            "(a token is generated into F when it does not exist)"
        )
    data = Path(data_dir) if data_dir is not None else default_data_dir()
    store = JobStore(data)
    recovered = store.recover()
    runner = JobRunner(store, executors or default_executors())
    runner.start(recovered.requeue)

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        sock = socket.create_server((host, port), family=family)
    except OSError as error:
        raise ValueError(f"cannot listen on {host}:{port}: {error.strerror}") from None
    bound_port = sock.getsockname()[1]
    shown_host = f"[{host}]" if ":" in host else host
    url = f"http://{shown_host}:{bound_port}"

    def ready() -> None:
        auth = "token required" if token else "no token (loopback only)"
        print(f"headsculpt {__version__} serving on {url} (data {data}; {auth})", flush=True)

    app = create_app(store, runner, token=token, device=describe_device(), on_ready=ready)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    config = uvicorn.Config(app, log_level="warning", access_log=False, timeout_graceful_shutdown=5)
    uvicorn.Server(config).run(sockets=[sock])
