"""The node's parameters: defaults, validation, and agreement with config/segmentation.yaml."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
import yaml

from seg_perception.classes import CAMVID
from seg_perception.stages.segmentation_params import (
    PARAMETER_DOCS,
    ParameterError,
    SegmentationParams,
)

CONFIG = Path(__file__).resolve().parents[1] / "config" / "segmentation.yaml"


def test_defaults_validate() -> None:
    params = SegmentationParams()
    params.validate()
    assert params.classes() == CAMVID


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("model", "segformer"),
        ("device", "gpu"),
        ("device", "cudax"),
        ("input_width", 31),
        ("input_width", 4097),
        ("input_height", 0),
        ("input_transport", "theora"),
        ("qos_reliability", "system_default"),
        ("qos_depth", 0),
        ("qos_depth", 101),
        ("overlay_alpha", -0.1),
        ("overlay_alpha", 1.5),
        ("diagnostics_period", 0.0),
        ("diagnostics_period", 61.0),
        ("num_threads", -1),
        ("num_threads", 257),
        ("warn_throttle_sec", -1.0),
        ("flow_method", "lucas-kanade"),
        ("flow_preset", "slow"),
        ("flow_max_gap", 0.0),
        ("flow_max_gap", 61.0),
        ("instance_mode", "panoptic"),
        ("instance_min_area", 0),
        ("instance_score_threshold", 1.5),
    ],
)
def test_invalid_value_names_the_parameter(name: str, value: Any) -> None:
    params = dataclasses.replace(SegmentationParams(), **{name: value})
    with pytest.raises(ParameterError, match=rf"^{name} .*{value!r}"):
        params.validate()


@pytest.mark.parametrize("device", ["auto", "cpu", "cuda", "cuda:1"])
def test_valid_devices(device: str) -> None:
    SegmentationParams(device=device).validate()


def test_palette_length_must_fit_class_names() -> None:
    params = SegmentationParams(palette=SegmentationParams().palette[:-1])
    with pytest.raises(ParameterError, match=r"palette.*32 values; 11 classes need 33"):
        params.validate()


def test_palette_values_must_be_bytes() -> None:
    palette = SegmentationParams().palette
    palette[0] = 300
    with pytest.raises(ParameterError, match="palette"):
        SegmentationParams(palette=palette).validate()


def test_thing_classes_must_be_class_names() -> None:
    params = dataclasses.replace(SegmentationParams(), thing_classes=["Car", "Truck"])
    params.validate()  # instance_mode off: thing_classes unused
    params.instance_mode = "fast"
    with pytest.raises(ParameterError, match=r"thing_classes \['Truck'\]"):
        params.validate()


def test_parameter_error_is_a_value_error() -> None:
    assert issubclass(ParameterError, ValueError)


def test_defaults_equal_config_file() -> None:
    document = yaml.safe_load(CONFIG.read_text())
    values = document["/**"]["ros__parameters"]
    defaults = dataclasses.asdict(SegmentationParams())
    assert values == defaults


def test_every_parameter_is_documented() -> None:
    assert set(PARAMETER_DOCS) == set(SegmentationParams.names())
    assert all(doc.strip() for doc in PARAMETER_DOCS.values())


def test_reference_documents_every_parameter() -> None:
    reference = (CONFIG.parents[1] / "docs" / "reference.md").read_text()
    missing = [name for name in SegmentationParams.names() if f"| `{name}` |" not in reference]
    assert not missing, f"docs/reference.md's parameter table lacks {missing}"


@pytest.mark.parametrize(
    ("distro", "variable"),
    [("humble", "FASTRTPS_DEFAULT_PROFILES_FILE"), ("jazzy", "FASTRTPS_DEFAULT_PROFILES_FILE"),
     ("kilted", "FASTDDS_DEFAULT_PROFILES_FILE")],
)  # fmt: skip
def test_fast_dds_profile_variable_follows_the_distribution(
    monkeypatch: pytest.MonkeyPatch, distro: str, variable: str
) -> None:
    from seg_perception.nodes.ros_graph import profile_variable

    monkeypatch.setenv("ROS_DISTRO", distro)
    assert profile_variable() == variable
