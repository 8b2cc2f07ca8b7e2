"""Class sets: CamVid's names and palette, colour lookup, the flat-palette constructor."""

from __future__ import annotations

import numpy as np
import pytest

from seg_perception.classes import CAMVID, IGNORE_INDEX, ClassSet


def test_camvid_has_eleven_classes() -> None:
    assert CAMVID.num_classes == 11
    assert len(CAMVID.colors) == 11
    assert CAMVID.names[0] == "Sky"
    assert CAMVID.names[-1] == "Bicyclist"
    assert len(set(CAMVID.names)) == 11
    assert len(set(CAMVID.colors)) == 11  # every class is distinguishable in the overlay
    assert IGNORE_INDEX == 255


def test_lookup_table() -> None:
    table = CAMVID.lookup_table()
    assert table.shape == (256, 3)
    assert table.dtype == np.uint8
    np.testing.assert_array_equal(table[:11], np.array(CAMVID.colors, dtype=np.uint8))
    assert not table[11:].any()


def test_colorize_maps_ids_to_palette_and_unknown_to_black() -> None:
    labels = np.array([[0, 3, 10], [11, 200, IGNORE_INDEX]], dtype=np.uint8)
    rgb = CAMVID.colorize(labels)
    assert rgb.shape == (2, 3, 3)
    assert rgb.dtype == np.uint8
    assert tuple(rgb[0, 0]) == (128, 128, 128)  # Sky
    assert tuple(rgb[0, 1]) == (128, 64, 128)  # Road
    assert tuple(rgb[0, 2]) == (0, 128, 192)  # Bicyclist
    assert not rgb[1].any()  # ids >= num_classes (and the ignore index) are black


def test_from_flat() -> None:
    classes = ClassSet.from_flat(["a", "b"], [1, 2, 3, 4, 5, 6])
    assert classes.names == ("a", "b")
    assert classes.colors == ((1, 2, 3), (4, 5, 6))
    flat = [v for color in CAMVID.colors for v in color]
    assert ClassSet.from_flat(list(CAMVID.names), flat) == CAMVID


@pytest.mark.parametrize("flat", [[1, 2, 3, 4, 5], [1, 2, 3, 4, 5, 6, 7], []])
def test_from_flat_rejects_wrong_palette_length(flat: list[int]) -> None:
    with pytest.raises(ValueError, match=f"palette has {len(flat)} values; 2 classes need 6"):
        ClassSet.from_flat(["a", "b"], flat)


@pytest.mark.parametrize("bad", [-1, 256, 1000])
def test_from_flat_rejects_values_outside_0_255(bad: int) -> None:
    with pytest.raises(ValueError, match=r"0\.\.255"):
        ClassSet.from_flat(["a", "b"], [0, 0, 0, 10, bad, 10])


def test_from_flat_rejects_no_classes() -> None:
    with pytest.raises(ValueError, match="at least one class"):
        ClassSet.from_flat([], [])


def test_names_and_colors_must_match() -> None:
    with pytest.raises(ValueError, match="2 class names but 1 palette colours"):
        ClassSet(("a", "b"), ((0, 0, 0),))


def test_at_most_255_classes() -> None:
    with pytest.raises(ValueError, match="255"):
        ClassSet(tuple(str(i) for i in range(256)), ((0, 0, 0),) * 256)


def test_ids_of_names_in_order_and_rejects_unknown() -> None:
    assert CAMVID.ids_of(["Bicyclist", "Car"]) == [10, 8]
    with pytest.raises(ValueError, match=r"\['Truck'\] are not among"):
        CAMVID.ids_of(["Car", "Truck"])
