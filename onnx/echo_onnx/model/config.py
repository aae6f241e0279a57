"""Sizes of one ECHO model; everything else (graphs, manifest, training) derives from them."""

from dataclasses import asdict, dataclass, field


@dataclass
class ModelConfig:
    grid: list = field(default_factory=lambda: [32, 32])  # latent grid nodes, coordinate order [nx, ny]
    bbox: list = field(default_factory=lambda: [[0.0, 0.0], [1.0, 1.0]])  # latent grid box [min, max]
    periodic: list = field(default_factory=lambda: [True, True])  # per axis (the NS2D unit square: both)
    channels: int = 1             # C, sum of field components
    lift_features: int = 8        # F
    neighbours: int = 16          # K of the lift
    radius: float = 2.0           # lift radius in grid spacings
    lift_footprint: str = "radius"  # manifest lift.footprint: "radius" or "adaptive" (graded meshes)
    stencil: int = 2              # query stencil per axis
    # Query weights multiplied by a tent that is 0 at the stencil's edge, so that the field is
    # continuous where a point's stencil changes (crossing a latent-cell boundary). False: the
    # first bundle's head (softmax over the stencil; steps at cell boundaries).
    query_window: bool = False
    decoder_channels: int = 24   # G
    widths: list = field(default_factory=lambda: [32, 64])  # after the 2x2 stem, after each spatial compression
    latent_channels: int = 8     # Z
    time_stride: int = 4          # frames per latent slot after the first
    slots: int = 3                # S; frames T = 1 + time_stride (S - 1)
    params: int = 1               # P, PDE parameters (0: none)
    patch: int = 1               # DiT patch size on the latent grid
    width: int = 128              # DiT token width
    depth: int = 4                # DiT blocks
    heads: int = 4

    @property
    def dim(self) -> int:
        return len(self.grid)

    @property
    def frames(self) -> int:
        return 1 + self.time_stride * (self.slots - 1)

    @property
    def spatial_stride(self) -> int:
        """Grid nodes per latent node: the 2x2 stem, then one factor 2 per extra width."""
        return 2 ** len(self.widths)

    @property
    def latent_shape(self) -> list:
        """Latent grid in coordinate order."""
        return [n // self.spatial_stride for n in self.grid]

    def time_slots(self) -> list:
        """time.slots of the manifest: [0], [1..s], [s+1..2s], ..."""
        s = self.time_stride
        return [[0]] + [list(range(1 + s * j, 1 + s * (j + 1))) for j in range(self.slots - 1)]

    def compression_ratio(self, points_per_frame: int | None = None) -> float:
        """(T N C) / (S h w Z) with N the input points per frame (default: the grid nodes)."""
        n = points_per_frame or _prod(self.grid)
        return self.frames * n * self.channels / (self.slots * _prod(self.latent_shape) * self.latent_channels)

    def to_dict(self) -> dict:
        return asdict(self)


def _prod(xs):
    out = 1
    for x in xs:
        out *= x
    return out
