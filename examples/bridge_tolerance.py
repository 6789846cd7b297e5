"""Monte-Carlo tolerance analysis of a full-wave bridge rectifier with ``solver.solve_batch``.

Every resistor within +-5 % (uniform), every diode threshold 0.7 V +- 30 mV,
the source's polarity at random; 2,000 variants solved in this process (warm
starts), or on a Dask cluster with ``--scheduler tcp://HOST:8786``. Prints the
spread of the output voltage and writes a histogram::

    python examples/bridge_tolerance.py --variants 2000 --out bridge_tolerance.png

By hand: two diodes conduct, so v(out) = (5 - 2 * 0.7) * Rload / (Rload + Rs)
= 3.6 * 1000 / 1010 = 3.564 V at the nominal values.
"""

import argparse
import time

import numpy as np

from explorer.gallery import bridge_rectifier  # the explorer's example circuit
from solver import solve_batch


def tolerance_variants(net, n, seed=0):
    """Resistor conductances within +-5 %, thresholds 0.7 V +- 30 mV, random polarity."""
    rng = np.random.default_rng(seed)
    resistors = net.elements("resistor")
    diodes = net.elements("diode")
    variants = []
    for _ in range(n):
        v = {e.name: e.value / rng.uniform(0.95, 1.05) for e in resistors}  # R within 5 %
        v.update({e.name: rng.uniform(0.67, 0.73) for e in diodes})
        v["Vac"] = 5.0 * rng.choice([-1.0, 1.0])
        variants.append(v)
    return variants


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--variants", type=int, default=2000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--scheduler", default=None, help="Dask scheduler address (default: in-process)")
    p.add_argument("--out", default="bridge_tolerance.png")
    args = p.parse_args(argv)

    net = bridge_rectifier()
    variants = tolerance_variants(net, args.variants, args.seed)
    client = None
    if args.scheduler:
        from distributed import Client

        client = Client(args.scheduler)
        print(f"Dask dashboard: {client.dashboard_link}")
    t0 = time.perf_counter()
    batch = solve_batch(net, variants, client)
    seconds = time.perf_counter() - t0
    out = batch.voltage("out")
    lo, hi = np.percentile(out, [0.5, 99.5])
    print(f"{len(variants)} variants in {seconds:.2f} s, all certified: {bool(batch.converged.all())}")
    print(f"v(out): mean {out.mean():.4f} V, std {out.std() * 1e3:.1f} mV, "
          f"99 % of variants in [{lo:.4f}, {hi:.4f}] V (nominal 3.564 V)")

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.5), dpi=100)
    ax.hist(out, bins=60, color="tab:blue", alpha=0.8)
    ax.axvline(3.6 * 1000 / 1010, color="k", ls="--", label="nominal (by hand)")
    ax.set_xlabel("v(out) (V)")
    ax.set_ylabel("variants")
    ax.set_title(f"Bridge rectifier, {len(variants)} Monte-Carlo variants")
    ax.legend()
    fig.tight_layout()
    fig.savefig(args.out)
    print(f"histogram: {args.out}")


if __name__ == "__main__":
    main()
