"""The learned query head: fields at any point from the decoder's features at its stencil nodes.

values = W sum_k a_k h_k, with h_k = MLP([g_k, phi(o_k)]) the node's decoder features g_k read in the
frame of the offset o_k (node minus point), and a = softmax over the stencil of a learned score minus
|o|^2: a learned interpolation that reduces to "nearest nodes count most" at initialisation. With
`window` the softmax is weighted by a tent that vanishes at the stencil's edge (ModelConfig.query_window).
"""

import torch
from torch import nn

from .lift import fourier_features


class Query(nn.Module):
    def __init__(self, decoder_channels: int, dim: int, channels: int, hidden: int = 32, n_freq: int = 4, seed: int = 1,
                 window: float | None = None):
        super().__init__()
        self.window = window  # half-width of the tent in grid spacings (stencil / 2); None: no tent
        g = torch.Generator().manual_seed(seed)
        self.register_buffer("freqs", torch.randn(dim, n_freq, generator=g) * 0.5)
        n_phi = dim + 2 * n_freq
        self.mlp = nn.Sequential(nn.Linear(decoder_channels + n_phi, hidden), nn.SiLU(),
                                 nn.Linear(hidden, hidden), nn.SiLU())
        self.score = nn.Sequential(nn.Linear(n_phi, hidden), nn.SiLU(), nn.Linear(hidden, 1))
        self.out = nn.Linear(hidden, channels)

    def forward(self, features, offsets):
        """features [M, K, G], offsets [M, K, D] -> values [M, C]."""
        phi = fourier_features(offsets, self.freqs)
        logits = self.score(phi).squeeze(-1) - (offsets * offsets).sum(-1)
        if self.window is not None:
            # tent = prod_axis max(0, 1 - |o| / window): 0 for the nodes that leave the stencil when the
            # point crosses a cell boundary, so the weights (and the field) change continuously there.
            tent = torch.clamp(1.0 - offsets.abs() / self.window, min=0.0).prod(-1)
            logits = logits + torch.log(tent.clamp_min(1e-30))
        a = torch.softmax(logits, dim=-1)
        h = self.mlp(torch.cat([features, phi], dim=-1))
        return self.out((a.unsqueeze(-1) * h).sum(-2))
