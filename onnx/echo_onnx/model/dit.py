"""The DiT velocity field of the flow-matching generator.

Tokens: the latent [B, Z, S, ly, lx] is patchified (p x p in space, one slot in time); every token
carries [noisy z, observed z (0 where unobserved), slot mask] -> a linear embedding + fixed 3D sin-cos
positions. AdaLN-Zero blocks are conditioned on the flow time r and, when the bundle has PDE
parameters, on their embedding times param_mask plus a learned "no parameters" embedding times
(1 - param_mask). Condition dropout in training (param_mask 0, or no observed slot) lets the same
network generate unconditionally. Attention is written with matmuls so it exports to plain ONNX.
"""

import math

import torch
from torch import nn

from .config import ModelConfig


def sincos(pos: torch.Tensor, dim: int) -> torch.Tensor:
    """[N] positions -> [N, dim] sin-cos embedding (dim even)."""
    freqs = torch.exp(-math.log(10000.0) * torch.arange(dim // 2, dtype=torch.float32) / (dim // 2))
    a = pos[:, None].float() * freqs[None]
    return torch.cat([torch.sin(a), torch.cos(a)], dim=1)


def positions_3d(s: int, h: int, w: int, dim: int) -> torch.Tensor:
    """[s h w, dim] fixed embedding of (slot, row, column), token order slot-major then row, column."""
    ds = (dim // 3) // 2 * 2
    dt = dim - 2 * ds
    t, y, x = torch.meshgrid(torch.arange(s), torch.arange(h), torch.arange(w), indexing="ij")
    return torch.cat([sincos(t.reshape(-1), dt), sincos(y.reshape(-1), ds), sincos(x.reshape(-1), ds)], dim=1)


class DiTBlock(nn.Module):
    def __init__(self, d: int, heads: int):
        super().__init__()
        self.heads = heads
        self.n1 = nn.LayerNorm(d, elementwise_affine=False, eps=1e-6)
        self.qkv = nn.Linear(d, 3 * d)
        self.proj = nn.Linear(d, d)
        self.n2 = nn.LayerNorm(d, elementwise_affine=False, eps=1e-6)
        self.mlp = nn.Sequential(nn.Linear(d, 4 * d), nn.GELU(approximate="tanh"), nn.Linear(4 * d, d))
        self.ada = nn.Sequential(nn.SiLU(), nn.Linear(d, 6 * d))
        nn.init.zeros_(self.ada[1].weight)
        nn.init.zeros_(self.ada[1].bias)

    def attention(self, x):
        b, n, d = x.shape
        qkv = self.qkv(x).reshape(b, n, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        a = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(d // self.heads), dim=-1)
        return self.proj((a @ v).transpose(1, 2).reshape(b, n, d))

    def forward(self, x, c):
        s1, g1, a1, s2, g2, a2 = self.ada(c).unsqueeze(1).chunk(6, dim=-1)
        x = x + a1 * self.attention(self.n1(x) * (1 + g1) + s1)
        return x + a2 * self.mlp(self.n2(x) * (1 + g2) + s2)


class Velocity(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        z, p, d = cfg.latent_channels, cfg.patch, cfg.width
        lx, ly = cfg.latent_shape
        if lx % p or ly % p:
            raise ValueError(f"latent shape {cfg.latent_shape} is not divisible by the patch {p}")
        self.hp, self.wp = ly // p, lx // p
        self.embed = nn.Linear((2 * z + 1) * p * p, d)
        self.register_buffer("pos", positions_3d(cfg.slots, self.hp, self.wp, d))
        self.r_embed = nn.Sequential(nn.Linear(d, d), nn.SiLU(), nn.Linear(d, d))
        if cfg.params:
            self.p_embed = nn.Sequential(nn.Linear(cfg.params, d), nn.SiLU(), nn.Linear(d, d))
            self.p_null = nn.Parameter(torch.zeros(d))
        self.blocks = nn.ModuleList(DiTBlock(d, cfg.heads) for _ in range(cfg.depth))
        self.n_out = nn.LayerNorm(d, elementwise_affine=False, eps=1e-6)
        self.ada_out = nn.Sequential(nn.SiLU(), nn.Linear(d, 2 * d))
        self.out = nn.Linear(d, z * p * p)
        for m in (self.ada_out[1], self.out):
            nn.init.zeros_(m.weight)
            nn.init.zeros_(m.bias)

    def patchify(self, x):
        """[B, C, S, ly, lx] -> [B, S hp wp, C p p]."""
        b, c, s = x.shape[0], x.shape[1], x.shape[2]
        p = self.cfg.patch
        x = x.reshape(b, c, s, self.hp, p, self.wp, p).permute(0, 2, 3, 5, 1, 4, 6)
        return x.reshape(b, s * self.hp * self.wp, c * p * p)

    def unpatchify(self, t):
        """[B, S hp wp, Z p p] -> [B, Z, S, ly, lx]."""
        b = t.shape[0]
        p, z, s = self.cfg.patch, self.cfg.latent_channels, self.cfg.slots
        x = t.reshape(b, s, self.hp, self.wp, z, p, p).permute(0, 4, 1, 2, 5, 3, 6)
        return x.reshape(b, z, s, self.hp * p, self.wp * p)

    def condition(self, r, params=None, param_mask=None):
        c = self.r_embed(sincos(r * 1000.0, self.cfg.width))
        if self.cfg.params:
            m = param_mask[:, None]
            c = c + self.p_embed(params) * m + self.p_null * (1.0 - m)
        return c

    def forward(self, z, observed, slot_mask, r, params=None, param_mask=None):
        """z, observed [B, Z, S, ly, lx], slot_mask [B, S], r [B] (, params [B, P], param_mask [B])
        -> velocity [B, Z, S, ly, lx]."""
        sm = slot_mask[:, None, :, None, None].expand(z.shape[0], 1, z.shape[2], z.shape[3], z.shape[4])
        x = self.embed(self.patchify(torch.cat([z, observed, sm], dim=1))) + self.pos
        c = self.condition(r, params, param_mask)
        for blk in self.blocks:
            x = blk(x, c)
        s, g = self.ada_out(c).unsqueeze(1).chunk(2, dim=-1)
        return self.unpatchify(self.out(self.n_out(x) * (1 + g) + s))
