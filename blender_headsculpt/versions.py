"""Edits as versions: which job each head was made from, as the history shows it (no bpy)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping


def version_labels(jobs: Iterable[Mapping]) -> dict[str, str]:
    """Job id → "v1", "v2", … along each chain of edits (a head made from text is v1, an
    edit of vN is vN+1). A job whose parent is not listed counts from that parent as v1."""
    parents = {job["id"]: job.get("parent_id") for job in jobs}
    labels: dict[str, str] = {}
    for job_id in parents:
        depth, seen, current = 1, {job_id}, parents[job_id]
        while current:
            depth += 1
            if current in seen:  # a loop cannot happen, but must not hang the panel
                break
            seen.add(current)
            current = parents.get(current)
        labels[job_id] = f"v{depth}"
    return labels
