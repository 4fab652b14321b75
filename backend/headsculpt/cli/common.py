"""What every command shares: the progress bar and turning errors into messages."""

from __future__ import annotations

import sys
import time

from headsculpt.progress import ProgressCallback


def progress_bar(stream=sys.stderr) -> ProgressCallback:
    """A one-line bar on stderr (stage, percentage, seconds so far)."""
    started = time.perf_counter()

    def report(stage: str, fraction: float, preview=None) -> None:
        filled = int(round(fraction * 24))
        elapsed = time.perf_counter() - started
        stream.write(
            f"\r[{'#' * filled}{'.' * (24 - filled)}] {fraction:4.0%} {stage:<8} {elapsed:5.1f}s"
        )
        if fraction >= 1.0:
            stream.write("\n")
        stream.flush()

    return report


def option_name(field: str) -> str:
    """The command-line option for a request field or model slot: seed → --seed."""
    return "--" + field.replace("_", "-")


def error_message(error: ValueError) -> str:
    """The message for a bad input, with where to fix it on the command line.

    Lower layers name request fields and model slots, not options: this is where
    the CLI's own names are added.
    """
    message = str(error)
    slot = getattr(error, "slot", None)  # guidance's MissingWeightsError
    if slot:
        return f"{message} (set it with {option_name(slot)})"
    field = getattr(error, "field", None)  # a RequestError from the limits or a job kind
    if field and field != "prompt" and message.startswith(f"{field}:"):
        return option_name(field) + message[len(field) :]
    return message
