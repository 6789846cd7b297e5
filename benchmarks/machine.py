"""A one-paragraph description of the machine and library versions, for results files."""

import os
import platform
import subprocess
from importlib import metadata


def _cpu_model():
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=10).stdout
        for line in out.splitlines():
            if line.startswith("Model name:"):
                return line.split(":", 1)[1].strip()
    except (OSError, subprocess.SubprocessError):
        pass
    return platform.processor() or "unknown CPU"


def _version(package):
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def describe(packages=("numpy", "scipy", "numba", "clarabel")):
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    versions = ", ".join(f"{p} {_version(p)}" for p in packages)
    return (
        f"{_cpu_model()}, {os.cpu_count()} logical CPUs, load average {load:.1f} at start; "
        f"Python {platform.python_version()}; {versions}"
    )
