"""``headsculpt parse``: show the descriptive code read from a description."""

from __future__ import annotations

import argparse
import json
import sys


def add_parser(commands) -> None:
    parse = commands.add_parser("parse", help="show the descriptive code read from a text")
    parse.add_argument("text", nargs="?", help='a description, or "-" for one per line on stdin')
    parse.add_argument("--json", action="store_true", help="print the code as JSON")
    parse.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from headsculpt.text.parser import DescriptionParser

    if args.text is None:
        raise ValueError('parse needs a description, or "-" to read one per line from stdin')
    parser = DescriptionParser.from_pretrained()
    if args.text != "-":
        _print_code(parser(args.text), args.json)
        return 0
    failures = 0
    for line in sys.stdin:  # one description per line, one JSON object per line
        text = line.rstrip("\n")
        try:
            code = parser(text)
        except ValueError as error:  # a bad line does not stop the batch
            failures += 1
            print(json.dumps({"error": str(error)}), flush=True)
            continue
        _print_code(code, args.json)
    return 2 if failures else 0


def _print_code(code, as_json: bool) -> None:
    if as_json:
        print(json.dumps(code.to_json(), ensure_ascii=False), flush=True)
        return
    for name, value in sorted(code.attributes.items()):
        print(f"{name:<24} {value}")
    for phrase in code.phrases:
        note = f"  ({phrase.note})" if phrase.note else ""
        print(f"  '{phrase.text}' -> {phrase.sets}{note}")
    if code.abstract:
        print(f"abstract: {'; '.join(code.abstract)}")
    if code.ignored:
        print(f"ignored: {', '.join(code.ignored)}")
    print()
