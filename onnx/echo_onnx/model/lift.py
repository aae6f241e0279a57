"""The learned lift: a continuous convolution from scattered input points onto the latent grid nodes.

Each grid node aggregates its K neighbours (found outside the graph, by the runtime or grid.py):
feature = sum_k w_k (A v_k) * kappa(o_k), with w the softmax over the real neighbours of a learned
score minus |o|^2 / tau (near points count more), and kappa an MLP kernel of the offset's Fourier
features. Pointwise over nodes, so it can run in chunks of nodes at any point count.
"""

import math

import torch
from torch import nn


def fourier_features(o: torch.Tensor, freqs: torch.Tensor) -> torch.Tensor:
    """[..., D] offsets -> [..., D + 2 nf]: the offset, sin and cos of 2 pi o . freqs."""
    a = 2 * math.pi * (o @ freqs)
    return torch.cat([o, torch.sin(a), torch.cos(a)], dim=-1)


class Lift(nn.Module):
    def __init__(self, channels: int, dim: int, features: int, hidden: int = 32, n_freq: int = 8, seed: int = 0):
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        self.register_buffer("freqs", torch.randn(dim, n_freq, generator=g) * 0.5)
        n_in = dim + 2 * n_freq
        self.kernel = nn.Sequential(nn.Linear(n_in, hidden), nn.SiLU(), nn.Linear(hidden, features))
        self.score = nn.Sequential(nn.Linear(n_in, hidden), nn.SiLU(), nn.Linear(hidden, 1))
        self.value = nn.Linear(channels, features)
        self.log_tau = nn.Parameter(torch.zeros(()))

    def weights(self, offsets: torch.Tensor, mask: torch.Tensor):
        """(w [.., K, 1], kappa [.., K, F]) from offsets [.., K, D] and mask [.., K]. Depends only on
        the geometry, so training computes it once per point set and reuses it for every frame."""
        phi = fourier_features(offsets, self.freqs)
        logits = self.score(phi).squeeze(-1) - (offsets * offsets).sum(-1) * torch.exp(-self.log_tau)
        logits = logits + (mask - 1.0) * 1e4          # padding far below any real neighbour
        w = torch.softmax(logits, dim=-1) * mask      # exactly 0 on padding; all 0 without neighbours
        return w.unsqueeze(-1), self.kernel(phi)

    def combine(self, values: torch.Tensor, w: torch.Tensor, kappa: torch.Tensor) -> torch.Tensor:
        """values [.., K, C] -> features [.., F]."""
        return (w * self.value(values) * kappa).sum(-2)

    def forward(self, values, offsets, mask):
        """values [M, K, C], offsets [M, K, D], mask [M, K] -> features [M, F]."""
        w, kappa = self.weights(offsets, mask)
        return self.combine(values, w, kappa)
