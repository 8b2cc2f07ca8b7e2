"""CVAT's ``labelmap.txt`` (Segmentation mask 1.1 export): ``label:r,g,b:parts:actions``."""

from __future__ import annotations

from pathlib import Path

__all__ = ["read_labelmap", "labelmap_text"]


def read_labelmap(path: Path) -> list[tuple[str, tuple[int, int, int]]]:
    """``(name, colour)`` of each label, in file order; ``#`` lines are comments.

    Raises:
        FileNotFoundError: no such file.
        ValueError: a line that is not ``name:r,g,b:...``, naming the file and line.
    """
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found")
    labels = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        name, _, rest = line.partition(":")
        color_text = rest.split(":")[0]
        try:
            color = tuple(int(c) for c in color_text.split(","))
        except ValueError:
            color = ()
        if not name.strip() or len(color) != 3 or not all(0 <= c <= 255 for c in color):
            raise ValueError(f"{path}:{number}: {line.strip()!r} is not 'label:r,g,b::'")
        labels.append((name.strip(), color))  # type: ignore[arg-type]
    if not labels:
        raise ValueError(f"{path} lists no labels")
    return labels


def labelmap_text(labels: list[tuple[str, tuple[int, int, int]]]) -> str:
    """A ``labelmap.txt`` CVAT imports, for these ``(name, colour)`` labels."""
    lines = ["# label:color_rgb:parts:actions"]
    lines += [f"{name}:{r},{g},{b}::" for name, (r, g, b) in labels]
    return "\n".join(lines) + "\n"
