"""View-dependent prompts and their CLIP text embeddings.

HeadSculpt appends the view to the description ("…, front view of head"); back
views also carry the learned ``<back-view>`` token when one is loaded, which
keeps a face from being painted on the back of the head. Embeddings are
computed once per distinct prompt and kept.

CLIP's text encoder sees 77 tokens. A long description would push the view phrase and
the token past the end, where the tokenizer cuts them off: the guidance would no longer
know which side of the head it looks at. :class:`ViewPrompts` shortens the description
instead (whole words from its end) so that every view's phrase fits, and says what it
left out (the sidecar records it).

Without a back-view token nothing in the prompt keeps a face off the back of the head;
back views then get :data:`BACK_VIEW_NEGATIVE` in their negative prompt (the
unconditional half of classifier-free guidance), which pushes away from a face there.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

# What a back view must not show when no <back-view> token says what it shows instead.
BACK_VIEW_NEGATIVE = "face, eyes, nose, mouth"
_SPECIAL_TOKENS = 2  # CLIP's start and end tokens take two of the 77


def view_prompt(text: str, label: str, back_view_token: str | None = None) -> str:
    """The prompt for a view: "<text>, <label> view of head" (+ the token for back views)."""
    text = text.strip().rstrip(".,;")
    if label == "back" and back_view_token:
        return f"{text}, {back_view_token} back view of head"
    return f"{text}, {label} view of head"


def back_view_negative(negative_prompt: str) -> str:
    """A back view's negative prompt: the user's, plus what a back view must not show."""
    negative_prompt = negative_prompt.strip().rstrip(".,;")
    return f"{negative_prompt}, {BACK_VIEW_NEGATIVE}" if negative_prompt else BACK_VIEW_NEGATIVE


@dataclass(frozen=True)
class ViewPrompts:
    """A description fitted to the text encoder with every view's phrase kept whole."""

    description: str  # what every view prompt starts with (shortened when it had to be)
    dropped: str  # the words left out of the description's end ("" when it fitted)
    back_view_token: str | None = None

    @classmethod
    def fit(cls, tokenizer, text: str, back_view_token: str | None = None) -> ViewPrompts:
        """Shorten ``text`` by whole words from its end until every view prompt (the back
        view's, with the token, is the longest) fits the tokenizer's length."""
        words = text.strip().rstrip(".,;").split()
        limit = tokenizer.model_max_length - _SPECIAL_TOKENS
        keep = len(words)

        def fits(count: int) -> bool:
            longest = [view_prompt(" ".join(words[:count]), label, back_view_token)
                       for label in ("overhead", "front", "back", "side")]  # fmt: skip
            return all(len(tokenizer.tokenize(p)) <= limit for p in longest)

        if not fits(keep):  # the longest keep that fits, by bisection (tokens grow with words)
            low, high = 0, keep
            while low < high:
                middle = (low + high + 1) // 2
                low, high = (middle, high) if fits(middle) else (low, middle - 1)
            keep = low
        return cls(" ".join(words[:keep]), " ".join(words[keep:]), back_view_token)

    def __call__(self, label: str) -> str:
        return view_prompt(self.description, label, self.back_view_token)


def token_ids(tokenizer, prompts: list[str]) -> torch.Tensor:
    """(len(prompts), 77) token ids, padded and truncated as the text encoder expects."""
    return tokenizer(
        prompts,
        padding="max_length",
        max_length=tokenizer.model_max_length,
        truncation=True,
        return_tensors="pt",
    ).input_ids


class PromptEncoder:
    """CLIP text embeddings (77 tokens) of prompts, cached per prompt."""

    def __init__(self, models) -> None:
        self.models = models
        self._cache: dict[str, torch.Tensor] = {}

    def __call__(self, prompts: list[str]) -> torch.Tensor:
        """(len(prompts), 77, D) embeddings in the models' dtype, on their device."""
        missing = [p for p in dict.fromkeys(prompts) if p not in self._cache]
        if missing:
            tokens = token_ids(self.models.tokenizer, missing)
            encoder = self.models.text_encoder
            with torch.no_grad():
                device = next(encoder.parameters()).device
                hidden = encoder(tokens.to(device))[0]
            for prompt, embedding in zip(missing, hidden, strict=True):
                self._cache[prompt] = embedding.to(self.models.device, self.models.dtype)
        return torch.stack([self._cache[p] for p in prompts])
