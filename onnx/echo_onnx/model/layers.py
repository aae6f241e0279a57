"""Building blocks shared by the encoder and decoder: periodic per-frame convs, causal time convs,
GroupNorm per frame. Tensors are [B, C, T, ny, nx]; only ops that export cleanly to ONNX are used
(circular padding by slicing and concatenation, zero padding on the left of time)."""

import torch
from torch import nn
import torch.nn.functional as F


def circular_pad(x: torch.Tensor, p: int) -> torch.Tensor:
    """Pad the last two axes periodically by p (the domain is periodic: no artificial walls)."""
    if p == 0:
        return x
    x = torch.cat([x[..., -p:, :], x, x[..., :p, :]], dim=-2)
    return torch.cat([x[..., -p:], x, x[..., :p]], dim=-1)


def per_frame(fn, x: torch.Tensor) -> torch.Tensor:
    """Apply a 2D map fn to every frame: [B, C, T, H, W] -> fold T into the batch -> back.

    Keeps operations frame-local, which is what makes GroupNorm causal (a norm over the window
    would leak future frames into the past)."""
    b, c, t = x.shape[0], x.shape[1], x.shape[2]
    y = fn(x.transpose(1, 2).reshape(b * t, c, x.shape[3], x.shape[4]))
    return y.reshape(b, t, y.shape[1], y.shape[2], y.shape[3]).transpose(1, 2)


class FrameNorm(nn.Module):
    """GroupNorm over (channels of a group, space) separately for every frame."""

    def __init__(self, channels: int, groups: int = 8):
        super().__init__()
        self.norm = nn.GroupNorm(min(groups, channels), channels)

    def forward(self, x):
        return per_frame(self.norm, x)


class SpatialConv(nn.Module):
    """3x3 periodic convolution applied frame by frame."""

    def __init__(self, cin: int, cout: int, k: int = 3):
        super().__init__()
        self.pad = k // 2
        self.conv = nn.Conv2d(cin, cout, k)

    def forward(self, x):
        return per_frame(lambda f: self.conv(circular_pad(f, self.pad)), x)


class CausalTimeConv(nn.Module):
    """Temporal convolution (kernel k, 1x1 in space) with k - 1 zeros on the left: frame t sees <= t."""

    def __init__(self, cin: int, cout: int, k: int = 3):
        super().__init__()
        self.k = k
        self.conv = nn.Conv3d(cin, cout, (k, 1, 1))

    def forward(self, x):
        return self.conv(F.pad(x, (0, 0, 0, 0, self.k - 1, 0)))


class Block(nn.Module):
    """Shape-preserving causal residual block: norm, SiLU, spatial conv, norm, SiLU, time conv."""

    def __init__(self, channels: int):
        super().__init__()
        self.n1, self.c1 = FrameNorm(channels), SpatialConv(channels, channels)
        self.n2, self.c2 = FrameNorm(channels), CausalTimeConv(channels, channels)

    def forward(self, x):
        h = self.c1(F.silu(self.n1(x)))
        return x + self.c2(F.silu(self.n2(h)))


class Down(nn.Module):
    """Spatial compression by 2 per frame (strided 2x2 conv)."""

    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 2, stride=2)

    def forward(self, x):
        return per_frame(self.conv, x)


class Up(nn.Module):
    """Spatial expansion by 2 per frame (transposed 2x2 conv), the mirror of Down."""

    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.conv = nn.ConvTranspose2d(cin, cout, 2, stride=2)

    def forward(self, x):
        return per_frame(self.conv, x)


class TimeDown(nn.Module):
    """Causal temporal compression by s: s - 1 zero frames on the left, then groups of s frames.
    T = 1 + s (S - 1) frames -> S slots; slot 0 = frame 0, slot j = frames s (j - 1) + 1 .. s j."""

    def __init__(self, channels: int, s: int):
        super().__init__()
        self.s = s
        self.conv = nn.Conv3d(channels, channels, (s, 1, 1), stride=(s, 1, 1))

    def forward(self, x):
        return self.conv(F.pad(x, (0, 0, 0, 0, self.s - 1, 0)))


class TimeUp(nn.Module):
    """Mirror of TimeDown: every slot expands into s frames, the first s - 1 (padding) are dropped."""

    def __init__(self, channels: int, s: int):
        super().__init__()
        self.s = s
        self.conv = nn.ConvTranspose3d(channels, channels, (s, 1, 1), stride=(s, 1, 1))

    def forward(self, x):
        return self.conv(x)[:, :, self.s - 1:]
