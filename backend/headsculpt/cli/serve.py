"""``headsculpt serve``: the HTTP job server for Blender and scripts."""

from __future__ import annotations

import argparse
from pathlib import Path

from headsculpt.api.serve import DEFAULT_PORT, serve


def add_parser(commands) -> None:
    serve = commands.add_parser("serve", help="run the HTTP job server (for Blender and scripts)")
    serve.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to bind (default 127.0.0.1; others need --token-file)",
    )
    serve.add_argument(
        "--port",
        type=int,
        default=DEFAULT_PORT,
        help=f"port (default {DEFAULT_PORT}; 0 picks a free one and prints it)",
    )
    serve.add_argument(
        "--data", type=Path, default=None, help="job folder (default $XDG_DATA_HOME/headsculpt)"
    )
    serve.add_argument(
        "--token-file",
        type=Path,
        default=None,
        help="bearer token file; created with a new token if missing",
    )
    serve.add_argument(
        "--allow-host",
        action="append",
        default=[],
        metavar="NAME",
        help="a host name clients use for this server besides loopback and --host "
        "(requests naming another Host or Origin get 403); repeatable",
    )
    serve.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    serve(
        host=args.host,
        port=args.port,
        data_dir=args.data,
        token_file=args.token_file,
        allow_hosts=tuple(args.allow_host),
    )
    return 0
