"""``python -m solver train``: outputs, resume, errors."""

import csv
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from solver.learning import cli
from solver.learning.drn import DRN

ROOT = Path(__file__).resolve().parents[1]


def mnist_dir():
    env = os.environ.get("RESISTIVE_EXPLORER_DATA")
    candidates = [Path(env)] if env else []
    candidates.append(ROOT / ".." / "shared" / "data" / "mnist")
    for c in candidates:
        if (c / "t10k-labels-idx1-ubyte.gz").exists():
            return c
    pytest.skip("MNIST not found (set RESISTIVE_EXPLORER_DATA)")


def read_rows(out):
    return json.loads((out / "metrics.json").read_text())


def test_digits_run_writes_metrics_checkpoint_and_curves(tmp_path, capsys):
    out = tmp_path / "run"
    assert cli.main(["train", "--model", "drn-digits", "--epochs", "2", "--out", str(out),
                     "--seed", "3"]) == 0
    rows = read_rows(out)
    assert [r["epoch"] for r in rows] == [1, 2]
    for r in rows:
        assert 0.0 <= r["train_error"] <= 100.0 and 0.0 <= r["test_error"] <= 100.0
        assert r["epoch_seconds"] > 0
    with open(out / "metrics.csv") as f:
        table = list(csv.DictReader(f))
    assert [float(t["test_error"]) for t in table] == [r["test_error"] for r in rows]
    assert (out / "learning_curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with np.load(out / "checkpoint.npz", allow_pickle=False) as f:
        assert int(f["epoch"]) == 2
    config = json.loads((out / "config.json").read_text())
    assert config["seed"] == 3 and config["dataset"] == "digits"
    # the checkpointed weights reproduce the logged test error
    net, _ = DRN.load(out / "checkpoint.npz")
    from solver.learning.datasets import load_digits

    d = load_digits()
    err = 100.0 * np.mean(net.predict(d.x_test, n_iter=4).argmax(1) != d.y_test)
    assert err == pytest.approx(rows[-1]["test_error"], abs=1e-4)  # 4 decimals logged
    captured = capsys.readouterr()
    assert "epoch   2:" in captured.out and "ex/s" in captured.err  # log and progress bar


def test_resume_continues_exactly(tmp_path):
    args = ["train", "--model", "drn-digits", "--seed", "1", "--no-progress"]
    assert cli.main(args + ["--epochs", "3", "--out", str(tmp_path / "straight")]) == 0
    assert cli.main(args + ["--epochs", "1", "--out", str(tmp_path / "resumed")]) == 0
    assert cli.main(args + ["--epochs", "3", "--out", str(tmp_path / "resumed"), "--resume"]) == 0
    a, b = read_rows(tmp_path / "straight"), read_rows(tmp_path / "resumed")
    assert [r["epoch"] for r in b] == [1, 2, 3]
    assert [(r["train_error"], r["test_error"]) for r in a] == \
        [(r["train_error"], r["test_error"]) for r in b]


def test_mnist_subset_run_through_python_m(tmp_path):
    data = mnist_dir()
    out = tmp_path / "xs"
    proc = subprocess.run(
        [sys.executable, "-m", "solver", "train", "--model", "drn-xs", "--algorithm", "ep",
         "--epochs", "1", "--data-dir", str(data), "--out", str(out), "--seed", "0",
         "--limit", "2000", "--test-limit", "500"],
        cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    rows = read_rows(out)
    assert len(rows) == 1 and rows[0]["test_error"] < 50.0
    config = json.loads((out / "config.json").read_text())
    assert config["n_train"] == 2000 and config["layer_sizes"] == [1568, 100, 10]


def test_bp_algorithm_runs(tmp_path):
    out = tmp_path / "bp"
    assert cli.main(["train", "--model", "drn-digits", "--algorithm", "BP", "--epochs", "1",
                     "--out", str(out), "--no-progress"]) == 0
    assert read_rows(out)[0]["test_error"] < 50.0


def test_bad_arguments_and_offline_data(tmp_path, capsys, monkeypatch):
    assert cli.main(["train", "--epochs", "-1", "--dataset", "digits"]) == 2
    assert "--epochs must be >= 0" in capsys.readouterr().err
    assert cli.main(["train", "--limit", "0", "--dataset", "digits"]) == 2
    with pytest.raises(SystemExit):
        cli.main(["train", "--model", "drn-nope"])
    with socket.socket() as s:  # a mirror that refuses connections: no internet needed
        s.bind(("127.0.0.1", 0))
        monkeypatch.setenv("RESISTIVE_EXPLORER_MNIST_MIRROR", f"http://127.0.0.1:{s.getsockname()[1]}/")
    assert cli.main(["train", "--model", "drn-xs", "--data-dir", str(tmp_path / "none"),
                     "--out", str(tmp_path / "o"), "--epochs", "1"]) == 1
    assert "could not be downloaded" in capsys.readouterr().err
