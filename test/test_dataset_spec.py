"""Dataset specs: each mask format on a synthetic dataset written here, class remaps,
one-line errors for malformed specs, and CamVid through its spec equal to the built-in
loader (frames, labels, val mIoU; needs the data root)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from dataset_builders import (
    CLASSES,
    cityscapes_tree,
    class_ids,
    color_dataset,
    cvat_export,
    index_dataset,
    write_gray,
)
from PIL import Image as PILImage

from seg_perception.data import (
    CamVidData,
    DatasetSpecError,
    EvalTransform,
    SegmentationFrames,
    SpecData,
    load_dataset_spec,
)
from seg_perception.data.cityscapes_labels import CITYSCAPES
from seg_perception.data.mask_decoding import MaskDecoder, MaskError

REPO = Path(__file__).resolve().parents[1]
NAMES = tuple(name for name, _ in CLASSES)


def _labels(spec_path: Path, split: str = "train") -> SegmentationFrames:
    return SegmentationFrames(SpecData(load_dataset_spec(spec_path)), split, EvalTransform())


def test_index_masks_map_their_ids_to_training_ids(tmp_path: Path) -> None:
    frames = _labels(index_dataset(tmp_path))
    assert frames.classes.names == NAMES
    assert frames.stems == ["f000", "f001", "f002", "f003"]
    for index, label in enumerate(frames.labels):
        np.testing.assert_array_equal(label, class_ids(index))
    assert len(_labels(tmp_path / "spec.yaml", "val")) == 2


def test_colour_masks_from_image_mask_list_lines(tmp_path: Path) -> None:
    frames = _labels(color_dataset(tmp_path))
    assert frames.classes.colors == tuple(c for _, c in CLASSES)
    assert [p.name for p in frames.image_paths] == ["0.png", "1.png", "2.png", "3.png"]
    for index, label in enumerate(frames.labels):
        np.testing.assert_array_equal(label, class_ids(index))  # black: ignored


def test_cvat_export_reads_classes_and_subsets_from_the_export(tmp_path: Path) -> None:
    spec = load_dataset_spec(cvat_export(tmp_path))
    assert spec.classes.names == ("background", *NAMES)
    assert set(spec.splits) == {"train", "val"}
    frames = SegmentationFrames(SpecData(spec), "train", EvalTransform())
    assert frames.stems == [f"frame_{i:06d}" for i in range(4)]
    for index, label in enumerate(frames.labels):
        ids = class_ids(index)
        np.testing.assert_array_equal(label, np.where(ids == 255, 0, ids + 1))


def test_a_cvat_project_export_with_train_validation_subsets_and_folders(tmp_path: Path) -> None:
    """A project's export names its subset lists Train and Validation; a task made from
    a folder keeps it in the frame ids (``seq [1]/frame_000000``, glob characters too)."""
    spec = load_dataset_spec(
        cvat_export(tmp_path, subsets=("Train", "Validation"), folder="seq [1]")
    )
    assert set(spec.splits) == {"train", "val"}
    data = SpecData(spec)
    frames = data.files("train")
    assert [stem for stem, _, _ in frames] == [f"seq [1]/frame_{i:06d}" for i in range(4)]
    assert all(image.is_file() and mask.is_file() for _, image, mask in frames)
    np.testing.assert_array_equal(
        data.read_label(frames[1][2]), np.where(class_ids(1) == 255, 0, class_ids(1) + 1)
    )


def test_cityscapes_label_ids_become_the_19_train_ids(tmp_path: Path) -> None:
    spec = load_dataset_spec(cityscapes_tree(tmp_path))
    assert spec.classes == CITYSCAPES and len(spec.classes.names) == 19
    frames = SegmentationFrames(SpecData(spec), "train", EvalTransform())
    assert frames.stems == [
        "aachen_000000_000019",
        "aachen_000001_000019",
        "bochum_000000_000019",
        "bochum_000001_000019",
    ]
    train_ids = np.array([0, 13, 7], np.uint8)  # road, car, traffic sign
    ids = class_ids(0)
    expected = np.where(ids == 255, 255, train_ids[np.minimum(ids, 2)])
    np.testing.assert_array_equal(frames.labels[0], expected)
    assert [CITYSCAPES.names[i] for i in (0, 13, 7)] == ["road", "car", "traffic sign"]


def test_a_remap_merges_and_drops_classes(tmp_path: Path) -> None:
    spec_path = index_dataset(tmp_path)
    spec_path.write_text(
        spec_path.read_text()
        + "remap: {car: vehicle, cone: vehicle, ground: ignore}\n"
        + "remap_colors: {vehicle: [1, 2, 3]}\n"
    )
    frames = _labels(spec_path)
    assert frames.classes.names == ("vehicle",) and frames.classes.colors == ((1, 2, 3),)
    ids = class_ids(0)
    expected = np.where((ids == 1) | (ids == 2), 0, 255)
    np.testing.assert_array_equal(frames.labels[0], expected)


def test_a_spec_can_start_from_a_base_spec(tmp_path: Path) -> None:
    index_dataset(tmp_path)
    derived = tmp_path / "coarse.yaml"
    derived.write_text("base: spec.yaml\nname: coarse\nremap: {cone: car}\n")
    spec = load_dataset_spec(derived)
    assert spec.name == "coarse" and spec.classes.names == ("ground", "car")
    assert spec.classes.colors[1] == (0, 0, 142)  # car keeps its own colour


def test_split_ranges_slice_one_list_into_train_and_val(tmp_path: Path) -> None:
    index_dataset(tmp_path, frames=10, val=0)
    spec_path = tmp_path / "split.yaml"
    spec_path.write_text(
        "root: .\n"
        + (tmp_path / "spec.yaml").read_text().split("root: .\n")[1].split("splits:")[0]
        + "splits:\n"
        + "  train: {images: 'images/train/*.jpg', masks: 'labels/train/{stem}.png', "
        + "range: [0, 0.8]}\n"
        + "  val: {images: 'images/train/*.jpg', masks: 'labels/train/{stem}.png', "
        + "range: [0.8, 1]}\n"
    )
    data = SpecData(load_dataset_spec(spec_path))
    assert [s for s, _, _ in data.files("train")] == [f"f{i:03d}" for i in range(8)]
    assert [s for s, _, _ in data.files("val")] == ["f008", "f009"]


def test_palette_index_masks_are_read_as_their_indices(tmp_path: Path) -> None:
    spec_path = index_dataset(tmp_path)
    mask = tmp_path / "labels" / "train" / "f000.png"
    ids = np.asarray(PILImage.open(mask))
    paletted = PILImage.fromarray(ids, mode="L").convert("P")
    paletted.putpalette([v for i in range(256) for v in (i, 255 - i, 7)])
    paletted.save(mask)
    decoder = MaskDecoder(load_dataset_spec(spec_path))
    np.testing.assert_array_equal(decoder.read(mask), class_ids(0))


def test_an_unknown_mask_id_is_refused_naming_the_file(tmp_path: Path) -> None:
    spec_path = index_dataset(tmp_path)
    mask = tmp_path / "labels" / "train" / "f001.png"
    ids = np.asarray(PILImage.open(mask)).copy()
    ids[0, 0] = 42
    write_gray(mask, ids)
    with pytest.raises(MaskError, match=r"f001.png: ids not in the class list: 42"):
        _labels(spec_path)


def test_data_root_fills_the_root_variable(tmp_path: Path, monkeypatch) -> None:
    index_dataset(tmp_path / "data" / "mine")
    spec_path = tmp_path / "mine.yaml"
    body = (tmp_path / "data" / "mine" / "spec.yaml").read_text().replace("root: .", "")
    spec_path.write_text("root: ${SEG_PERCEPTION_DATA}/mine\n" + body)
    monkeypatch.delenv("SEG_PERCEPTION_DATA", raising=False)
    with pytest.raises(DatasetSpecError, match=r"root: .*SEG_PERCEPTION_DATA.* is not set"):
        load_dataset_spec(spec_path)
    spec = load_dataset_spec(spec_path, data_root=str(tmp_path / "data"))
    assert spec.root == tmp_path / "data" / "mine"


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda t: t + "colour: [1, 2, 3]\n", r"spec.yaml: colour: unknown key"),
        (lambda t: t.replace("root: .", "root: ./nowhere"), r"root: folder .*nowhere not found"),
        (lambda t: t.replace("root: .\n", ""), r"root: missing"),
        (lambda t: t.replace("[0, 0, 142]", "[0, 0, 300]"), r"classes\[1\]\.color: .*not an RGB"),
        (lambda t: t.replace("name: car", "name: ground"), r"classes\[1\]\.name: duplicate"),
        (lambda t: t.replace("id: 11", "id: 10"), r"classes\[1\]\.id: id 10 is also 'ground'"),
        (lambda t: t.replace("format: index", "format: voc"), r"format: 'voc' is not one of"),
        (lambda t: t.replace("masks:", "maskz:"), r"splits\.train\.maskz: unknown key"),
        (lambda t: t.replace("{stem}.png", "{name}.png"), r"masks: unknown placeholder"),
        (lambda t: t + "remap: {truck: car}\n", r"remap\.truck: not a class"),
        (lambda t: t + "remap: {cone: Car}\n", r"remap\.cone: 'Car': the class is spelt 'car'"),
        (lambda t: t.replace("id: 11", "id: 255"), r"classes\[1\]\.id: 255 is not a mask id"),
        (lambda t: t + "root: [unclosed\n", r"not valid YAML"),
    ],
)
def test_a_malformed_spec_is_one_line_naming_the_key(tmp_path: Path, edit, message) -> None:
    spec_path = index_dataset(tmp_path)
    spec_path.write_text(edit(spec_path.read_text()))
    with pytest.raises(DatasetSpecError, match=message) as caught:
        load_dataset_spec(spec_path)
    assert "\n" not in str(caught.value)


def test_shipped_specs_parse(tmp_path: Path) -> None:
    """config/datasets: CamVid, its coarse remap, and the Cityscapes and CVAT examples
    (their roots pointed at synthetic trees)."""
    root = tmp_path / "data"
    (root / "camvid").mkdir(parents=True)
    coarse = load_dataset_spec(REPO / "config/datasets/camvid_coarse.yaml", str(root))
    assert coarse.classes.names == ("structure", "ground", "vegetation", "vehicle", "person")
    camvid = load_dataset_spec(REPO / "config/datasets/camvid.yaml", str(root))
    assert camvid.classes == CamVidData(root).classes
    cityscapes_tree(root / "cityscapes")
    spec = load_dataset_spec(REPO / "config/datasets/cityscapes.yaml", str(root))
    assert spec.classes == CITYSCAPES and set(spec.splits) == {"train", "val"}
    cvat_export(root / "cvat_export")
    spec = load_dataset_spec(REPO / "config/datasets/cvat_example.yaml", str(root))
    assert spec.classes.names[0] == "background"


def _camvid_root() -> Path:
    root = os.environ.get("SEG_PERCEPTION_DATA")
    if not root or not (Path(root) / "camvid").is_dir():
        pytest.skip("CamVid not found: set SEG_PERCEPTION_DATA to the folder holding camvid/")
    return Path(root)


@pytest.mark.slow
def test_camvid_through_its_spec_equals_the_built_in_loader() -> None:
    """Same frames, labels and val mIoU (to 1e-4) as the built-in CamVid loader."""
    from seg_perception.checkpoint import DEFAULT_CHECKPOINT, load_model
    from seg_perception.evaluation.segmentation_eval import evaluate_split
    from seg_perception.inference.segmentation_pipeline import SegmentationPipeline

    root = _camvid_root()
    built_in = CamVidData(root)
    through_spec = SpecData(load_dataset_spec(REPO / "config/datasets/camvid.yaml", str(root)))
    assert through_spec.classes == built_in.classes
    for split in ("train", "val", "test"):
        assert through_spec.files(split) == built_in.files(split)
    spec_val = SegmentationFrames(through_spec, "val", EvalTransform())
    built_in_val = SegmentationFrames(built_in, "val", EvalTransform())
    for a, b in zip(spec_val.labels, built_in_val.labels, strict=True):
        np.testing.assert_array_equal(a, b)
    model, _ = load_model(DEFAULT_CHECKPOINT)
    pipeline = SegmentationPipeline(model, built_in.classes, (480, 360), "cpu")
    spec_miou = evaluate_split(pipeline, through_spec, "val")[0].mean_iou()
    built_in_miou = evaluate_split(pipeline, built_in, "val")[0].mean_iou()
    assert abs(spec_miou - built_in_miou) < 1e-4
    assert spec_miou > 0.5


def test_sixteen_bit_index_masks_with_large_ids(tmp_path: Path) -> None:
    spec_path = index_dataset(tmp_path)
    for mask in (tmp_path / "labels").rglob("*.png"):
        ids = np.asarray(PILImage.open(mask)).astype(np.uint16)
        ids[ids != 255] += 990  # 10..12 -> 1000..1002
        PILImage.fromarray(ids).save(mask)
    spec_path.write_text(spec_path.read_text().replace("id: 1", "id: 100"))  # 1000, 1001, 1002
    frames = _labels(spec_path)
    np.testing.assert_array_equal(frames.labels[0], class_ids(0))


def test_cvat_labelmap_colours_must_differ(tmp_path: Path) -> None:
    spec_path = cvat_export(tmp_path)
    labelmap = tmp_path / "labelmap.txt"
    labelmap.write_text(labelmap.read_text().replace("cone:255,128,0", "cone:0,0,142"))
    with pytest.raises(DatasetSpecError, match=r"classes: .*labelmap.txt: cone has car's colour"):
        load_dataset_spec(spec_path)


def test_cityscapes_refuses_an_ignore_list(tmp_path: Path) -> None:
    spec_path = cityscapes_tree(tmp_path)
    spec_path.write_text(spec_path.read_text() + "ignore: [7]\n")
    with pytest.raises(DatasetSpecError, match=r"ignore: cityscapes ignores its void labels"):
        load_dataset_spec(spec_path)
