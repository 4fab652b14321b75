"""How hard each loss term pulls: the gradient norm of every weighted term of a stage.

A stage's loss is the guidance plus regularisers (sparsity, orientation, Laplacian,
normal consistency), each with a weight calibrated for one guidance's scale. Which term
dominates is what decides between fog, bumps and a surface that follows the text, and
it cannot be read off the loss values (a tiny loss can have a huge gradient). Every
``every`` steps each weighted term's gradient with respect to the stage's parameters is
taken on its own (one extra backward pass per term on those steps) and its norm kept;
the sidecar carries the table, so the first real run on a new model shows the balance.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch


class GradientNorms:
    """Per term, the norm of its gradient at every ``every``-th step (``state_dict`` so a
    resumed stage keeps what came before)."""

    def __init__(self, every: int) -> None:
        self.every = max(1, int(every))
        self.steps: list[int] = []
        self.norms: dict[str, list[float | None]] = {}

    def due(self, step: int) -> bool:
        return step % self.every == 0

    def record(
        self, step: int, terms: dict[str, torch.Tensor], parameters: Iterable[torch.Tensor]
    ) -> None:
        """Each term's gradient norm over ``parameters``; the graph is kept for the step's
        own backward pass. A term that is absent at this step is recorded as None."""
        parameters = [p for p in parameters if p.requires_grad]
        row = len(self.steps)
        self.steps.append(step)
        for name, term in terms.items():
            if not term.requires_grad:
                norm = 0.0
            else:
                grads = torch.autograd.grad(term, parameters, retain_graph=True,
                                            allow_unused=True)  # fmt: skip
                squares = [g.detach().float().square().sum() for g in grads if g is not None]
                norm = float(torch.stack(squares).sum().sqrt()) if squares else 0.0
            self.norms.setdefault(name, [None] * row).append(round(norm, 6))
        for column in self.norms.values():  # terms missing this step
            column.extend([None] * (row + 1 - len(column)))

    def to_dict(self) -> dict[str, list]:
        return {"step": list(self.steps), **{k: list(v) for k, v in self.norms.items()}}

    def state_dict(self) -> dict[str, list]:
        return self.to_dict()

    def load_state_dict(self, state: dict[str, list]) -> None:
        state = dict(state)
        self.steps = list(state.pop("step"))
        self.norms = {k: list(v) for k, v in state.items()}
