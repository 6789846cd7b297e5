"""Command line: ``python -m solver train ...`` trains a DRN preset by EP or BP.

Example::

    python -m solver train --model drn-xs --algorithm ep --epochs 10 \\
        --data-dir ~/.cache/resistive-explorer/mnist --out runs/xs --seed 0

Writes to ``--out``:

* ``metrics.json``: a list with one entry per epoch: ``epoch``, ``train_error``
  and ``test_error`` (%), ``epoch_seconds`` (training time of that epoch),
  ``eval_seconds``, ``lr_weights``, ``examples_per_second``;
* ``metrics.csv``: the same table;
* ``checkpoint.npz``: weights, biases, the carried state and the epoch (no
  pickle), for ``--resume``;
* ``config.json``: the preset, seed and command line;
* ``learning_curves.png``: train and test error per epoch (matplotlib, Agg).

As in the paper's code, the training free phase starts from the previous
batch's state and evaluation relaxes every test example from zero. Each
epoch's shuffle is seeded by ``(seed, epoch)``, so a resumed run sees the same
batches as an uninterrupted one.
"""

from __future__ import annotations

import argparse
import collections
import csv
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

__all__ = ["main", "train"]


class _Progress:
    """A text progress bar on stderr (a line every 10 % when stderr is not a terminal).

    The rate and ETA use the last ``window`` seconds only, so a slow start
    (numba compiling, caches warming) does not inflate the ETA for the rest of
    the epoch.
    """

    def __init__(self, label, enabled=True, stream=None, window=10.0, clock=time.perf_counter):
        self.label = label
        self.enabled = enabled
        self.stream = stream or sys.stderr
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.clock = clock
        self.t0 = clock()
        self.window = window
        self.samples = collections.deque([(self.t0, 0)])
        self.next_decile = 1

    def recent_rate(self, now, done):
        """Examples per second over the last ``window`` seconds (the whole run when shorter)."""
        self.samples.append((now, done))
        while len(self.samples) > 2 and now - self.samples[1][0] >= self.window:
            self.samples.popleft()
        t_old, done_old = self.samples[0]
        return (done - done_old) / (now - t_old) if now > t_old else 0.0

    def __call__(self, done, total, errors):
        if not self.enabled:
            return
        frac = done / total if total else 1.0
        rate = self.recent_rate(self.clock(), done)
        eta = (total - done) / rate if rate > 0 else 0.0
        bar = "#" * int(30 * frac) + "-" * (30 - int(30 * frac))
        line = (f"{self.label} [{bar}] {done}/{total} {rate:7.0f} ex/s "
                f"err {100.0 * errors / max(done, 1):5.2f}% eta {eta:5.1f}s")
        if self.tty:
            self.stream.write("\r" + line + ("\n" if done >= total else ""))
            self.stream.flush()
        elif frac * 10 >= self.next_decile or done >= total:
            self.stream.write(line + "\n")
            self.stream.flush()
            self.next_decile = int(frac * 10) + 1


def _load_data(dataset, data_dir, limit, test_limit):
    from .datasets import load_digits, load_mnist

    if dataset == "mnist":
        data = load_mnist(data_dir)
    elif dataset == "digits":
        data = load_digits()
    else:
        raise ValueError(f"unknown dataset {dataset!r}; choose 'mnist' or 'digits'")
    return data.limit(limit, test_limit)


def _write_metrics(out: Path, rows):
    tmp = out / "metrics.json.tmp"
    tmp.write_text(json.dumps(rows, indent=1))
    tmp.replace(out / "metrics.json")
    if rows:
        keys = [k for k in rows[0] if not isinstance(rows[0][k], list)]
        with open(out / "metrics.csv", "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=keys, extrasaction="ignore")
            w.writeheader()
            w.writerows(rows)


def plot_learning_curves(rows, path, title=""):
    """Train/test error per epoch to a PNG (matplotlib's Agg backend)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = [r["epoch"] for r in rows]
    fig, ax = plt.subplots(figsize=(6, 4), dpi=100)
    ax.plot(epochs, [r["train_error"] for r in rows], "o-", label="train (free states met in training)")
    ax.plot(epochs, [r["test_error"] for r in rows], "s-", label="test")
    ax.set_xlabel("epoch")
    ax.set_ylabel("error (%)")
    ax.set_yscale("log")
    from matplotlib.ticker import FormatStrFormatter

    ax.yaxis.set_major_formatter(FormatStrFormatter("%g"))
    ax.yaxis.set_minor_formatter(FormatStrFormatter("%g"))
    ax.grid(True, which="both", alpha=0.3)
    ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def train(model="drn-xs", algorithm="ep", epochs=None, data_dir=None, out="runs/out", seed=0,
          resume=False, dataset=None, limit=None, test_limit=None, progress=True,
          log=print):
    """Train a preset and write metrics, checkpoint and curves to ``out``; returns the metric rows."""
    from .drn import DRN
    from .ep import Trainer
    from .presets import get_preset

    preset = get_preset(model)
    algorithm = algorithm.lower()
    if algorithm not in ("ep", "bp"):
        raise ValueError(f"--algorithm must be 'ep' or 'bp', got {algorithm!r}")
    dataset = dataset or preset.dataset
    epochs = preset.epochs if epochs is None else int(epochs)
    if epochs < 0:
        raise ValueError(f"--epochs must be >= 0, got {epochs}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)

    data = _load_data(dataset, data_dir, limit, test_limit)
    sizes = list(preset.layer_sizes)
    sizes[0] = 2 * data.num_features
    if sizes[0] != preset.layer_sizes[0]:
        log(f"note: input layer resized to 2 x {data.num_features} features for {dataset}")
    ckpt = out / "checkpoint.npz"
    rows = []
    if resume and ckpt.exists():
        net, extra = DRN.load(ckpt)
        if net.layer_sizes != sizes:
            raise ValueError(f"--resume: {ckpt} holds a {net.layer_sizes} network, not {sizes}")
        start = int(extra["epoch"])
        if (out / "metrics.json").exists():
            rows = [r for r in json.loads((out / "metrics.json").read_text()) if r["epoch"] <= start]
        log(f"resuming {ckpt} after epoch {start}")
    else:
        net = DRN(sizes, preset.input_gain, seed=seed)
        start = 0
        extra = {}
    trainer = Trainer(net, algorithm=algorithm, n_iter=preset.n_iter, beta=preset.beta,
                      lr_weights=preset.lr_weights, lr_biases=preset.lr_biases)
    trainer.epoch = start
    if "state_0" in extra:
        trainer.state = [np.ascontiguousarray(extra[f"state_{k}"], dtype=net.dtype)
                         for k in range(net.num_free_layers)]
    config = dict(model=model, algorithm=algorithm, dataset=dataset, epochs=epochs, seed=seed,
                  limit=limit, test_limit=test_limit, layer_sizes=sizes,
                  input_gain=preset.input_gain, n_iter=preset.n_iter, beta=preset.beta,
                  lr_weights=list(preset.lr_weights), lr_biases=list(preset.lr_biases),
                  batch_size=preset.batch_size, lr_decay=trainer.lr_decay,
                  n_train=len(data.y_train), n_test=len(data.y_test),
                  argv=sys.argv, machine=platform.platform(), processor=platform.processor(),
                  cpus=os.cpu_count(), started=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
    (out / "config.json").write_text(json.dumps(config, indent=1))
    log(f"{model} ({net}) {algorithm.upper()} on {dataset}: {len(data.y_train)} train / "
        f"{len(data.y_test)} test, epochs {start + 1}..{epochs}, seed {seed}")
    for epoch in range(start, epochs):
        lr_w, _ = trainer.learning_rates()
        bar = _Progress(f"epoch {epoch + 1:3d}/{epochs}", enabled=progress)
        train_error, seconds = trainer.train_epoch(
            data.x_train, data.y_train, batch_size=preset.batch_size,
            rng=np.random.default_rng([seed, epoch]), progress=bar)
        t0 = time.perf_counter()
        test_error = trainer.evaluate(data.x_test, data.y_test)
        eval_seconds = time.perf_counter() - t0
        rows.append(dict(epoch=epoch + 1, train_error=round(train_error, 4),
                         test_error=round(test_error, 4), epoch_seconds=round(seconds, 3),
                         eval_seconds=round(eval_seconds, 3),
                         examples_per_second=round(len(data.y_train) / seconds, 1),
                         lr_weights=[round(r, 8) for r in lr_w]))
        log(f"epoch {epoch + 1:3d}: train error {train_error:6.3f} %  test error "
            f"{test_error:6.3f} %  train {seconds:7.2f} s  eval {eval_seconds:5.2f} s")
        net.save(ckpt, epoch=epoch + 1, seed=seed,
                 **{f"state_{k}": s for k, s in enumerate(trainer.state)})
        _write_metrics(out, rows)
        plot_learning_curves(rows, out / "learning_curves.png",
                             f"{model} {algorithm.upper()} ({dataset}, seed {seed})")
    return rows


OUTPUTS = ("metrics.json", "metrics.csv", "checkpoint.npz", "config.json", "learning_curves.png")


def preset_table():
    """One line per preset: name, layer sizes, weight count, epochs, dataset, the paper's test error."""
    from .presets import PRESETS

    lines = []
    for name in sorted(PRESETS):
        p = PRESETS[name]
        weights = sum(a * b for a, b in zip(p.layer_sizes[:-1], p.layer_sizes[1:]))
        paper = f", paper {p.paper_test_error:g} % test error" if p.paper_test_error is not None else ""
        lines.append(f"  {name:11s} layers {'-'.join(map(str, p.layer_sizes)):24s} {weights:>10,d} weights, "
                     f"{p.epochs} epochs, {p.dataset}{paper}")
    return "\n".join(lines)


def _parser():
    p = argparse.ArgumentParser(prog="python -m solver",
                                description="resistive-explorer: deep resistive networks")
    sub = p.add_subparsers(dest="command", required=True)
    t = sub.add_parser(
        "train", help="train a DRN preset by equilibrium propagation or BP",
        description="Train a deep resistive network (DRN) preset on MNIST or the offline digits set by "
                    "equilibrium propagation (EP) or backpropagation (BP); every epoch writes "
                    "OUT/" + ", OUT/".join(OUTPUTS) + ".",
        epilog="presets (input layer = 2 x features: each pixel as +x and -x):\n" + preset_table()
               + "\n\nexample: python -m solver train --model drn-xs --dataset digits --epochs 3 --out runs/xs",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    from .presets import PRESETS

    t.add_argument("--model", default="drn-xs", choices=sorted(PRESETS), metavar="PRESET",
                   help="network and hyper-parameters, one of the presets below (default: drn-xs)")
    t.add_argument("--algorithm", default="ep", type=str.lower, choices=["ep", "bp"],
                   help="ep: equilibrium propagation (two relaxations per batch); bp: backpropagation "
                        "through the same network, the reference (default: ep)")
    t.add_argument("--epochs", type=int, default=None, help="passes over the training set (default: the preset's)")
    t.add_argument("--data-dir", default=None,
                   help="MNIST folder (default: $RESISTIVE_EXPLORER_DATA or the user cache)")
    t.add_argument("--dataset", default=None, choices=["mnist", "digits"],
                   help="mnist (needs the files) or digits (scikit-learn's 8x8 digits, offline); "
                        "default: the preset's")
    t.add_argument("--out", default="runs/out", help="output folder, created if missing (default: runs/out)")
    t.add_argument("--seed", type=int, default=0, help="seed of the initial weights and the shuffles (default: 0)")
    t.add_argument("--resume", action="store_true",
                   help="continue from OUT/checkpoint.npz after its last finished epoch")
    t.add_argument("--limit", type=int, default=None, help="use the first N training examples (default: all)")
    t.add_argument("--test-limit", type=int, default=None, help="use the first N test examples (default: all)")
    t.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    return p


def main(argv=None):
    args = _parser().parse_args(argv)
    for name in ("limit", "test_limit", "epochs"):
        v = getattr(args, name)
        if v is not None and v < (0 if name == "epochs" else 1):
            print(f"error: --{name.replace('_', '-')} must be "
                  f"{'>= 0' if name == 'epochs' else '>= 1'}, got {v}", file=sys.stderr)
            return 2
    try:
        train(model=args.model, algorithm=args.algorithm, epochs=args.epochs,
              data_dir=args.data_dir, out=args.out, seed=args.seed, resume=args.resume,
              dataset=args.dataset, limit=args.limit, test_limit=args.test_limit,
              progress=not args.no_progress, log=lambda m: print(m, flush=True))
    except (OSError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    out = Path(args.out).resolve()
    written = [name for name in OUTPUTS if (out / name).exists()]
    print(f"outputs in {out}: {', '.join(written) if written else 'none (no epoch was run)'}", flush=True)
    return 0
