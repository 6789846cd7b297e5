"""Numerical settings of the solver, in one place.

Change them here (or pass the matching keyword to :func:`solver.solve`); no
other module hard-codes a tolerance or a sweep limit.
"""

import numpy as np

#: Floating-point type of every potential, conductance and current.
DTYPE = np.float64

#: Default tolerance of :func:`solver.solve`, relative to the problem's scale
#: (1 V plus the largest source voltage, threshold or current/conductance).
DEFAULT_TOL = 1e-10

#: Coordinate-descent sweeps spent before the active-set polish takes over.
#: Sweeps are cheap and find most conducting diodes; the polish makes the
#: answer exact. Small interactive circuits usually converge within them.
DEFAULT_CD_SWEEPS = 16

#: Hard limit on sweeps when the caller asks for coordinate descent only.
DEFAULT_MAX_SWEEPS = 100_000

#: Primal-dual active-set guesses tried before the monotone primal method.
PRIMAL_DUAL_ITERATIONS = 50

#: Limit on active-set iterations (each one a sparse factorization).
MAX_ACTIVE_SET_ITERATIONS = 10_000

#: A diode whose slack is below this (times the scale) counts as tight when
#: the active set is guessed from a coordinate-descent point.
TIGHT_SLACK = 1e-12

#: Numba compilation flags shared by all kernels. fastmath stays off: the
#: certificate must be reproducible and NaN checks must keep working.
NUMBA_OPTIONS = dict(cache=True, nogil=True, fastmath=False)

#: Largest network (nodes + elements) that the solver will allocate for.
MAX_ELEMENTS = 50_000_000

#: Search directions slower than this (times the voltage scale) do not block a step.
RATIO_TEST_EPS = 1e-14

#: Relative residual at which conjugate gradients with a reused factor stop,
#: and the iterations they get before the matrix is factorised afresh.
CG_TOLERANCE = 1e-14
CG_MAX_ITERATIONS = 6

#: How far (times the voltage scale) a loop of voltage sources, or a diode held
#: by sources alone, may be off before the network is rejected.
SOURCE_LOOP_TOLERANCE = 1e-9

#: Sweeps (:func:`solver.sweep`): a diode whose slack is below this (times the
#: voltage scale) at an exact solve counts as at its threshold, and one whose
#: current is above this (times the current scale) as conducting.
SWEEP_TIGHT_SLACK = 1e-10
SWEEP_CURRENT_TOL = 1e-10

#: Rates of change (per unit of the swept value) below this, relative to the
#: largest one, count as zero in the sweep's ratio test.
SWEEP_RATE_TOL = 1e-12

#: Pieces of an exact sweep shorter than this (relative to the swept values) are
#: rounding around a degenerate value: they are not reported as segments.
SWEEP_MIN_PIECE = 1e-12

#: Limit on the segments of one exact sweep (each is one warm re-solve).
SWEEP_MAX_SEGMENTS = 1_000_000
