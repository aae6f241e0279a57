"""What the pictures the repository ships have in common."""

from pathlib import Path


def shrink_png(path: Path) -> None:
    """Rewrite a matplotlib PNG with 256 colours: panels of smooth fields make MB-sized RGBA files, and
    256 colours keep each readable at a quarter of the size (the repository ships these pictures)."""
    from PIL import Image
    Image.open(path).convert("RGB").quantize(256, dither=Image.Dither.NONE).save(path, optimize=True)
