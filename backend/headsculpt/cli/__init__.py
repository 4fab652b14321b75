"""The ``headsculpt`` command: one module per subcommand, each thin over the pipelines.

A command module has ``add_parser(commands)`` (its options; ``run`` set as the
default) and ``run(args) -> exit code``. Bad input raises ValueError and exits 2
with a message naming the option; a disk that refuses a write exits 1 with a
message; any other error (a bug) exits 1 with one line saying what broke and to report
it, not a traceback.
"""

from __future__ import annotations

import argparse
import sys

from headsculpt import __version__
from headsculpt.cli import (
    batch,
    edit,
    evaluate,
    generate,
    parse,
    rig,
    serve,
    train_back_token,
    train_teacher,
)
from headsculpt.cli.common import error_message, internal_error_message

COMMANDS = (generate, edit, parse, rig, batch, evaluate, train_back_token, train_teacher, serve)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="headsculpt", description="Text to rigged, textured 3D heads, for Blender."
    )
    parser.add_argument("--version", action="version", version=f"headsculpt {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    for command in COMMANDS:
        command.add_parser(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except ValueError as error:  # bad input (missing weights too): say what is wrong
        print(f"headsculpt: error: {error_message(error)}", file=sys.stderr)
        return 2
    except OSError as error:  # the disk refused (full, read-only): no traceback, no partial file
        where = f" {error.filename}" if error.filename else ""
        print(f"headsculpt: error: cannot write{where}: {error.strerror or error}", file=sys.stderr)
        return 1
    except Exception as error:  # a bug: one line saying what broke and what to do
        print(f"headsculpt: error: {internal_error_message(error)}", file=sys.stderr)
        return 1
