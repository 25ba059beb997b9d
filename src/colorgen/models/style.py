"""Style encoder (colour classes -> vector) and decoders (vector -> colour logits / residuals).

Layouts and parameter names follow the published style module (MODELS.md).
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor, nn

from colorgen.data.colors import NUM_ALPHA_CLASSES, NUM_RGB_CLASSES


class StyleLogits(NamedTuple):
    """Per-element logits: RGB ``[..., 512]`` and alpha ``[..., 8]`` for text and background."""

    text_rgb: Tensor
    text_alpha: Tensor
    bg_rgb: Tensor
    bg_alpha: Tensor


class StyleEncoder(nn.Module):
    """Per element: embed text and background colours, merge into one ``d`` vector.

    Elements without text use a learned vector in place of their text colour.
    """

    def __init__(self, d_model: int) -> None:
        super().__init__()
        self.embed_rgb = nn.Embedding(NUM_RGB_CLASSES, d_model)
        self.embed_alpha = nn.Embedding(NUM_ALPHA_CLASSES, d_model)
        self.fc1 = nn.Linear(2 * d_model, d_model)
        self.fc2 = nn.Linear(2 * d_model, d_model)
        self.non_text_emb = nn.Parameter(torch.rand(1, d_model))

    def forward(
        self,
        text_rgb: Tensor,
        text_alpha: Tensor,
        bg_rgb: Tensor,
        bg_alpha: Tensor,
        has_text: Tensor,
    ) -> Tensor:
        """All inputs share a leading shape ``[...]``; returns ``[..., d]``."""
        rgb = torch.stack([text_rgb, bg_rgb])
        alpha = torch.stack([text_alpha, bg_alpha])
        x = torch.relu(self.fc1(torch.cat([self.embed_rgb(rgb), self.embed_alpha(alpha)], dim=-1)))
        x_text, x_bg = x
        x_text = torch.where(has_text.unsqueeze(-1), x_text, self.non_text_emb.expand_as(x_text))
        return self.fc2(torch.cat([x_text, x_bg], dim=-1))


class StyleDecoder(nn.Module):
    """Vector -> RGB (512) and alpha (8) logits for text and background, heads shared."""

    def __init__(self, d_model: int) -> None:
        super().__init__()
        self.fc_text = nn.Linear(d_model, d_model)
        self.fc_bg = nn.Linear(d_model, d_model)
        self.fc_rgb = nn.Linear(d_model, NUM_RGB_CLASSES)
        self.fc_alpha = nn.Linear(d_model, NUM_ALPHA_CLASSES)

    def forward(self, x: Tensor) -> StyleLogits:
        x = torch.stack([torch.relu(self.fc_text(x)), torch.relu(self.fc_bg(x))])
        text_rgb, bg_rgb = self.fc_rgb(x)
        text_alpha, bg_alpha = self.fc_alpha(x)
        return StyleLogits(text_rgb, text_alpha, bg_rgb, bg_alpha)


class ResidualDecoder(nn.Module):
    """Upsampler head: vector -> RGBA residuals in [0, 1] for text and background (shared ``fc_res``)."""

    def __init__(self, d_model: int) -> None:
        super().__init__()
        self.fc_text = nn.Linear(d_model, d_model)
        self.fc_bg = nn.Linear(d_model, d_model)
        self.fc_res = nn.Linear(d_model, 4)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        text = torch.sigmoid(self.fc_res(torch.relu(self.fc_text(x))))
        bg = torch.sigmoid(self.fc_res(torch.relu(self.fc_bg(x))))
        return text, bg
