"""`headsculpt serve`: bind, decide on auth, open the job store, run uvicorn.

Loopback binds need no token (a token file still turns auth on); any other bind
needs ``--token-file``: its token is read, or generated and written there (mode
0600) when the file does not exist. A token file others can read is refused. The
server prints one line when it listens: ``headsculpt serving on http://HOST:PORT``,
with the real port when asked for 0.

Requests must name this server in their Host (and Origin, when they carry one):
loopback addresses, ``localhost``, the bound host and any ``--allow-host`` name.
A wildcard bind (0.0.0.0, ::) takes any Host: it needs the token anyway.

Connections: TCP_NODELAY (a keep-alive poll answers in about a millisecond, not
after the 40 ms delayed ACK); a connection that sends no complete request head
within ``HEAD_TIMEOUT_SECONDS`` is closed, idle keep-alive ones after 5 s. SIGTERM
and Ctrl+C stop new jobs from starting at once, then let the running one stop.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import os
import secrets
import socket
import stat
import sys
from collections.abc import Callable
from pathlib import Path

from headsculpt import __version__

DEFAULT_PORT = 7860
HEAD_TIMEOUT_SECONDS = 10.0
WILDCARD_HOSTS = frozenset({"0.0.0.0", "::", ""})


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
        mode = path.stat().st_mode
        if not stat.S_ISREG(mode):
            raise ValueError(f"--token-file {path} is not a file")
        if mode & 0o077:
            raise ValueError(
                f"--token-file {path} can be read by other users: run `chmod 600 {path}`"
            )
        try:
            token = path.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as error:
            raise ValueError(f"--token-file {path} cannot be read ({error})") from None
        if len(token) < 16 or not token.isascii() or not token.isprintable():
            raise ValueError(
                f"--token-file {path} holds no usable token (16+ printable ASCII characters)"
            )
        return token, False
    path.parent.mkdir(parents=True, exist_ok=True)
    token = secrets.token_urlsafe(32)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(token + "\n")
    return token, True


def server_token(host: str, token_file: Path | None) -> str | None:
    """The token every /v1 request must carry, or None (loopback without a token file).

    A token file always turns auth on, on loopback too; any other bind needs one.
    """
    if token_file is not None:
        token, created = load_or_create_token(Path(token_file))
        if created:
            print(f"wrote a new token to {token_file}", file=sys.stderr)
        return token
    if not is_loopback(host):
        raise ValueError(
            f"--host {host} is reachable from other machines: pass --token-file F "
            "(a token is generated into F when it does not exist)"
        )
    return None


def allowed_hosts(host: str, extra: tuple[str, ...] = ()) -> frozenset[str] | None:
    """The Host names requests may carry (None: any, for a wildcard bind)."""
    from headsculpt.api.app import LOOPBACK_NAMES

    if host in WILDCARD_HOSTS:
        return None
    return LOOPBACK_NAMES | {host.lower().strip("[]")} | {name.lower() for name in extra}


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
    allow_hosts: tuple[str, ...] = (),
) -> None:
    """Run the server until interrupted (Ctrl+C or SIGTERM stop it cleanly)."""
    import uvicorn

    from headsculpt.api.app import create_app
    from headsculpt.api.executors import default_executors
    from headsculpt.api.job_store import JobStore
    from headsculpt.api.runner import JobRunner

    if not 0 <= port <= 65535:
        raise ValueError(f"--port must be in 0..65535, got {port}")
    token = server_token(host, token_file)
    # Everything the server writes is the user's own: files 0600 and folders 0700 whoever
    # writes them (a pipeline's checkpoints in a job's scratch folder, a worker's files).
    os.umask(0o077)
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
    # Accepted connections inherit it: small answers go out at once (no Nagle delay).
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    bound_port = sock.getsockname()[1]
    shown_host = f"[{host}]" if ":" in host else host
    url = f"http://{shown_host}:{bound_port}"

    def ready() -> None:
        auth = "token required" if token else "no token (loopback only)"
        print(f"headsculpt {__version__} serving on {url} (data {data}; {auth})", flush=True)

    app = create_app(store, runner, token=token, device=describe_device(), on_ready=ready,
                     allowed_hosts=allowed_hosts(host, allow_hosts))  # fmt: skip
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    config = uvicorn.Config(
        app,
        log_level="warning",
        access_log=False,
        http=_head_deadline_protocol(),
        timeout_keep_alive=5,
        timeout_graceful_shutdown=1,
    )
    _server(config, on_exit_signal=runner.stop_taking_work).run(sockets=[sock])


def _head_deadline_protocol() -> type:
    """uvicorn's h11 protocol with a deadline for each request's head.

    uvicorn closes idle keep-alive connections, but waits for ever on one that never
    sends a request, or dribbles its headers a byte at a time (half-open or slowloris).
    """
    import asyncio

    from uvicorn.protocols.http.h11_impl import H11Protocol

    class HeadDeadlineProtocol(H11Protocol):
        _deadline: asyncio.TimerHandle | None = None

        def connection_made(self, transport) -> None:
            super().connection_made(transport)
            self._arm()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            self._arm()

        def connection_lost(self, exc) -> None:
            if self._deadline is not None:
                self._deadline.cancel()
            super().connection_lost(exc)

        def _arm(self) -> None:
            if self._deadline is not None:
                self._deadline.cancel()
            self._deadline = self.loop.call_later(HEAD_TIMEOUT_SECONDS, self._expired)

        def send_400_response(self, msg: str) -> None:
            """Malformed HTTP gets the API's JSON error too (uvicorn's own is plain text)."""
            import h11

            body = json.dumps({"error": f"request: {msg}", "field": "request"}).encode()
            headers = [(b"content-type", b"application/json"), (b"connection", b"close"),
                       (b"content-length", str(len(body)).encode())]  # fmt: skip
            for event in (h11.Response(status_code=400, headers=headers, reason=b"Bad Request"),
                          h11.Data(data=body), h11.EndOfMessage()):  # fmt: skip
                self.transport.write(self.conn.send(event))
            if self.conn.our_state is h11.MUST_CLOSE:
                self.transport.close()

        def _expired(self) -> None:
            in_request = self.cycle is not None and not self.cycle.response_complete
            if in_request or self.transport.is_closing():
                return  # a request is being answered: its response re-arms the deadline
            self.transport.close()

    return HeadDeadlineProtocol


def _server(config, on_exit_signal: Callable[[], None]):
    """uvicorn's server, telling the runner at the signal itself (before connections
    drain) that no job may start any more."""
    import uvicorn

    class Server(uvicorn.Server):
        def handle_exit(self, sig, frame) -> None:
            on_exit_signal()
            super().handle_exit(sig, frame)

    return Server(config)
