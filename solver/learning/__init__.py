"""The learning stack: deep resistive networks, EP/BP training, learning on general networks.

* ``drn`` (with the numba kernels ``_drn_kernels``): layered networks solved by
  exact block coordinate descent;
* ``ep``: the ``Trainer`` and the EP and BP gradients of a DRN;
* ``circuit_learner``: EP and coupled learning on any :class:`solver.Network`;
* ``presets`` (the paper's architectures), ``datasets`` (MNIST, digits),
  ``cli`` (``python -m solver train``) and ``grid`` (``python -m solver grid``,
  many trainings on Dask);
* ``checks``: argument checks and the vocabulary ``Trainer`` and ``Learner``
  share (``algorithm``, ``beta``, ``nudge``, ``centered``, ``lr_weights``).

It uses the circuit solver only through its public API.
"""

from .circuit_learner import Learner, encode_inputs, layered_network, resistor_drops
from .datasets import DatasetError, load_digits, load_mnist
from .drn import DRN, NudgingError
from .ep import Trainer, bp_gradients, ep_gradients, truncated_loss
from .presets import PRESETS, Preset, get_preset

__all__ = ["DRN", "DatasetError", "Learner", "NudgingError", "PRESETS", "Preset", "Trainer",
           "bp_gradients", "encode_inputs", "ep_gradients", "get_preset", "layered_network",
           "load_digits", "load_mnist", "resistor_drops", "truncated_loss"]
