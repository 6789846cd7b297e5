"""Dependencies point one way: solver never imports the app stack."""

import pathlib
import subprocess
import sys

import solver

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_solver_imports_no_panel_holoviews_or_bokeh():
    modules = sorted(
        ".".join(("solver",) + p.relative_to(ROOT / "solver").with_suffix("").parts).removesuffix(".__init__")
        for p in (ROOT / "solver").rglob("*.py") if p.stem != "__main__")
    assert "solver.core.solve" in modules and "solver.learning.ep" in modules
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}:\n"
        "    importlib.import_module(m)\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('panel', 'holoviews', 'bokeh', 'explorer'))\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


def test_public_api_is_flat_and_sorted():
    assert solver.__all__ == sorted(solver.__all__)
    for name in solver.__all__:
        assert hasattr(solver, name), name


def test_three_products_in_three_folders():
    """The layout shows the circuit solver, circuit files and the learning stack apart."""
    for package in ("core", "circuits", "learning"):
        assert (ROOT / "solver" / package / "__init__.py").is_file(), package
    assert not sorted(p.name for p in (ROOT / "solver").glob("*.py")
                      if p.stem not in ("__init__", "__main__", "config", "exceptions"))


def test_learning_stack_uses_only_the_public_solver_api():
    """The learning stack reaches the circuit solver through public names only."""
    import ast
    for path in (ROOT / "solver" / "learning").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.level >= 2:
                private = [a.name for a in node.names if a.name.startswith("_")]
                assert not private, f"{path.name} imports private {private} from {node.module}"
                assert not any(part.startswith("_") for part in node.module.split(".")), (path.name, node.module)
