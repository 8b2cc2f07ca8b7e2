"""The driving evaluation protocol: held-out tracks, test-time conditions, score
statistics, parallel episodes and ``drive-eval``'s options."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

from seg_perception.cli import main as cli_main
from seg_perception.driving.conditions import CONDITIONS, NOISE_STD, PULSE_AT, DriveCondition
from seg_perception.driving.episode_stats import (
    bootstrap_interval,
    interquartile_mean,
    paired_difference,
    score_summary,
)
from seg_perception.driving.sim import CarRacingSim
from seg_perception.driving.tracks import heldout_seeds, parse_tracks, refuse_heldout

pytestmark = pytest.mark.usefixtures("torch_one_thread")

STEER_GAS = np.array([0.1, 0.3, 0.0])
# every seed a demonstration, DAgger run or choice used (docs/results.md, "Driving
# policy"): demonstrations 0-39, DAgger and the expert's tuning 100-119, validation 200-219
TRAINING_SEEDS = set(range(0, 40)) | set(range(100, 140)) | set(range(200, 220))


def drive(condition: str, seed: int = 7, steps: int = 60) -> tuple[CarRacingSim, list]:
    sim = CarRacingSim(DriveCondition(condition))
    frames = [sim.reset(seed)]
    for _ in range(steps):
        frames.append(sim.step(STEER_GAS).frame)
    return sim, frames


@pytest.fixture(scope="module")
def clean():
    sim, frames = drive("clean")
    track = np.array(sim.unwrapped.track)
    sim.close()
    return track, frames


def test_heldout_tracks_are_fixed_and_never_trained_on(capsys) -> None:
    seeds = heldout_seeds()
    assert len(seeds) == len(set(seeds)) == 100
    assert not set(seeds) & TRAINING_SEEDS
    assert not set(seeds) & set(range(1000))  # demonstrations' range (record-demos help)
    assert seeds == tuple(range(seeds[0], seeds[0] + 100))  # the bridge drives them in order
    with pytest.raises(ValueError, match="seed 5000 is a held-out evaluation track"):
        refuse_heldout(range(4990, 5010), "demonstrations")
    refuse_heldout(sorted(TRAINING_SEEDS), "demonstrations")
    argv = ["record-demos", "--out", "x.npz", "--first-seed", "5090", "--episodes", "20"]
    assert cli_main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "seed 5090 is a held-out evaluation track" in err[0]


def test_track_choices() -> None:
    assert parse_tracks("heldout") == list(heldout_seeds())
    assert parse_tracks("heldout:3") == list(heldout_seeds())[:3]
    assert parse_tracks("1000-1002") == [1000, 1001, 1002]
    for bad in ("heldout:0", "heldout:101", "heldout:x", "5-3", "all"):
        with pytest.raises(ValueError, match="--tracks"):
            parse_tracks(bad)


def test_clean_changes_nothing(clean) -> None:
    _, frames = clean
    env = gym.make("CarRacing-v3", max_episode_steps=1000)
    raw = [env.reset(seed=7)[0]]
    for _ in range(60):
        raw.append(env.step(STEER_GAS)[0])
    env.close()
    assert all(np.array_equal(a, b) for a, b in zip(frames, raw, strict=True))


@pytest.mark.parametrize("name", ["colour", "domain_randomize"])
def test_recolouring_keeps_the_track_and_its_labels(clean, name: str) -> None:
    track, frames = clean
    sim, recoloured = drive(name)
    assert np.array_equal(np.array(sim.unwrapped.track), track)  # same geometry
    assert np.abs(recoloured[-1].astype(int) - frames[-1]).mean() > 10
    labels = sim.labels()
    road = recoloured[-1][:84][labels[:84] == 0].reshape(-1, 3).astype(float)
    assert np.abs(np.median(road, axis=0) - sim.unwrapped.road_color).max() < 8
    sim.close()
    again, repeated = drive(name)  # deterministic per seed
    assert np.array_equal(repeated[-1], recoloured[-1])
    again.close()
    other = DriveCondition(name).colours(8)["road_color"]
    assert not np.allclose(other, DriveCondition(name).colours(7)["road_color"])


def test_noise_and_occluder_change_only_what_they_say(clean) -> None:
    _, frames = clean
    sim, noisy = drive("noise")
    sim.close()
    difference = noisy[-1].astype(float) - frames[-1]
    assert 0.7 * NOISE_STD < difference.std() < 1.1 * NOISE_STD
    sim, covered = drive("occluder")
    sim.close()
    changed = np.any(covered[-1] != frames[-1], axis=-1)
    rows, cols = np.nonzero(changed)
    assert changed.sum() > 300 and rows.max() < 40 and cols.max() < 40  # upper left only


def test_pulses_take_the_wheel_at_fixed_steps() -> None:
    condition = DriveCondition("pulse")
    assert condition.steer_override(PULSE_AT[0] - 1) is None
    assert condition.steer_override(PULSE_AT[0]) == 1.0
    assert condition.steer_override(PULSE_AT[1] + 1) == -1.0
    sim = CarRacingSim(condition)
    sim.reset(7)
    sim.steps = PULSE_AT[0]  # jump to the first pulse
    sim.step(np.array([0.0, 0.0, 0.0]))
    assert sim.unwrapped.car.wheels[0].steer == -1.0  # CarRacing steers by -action[0]
    sim.close()


def test_unknown_condition() -> None:
    with pytest.raises(ValueError, match="unknown condition 'rain'; choose from clean"):
        DriveCondition("rain")
    assert "clean" in CONDITIONS


def test_statistics_on_a_hand_example() -> None:
    assert interquartile_mean([8, 1, 7, 2, 6, 3, 5, 4]) == 4.5  # mean of 3..6
    low, high = bootstrap_interval([1.0, 2.0, 3.0, 4.0, 5.0])
    assert 1.0 < low < 3.0 < high < 5.0
    assert bootstrap_interval([1.0, 2.0, 3.0, 4.0, 5.0]) == (low, high)  # reproducible
    summary = score_summary([900.0, 800.0, 850.0, 870.0], [1.0, 0.9, 1.0, 1.0], [1, 0, 1, 1])
    assert summary["mean_return"] == 855.0 and summary["laps_finished"] == 3
    assert summary["tiles_completed"] == pytest.approx(0.975)
    diff = paired_difference({1: 800.0, 2: 850.0, 3: 900.0}, {1: 810.0, 2: 870.0, 4: 0.0})
    assert diff["tracks"] == 2 and diff["mean_difference"] == 15.0
    assert diff["second_better"] == 2 and diff["first_better"] == 0
    assert diff["ci95_difference"] == [10.0, 20.0]
    with pytest.raises(ValueError, match="share no track"):
        paired_difference({1: 1.0}, {2: 1.0})


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--condition", "rain"], "unknown condition 'rain'"),
        (["--tracks", "heldout:0"], "--tracks heldout:N needs N in 1..100"),
        (["--tracks", "heldout", "--episodes", "3"], "--tracks replaces --episodes"),
        (["--through", "ros", "--condition", "colour"], "--through ros drives a policy under"),
        (["--checkpoint", "missing.pt"], "no policy checkpoint missing.pt"),
        (["--expert", "--backend", "onnxruntime"], "--backend runs a policy in-process"),
        (["--expert", "--expert-gains", "speed=3"], "--expert-gains: no gain 'speed'"),
        (["--expert", "--expert-gains", "max_gas=lots"], "'max_gas=lots' is not NAME=NUMBER"),
        (["--expert-gains", "max_gas=1"], "--expert-gains needs --expert"),
    ],
)
def test_drive_eval_bad_options_are_one_line(argv, message, capsys) -> None:
    assert cli_main(["drive-eval", *argv]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0], err


def test_a_worker_that_cannot_start_ends_the_evaluation_with_its_error() -> None:
    from seg_perception.checkpoint import POLICY_CHECKPOINT
    from seg_perception.driving.drive_eval import Driver, evaluate

    driver = Driver(str(POLICY_CHECKPOINT), backend="tensorrt")
    with pytest.raises(ValueError, match="unknown backend 'tensorrt'"):
        evaluate(driver, [200, 201], workers=2)  # a pool restarting it forever hangs here


@pytest.mark.slow
def test_drive_eval_on_heldout_tracks_with_two_workers(tmp_path: Path) -> None:
    out = tmp_path / "eval.json"
    argv = ["drive-eval", "--tracks", "heldout:2", "--workers", "2", "--out", str(out)]
    result = subprocess.run(
        [sys.executable, "-m", "seg_perception", *argv],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    report = json.loads(out.read_text())
    clean = report["conditions"]["clean"]
    assert [e["seed"] for e in clean["per_episode"]] == list(heldout_seeds()[:2])
    assert clean["episodes"] == 2 and clean["mean_return"] > 300
    assert "mean return" in result.stdout and "IQM" in result.stdout
