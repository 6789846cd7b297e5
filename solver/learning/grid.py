"""Experiment grids: one training per (algorithm, learning rate, beta, seed), as Dask tasks.

``python -m solver grid --model drn-xs --algorithm ep bp --seeds 0 1 2 --epochs 10 --out DIR``
runs every combination on a ``dask.distributed`` cluster: a ``LocalCluster``
of ``--workers`` processes (default: one per core, one thread each), or an
existing cluster with ``--scheduler ADDRESS``, started with Dask's own
commands::

    dask scheduler                       # prints tcp://HOST:8786 and the dashboard
    dask worker tcp://HOST:8786 --nworkers 8 --nthreads 1   # on each machine

Every run is the ordinary ``python -m solver train`` of one setting, writing its
resumable folder ``DIR/<model>-<algorithm>-lr<lr>-beta<beta>-seed<seed>``
(checkpoint after each epoch). A worker that dies loses only the epoch in
progress of its own run: Dask retries the task elsewhere, and running the grid
again resumes every unfinished run from its last checkpoint (finished runs are
read back, not retrained). The grid then writes ``DIR/summary.csv`` and
``DIR/summary.json`` (one row per run) and ``DIR/summary.png`` (test error per
epoch: mean over seeds and its min-max band, per setting).

``--lr`` sets one learning rate for every layer, weights and biases (the
presets' own per-layer rates otherwise); ``--beta`` the EP nudging.
"""

from __future__ import annotations

import csv
import itertools
import json
import os
from dataclasses import dataclass
from pathlib import Path

__all__ = ["RunSpec", "add_grid_parser", "grid_main", "grid_specs", "run_grid", "run_one",
           "write_summary"]


@dataclass(frozen=True)
class RunSpec:
    """One training of a grid: a preset, an algorithm, a seed and optional overrides."""

    model: str
    algorithm: str
    seed: int
    lr: float | None = None
    beta: float | None = None

    @property
    def name(self) -> str:
        def tag(v):
            return "preset" if v is None else f"{v:g}"
        return (f"{self.model}-{self.algorithm}-lr{tag(self.lr)}-beta{tag(self.beta)}"
                f"-seed{self.seed}")

    @property
    def setting(self) -> str:
        """The hyper-parameters without the seed (a line of the plot)."""
        return self.name.rsplit("-seed", 1)[0]


def grid_specs(model, algorithms, seeds, lrs=(None,), betas=(None,)) -> list:
    """Every combination, seeds innermost, in a fixed order."""
    from .presets import get_preset

    get_preset(model)  # a clear error before any task starts
    for a in algorithms:
        if a not in ("ep", "bp"):
            raise ValueError(f"algorithm must be 'ep' or 'bp', got {a!r}")
    for name, values in (("lr", lrs), ("beta", betas)):
        for v in values:
            if v is not None and not v > 0:
                raise ValueError(f"--{name} values must be positive, got {v!r}")
    if not seeds:
        raise ValueError("give at least one seed")
    return [RunSpec(model, a, int(s), lr, beta)
            for a, lr, beta, s in itertools.product(algorithms, lrs, betas, seeds)]


def run_one(spec: RunSpec, out, *, epochs=None, threads=1, data_dir=None, dataset=None,
            limit=None, test_limit=None) -> dict:
    """Train (or resume, or read back) one run; returns its summary row."""
    from .cli import CHECKPOINT, train

    folder = Path(out) / spec.name
    rows = train(model=spec.model, algorithm=spec.algorithm, epochs=epochs, data_dir=data_dir,
                 out=folder, seed=spec.seed, resume=(folder / CHECKPOINT).exists(), dataset=dataset, limit=limit,
                 test_limit=test_limit, progress=False, log=lambda message: None,
                 lr=spec.lr, beta=spec.beta, threads=threads)
    config = json.loads((folder / "config.json").read_text())
    tests = [r["test_error"] for r in rows]
    return dict(preset=spec.model, algorithm=spec.algorithm, seed=spec.seed,
                lr=spec.lr, beta=config["beta"], lr_weights=config["lr_weights"],
                lr_biases=config["lr_biases"], epochs=len(rows),
                final_test_error=tests[-1] if tests else None,
                best_test_error=min(tests) if tests else None,
                final_train_error=rows[-1]["train_error"] if rows else None,
                train_seconds=round(sum(r["epoch_seconds"] for r in rows), 3),
                test_errors=tests, folder=str(folder), status="done")


def _client(workers, scheduler):
    from distributed import Client, LocalCluster

    if scheduler:
        return Client(scheduler), None
    n = workers or os.cpu_count() or 1
    cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                           dashboard_address=":0")
    return Client(cluster), cluster


def run_grid(specs, out, *, epochs=None, workers=None, scheduler=None, threads=1, client=None,
             log=print, **train_options) -> list:
    """Run ``specs`` as tasks on a Dask cluster; writes and returns the summary rows.

    ``client``: an existing ``distributed.Client`` (else one is made from
    ``scheduler``, or a ``LocalCluster`` of ``workers`` processes). ``threads``:
    kernel threads per run (1: one run per core).
    """
    from distributed import as_completed

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    own_client = client is None
    cluster = None
    if own_client:
        client, cluster = _client(workers, scheduler)
    try:
        log(f"Dask dashboard: {client.dashboard_link}")
        log(f"{len(specs)} runs on {len(client.nthreads())} workers; folders under {out}")
        futures = {client.submit(run_one, spec, str(out), epochs=epochs, threads=threads,
                                 pure=False, key=f"train-{spec.name}", **train_options): spec
                   for spec in specs}
        rows = {}
        for future in as_completed(futures):
            spec = futures[future]
            try:
                rows[spec] = future.result()
                log(f"done {spec.name}: test error {rows[spec]['final_test_error']} %")
            except Exception as e:  # a failed or killed run: recorded, the others go on
                rows[spec] = dict(preset=spec.model, algorithm=spec.algorithm, seed=spec.seed,
                                  lr=spec.lr, beta=spec.beta, folder=str(out / spec.name),
                                  status=f"failed: {type(e).__name__}: {e}")
                log(f"FAILED {spec.name}: {e} (run the grid again to resume it)")
    finally:
        if own_client:
            client.close()
            if cluster is not None:
                cluster.close()
    ordered = [rows[s] for s in specs]
    write_summary(ordered, specs, out)
    return ordered


_COLUMNS = ["preset", "algorithm", "seed", "lr", "beta", "lr_weights", "lr_biases", "epochs",
            "final_test_error", "best_test_error", "final_train_error", "train_seconds",
            "status", "folder"]


def write_summary(rows, specs, out):
    """``summary.json``, ``summary.csv`` and ``summary.png`` in ``out``."""
    out = Path(out)
    (out / "summary.json").write_text(json.dumps(rows, indent=1))
    with open(out / "summary.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=_COLUMNS, extrasaction="ignore")
        w.writeheader()
        for r in rows:
            w.writerow({k: json.dumps(v) if isinstance(v, list) else v for k, v in r.items()})
    _plot(rows, specs, out / "summary.png")


def _plot(rows, specs, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    by_setting = {}
    for spec, row in zip(specs, rows):
        if row.get("test_errors"):
            by_setting.setdefault(spec.setting, []).append(row["test_errors"])
    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=100)
    for setting, curves in by_setting.items():
        n = min(len(c) for c in curves)
        errors = np.array([c[:n] for c in curves])
        epochs = np.arange(1, n + 1)
        mean = errors.mean(axis=0)
        line, = ax.plot(epochs, mean, "o-", label=f"{setting} ({len(curves)} seeds)")
        ax.fill_between(epochs, errors.min(axis=0), errors.max(axis=0), alpha=0.2,
                        color=line.get_color())
    ax.set_xlabel("epoch")
    ax.set_ylabel("test error (%): mean over seeds, band = min-max")
    ax.grid(True, alpha=0.3)
    if by_setting:
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def add_grid_parser(subparsers):
    """The ``grid`` subcommand of ``python -m solver``."""
    from .presets import PRESETS

    g = subparsers.add_parser(
        "grid", help="run a grid of trainings (algorithms x lr x beta x seeds) on Dask",
        description=__doc__.split("\n\n")[0])
    g.add_argument("--model", default="drn-xs", choices=sorted(PRESETS))
    g.add_argument("--algorithm", nargs="+", default=["ep"], type=str.lower, choices=["ep", "bp"])
    g.add_argument("--seeds", nargs="+", type=int, default=[0])
    g.add_argument("--lr", nargs="+", type=float, default=[None],
                   help="one learning rate for every layer (default: the preset's rates)")
    g.add_argument("--beta", nargs="+", type=float, default=[None],
                   help="EP nudging (default: the preset's)")
    g.add_argument("--epochs", type=int, default=None, help="default: the preset's")
    g.add_argument("--out", required=True, help="grid folder (one sub-folder per run)")
    g.add_argument("--workers", type=int, default=None,
                   help="LocalCluster worker processes (default: one per core)")
    g.add_argument("--threads", type=int, default=1, help="kernel threads per run (default 1)")
    g.add_argument("--scheduler", default=None,
                   help="address of a running Dask scheduler (tcp://HOST:8786) instead of a "
                        "LocalCluster")
    g.add_argument("--data-dir", default=None, help="MNIST folder (on every worker)")
    g.add_argument("--dataset", default=None, choices=["mnist", "digits"])
    g.add_argument("--limit", type=int, default=None, help="use the first N training examples")
    g.add_argument("--test-limit", type=int, default=None, help="use the first N test examples")
    return g


def grid_main(args) -> int:
    """Run the ``grid`` subcommand; returns the exit status (1 if a run failed)."""
    import sys

    for name in ("workers", "threads", "limit", "test_limit"):
        v = getattr(args, name)
        if v is not None and v < 1:
            print(f"error: --{name.replace('_', '-')} must be >= 1, got {v}", file=sys.stderr)
            return 2
    if args.epochs is not None and args.epochs < 0:
        print(f"error: --epochs must be >= 0, got {args.epochs}", file=sys.stderr)
        return 2
    try:
        specs = grid_specs(args.model, args.algorithm, args.seeds, args.lr, args.beta)
        rows = run_grid(specs, args.out, epochs=args.epochs, workers=args.workers,
                        scheduler=args.scheduler, threads=args.threads,
                        log=lambda m: print(m, flush=True), data_dir=args.data_dir,
                        dataset=args.dataset, limit=args.limit, test_limit=args.test_limit)
    except (OSError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(f"summary: {Path(args.out) / 'summary.csv'}, {Path(args.out) / 'summary.png'}")
    return 0 if all(r["status"] == "done" for r in rows) else 1
