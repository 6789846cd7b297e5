"""Dependencies point one way: solver never imports the app stack."""

import pathlib
import subprocess
import sys

import solver

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_solver_imports_no_panel_holoviews_or_bokeh():
    modules = sorted(p.stem for p in (ROOT / "solver").glob("*.py") if p.stem not in ("__main__",))
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}:\n"
        "    importlib.import_module('solver' if m == '__init__' else 'solver.' + m)\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('panel', 'holoviews', 'bokeh', 'explorer'))\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


def test_public_api_is_flat_and_sorted():
    assert solver.__all__ == sorted(solver.__all__)
    for name in solver.__all__:
        assert hasattr(solver, name), name
