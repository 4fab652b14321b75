"""How the History names each job (no bpy): a head's version, or what kind of job it was.

Versions count along chains of edits only: a head made from text is v1, an edit of vN
is vN+1. The other jobs that name a parent are not versions of it: an upload is the
artist's mesh, a rig job its rigged copy, a sculpt made to a target's shape a new head.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

# Jobs that are not versions of a head, and what the History calls them.
KIND_LABELS = {"upload": "upload", "rig": "rig"}


def version_labels(jobs: Iterable[Mapping]) -> dict[str, str]:
    """Job id → "v1", "v2", … along edits; "upload", "rig" or "sculpt" for the rest.

    Each job is a mapping with ``id`` and, when known, ``kind``, ``mode`` and
    ``parent_id``. An edit whose parent is not listed counts from that parent as v1; a
    job without a kind (older history) counts as an edit when it has a parent."""
    jobs = {job["id"]: job for job in jobs}
    labels: dict[str, str] = {}
    for job_id, job in jobs.items():
        kind = job.get("kind") or ""
        if kind in KIND_LABELS:
            labels[job_id] = KIND_LABELS[kind]
        elif kind == "generate" and job.get("parent_id"):
            labels[job_id] = "sculpt"  # a sculpt made to a target's shape: not its version
        else:
            labels[job_id] = f"v{_version(job_id, jobs)}"
    return labels


def _version(job_id: str, jobs: Mapping[str, Mapping]) -> int:
    """1 + the number of edits between ``job_id`` and the head it started from."""
    depth, seen, job = 1, {job_id}, jobs[job_id]
    while job.get("parent_id") and job.get("kind", "edit") in ("edit", ""):
        depth += 1
        parent = job["parent_id"]
        if parent in seen or parent not in jobs:  # a loop cannot happen; must not hang
            break
        seen.add(parent)
        job = jobs[parent]
    return depth
