"""Reading py-spy's collapsed stacks: innermost functions, threads, inclusive shares."""

from __future__ import annotations

from pathlib import Path

import pytest

from seg_perception.tools.profile_summary import (
    inclusive_shares,
    plot_shares,
    read_collapsed,
    self_shares,
    thread_shares,
    without_startup,
)

COLLAPSED = """\
process 12 "node";thread (0x1);main (node.py:3);spin (executor.py:9);take (executor.py:20) 30
process 12 "node";thread (0x1);main (node.py:3);spin (executor.py:9);take (executor.py:21) 10
process 12 "node";thread (0x2): worker;run (worker.py:5);infer (net.py:7) 50
process 12 "node";thread (0x2): worker;run (worker.py:5);publish (pub.py:2) 10
process 12 "node";thread (0x1);main (node.py:3);_find_and_load (<frozen importlib>) 25
process 12 "node";thread (0x1);main (node.py:3);Node.__init__ (seg_perception/nodes/n.py) 5
"""


@pytest.fixture
def stacks(tmp_path: Path):
    path = tmp_path / "profile.txt"
    path.write_text(COLLAPSED)
    everything = read_collapsed(path)
    assert sum(everything.values()) == 130
    return without_startup(everything)  # imports and the node's construction left out


def test_innermost_functions_merge_line_numbers(stacks) -> None:
    assert self_shares(stacks, top=2) == [("infer (net.py)", 0.5), ("take (executor.py)", 0.4)]


def test_threads_and_inclusive_shares(stacks) -> None:
    assert thread_shares(stacks) == [("worker", 0.6), ("main (node.py)", 0.4)]
    assert inclusive_shares(stacks, r"^spin ") == pytest.approx(0.4)
    assert inclusive_shares(stacks, r"nothing") == 0.0


def test_a_bad_line_is_named_and_the_chart_is_written(tmp_path: Path, stacks) -> None:
    bad = tmp_path / "bad.txt"
    bad.write_text("main (node.py:3) many\n")
    exiting = tmp_path / "exiting.txt"  # a line py-spy wrote while the node exited
    exiting.write_text(COLLAPSED + 'process 7:"";thread (7): MainThread;\n')
    assert sum(read_collapsed(exiting).values()) == 130
    with pytest.raises(ValueError, match=r"bad\.txt:1: not a collapsed stack line"):
        read_collapsed(bad)
    plot_shares(self_shares(stacks), "test", tmp_path / "chart.png")
    assert (tmp_path / "chart.png").read_bytes()[:4] == b"\x89PNG"
