"""Instance masks: connected-component derivation, the id encoding, detections JSON,
COCO AP on hand cases, and Mask R-CNN building, training a step and inferring on CPU."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from seg_perception.classes import CAMVID
from seg_perception.instances import (
    Instance,
    assign_instance_ids,
    decode_instance_ids,
    encode_instance_ids,
    instances_from_labels,
)
from seg_perception.instances.coco_eval import mask_ap
from seg_perception.instances.dataset import instance_targets
from seg_perception.instances.detections import detections_document
from seg_perception.instances.maskrcnn import (
    build_maskrcnn,
    detect_instances,
    load_encoder_into_backbone,
)
from seg_perception.instances.render import instance_overlay

CAR, PEDESTRIAN, ROAD = 8, 9, 3


def _two_cars_and_a_pedestrian() -> np.ndarray:
    labels = np.full((60, 80), ROAD, dtype=np.uint8)
    labels[10:20, 5:25] = CAR  # 200 px
    labels[30:40, 40:70] = CAR  # 300 px
    labels[45:55, 10:14] = PEDESTRIAN  # 40 px
    labels[2:4, 70:72] = CAR  # 4 px: noise below min_area
    return labels


def test_components_split_each_thing_class_and_drop_small_ones():
    found = instances_from_labels(_two_cars_and_a_pedestrian(), [CAR, PEDESTRIAN], min_area=10)
    assert [(i.class_id, i.area) for i in found] == [(CAR, 300), (CAR, 200), (PEDESTRIAN, 40)]
    assert found[0].bbox == (40, 30, 30, 10)
    assert all(i.score == 1.0 for i in found)


def test_touching_objects_of_a_class_merge_diagonal_only_with_8_connectivity():
    labels = np.zeros((10, 10), dtype=np.uint8)
    labels[0:3, 0:3] = CAR
    labels[3:6, 3:6] = CAR  # touches the first at one corner
    assert len(instances_from_labels(labels, [CAR], min_area=1, connectivity=8)) == 1
    assert len(instances_from_labels(labels, [CAR], min_area=1, connectivity=4)) == 2


def test_component_score_is_mean_confidence():
    labels = _two_cars_and_a_pedestrian()
    confidence = np.full(labels.shape, 0.5, dtype=np.float32)
    confidence[10:20, 5:25] = 0.9
    found = instances_from_labels(labels, [CAR], min_area=10, confidence=confidence)
    assert [round(i.score, 3) for i in found] == [0.5, 0.9]


def test_ids_round_trip_per_class_numbering():
    found = instances_from_labels(_two_cars_and_a_pedestrian(), [CAR, PEDESTRIAN], min_area=10)
    ids = assign_instance_ids(found)
    assert ids == [8001, 8002, 9001]
    image = encode_instance_ids(found, (60, 80), ids)
    assert image.dtype == np.uint16
    decoded = decode_instance_ids(image)
    assert [(v, c) for v, c, _ in decoded] == [(8001, CAR), (8002, CAR), (9001, PEDESTRIAN)]
    for (_, _, mask), inst in zip(decoded, found, strict=True):
        assert np.array_equal(mask, inst.mask)
    assert (image == 0).sum() == 60 * 80 - 540


def test_overlapping_masks_go_to_the_higher_score():
    a = np.zeros((8, 8), bool)
    a[0:6, 0:6] = True
    b = np.zeros((8, 8), bool)
    b[3:8, 3:8] = True
    found = [Instance(b, CAR, 0.9), Instance(a, CAR, 0.4)]
    image = encode_instance_ids(found, (8, 8))
    assert image[4, 4] == 8001  # b: the first (best) instance
    assert image[0, 0] == 8002


def test_detections_document_matches_ids():
    found = instances_from_labels(_two_cars_and_a_pedestrian(), [CAR, PEDESTRIAN], min_area=10)
    ids = assign_instance_ids(found)
    doc = detections_document((12, 34), "cam", "fast", (60, 80), found, ids, CAMVID.names)
    assert json.loads(json.dumps(doc)) == doc
    assert doc["stamp"] == {"sec": 12, "nanosec": 34} and doc["frame_id"] == "cam"
    first = doc["instances"][0]
    assert first == {
        "id": 8001,
        "class_id": 8,
        "class_name": "Car",
        "score": 1.0,
        "bbox": [40, 30, 30, 10],
        "area": 300,
    }


def test_overlay_colours_instances_and_leaves_background():
    found = instances_from_labels(_two_cars_and_a_pedestrian(), [CAR], min_area=10)
    rgb = np.full((60, 80, 3), 100, np.uint8)
    out = instance_overlay(rgb, found, assign_instance_ids(found))
    assert np.array_equal(out[0:8, 0:4], rgb[0:8, 0:4])
    assert not np.array_equal(out[32:38, 45:65], rgb[32:38, 45:65])
    assert not np.array_equal(out[34, 45], out[14, 10])  # two instances, two colours


def test_mask_ap_perfect_and_missed():
    found = instances_from_labels(_two_cars_and_a_pedestrian(), [CAR, PEDESTRIAN], min_area=10)
    perfect = mask_ap([found], [found], (60, 80), [CAR, PEDESTRIAN], ["Car", "Pedestrian"])
    assert perfect["Car"]["AP"] == pytest.approx(100.0)
    assert perfect["mean"]["AP50"] == pytest.approx(100.0)
    cars_only = [i for i in found if i.class_id == CAR]
    partial = mask_ap([found], [cars_only], (60, 80), [CAR, PEDESTRIAN], ["Car", "Pedestrian"])
    assert partial["Pedestrian"]["AP"] == 0.0
    assert partial["mean"]["AP"] == pytest.approx(50.0)


def test_targets_follow_torchvision_layout():
    found = instances_from_labels(_two_cars_and_a_pedestrian(), [CAR, PEDESTRIAN], min_area=10)
    targets = instance_targets(found, [CAR, PEDESTRIAN], (60, 80))
    assert targets["boxes"].tolist()[0] == [40.0, 30.0, 70.0, 40.0]
    assert targets["labels"].tolist() == [1, 1, 2]
    assert targets["masks"].shape == (3, 60, 80)
    empty = instance_targets([], [CAR], (60, 80))
    assert empty["boxes"].shape == (0, 4) and empty["masks"].shape == (0, 60, 80)


@pytest.mark.usefixtures("torch_one_thread")
def test_maskrcnn_trains_a_step_and_infers_on_cpu():
    torch.manual_seed(0)
    model = build_maskrcnn(2, fpn_channels=32, min_size=96, max_size=128, test_size=96)
    labels = np.zeros((96, 128), np.uint8)
    labels[20:60, 10:50] = CAR
    labels[30:80, 80:100] = PEDESTRIAN
    found = instances_from_labels(labels, [CAR, PEDESTRIAN], min_area=10)
    target = instance_targets(found, [CAR, PEDESTRIAN], labels.shape)
    image = torch.rand(3, 96, 128)
    model.train()
    losses = model([image], [target])
    assert set(losses) == {
        "loss_classifier",
        "loss_box_reg",
        "loss_mask",
        "loss_objectness",
        "loss_rpn_box_reg",
    }
    total = sum(losses.values())
    total.backward()
    assert all(torch.isfinite(v) for v in losses.values())
    assert model.roi_heads.mask_predictor.mask_fcn_logits.weight.grad.abs().sum() > 0
    model.eval()
    rgb = (np.random.default_rng(0).random((96, 128, 3)) * 255).astype(np.uint8)
    detected = detect_instances(model, rgb, [CAR, PEDESTRIAN], score_threshold=0.0)
    for inst in detected:
        assert inst.mask.shape == (96, 128) and inst.class_id in (CAR, PEDESTRIAN)
    assert [i.score for i in detected] == sorted((i.score for i in detected), reverse=True)


def test_backbone_takes_the_segmentation_encoder():
    from seg_perception.checkpoint import MOBILENET_CHECKPOINT, load_checkpoint

    model = build_maskrcnn(3)
    state = load_checkpoint(MOBILENET_CHECKPOINT)["state_dict"]
    assert load_encoder_into_backbone(model, state) == len(model.backbone.body.state_dict())
    copied = model.backbone.body.state_dict()["0.0.weight"]
    assert torch.equal(copied, state["encoder.body.0.0.weight"].float())


def test_bag_eval_writes_the_instance_topics(tmp_path):
    from pathlib import Path

    import seg_perception
    from seg_perception.bags.bag_eval import evaluate_bag
    from seg_perception.bags.bag_reader import BagReader
    from seg_perception.bags.bag_writer import BagWriter
    from seg_perception.bags.image_messages import IMAGE_TYPE, Stamp
    from seg_perception.data.camvid import read_rgb
    from seg_perception.image_codec import encode_raw
    from seg_perception.inference.segmentation_pipeline import SegmentationPipeline
    from seg_perception.instances.segmenter import InstanceSegmenter
    from seg_perception.stages.frame_pipeline import FramePipeline
    from seg_perception.stages.instances import InstanceOutputsStage

    frame = Path(seg_perception.__file__).parent / "samples/camvid/images/Seq05VD_f00000.jpg"
    source, out = tmp_path / "in.mcap", tmp_path / "out.mcap"
    with BagWriter(source) as bag:
        bag.add_topic("/cam", IMAGE_TYPE)
        message = bag.image(Stamp(5, 0), "cam", encode_raw(read_rgb(frame), "rgb8"))
        bag.write("/cam", 5_000_000_000, message)
    pipeline = SegmentationPipeline.from_checkpoint(None, CAMVID, device="cpu")
    with BagReader(source) as bag:
        frames = FramePipeline(
            pipeline, [InstanceOutputsStage(InstanceSegmenter("fast", CAMVID, device="cpu"))]
        )
        report = evaluate_bag(bag, frames, "/cam", out=out, progress=False)
    assert report["instance_mode"] == "fast" and report["instances"] >= 2
    latency = {stage: report["latency_ms"][stage]["mean"] for stage in ("instances", "total")}
    assert latency["total"] > latency["instances"] + report["latency_ms"]["inference"]["mean"]
    with BagReader(out) as bag:
        topics = bag.topics()
        assert topics["/segmentation_node/instances/ids"] == ("sensor_msgs/msg/Image", 1)
        assert topics["/segmentation_node/instances/detections"] == ("std_msgs/msg/String", 1)
        (message,) = bag.messages(["/segmentation_node/instances/detections"])
        doc = json.loads(bag.deserialize(message).data)
    assert doc["stamp"] == {"sec": 5, "nanosec": 0}
    assert [d["id"] for d in doc["instances"] if d["class_id"] == CAR] == [8001, 8002]


def test_train_instances_checkpoints_and_resumes(tmp_path):
    import os
    from pathlib import Path

    from seg_perception.checkpoint import load_checkpoint
    from seg_perception.instances.maskrcnn import load_instance_model
    from seg_perception.training.instance_config import InstanceTrainConfig
    from seg_perception.training.train_instances import train_instances

    data_root = Path(os.environ.get("SEG_PERCEPTION_DATA", "/nonexistent"))
    if not (data_root / "camvid").is_dir():
        pytest.skip("SEG_PERCEPTION_DATA does not hold camvid/")

    def config(epochs: int) -> InstanceTrainConfig:
        return InstanceTrainConfig(
            epochs=epochs,
            train_limit=2,
            threads=1,
            out_dir=str(tmp_path),
            model_kwargs={"fpn_channels": 32, "min_size": 180, "max_size": 320, "test_size": 180},
        )

    train_instances(config(1), data_root, device="cpu")
    final = train_instances(config(2), data_root, resume=True, device="cpu")
    rows = (tmp_path / "log.csv").read_text().splitlines()
    assert [row.split(",")[0] for row in rows[1:]] == ["0", "1"]
    assert "loss_mask" in rows[0]
    assert load_checkpoint(tmp_path / "last.pt")["epoch"] == 1
    model, payload = load_instance_model(final)
    assert payload["thing_classes"] == ["Car", "Pedestrian", "Bicyclist"]
    assert model.roi_heads.mask_predictor is not None
