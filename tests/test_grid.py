"""Experiment grids on Dask: the same results as the same runs made one after another."""

import csv
import json

import numpy as np
import pytest

distributed = pytest.importorskip("distributed")

from solver.learning.cli import main, train  # noqa: E402
from solver.learning.drn import DRN  # noqa: E402
from solver.learning.grid import grid_specs, run_grid  # noqa: E402

SMALL = dict(dataset="digits", limit=240, test_limit=120)


def sequential(tmp_path, seed, epochs):
    folder = tmp_path / f"seq-{seed}"
    rows = train(model="drn-digits", algorithm="ep", epochs=epochs, out=folder, seed=seed,
                 progress=False, log=lambda m: None, **SMALL)
    return rows, DRN.load(folder / "checkpoint.npz")[0]


def same_training(rows_a, rows_b):
    keys = ("epoch", "train_error", "test_error", "lr_weights")
    return [{k: r[k] for k in keys} for r in rows_a] == [{k: r[k] for k in keys} for r in rows_b]


def test_grid_on_two_workers_equals_sequential_runs(tmp_path):
    specs = grid_specs("drn-digits", ["ep"], [0, 1])
    messages = []
    rows = run_grid(specs, tmp_path / "grid", epochs=2, workers=2, log=messages.append, **SMALL)
    assert any(m.startswith("Dask dashboard: http") for m in messages)
    assert [r["status"] for r in rows] == ["done", "done"]
    for spec, row in zip(specs, rows):
        seq_rows, seq_net = sequential(tmp_path, spec.seed, 2)
        grid_rows = json.loads((tmp_path / "grid" / spec.name / "metrics.json").read_text())
        assert same_training(grid_rows, seq_rows)
        grid_net = DRN.load(tmp_path / "grid" / spec.name / "checkpoint.npz")[0]
        for a, b in zip(grid_net.weights + grid_net.biases, seq_net.weights + seq_net.biases):
            np.testing.assert_array_equal(a, b)
        assert row["final_test_error"] == seq_rows[-1]["test_error"]
        assert row["best_test_error"] == min(r["test_error"] for r in seq_rows)
    with open(tmp_path / "grid" / "summary.csv") as f:
        table = list(csv.DictReader(f))
    assert [int(r["seed"]) for r in table] == [0, 1]
    assert json.loads((tmp_path / "grid" / "summary.json").read_text())[1]["seed"] == 1
    assert (tmp_path / "grid" / "summary.png").stat().st_size > 1000


def test_an_interrupted_run_resumes_when_the_grid_runs_again(tmp_path):
    """A run killed after its first checkpoint continues from it, and ends as an uninterrupted run."""
    [spec] = grid_specs("drn-digits", ["ep"], [5], lrs=[0.03])
    folder = tmp_path / "grid" / spec.name
    first = train(model="drn-digits", algorithm="ep", epochs=1, out=folder, seed=5, lr=0.03,
                  progress=False, log=lambda m: None, **SMALL)  # what the killed worker left
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        [row] = run_grid([spec], tmp_path / "grid", epochs=3, client=client,
                         log=lambda m: None, **SMALL)
    rows = json.loads((folder / "metrics.json").read_text())
    assert rows[0] == first[0]  # epoch 1 was read back, not retrained (same timings too)
    uninterrupted = train(model="drn-digits", algorithm="ep", epochs=3, out=tmp_path / "ref",
                          seed=5, lr=0.03, progress=False, log=lambda m: None, **SMALL)
    assert same_training(rows, uninterrupted)
    assert row["epochs"] == 3 and row["lr_weights"] == [0.03, 0.03]


def test_grid_command_line_checks_its_arguments(tmp_path, capsys):
    assert main(["grid", "--model", "drn-digits", "--out", str(tmp_path), "--workers", "0"]) == 2
    assert "--workers must be >= 1" in capsys.readouterr().err
    assert main(["grid", "--model", "drn-digits", "--out", str(tmp_path), "--lr", "-1"]) == 1
    assert "--lr values must be positive" in capsys.readouterr().err
