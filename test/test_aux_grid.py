"""The auxiliary-loss grid: plan validation, balanced job order, the effect table from
score files, and one small grid trained and scored end to end (resumable)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import yaml

from seg_perception.cli import main as cli_main
from seg_perception.driving.demos import Demonstrations, save_demos
from seg_perception.driving.episode_stats import difference_of_means
from seg_perception.training.aux_grid import grid_jobs, load_grid_plan, run_grid
from seg_perception.training.aux_grid_report import write_grid_report

pytestmark = pytest.mark.usefixtures("torch_one_thread")

REPO = Path(__file__).resolve().parents[1]


def write_plan(folder: Path, **changes) -> Path:
    rng = np.random.default_rng(0)
    save_demos(
        folder / "d.npz",
        Demonstrations(
            rng.integers(0, 256, (6, 96, 96, 3), dtype=np.uint8),
            rng.random((6, 3), dtype=np.float32),
            rng.integers(0, 5, (6, 96, 96), dtype=np.uint8),
            np.array([1, 1, 2, 2, 3, 3]),
        ),
    )
    training = {
        "demos": [str(folder / "d.npz")],
        "epochs": 1,
        "batch_size": 2,
        "steps_per_epoch": 1,
        "out_dir": "unused",
        "threads": 1,
    }
    (folder / "train.yaml").write_text(yaml.safe_dump(training))
    plan = {
        "training": "train.yaml",
        "sizes": {"small": 1, "full": 3},
        "seeds": {"small": 3, "full": 2},
        "arms": {
            "off": {"seg_weight": 0.0},
            "on": {"seg_weight": 0.5},
            "heavy": {"seg_weight": 2.0},
        },
        "arm_sizes": {"heavy": ["small"]},
        "arm_seeds": {"heavy": 2},
        "tracks": "200-200",
        "conditions": ["clean"],
        **changes,
    }
    (folder / "plan.yaml").write_text(yaml.safe_dump(plan, sort_keys=False))
    return folder / "plan.yaml"


def test_jobs_are_seed_major_and_respect_arm_sizes_and_seeds(tmp_path: Path) -> None:
    plan = load_grid_plan(write_plan(tmp_path))
    jobs = [(j.arm, j.size, j.seed) for j in grid_jobs(plan)]
    assert jobs[:5] == [
        ("off", "small", 0),
        ("on", "small", 0),
        ("heavy", "small", 0),
        ("off", "full", 0),
        ("on", "full", 0),
    ]
    assert len(jobs) == 3 * 2 + 2 * 2 + 2 and ("off", "small", 2) in jobs
    assert not [j for j in jobs if j[0] == "heavy" and (j[1] == "full" or j[2] == 2)]
    assert next(grid_jobs(plan)).episodes == 1


def test_the_committed_plan_meets_the_issues_seed_minimums() -> None:
    plan = load_grid_plan(REPO / "config" / "driving" / "aux_grid.yaml")
    jobs = list(grid_jobs(plan))
    for arm in ("off", "on"):
        for size in plan.sizes:
            seeds = sum(j.arm == arm and j.size == size for j in jobs)
            assert seeds >= (10 if size == "small" else 5)


def test_the_pretrained_plan_changes_only_the_encoder() -> None:
    main = load_grid_plan(REPO / "config" / "driving" / "aux_grid.yaml")
    plan = load_grid_plan(REPO / "config" / "driving" / "aux_grid_pretrained.yaml")
    assert plan.training.model_kwargs == {
        **main.training.model_kwargs,
        "encoder": "efficientnet_lite0",
        "pretrained": True,
    }
    assert replace(plan.training, model_kwargs={}) == replace(main.training, model_kwargs={})
    assert plan.sizes == {"small": main.sizes["small"]}
    assert (plan.tracks, plan.conditions, plan.backend) == (
        main.tracks,
        main.conditions,
        main.backend,
    )
    jobs = list(grid_jobs(plan))
    assert {arm: sum(j.arm == arm for j in jobs) for arm in plan.arms} == {"off": 2, "on": 2}


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"seeds": {"small": 1}}, "seeds must name every size"),
        ({"arm_sizes": {"heavy": ["huge"]}}, "arm_sizes: unknown arm 'heavy' or sizes"),
        (
            {"arms": {"off": {"lambda": 1}}, "arm_sizes": {}, "arm_seeds": {}},
            "arm 'off': unknown training keys",
        ),
        ({"arm_seeds": {"big": 2}}, "arm_seeds: unknown arm 'big'"),
        ({"conditions": ["fog"]}, "unknown condition 'fog'"),
        ({"tracks": "5000"}, "--tracks must be heldout"),
        ({"extra": 1}, "unknown grid keys extra"),
    ],
)
def test_bad_plans_are_refused_in_one_line(
    tmp_path: Path, changes: dict, message: str, capsys
) -> None:
    plan = write_plan(tmp_path, **changes)
    assert cli_main(["aux-grid", "--plan", str(plan), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0]


def test_difference_of_means_on_a_hand_example() -> None:
    effect = difference_of_means([800.0, 800.0, 800.0], [850.0, 850.0])
    assert effect["mean_difference"] == 50.0 and effect["ci95_difference"] == [50.0, 50.0]
    effect = difference_of_means([700.0, 900.0], [800.0, 1000.0])
    assert effect["mean_difference"] == 100.0
    low, high = effect["ci95_difference"]
    assert low == pytest.approx(-100.0) and high == pytest.approx(300.0)
    with pytest.raises(ValueError, match="at least two values"):
        difference_of_means([1.0], [1.0, 2.0])


def test_report_tabulates_effects_from_score_files(tmp_path: Path) -> None:
    plan = load_grid_plan(write_plan(tmp_path))
    means = {"off": [800.0, 810.0, 820.0], "on": [830.0, 840.0, 850.0], "heavy": [700.0]}
    for job in grid_jobs(plan):
        if job.size == "small" and job.seed < len(means[job.arm]):
            folder = job.folder(tmp_path / "out")
            folder.mkdir(parents=True)
            score = {"condition": "clean", "mean_return": means[job.arm][job.seed]}
            (folder / "scores_clean.json").write_text(json.dumps(score))
    printed = write_grid_report(plan, tmp_path / "out", tmp_path / "effects.png")
    rows = (tmp_path / "out" / "effects.md").read_text().strip().splitlines()
    assert len(rows) == 3  # header, rule, on-small; heavy has one policy, full none
    assert "| on | small (1) | clean | 810.0 (3) | 840.0 (3) | **+30.0** |" in rows[2]
    arms = (tmp_path / "out" / "arms.md").read_text().strip().splitlines()
    assert arms[2] == "| small (1) | off | 3 | 810.0 +- 10.0 (800.0 to 820.0) |"
    assert arms[4] == "| small (1) | heavy | 1 | 700.0 +- 0.0 (700.0 to 700.0) |"
    assert len(arms) == 5 and printed.count("\n|") == 3 + 5 - 1
    assert (tmp_path / "out" / "effects.csv").read_text().count("\n") == 2
    assert (tmp_path / "effects.png").stat().st_size > 1000


@pytest.mark.slow
def test_a_small_grid_trains_scores_and_resumes(tmp_path: Path) -> None:
    plan_file = write_plan(
        tmp_path,
        sizes={"small": 1},
        seeds={"small": 1},
        arm_sizes={},
        arm_seeds={},
        arms={"off": {"seg_weight": 0.0}, "on": {"seg_weight": 0.5}},
    )
    plan = load_grid_plan(plan_file)
    out = tmp_path / "out"
    assert run_grid(plan, out, workers=1, max_jobs=1) == 1  # one of two policies done
    first = out / "off" / "small" / "seed0"
    scores = json.loads((first / "scores_clean.json").read_text())
    assert scores["episodes"] == 1 and scores["per_episode"][0]["seed"] == 200
    assert (first / "policy" / "final.pt").is_file()
    assert not (first / "policy" / "segmentation.pt").exists()  # lambda 0
    written = (first / "scores_clean.json").stat().st_mtime_ns
    assert run_grid(plan, out, workers=1) == 0  # only the second is new
    assert (first / "scores_clean.json").stat().st_mtime_ns == written
    assert (out / "on" / "small" / "seed0" / "policy" / "segmentation.pt").is_file()
