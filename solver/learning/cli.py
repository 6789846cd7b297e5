"""Command line: ``python -m solver train ...`` trains a DRN preset by EP or BP.

Example::

    python -m solver train --model drn-xs --algorithm ep --epochs 10 \\
        --data-dir ~/.cache/resistive-explorer/mnist --out runs/xs --seed 0

Writes to ``--out``:

* ``metrics.json``: a list with one entry per epoch: ``epoch``, ``train_error``
  and ``test_error`` (%), ``epoch_seconds`` (training time of that epoch),
  ``eval_seconds``, ``lr_weights``, ``examples_per_second``;
* ``metrics.csv``: the same table;
* ``checkpoint.npz``: weights, biases, the carried state, the epoch and the
  metric rows so far (no pickle), for ``--resume``;
* ``config.json``: the preset, seed and command line;
* ``learning_curves.png``: train and test error per epoch (matplotlib, Agg).

As in the paper's code, the training free phase starts from the previous
batch's state and evaluation relaxes every test example from zero. Each
epoch's shuffle is seeded by ``(seed, epoch)``, so a resumed run sees the same
batches as an uninterrupted one.

Each epoch writes the checkpoint first, then ``metrics.json``, each atomically
(a temporary file renamed over the old one). The checkpoint carries the metric
rows up to its epoch, so a run killed between the two writes resumes with
every row: the checkpoint can be ahead of ``metrics.json``, never behind it,
and ``--resume`` rewrites ``metrics.json`` from the checkpoint. ``--resume``
validates the whole checkpoint (readable, every field present, shapes matching
the preset, weights finite and non-negative, biases and state finite) and
refuses a bad one with a message naming the field (exit status 2).
"""

from __future__ import annotations

import argparse
import collections
import csv
import io
import json
import math
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

__all__ = ["CheckpointError", "load_checkpoint", "main", "train"]

#: Name of the checkpoint in ``--out``.
CHECKPOINT = "checkpoint.npz"


class CheckpointError(ValueError):
    """A checkpoint that ``--resume`` cannot use; the message says what is wrong."""


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


def _write_atomically(path: Path, text: str):
    """Write ``text`` to a temporary file beside ``path``, then rename it over ``path``."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", newline="") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    tmp.replace(path)


def _write_metrics(out: Path, rows):
    _write_atomically(out / "metrics.json", json.dumps(rows, indent=1))
    if rows:
        keys = [k for k in rows[0] if not isinstance(rows[0][k], list)]
        table = io.StringIO()
        w = csv.DictWriter(table, fieldnames=keys, extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)
        _write_atomically(out / "metrics.csv", table.getvalue())


def _read_fields(path: Path) -> dict:
    """Every array of a checkpoint, read in full (a truncated file fails here, not later).

    Each member's header is read first and its declared size compared with the
    member's actual size, so a doctored header cannot make us allocate more
    than the file holds.
    """
    import zipfile
    import zlib

    if not path.exists():
        raise CheckpointError(f"--resume: there is no checkpoint {path}; run without --resume to "
                              "start afresh")
    problem = f"--resume: {path} ({path.stat().st_size:,} bytes) is not a readable checkpoint"
    fields = {}
    try:
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist():
                key = info.filename[:-4] if info.filename.endswith(".npy") else info.filename
                with archive.open(info) as member:
                    version = np.lib.format.read_magic(member)
                    read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                                   else np.lib.format.read_array_header_2_0)
                    shape, _, dtype = read_header(member)
                    declared = math.prod(shape) * dtype.itemsize
                    if dtype.hasobject or declared > info.file_size:
                        raise CheckpointError(f"{problem}: field {key!r} declares {declared:,} bytes "
                                              f"of {dtype} but holds {info.file_size:,}")
        with np.load(path, allow_pickle=False) as f:
            for key in f.files:
                fields[key] = f[key]
    except (OSError, EOFError, ValueError, zipfile.BadZipFile, KeyError, zlib.error) as e:
        if isinstance(e, CheckpointError):
            raise
        raise CheckpointError(f"{problem} (empty, truncated or not an .npz file: {e})") from None
    return fields


def _field(fields, path, key, *, shape=None, kind="f", finite=True, nonnegative=False):
    """Checkpoint field ``key``, checked: present, of ``shape``, of dtype kind, finite, sign."""
    if key not in fields:
        raise CheckpointError(f"--resume: {path} has no field {key!r} (the checkpoint is incomplete "
                              "or was not written by 'python -m solver train')")
    value = fields[key]
    if value.dtype.kind not in (("i", "u") if kind == "i" else ("f", "i", "u") if kind == "f"
                                else ("U",)):
        raise CheckpointError(f"--resume: {path}: field {key!r} has dtype {value.dtype}, expected "
                              f"{ {'i': 'integers', 'f': 'numbers', 'U': 'text'}[kind] }")
    if shape is not None and value.shape != tuple(shape):
        raise CheckpointError(f"--resume: {path}: field {key!r} has shape {value.shape}, expected "
                              f"{tuple(shape)}")
    if kind == "f" and finite and not np.all(np.isfinite(value)):
        bad = np.flatnonzero(~np.isfinite(value.reshape(-1)))
        raise CheckpointError(f"--resume: {path}: field {key!r} holds {bad.size} non-finite "
                              f"value(s), first at flat index {int(bad[0])}")
    if nonnegative and value.size and value.min() < 0:
        raise CheckpointError(f"--resume: {path}: field {key!r} holds negative values (min "
                              f"{float(value.min()):g}); weights are conductances, >= 0")
    return value


def _check_rows(rows, epoch, path):
    """The metric rows a checkpoint carries: epochs 1..epoch, in order."""
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise CheckpointError(f"--resume: {path}: field 'metrics' must be a JSON list of rows")
    epochs = [r.get("epoch") for r in rows]
    if epochs != list(range(1, epoch + 1)):
        raise CheckpointError(f"--resume: {path}: field 'metrics' has rows for epochs {epochs[:10]}"
                              f"{'...' if len(epochs) > 10 else ''}, expected 1..{epoch}")
    return rows


def load_checkpoint(path, layer_sizes, seed):
    """Read and validate a training checkpoint; return ``(drn, epoch, state, rows)``.

    ``rows`` is None for checkpoints written before they carried the metric
    rows. Raises :class:`CheckpointError` naming the field at fault.
    """
    from .drn import _CHECKPOINT_FORMAT, DRN

    path = Path(path)
    fields = _read_fields(path)
    tag = _field(fields, path, "format", shape=(), kind="U")
    if str(tag) != _CHECKPOINT_FORMAT:
        raise CheckpointError(f"--resume: {path}: format {str(tag)!r}, expected {_CHECKPOINT_FORMAT!r}")
    sizes = _field(fields, path, "layer_sizes", kind="i")
    if sizes.tolist() != list(layer_sizes):
        raise CheckpointError(f"--resume: {path} holds a {sizes.tolist()} network, not "
                              f"{list(layer_sizes)}")
    gain = _field(fields, path, "input_gain", shape=())
    if not gain > 0:
        raise CheckpointError(f"--resume: {path}: input_gain must be positive, got {float(gain):g}")
    epoch = int(_field(fields, path, "epoch", shape=(), kind="i"))
    if epoch < 0:
        raise CheckpointError(f"--resume: {path}: epoch must be >= 0, got {epoch}")
    if "seed" in fields and int(_field(fields, path, "seed", shape=(), kind="i")) != seed:
        raise CheckpointError(f"--resume: {path} was trained with --seed "
                              f"{int(fields['seed'])}, not {seed}; the shuffles would differ")
    first = _field(fields, path, "state_0")
    if first.ndim != 2 or first.shape[0] < 1:
        raise CheckpointError(f"--resume: {path}: field 'state_0' has shape {first.shape}, expected "
                              f"(batch, {layer_sizes[1]}) with batch >= 1")
    state = []
    for k, (n_in, n_out) in enumerate(zip(layer_sizes[:-1], layer_sizes[1:])):
        _field(fields, path, f"W{k}", shape=(n_in, n_out), nonnegative=True)
        _field(fields, path, f"b{k}", shape=(n_out,))
        state.append(_field(fields, path, f"state_{k}", shape=(first.shape[0], n_out)))
    rows = None
    if "metrics" in fields:
        text = str(_field(fields, path, "metrics", shape=(), kind="U"))
        try:
            rows = json.loads(text)
        except ValueError as e:
            raise CheckpointError(f"--resume: {path}: field 'metrics' is not JSON ({e})") from None
        rows = _check_rows(rows, epoch, path)
    net, _ = DRN.load(path)
    return net, epoch, state, rows


def plot_learning_curves(rows, path, title="", paper=None):
    """Train/test error per epoch to a PNG (matplotlib's Agg backend).

    ``paper``: ``(test error %, epochs)`` the paper reports for this preset,
    drawn as a dashed line across the epochs run, for comparison.
    Returns the legend's labels.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = [r["epoch"] for r in rows]
    fig, ax = plt.subplots(figsize=(6, 4), dpi=100)
    ax.plot(epochs, [r["train_error"] for r in rows], "o-", label="train (free states met in training)")
    ax.plot(epochs, [r["test_error"] for r in rows], "s-", label="test")
    if paper is not None:
        ax.axhline(paper[0], color="0.3", linestyle="--", linewidth=1,
                   label=f"paper: {paper[0]:g} % test error after {paper[1]} epochs")
    ax.set_xlabel("epoch")
    ax.set_ylabel("error (%)")
    ax.set_yscale("log")
    from matplotlib.ticker import FormatStrFormatter, FuncFormatter

    def minor_label(value, _):  # 2, 3 and 5 of each decade: every label readable over 3 decades
        mantissa = round(value / 10 ** math.floor(math.log10(value)), 6) if value > 0 else 0
        return f"{value:g}" if mantissa in (2, 3, 5) else ""

    ax.yaxis.set_major_formatter(FormatStrFormatter("%g"))
    ax.yaxis.set_minor_formatter(FuncFormatter(minor_label))
    ax.grid(True, which="both", alpha=0.3)
    ax.set_title(title)
    labels = [text.get_text() for text in ax.legend().get_texts()]
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return labels


def train(model="drn-xs", algorithm="ep", epochs=None, data_dir=None, out="runs/out", seed=0,
          resume=False, dataset=None, limit=None, test_limit=None, progress=True,
          log=print, lr=None, beta=None, threads=None):
    """Train a preset and write metrics, checkpoint and curves to ``out``; returns the metric rows.

    ``lr`` (one rate for every layer, weights and biases) and ``beta`` override
    the preset's; ``threads``: kernel threads (default all cores).
    """
    from .drn import DRN
    from .ep import Trainer
    from .presets import get_preset

    preset = get_preset(model)
    if lr is not None:
        preset = preset.with_(lr_weights=(lr,) * len(preset.lr_weights),
                              lr_biases=(lr,) * len(preset.lr_biases))
    if beta is not None:
        preset = preset.with_(beta=beta)
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
    ckpt = out / CHECKPOINT
    rows = []
    state = None
    if resume:
        net, start, state, rows = load_checkpoint(ckpt, sizes, seed)
        if rows is None:  # an older checkpoint: its rows are in metrics.json, if they got there
            rows = _rows_from_metrics_file(out, start, log)
        log(f"resuming {ckpt} after epoch {start}")
    else:
        net = DRN(sizes, preset.input_gain, seed=seed)
        start = 0
    # the paper's figure applies to its own setting: EP on its dataset with its hyper-parameters
    same_setting = algorithm == "ep" and dataset == preset.dataset and lr is None and beta is None
    paper = (preset.paper_test_error, preset.epochs) if same_setting and preset.paper_test_error else None
    trainer = Trainer(net, algorithm=algorithm, n_iter=preset.n_iter, beta=preset.beta,
                      lr_weights=preset.lr_weights, lr_biases=preset.lr_biases, threads=threads)
    trainer.epoch = start
    if state:
        trainer.state = [np.ascontiguousarray(s, dtype=net.dtype) for s in state]
    config = dict(model=model, algorithm=algorithm, dataset=dataset, epochs=epochs, seed=seed,
                  limit=limit, test_limit=test_limit, layer_sizes=sizes,
                  input_gain=preset.input_gain, n_iter=preset.n_iter, beta=preset.beta,
                  lr_weights=list(preset.lr_weights), lr_biases=list(preset.lr_biases),
                  batch_size=preset.batch_size, lr_decay=trainer.lr_decay,
                  n_train=len(data.y_train), n_test=len(data.y_test),
                  argv=sys.argv, machine=platform.platform(), processor=platform.processor(),
                  cpus=os.cpu_count(), started=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
    _write_atomically(out / "config.json", json.dumps(config, indent=1))
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
        # checkpoint first, carrying the rows: a crash before metrics.json loses nothing
        net.save(ckpt, epoch=epoch + 1, seed=seed, metrics=json.dumps(rows),
                 **{f"state_{k}": s for k, s in enumerate(trainer.state)})
        _write_metrics(out, rows)
        plot_learning_curves(rows, out / "learning_curves.png",
                             f"{model} {algorithm.upper()} ({dataset}, seed {seed})", paper)
    return rows


def _rows_from_metrics_file(out, start, log):
    """Rows 1..start of ``metrics.json`` (for checkpoints that do not carry them)."""
    path = out / "metrics.json"
    try:
        rows = json.loads(path.read_text()) if path.exists() else []
    except ValueError as e:
        raise CheckpointError(f"--resume: {path} is not JSON ({e})") from None
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise CheckpointError(f"--resume: {path} must be a list of rows")
    rows = [r for r in rows if isinstance(r.get("epoch"), int) and r["epoch"] <= start]
    missing = sorted(set(range(1, start + 1)) - {r["epoch"] for r in rows})
    if missing:
        log(f"note: {path} has no rows for epochs {missing} and the checkpoint (an older format) "
            "does not carry them; those rows stay missing")
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
    t.add_argument("--threads", type=int, default=None,
                   help="kernel threads (default: all cores; results do not depend on it)")
    from .grid import add_grid_parser

    add_grid_parser(sub)
    return p


def main(argv=None):
    args = _parser().parse_args(argv)
    if args.command == "grid":
        from .grid import grid_main

        return grid_main(args)
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
              progress=not args.no_progress, log=lambda m: print(m, flush=True),
              threads=args.threads)
    except CheckpointError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except (OSError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    out = Path(args.out).resolve()
    written = [name for name in OUTPUTS if (out / name).exists()]
    print(f"outputs in {out}: {', '.join(written) if written else 'none (no epoch was run)'}", flush=True)
    return 0
