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


def test_curves_show_the_papers_figure_only_in_its_setting(tmp_path, monkeypatch):
    """drn-xs EP on MNIST: the paper's 3.46 % is drawn; for BP (not the paper's EP figure) it is not."""
    drawn = []
    original = cli.plot_learning_curves
    monkeypatch.setattr(cli, "plot_learning_curves", lambda *a, **k: drawn.append(original(*a, **k)))
    common = ["train", "--model", "drn-xs", "--epochs", "1", "--data-dir", str(mnist_dir()),
              "--limit", "200", "--test-limit", "100", "--no-progress"]
    assert cli.main(common + ["--out", str(tmp_path / "paper")]) == 0
    assert cli.main(common + ["--out", str(tmp_path / "other"), "--algorithm", "bp"]) == 0
    assert "paper: 3.46 % test error after 10 epochs" in drawn[0]
    assert not any(label.startswith("paper") for label in drawn[1])
    assert (tmp_path / "paper" / "learning_curves.png").stat().st_size > 0


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


# ------------------------------------------------ issue 13: checkpoints
SMALL = ["train", "--model", "drn-digits", "--limit", "64", "--test-limit", "32", "--no-progress",
         "--seed", "0"]


@pytest.fixture(scope="module")
def one_epoch_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "out"
    assert cli.main(SMALL + ["--epochs", "1", "--out", str(out)]) == 0
    return out


def copy_run(src, dst):
    dst.mkdir()
    for f in src.iterdir():
        (dst / f.name).write_bytes(f.read_bytes())
    return dst


def rewrite(path, change):
    with np.load(path, allow_pickle=False) as f:
        fields = {k: f[k] for k in f.files}
    change(fields)
    np.savez(path, **fields)


def resume_fails(out, capsys, *extra):
    code = cli.main(SMALL + ["--epochs", "2", "--out", str(out), "--resume", *extra])
    err = capsys.readouterr().err
    assert code == 2, err
    assert "Traceback" not in err and err.startswith("error: --resume:")
    return err


def scale_first(key, factor):
    def change(fields):
        fields[key] = fields[key].copy()
        fields[key].reshape(-1)[0] = factor
    return change


@pytest.mark.parametrize("damage, message", [
    (lambda p: p.write_bytes(p.read_bytes()[: len(p.read_bytes()) // 2]), "not a readable checkpoint"),
    (lambda p: p.write_bytes(b""), "0 bytes) is not a readable checkpoint"),
    (lambda p: p.write_bytes(b"not a zip at all"), "not a readable checkpoint"),
    (lambda p: rewrite(p, lambda f: f.pop("W1")), "has no field 'W1'"),
    (lambda p: rewrite(p, lambda f: f.pop("epoch")), "has no field 'epoch'"),
    (lambda p: rewrite(p, lambda f: f.pop("state_1")), "has no field 'state_1'"),
    (lambda p: rewrite(p, lambda f: f.pop("format")), "has no field 'format'"),
    (lambda p: rewrite(p, lambda f: f.update(W0=f["W0"].T.copy())), "field 'W0' has shape"),
    (lambda p: rewrite(p, lambda f: f.update(b1=f["b1"][:-1])), "field 'b1' has shape"),
    (lambda p: rewrite(p, lambda f: f.update(state_0=f["state_0"][0])), "field 'state_0' has shape"),
    (lambda p: rewrite(p, lambda f: f.update(state_1=f["state_1"][:, :3])), "field 'state_1' has shape"),
    (lambda p: rewrite(p, scale_first("W1", -0.5)), "field 'W1' holds negative values"),
    (lambda p: rewrite(p, scale_first("W0", np.nan)), "field 'W0' holds 1 non-finite"),
    (lambda p: rewrite(p, scale_first("b0", np.inf)), "field 'b0' holds 1 non-finite"),
    (lambda p: rewrite(p, scale_first("state_1", -np.inf)), "field 'state_1' holds 1 non-finite"),
    (lambda p: rewrite(p, lambda f: f.update(W1=f["W1"].astype(np.complex64))), "field 'W1' has dtype"),
    (lambda p: rewrite(p, lambda f: f.update(epoch=np.array(-3))), "epoch must be >= 0"),
    (lambda p: rewrite(p, lambda f: f.update(epoch=np.array(1.5))), "field 'epoch' has dtype"),
    (lambda p: rewrite(p, lambda f: f.update(input_gain=np.array(0.0))), "input_gain must be positive"),
    (lambda p: rewrite(p, lambda f: f.update(layer_sizes=np.array([128, 100, 10]))), "holds a [128, 100, 10]"),
    (lambda p: rewrite(p, lambda f: f.update(format=np.array("something else"))), "format 'something else'"),
    (lambda p: rewrite(p, lambda f: f.update(metrics=np.array("[{"))), "field 'metrics' is not JSON"),
    (lambda p: rewrite(p, lambda f: f.update(metrics=np.array("[]"))), "rows for epochs [], expected 1..1"),
    (lambda p: rewrite(p, lambda f: f.update(seed=np.array(5))), "trained with --seed 5, not 0"),
])
def test_issue13_malformed_checkpoints_are_refused_with_the_reason(one_epoch_run, tmp_path, capsys,
                                                                   damage, message):
    out = copy_run(one_epoch_run, tmp_path / "out")
    damage(out / "checkpoint.npz")
    err = resume_fails(out, capsys)
    assert message in err, err
    assert read_rows(out) == read_rows(one_epoch_run)  # nothing was overwritten


def test_issue13_doctored_header_cannot_make_resume_allocate(one_epoch_run, tmp_path, capsys):
    """A member whose .npy header declares 10^12 floats but holds a few bytes is refused unread."""
    import zipfile

    out = copy_run(one_epoch_run, tmp_path / "out")
    header = "{'descr': '<f8', 'fortran_order': False, 'shape': (1000000, 1000000), }"
    header += " " * (63 - (10 + len(header)) % 64) + "\n"
    member = b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header.encode() + b"\0" * 64
    with zipfile.ZipFile(out / "checkpoint.npz", "a") as z:
        z.writestr("huge.npy", member)
    err = resume_fails(out, capsys)
    assert "field 'huge' declares 8,000,000,000,000 bytes" in err


def test_issue13_resume_without_a_checkpoint_says_so(tmp_path, capsys):
    err = resume_fails(tmp_path / "never-trained", capsys)
    assert "there is no checkpoint" in err and "run without --resume" in err
    assert not (tmp_path / "never-trained" / "metrics.json").exists()


def test_issue13_checkpoint_ahead_of_metrics_loses_no_row(tmp_path):
    """A run killed after writing epoch 2's checkpoint but before its metrics.json."""
    out = tmp_path / "out"
    assert cli.main(SMALL + ["--epochs", "1", "--out", str(out)]) == 0
    metrics_after_1 = (out / "metrics.json").read_text()
    assert cli.main(SMALL + ["--epochs", "2", "--out", str(out), "--resume"]) == 0
    rows_after_2 = read_rows(out)
    (out / "metrics.json").write_text(metrics_after_1)  # the crash: metrics one epoch behind
    assert cli.main(SMALL + ["--epochs", "3", "--out", str(out), "--resume"]) == 0
    rows = read_rows(out)
    assert [r["epoch"] for r in rows] == [1, 2, 3]
    assert rows[:2] == rows_after_2
    with np.load(out / "checkpoint.npz", allow_pickle=False) as f:
        assert json.loads(str(f["metrics"])) == rows  # the checkpoint carries the same table


def test_older_checkpoint_without_rows_resumes_from_metrics_file(one_epoch_run, tmp_path, capsys):
    out = copy_run(one_epoch_run, tmp_path / "out")
    rewrite(out / "checkpoint.npz", lambda f: f.pop("metrics"))
    (out / "metrics.json").write_text("[]")  # and its rows never reached metrics.json
    assert cli.main(SMALL + ["--epochs", "2", "--out", str(out), "--resume"]) == 0
    assert "no rows for epochs [1]" in capsys.readouterr().out
    assert [r["epoch"] for r in read_rows(out)] == [2]
