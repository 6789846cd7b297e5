"""Assemble benchmarks/RESULTS.md from the overview and each benchmark's results file.

Each benchmark script writes its own ``results_*.md`` (with the machine it ran
on); this script only concatenates them under ``overview.md``.
Run:  python benchmarks/collect_results.py
"""

import pathlib

HERE = pathlib.Path(__file__).resolve().parent
PARTS = [
    ("results_solver.md", "Solver: `solve` against Clarabel (issue 2)", "bench_solver.py"),
    ("results_supernodal.md", "Solver: supernodal against up-looking Cholesky (issue 14)", "bench_supernodal.py"),
    ("results_spice.md", "Netlists: `solve` against ngspice (issue 3)", "bench_spice.py"),
    ("results_drn.md", "Deep resistive networks on MNIST (issue 4)", "bench_drn.py"),
    ("results_latency.md", "Explorer latency (issue 5)", "bench_latency.py"),
    ("results_inputs.md", "Input paths under attack: reader budgets and fuzzing (issue 13)", "bench_inputs.py"),
    ("results_sweep.md", "Exact DC sweeps against warm re-solves and ngspice `.dc` (issue 11)", "bench_sweep.py"),
    ("results_load.md", "Explorer under load (issue 13)", "bench_load.py"),
    ("results_certificate.md", "Certificate and polish at the edges of float64 (issue 13)", "bench_chain.py"),
]


def main():
    text = [(HERE / "overview.md").read_text().rstrip(), ""]
    for name, title, script in PARTS:
        path = HERE / name
        if not path.exists():
            continue
        body = path.read_text().strip()
        if body.startswith("# "):  # the part's own title gives way to ours
            body = body.split("\n", 1)[1].lstrip() if "\n" in body else ""
        body = "\n".join("#" + line if line.startswith("## ") else line for line in body.splitlines())
        text += [f"## {title}", "", f"Produced by `python benchmarks/{script}`; raw file `{name}`.", "", body, ""]
    (HERE / "RESULTS.md").write_text("\n".join(text))


if __name__ == "__main__":
    main()
