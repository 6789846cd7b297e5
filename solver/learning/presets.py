"""The paper's DRN architectures and hyper-parameters, as named presets.

From Scellier (ICML 2024), Table 2 and the public code
``rain-neuromorphics/energy-based-learning``, ``papers/fast-drn/drn.py``:
batch size 4, weights ``U(-1/sqrt(fan_in), 1/sqrt(fan_in))`` clipped at 0,
biases 0, SGD without momentum, learning rates decayed by 0.99 per epoch,
the same number of block-CD iterations for inference and training. ``drn-xs``
is this project's small preset (the paper's table lists it at 3.46 %).

``paper_test_error`` is the paper's EP test error (%), for comparison.
``drn-digits`` is a small offline preset for scikit-learn's 8x8 digits (not
from the paper).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

__all__ = ["PRESETS", "Preset", "get_preset"]


@dataclass(frozen=True)
class Preset:
    """One DRN architecture with its training hyper-parameters."""

    name: str
    layer_sizes: tuple
    input_gain: float
    n_iter: int
    beta: float
    lr_weights: tuple
    lr_biases: tuple
    epochs: int
    batch_size: int = 4
    dataset: str = "mnist"
    paper_test_error: float | None = None
    notes: str = field(default="", compare=False)

    def with_(self, **changes) -> "Preset":
        return replace(self, **changes)


PRESETS = {
    p.name: p
    for p in [
        Preset("drn-xs", (1568, 100, 10), 100.0, 4, 1.0, (0.006, 0.006), (0.006, 0.006), 10,
               paper_test_error=3.46),
        Preset("drn-1h", (1568, 1024, 10), 480.0, 4, 1.0, (0.006, 0.006), (0.006, 0.006), 50,
               paper_test_error=1.57),
        Preset("drn-2h", (1568, 1024, 1024, 10), 2000.0, 5, 1.0, (0.002, 0.006, 0.018),
               (0.002, 0.006, 0.018), 50, paper_test_error=1.48),
        Preset("drn-3h", (1568, 1024, 1024, 1024, 10), 4000.0, 6, 2.0,
               (0.005, 0.02, 0.08, 0.005), (0.0005, 0.002, 0.008, 0.0005), 50,
               paper_test_error=1.66),
        Preset("drn-xl", (1568, 32768, 10), 800.0, 4, 1.0, (0.006, 0.006), (0.006, 0.006), 100,
               paper_test_error=1.33),
        Preset("drn-digits", (128, 64, 10), 20.0, 4, 1.0, (0.02, 0.02), (0.02, 0.02), 10,
               dataset="digits", notes="offline demo on scikit-learn's 8x8 digits"),
    ]
}


def get_preset(name) -> Preset:
    """The preset called ``name`` (one of :data:`PRESETS`)."""
    try:
        return PRESETS[name]
    except KeyError:
        raise ValueError(f"unknown model {name!r}; choose one of {sorted(PRESETS)}") from None
