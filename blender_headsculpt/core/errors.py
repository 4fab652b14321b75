"""The one error type of the add-on: something the artist should read in the panel."""

from __future__ import annotations


class HeadSculptError(Exception):
    """What went wrong and, when the fix is known, how to fix it ("Start the backend").

    Every failure the artist can meet — the backend, a job, an export, an import, a
    setting — ends up as one of these, so every operator reports failures one way.
    ``status`` is the HTTP status when the backend answered with an error.
    """

    def __init__(self, message: str, hint: str = "", status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.status = status

    def __str__(self) -> str:
        return f"{self.message}. {self.hint}" if self.hint else self.message
