import pytest

from echo_onnx.example import make_example
from echo_onnx.testbundle import build_bundle


@pytest.fixture(scope="session")
def bundle(tmp_path_factory):
    """The default test bundle (2D, learned lift and query, one parameter)."""
    out = tmp_path_factory.mktemp("bundle")
    build_bundle(out)
    return out


@pytest.fixture(scope="session")
def example(tmp_path_factory):
    """A small version of the shipped example (fewer points keeps the suite fast)."""
    out = tmp_path_factory.mktemp("example")
    make_example(out, points=2048, frames=3, seed=1, query_side=48)
    return out
