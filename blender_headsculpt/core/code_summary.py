"""The descriptive code as short lines for the panel: what was understood, what was not."""

from __future__ import annotations

import textwrap
from typing import Any


def summarize_code(code: dict[str, Any] | None, width: int = 48) -> list[str]:
    """E.g. ["age 75, gender +0.90", "nose.size +0.60", "Not used: blorf"]."""
    if not code:
        return []
    parts = []
    for name, value in sorted(code.get("attributes", {}).items()):
        if isinstance(value, float | int) and not isinstance(value, bool):
            shown = f"{value:.0f}" if name == "age" else f"{value:+.2f}"
        elif isinstance(value, dict):
            shown = "/".join(f"{k} {w:.0%}" for k, w in sorted(value.items()) if w > 0)
        else:
            shown = str(value)
        parts.append(f"{name} {shown}")
    lines = _wrap(parts, width) or ["(nothing concrete: a neutral head)"]
    if code.get("abstract"):
        lines += _wrap(["Not shaped: " + "; ".join(code["abstract"])], width)
    if code.get("ignored"):
        lines += _wrap(["Not used: " + ", ".join(code["ignored"])], width)
    return lines


def _wrap(parts: list[str], width: int) -> list[str]:
    """Join parts with commas into lines of about ``width`` characters."""
    lines: list[str] = []
    current = ""
    for part in parts:
        candidate = f"{current}, {part}" if current else part
        if current and len(candidate) > width:
            lines.append(current)
            current = part
        else:
            current = candidate
    if current:
        lines.append(current)
    return [piece for line in lines for piece in textwrap.wrap(line, width)]
