"""DAgger rounds end to end on a tiny budget: the policy drives, the expert labels,
the policy retrains on everything, and a rerun resumes instead of redriving."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from seg_perception.cli import main as cli_main
from seg_perception.driving.demos import Demonstrations, load_demos, save_demos
from seg_perception.training.dagger import DaggerPlan, run_dagger
from seg_perception.training.policy_config import PolicyTrainConfig
from seg_perception.training.train_policy import train_policy

pytestmark = pytest.mark.usefixtures("torch_one_thread")


def random_demos(path: Path) -> Path:
    rng = np.random.default_rng(0)
    save_demos(
        path,
        Demonstrations(
            rng.integers(0, 256, (8, 96, 96, 3), dtype=np.uint8),
            rng.random((8, 3), dtype=np.float32),
            rng.integers(0, 5, (8, 96, 96), dtype=np.uint8),
            np.zeros(8, dtype=np.int64),
        ),
    )
    return path


def test_plan_seeds_beta_and_errors() -> None:
    plan = DaggerPlan(rounds=3, episodes=4, first_seed=100, beta=0.5, decay=0.5)
    assert plan.seeds(1) == [104, 105, 106, 107]
    assert [plan.beta_of(r) for r in range(3)] == [0.5, 0.25, 0.125]
    with pytest.raises(ValueError, match="beta and decay must be in"):
        DaggerPlan(beta=1.5)
    with pytest.raises(ValueError, match="seed 5000 is a held-out evaluation track"):
        run_dagger(PolicyTrainConfig(), DaggerPlan(first_seed=4995), "none.pt", "out")


@pytest.mark.slow
def test_one_round_drives_labels_and_retrains(tmp_path: Path) -> None:
    config = PolicyTrainConfig(
        demos=[str(random_demos(tmp_path / "start.npz"))],
        frame_stride=40,
        epochs=1,
        batch_size=4,
        out_dir=str(tmp_path / "start"),
    )
    start = train_policy(config, device="cpu")
    plan = DaggerPlan(rounds=1, episodes=1, first_seed=200, beta=0.5, steer_noise=0.1)
    final = run_dagger(config, plan, start, tmp_path / "dagger")
    assert final == tmp_path / "dagger" / "round0" / "policy" / "final.pt" and final.is_file()
    gathered = tmp_path / "dagger" / "round0" / "demos.npz"
    demos = load_demos([gathered])
    assert set(demos.episodes.tolist()) == {200} and len(demos) > 100
    assert np.abs(demos.actions[:, 0]).max() <= 1.0 and demos.labels.max() < 5
    log = (final.parent / "log.csv").read_text().splitlines()
    assert len(log) == 2  # one epoch, on the start demos and the round's
    recorded = gathered.stat().st_mtime_ns
    assert run_dagger(config, plan, start, tmp_path / "dagger") == final  # resumed
    assert gathered.stat().st_mtime_ns == recorded


def test_dagger_cli_errors_are_one_line(tmp_path: Path, capsys) -> None:
    argv = ["dagger", "--config", "c.yaml", "--policy", str(tmp_path / "none.pt")]
    assert cli_main([*argv, "--out-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no policy checkpoint" in err[0]
