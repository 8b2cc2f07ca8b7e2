"""Small synthetic datasets on disk in each mask format a dataset spec reads (index,
color, cvat, cityscapes), with the training ids each mask should decode to."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from PIL import Image as PILImage

from seg_perception.data.cvat_labelmap import labelmap_text

SIZE = (64, 48)  # (width, height) of every frame
CLASSES = [("ground", (128, 64, 128)), ("car", (0, 0, 142)), ("cone", (255, 128, 0))]


def class_ids(index: int) -> np.ndarray:
    """(H, W) ids 0..2 of frame ``index``: ground below, a car box, a cone box whose
    place depends on the index, and a 255 (ignored) stripe on top."""
    width, height = SIZE
    ids = np.zeros((height, width), np.uint8)
    ids[10:30, 5 + index : 25 + index] = 1
    ids[30:44, 40 : 50 + index % 5] = 2
    ids[:4] = 255
    return ids


def frame_rgb(ids: np.ndarray, seed: int) -> np.ndarray:
    """A frame whose colours follow its classes (with noise), so a model can learn them."""
    palette = np.asarray([c for _, c in CLASSES] + [(30, 30, 30)] * 253, np.int16)
    noise = np.random.default_rng(seed).integers(-20, 21, (*ids.shape, 3))
    return np.clip(palette[ids] + noise, 0, 255).astype(np.uint8)


def write_rgb(path: Path, rgb: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))


def write_gray(path: Path, ids: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    PILImage.fromarray(ids, mode="L").save(path)


def colour_mask(ids: np.ndarray, ignore_colour=(0, 0, 0)) -> np.ndarray:
    table = np.asarray([c for _, c in CLASSES] + [ignore_colour] * 253, np.uint8)
    return table[ids]


def classes_yaml(with_ids: int | None = None) -> str:
    lines = []
    for index, (name, (r, g, b)) in enumerate(CLASSES):
        class_id = f", id: {index + with_ids}" if with_ids is not None else ""
        lines.append(f"  - {{name: {name}, color: [{r}, {g}, {b}]{class_id}}}")
    return "classes:\n" + "\n".join(lines) + "\n"


def index_dataset(root: Path, frames: int = 6, val: int = 2) -> Path:
    """``images/{train,val}/*.jpg`` and ``labels/{split}/{stem}.png`` holding ids 10..12
    (ignore 255 kept); returns the spec path."""
    for index in range(frames):
        split = "val" if index >= frames - val else "train"
        ids = class_ids(index)
        write_rgb(root / "images" / split / f"f{index:03d}.jpg", frame_rgb(ids, index))
        stored = np.where(ids == 255, 255, ids + 10).astype(np.uint8)
        write_gray(root / "labels" / split / f"f{index:03d}.png", stored)
    spec = root / "spec.yaml"
    spec.write_text(
        "root: .\nformat: index\n"
        + classes_yaml(with_ids=10)
        + "splits:\n"
        + "".join(
            f"  {s}: {{images: 'images/{s}/*.jpg', masks: 'labels/{s}/{{stem}}.png'}}\n"
            for s in ("train", "val")
        )
    )
    return spec


def color_dataset(root: Path, frames: int = 6) -> Path:
    """RGB colour masks beside PNG frames, listed in one file per split as ``image mask``
    lines; black is ignored."""
    for split, indices in (("train", range(frames - 2)), ("val", range(frames - 2, frames))):
        lines = []
        for index in indices:
            ids = class_ids(index)
            write_rgb(root / "frames" / f"{index}.png", frame_rgb(ids, index))
            write_rgb(root / "masks" / f"{index}_mask.png", colour_mask(ids))
            lines.append(f"frames/{index}.png masks/{index}_mask.png")
        (root / f"{split}.txt").write_text("\n".join(lines) + "\n")
    spec = root / "spec.yaml"
    spec.write_text(
        "root: .\nformat: color\n"
        + classes_yaml()
        + "ignore: [[0, 0, 0]]\nsplits:\n  train: {list: train.txt}\n  val: {list: val.txt}\n"
    )
    return spec


def cvat_export(
    root: Path, frames: int = 6, subsets: tuple[str, str] = ("train", "val"), folder: str = ""
) -> Path:
    """CVAT's "Segmentation mask 1.1" export with images: ``labelmap.txt`` (background
    first, as CVAT writes it), ``JPEGImages/``, ``SegmentationClass/`` and
    ``ImageSets/Segmentation/<subset>.txt`` (a project's export names them ``Train`` and
    ``Validation``; frames of a task made from a folder keep it: ``folder/frame``); the
    spec names only root and format."""
    labels = [("background", (0, 0, 0)), *CLASSES]
    (root / "labelmap.txt").parent.mkdir(parents=True, exist_ok=True)
    (root / "labelmap.txt").write_text(labelmap_text(labels))
    lists: dict[str, list[str]] = {subset: [] for subset in subsets}
    for index in range(frames):
        ids = class_ids(index)  # its 255 stripe: black, CVAT's background
        stem = f"{folder}/frame_{index:06d}" if folder else f"frame_{index:06d}"
        write_rgb(root / "JPEGImages" / f"{stem}.jpg", frame_rgb(ids, index))
        write_rgb(root / "SegmentationClass" / f"{stem}.png", colour_mask(ids))
        lists[subsets[1] if index >= frames - 2 else subsets[0]].append(stem)
    for subset, stems in lists.items():
        path = root / "ImageSets" / "Segmentation" / f"{subset}.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(stems) + "\n")
    spec = root / "spec.yaml"
    spec.write_text("root: .\nformat: cvat\n")
    return spec


# labelIds of the three classes in Cityscapes' table: road 7, car 26, traffic sign 20
CITYSCAPES_IDS = np.array([7, 26, 20], np.uint8)


def cityscapes_tree(root: Path) -> Path:
    """``leftImg8bit/{train,val}/<city>/*_leftImg8bit.png`` and ``gtFine/.../*_labelIds.png``
    (0, "unlabeled", where the ids are 255)."""
    for split, cities in (("train", ("aachen", "bochum")), ("val", ("frankfurt",))):
        for city_index, city in enumerate(cities):
            for index in range(2):
                ids = class_ids(city_index * 2 + index)
                name = f"{city}_{index:06d}_000019"
                write_rgb(
                    root / "leftImg8bit" / split / city / f"{name}_leftImg8bit.png",
                    frame_rgb(ids, index),
                )
                label_ids = np.where(ids == 255, 0, CITYSCAPES_IDS[np.minimum(ids, 2)])
                write_gray(
                    root / "gtFine" / split / city / f"{name}_gtFine_labelIds.png",
                    label_ids.astype(np.uint8),
                )
    spec = root / "spec.yaml"
    spec.write_text("root: .\nformat: cityscapes\n")
    return spec
