"""Atomic file output (write to a temporary file beside the target, then rename), file
digests and YAML files read with one-line errors."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

__all__ = [
    "atomic_write",
    "write_json",
    "file_sha256",
    "read_yaml",
    "read_config_mapping",
    "load_config",
]

ConfigT = TypeVar("ConfigT")


@contextmanager
def atomic_write(path: str | os.PathLike, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path; on success rename it to ``path``, on error delete it."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(
        prefix=f".{target.name}.", suffix=suffix or target.suffix or ".tmp", dir=target.parent
    )
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp creates 0600; give the usual file mode
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_json(path: str | os.PathLike, data: Any) -> None:
    """Write ``data`` as indented JSON, atomically."""
    with atomic_write(path) as tmp:
        tmp.write_text(json.dumps(data, indent=2) + "\n")


def file_sha256(path: str | os.PathLike) -> str:
    """SHA-256 of a file's bytes (read in 1 MiB blocks)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_yaml(path: str | os.PathLike) -> Any:
    """The YAML document of ``path``; ``ValueError`` naming the file (and the line) when
    it is not text or not YAML, ``FileNotFoundError`` when it is missing."""
    import yaml

    path = Path(path)
    try:
        text = path.read_text()
    except UnicodeDecodeError:
        raise ValueError(f"{path} is not a YAML text file") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ValueError(f"{path} is not valid YAML: {problem}{where}") from None


def read_config_mapping(path: Path, seen: tuple[Path, ...] = ()) -> dict[str, Any]:
    """A config file's keys, on top of those of its ``base:`` file (relative to it)."""
    if path.resolve() in seen:
        raise ValueError(f"{path}: base configs form a cycle")
    data = read_yaml(path) or {}
    if not isinstance(data, dict):
        raise ValueError(f"{path} must hold a mapping of config keys")
    base = data.pop("base", None)
    if base is None:
        return data
    merged = read_config_mapping(path.parent / base, (*seen, path.resolve()))
    merged.update(data)
    return merged


def load_config(config_class: type[ConfigT], path: str | os.PathLike, **overrides: Any) -> ConfigT:
    """Read a YAML config into a dataclass; unknown keys are an error, ``overrides``
    (not None) win. A ``base: other.yaml`` key (relative to the file) starts from that
    file's keys."""
    data = read_config_mapping(Path(path))
    known = {f.name for f in dataclasses.fields(config_class)}
    unknown = set(data) - known
    if unknown:
        raise ValueError(f"{path}: unknown config keys {', '.join(sorted(unknown))}")
    data.update({k: v for k, v in overrides.items() if v is not None})
    return config_class(**data)
