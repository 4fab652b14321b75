"""Which device a GPU-capable run computes on, and its random generator there.

A sculpt or an edit puts everything it computes — fields, grids, renderers, guidance,
random streams — on one device (docs/architecture.md, "One device per run"). The
device is named by the request (``--device``), else by ``HEADSCULPT_DEVICE``, else
``auto``: the first CUDA device when there is one, the CPU otherwise. A named device
that this machine lacks is refused, never silently replaced by the CPU.
"""

from __future__ import annotations

import os

import torch

from headsculpt.limits import RequestError

DEVICE_VARIABLE = "HEADSCULPT_DEVICE"


def resolve_device(name: str | None = None) -> torch.device:
    """The device ``name`` ("auto", "cpu", "cuda", "cuda:1", "mps") means on this machine.

    Raises :class:`RequestError` (field ``device``) for a name torch does not know or a
    device this machine does not have.
    """
    name = (name or os.environ.get(DEVICE_VARIABLE) or "auto").strip().lower()
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError as error:
        raise RequestError("device", f"{name!r} is not a device name ({error})") from error
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise RequestError("device", f"{name!r}: this machine has no CUDA device")
        if device.index is not None and device.index >= torch.cuda.device_count():
            count = torch.cuda.device_count()
            raise RequestError("device", f"{name!r}: this machine has {count} CUDA device(s)")
    elif device.type == "mps" and not torch.backends.mps.is_available():
        raise RequestError("device", f"{name!r}: this machine has no Metal device")
    elif device.type not in ("cpu", "cuda", "mps"):
        raise RequestError("device", f"{name!r}: use auto, cpu, cuda, cuda:N or mps")
    return device


def seeded_generator(device: torch.device | str, seed: int) -> torch.Generator:
    """A random generator on ``device`` seeded with ``seed``: every random draw of a run
    is made where its tensors live (a CUDA generator's state is what a checkpoint keeps)."""
    return torch.Generator(device=device).manual_seed(seed)
