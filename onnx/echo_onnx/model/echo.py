"""The ECHO autoencoder (lift -> causal encoder -> latent -> decoder -> query) and the whole model.

Encoder: per-frame 2x2 patch stem, causal residual blocks, spatial compressions by 2, one causal
temporal compression by `time_stride`, a 1x1 projection to Z channels, then a fixed affine
normalisation (latent_mean / latent_std, set after stage 2) so that the generator sees unit-scale
latents. The decoder mirrors it. The encoder's input is the lifted features plus the coverage
channel (docs/bundle-format.md), [B, F + 1, T, ny, nx].
"""

import torch
from torch import nn
import torch.nn.functional as F

from .config import ModelConfig
from .dit import Velocity
from .layers import Block, Down, FrameNorm, TimeDown, TimeUp, Up, per_frame
from .lift import Lift
from .query import Query


class Encoder(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        w = cfg.widths
        self.stem = nn.Conv2d(cfg.lift_features + 1, w[0], 2, stride=2)
        layers = [Block(w[0])]
        for a, b in zip(w[:-1], w[1:]):
            layers += [Down(a, b), Block(b)]
        layers += [TimeDown(w[-1], cfg.time_stride), Block(w[-1]), FrameNorm(w[-1])]
        self.body = nn.Sequential(*layers)
        self.head = nn.Conv3d(w[-1], cfg.latent_channels, 1)
        self.register_buffer("latent_mean", torch.zeros(cfg.latent_channels))
        self.register_buffer("latent_std", torch.ones(cfg.latent_channels))

    def forward(self, frames):
        """frames [B, E, T, ny, nx] -> normalised latent [B, Z, S, ly, lx]."""
        x = per_frame(self.stem, frames)
        z = self.head(F.silu(self.body(x)))
        return (z - self.latent_mean.view(1, -1, 1, 1, 1)) / self.latent_std.view(1, -1, 1, 1, 1)


class Decoder(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        w = cfg.widths
        self.proj = nn.Conv3d(cfg.latent_channels, w[-1], 1)
        layers = [Block(w[-1]), TimeUp(w[-1], cfg.time_stride), Block(w[-1])]
        for a, b in zip(w[::-1][:-1], w[::-1][1:]):
            layers += [Up(a, b), Block(b)]
        layers += [FrameNorm(w[0])]
        self.body = nn.Sequential(*layers)
        self.unstem = nn.ConvTranspose2d(w[0], cfg.decoder_channels, 2, stride=2)
        self.register_buffer("latent_mean", torch.zeros(cfg.latent_channels))
        self.register_buffer("latent_std", torch.ones(cfg.latent_channels))

    def forward(self, latent):
        """normalised latent [B, Z, S, ly, lx] -> grid features [B, G, T, ny, nx]."""
        z = latent * self.latent_std.view(1, -1, 1, 1, 1) + self.latent_mean.view(1, -1, 1, 1, 1)
        x = F.silu(self.body(self.proj(z)))
        return per_frame(self.unstem, x)


class Autoencoder(nn.Module):
    """Lift + encoder + decoder + query, trained in stages 1 and 2 on reconstruction at query points."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        self.lift = Lift(cfg.channels, cfg.dim, cfg.lift_features)
        self.encoder = Encoder(cfg)
        self.decoder = Decoder(cfg)
        self.query = Query(cfg.decoder_channels, cfg.dim, cfg.channels, window=cfg.stencil / 2 if cfg.query_window else None)

    def encoder_input(self, values, offsets, mask, observed=None):
        """Lift a batch of windows onto the grid: [B, F + 1, T, ny, nx].

        values [B, T, nodes, K, C] (neighbours' normalised values), offsets [B, nodes, K, D],
        mask [B, nodes, K] (the same points in every frame of a window); observed [B, T] 1/0 zeroes
        unobserved frames and their coverage, as the runtime does."""
        b, t = values.shape[:2]
        ny, nx = self.cfg.grid[1], self.cfg.grid[0]
        w, kappa = self.lift.weights(offsets, mask)                       # [B, nodes, K, 1], [B, nodes, K, F]
        feats = self.lift.combine(values, w.unsqueeze(1), kappa.unsqueeze(1))  # [B, T, nodes, F]
        cover = mask.amax(-1)[:, None, :, None].expand(b, t, -1, 1)       # [B, T, nodes, 1]
        x = torch.cat([feats, cover], dim=-1)
        if observed is not None:
            x = x * observed[:, :, None, None]
        return x.permute(0, 3, 1, 2).reshape(b, -1, t, ny, nx)

    def evaluate(self, grid_features, idx, offsets):
        """Decoder output [B, G, T, ny, nx] at query points: idx [B, M, Ks] stencil node indices,
        offsets [B, M, Ks, D] -> values [B, T, M, C]."""
        b, g, t = grid_features.shape[:3]
        flat = grid_features.reshape(b, g, t, -1)
        m, ks = idx.shape[1], idx.shape[2]
        gathered = torch.gather(flat, 3, idx.reshape(b, 1, 1, m * ks).expand(b, g, t, m * ks))
        feats = gathered.reshape(b, g, t, m, ks).permute(0, 2, 3, 4, 1)       # [B, T, M, Ks, G]
        return self.query(feats, offsets.unsqueeze(1).expand(b, t, m, ks, offsets.shape[-1]))

    def forward(self, batch: dict):
        """Reconstruction of a batch (see train.batches): values [B, T, M, C] at the target points."""
        x = self.encoder_input(batch["values"], batch["offsets"], batch["mask"])
        z = self.encoder(x)
        return self.evaluate(self.decoder(z), batch["q_idx"], batch["q_offsets"]), z


class Echo(nn.Module):
    """The autoencoder and the flow-matching generator, the five graphs of a bundle."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        self.ae = Autoencoder(cfg)
        self.velocity = Velocity(cfg)
