"""ECHO in PyTorch: lift, causal encoder/decoder, query head and the DiT velocity field."""

from .config import ModelConfig
from .echo import Autoencoder, Echo
from .dit import Velocity
from .lift import Lift
from .query import Query

__all__ = ["ModelConfig", "Autoencoder", "Echo", "Velocity", "Lift", "Query"]
