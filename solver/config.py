"""Numerical settings of the solver, in one place.

Change them here (or pass the matching keyword to :func:`solver.solve`); no
other module hard-codes a tolerance or a sweep limit.
"""

#: Default tolerance of :func:`solver.solve`. The certificate judges every
#: node's Kirchhoff residual against that node's own scale (the currents
#: meeting there plus its conductances times its voltage scale) and every
#: constraint against its own voltage scale; see :class:`solver.KKTCertificate`.
DEFAULT_TOL = 1e-10

#: Smallest tolerance that ``converged`` is ever judged at: below it, float64
#: rounding alone (about 2e-16 per operation, summed over a node's terms) fails it.
MIN_CERTIFICATE_TOL = 1e-12

#: The voltage every node's scale includes on top of the largest potential
#: around it (V), so that a node at 0 V is still judged to a finite scale.
VOLTAGE_FLOOR = 1.0

#: Rounding allowance of a diode current, relative to its ends' current scale
#: (16 ulps): below it, the sign of a current is float64 noise. Diode signs are
#: otherwise judged against the currents that really flow at their ends.
CURRENT_ROUNDING = 16 * 2.0**-52

#: Conductance ratio between the levels at which the certificate also checks
#: Kirchhoff's law for whole clusters of strongly coupled nodes (see
#: :class:`solver.KKTCertificate`): a network whose conductances span less than
#: this has one level and costs nothing extra.
CLUSTER_STEP = 1e3

#: Usable ranges of element values. Outside them float64 cannot hold the
#: answer to any useful accuracy (products such as g * v or I / g overflow or
#: lose every digit), so the network is refused up front with InvalidValueError.
MIN_CONDUCTANCE = 1e-15  # S (a resistance of at most 1e15 ohm)
MAX_CONDUCTANCE = 1e15  # S (a resistance of at least 1e-15 ohm)
MAX_ABS_VOLTAGE = 1e15  # V, sources and diode thresholds
MAX_ABS_CURRENT = 1e15  # A, current sources

#: Coordinate-descent sweeps spent before the active-set polish takes over.
#: Sweeps are cheap and find most conducting diodes; the polish makes the
#: answer exact. From the diode-free start, 4 sweeps leave the polish as many
#: solves as 16 did (random networks and grids, 1e2-1e5 nodes; see
#: benchmarks/results_solver.md), at a quarter of the sweeping.
DEFAULT_CD_SWEEPS = 4

#: Sweeps that smooth the primal active-set method's restart point.
RESTART_SWEEPS = 16

#: Hard limit on sweeps when the caller asks for coordinate descent only.
DEFAULT_MAX_SWEEPS = 100_000

#: Largest ``max_sweeps`` or ``cd_sweeps`` accepted.
MAX_SWEEPS_LIMIT = 10_000_000

#: Sweeps run per call of the kernel: its trace buffers (16 bytes a sweep) are
#: allocated per chunk, never for the whole requested count.
SWEEP_CHUNK = 4096

#: Sweeps stop once no potential moves by more than this times the tolerance's
#: voltage scale: the polish takes over from there.
SWEEP_STEP_FRACTION = 1e-3

#: Primal-dual active-set guesses tried before the monotone primal method.
PRIMAL_DUAL_ITERATIONS = 50

#: Limit on active-set iterations (each one a sparse factorization).
MAX_ACTIVE_SET_ITERATIONS = 10_000

#: A diode whose slack is below this (times the scale) counts as tight when
#: the active set is guessed from a coordinate-descent point.
TIGHT_SLACK = 1e-12

#: Equality-QP systems up to this many unknowns are factorised in their natural
#: order: fill cannot cost more than computing a fill-reducing ordering would.
NATURAL_ORDER_SIZE = 400

#: The fill-reducing order is a minimum-degree elimination on the graph itself
#: (``solver.core._ordering``) while it visits at most this many list entries
#: per matrix entry: 2-4 on tree-like networks, where it is several times
#: cheaper than SuperLU's ordering. Beyond (large cliques, as on 2-D grids) it
#: gives up and nested dissection (``solver.core._dissection``) orders instead.
MIN_DEGREE_WORK = 6

#: Nested dissection stops splitting parts of at most this many unknowns and
#: orders them by minimum degree (on 1e4-1e5-node grids 32-128 give the same
#: fill within 2 %; smaller leaves cost more separator searches).
DISSECTION_LEAF_SIZE = 64

#: Numba compilation flags shared by all kernels. fastmath stays off: the
#: certificate must be reproducible and NaN checks must keep working.
NUMBA_OPTIONS = dict(cache=True, nogil=True, fastmath=False)

#: Largest number of off-diagonal entries of L whose row patterns the Cholesky's symbolic pass keeps
#: (int32, 4 bytes each) for its numeric pass, which otherwise walks the elimination tree again.
ROW_PATTERN_LIMIT = 2**25

#: Pivots per block of the supernodal Cholesky's dense fronts (eliminated by plain loops) and per
#: panel (the trailing matrix is updated once per panel); an update is one BLAS product
#: (``np.dot``) from SUPERNODAL_BLAS_FLOPS multiply-adds, plain loops below (a BLAS call costs about
#: a microsecond, plain loops run at about a multiply-add per nanosecond here).
SUPERNODAL_BLOCK = 48
SUPERNODAL_PANEL = 256
SUPERNODAL_BLAS_FLOPS = 400_000

#: Predicted multiply-adds (sum of squared column counts of L, unmerged matrix) from which the
#: polish factorises by supernodes rather than up-looking (see ``benchmarks/bench_supernodal.py``).
SUPERNODAL_MIN_FLOPS = 5e6

#: Subtrees per thread that the multi-threaded supernodal factorisation may cut the elimination tree
#: into (more: better balance, more of the top of the tree left to one thread).
SUPERNODAL_SUBTREES = 4

#: Front work (multiply-adds plus assembly, see ``_supernodal._front_work``) from which the supernodal
#: factorisation uses numba's threads: below it, starting them costs more than they save.
SUPERNODAL_THREAD_WORK = 2e8

#: Largest supernodal factor (L, update stack and largest front, bytes) allocated: beyond it the
#: solve raises MemoryError naming the size (3-D meshes fill in far more than 2-D grids).
FACTOR_MAX_BYTES = 8 * 2**30

#: Relaxed supernodes: a column joins its child's supernode while the stored zeros stay within
#: ``fraction`` of the supernode's stored entries, for the first ``width`` that fits (after CHOLMOD's
#: defaults: small supernodes cost more in overhead than their zeros cost in flops).
SUPERNODAL_RELAX = ((4, 1.0), (16, 0.8), (48, 0.1), (2**62, 0.05))

#: DRN kernels (:mod:`solver.learning._drn_kernels`): multiply-adds below which a
#: kernel call runs on the calling thread rather than on numba's pool (waking the
#: pool costs microseconds, a small layer's update less). The result is the same
#: bits either way; only the speed depends on it.
DRN_PARALLEL_MIN_WORK = 2**18

#: Threads from which the EP training phases of a DRN with wide hidden-to-hidden
#: matrices (drn-2h, drn-3h) split their layer updates by columns on the pool. At
#: a batch of 4 the split reads each such matrix twice per iteration where the
#: one-thread sweep reads it once, so two threads do 1.3-1.9x the work and gain at
#: most 1.0-1.2x before fork/join costs (benchmarks/results_drn.md); below this
#: the phases run on the calling thread (same bits) while the weight passes still
#: use every thread. Inference (large batches) always uses the pool.
DRN_RELAX_POOL_MIN_THREADS = 3

#: Largest network (nodes + elements) that the solver will allocate for.
MAX_ELEMENTS = 50_000_000

#: Search directions slower than this (times the voltage scale) do not block a step.
RATIO_TEST_EPS = 1e-14

#: Steps of a primal active-set ratio test that lie within this relative
#: distance of the shortest one block together (ties in one iteration).
RATIO_TEST_TIE = 1e-12

#: Iterative-refinement steps of an equality-QP solve, at most (the residual
#: is evaluated in double-double); refinement stops as soon as a step no
#: longer halves the worst row residual ...
REFINEMENT_STEPS = 6

#: ... or once every component's correction is within this many ulps of it.
REFINEMENT_TARGET = 1

#: Node visits the tight closure of a primal-dual iteration may spend, per
#: node and diode of the network, before it stops spreading.
CLOSURE_WORK = 4

#: Relative residual at which conjugate gradients with a reused factor stop,
#: and the iterations they get before the matrix is factorised afresh.
CG_TOLERANCE = 1e-14
CG_MAX_ITERATIONS = 6

#: A working set that differs from the last factorised one by a few diodes is
#: solved through that factor bordered by the change (``core/_bordered.py``).
#: A border of k rows costs about k triangular-solve passes over the factor; a
#: fresh factorisation about BORDER_SYMBOLIC_SOLVES passes (its symbolic work)
#: plus its flops over BORDER_FLOPS_PER_SOLVE times the factor's size (both
#: measured on 1e5-node random networks and grids, with a 25 % margin). At most
#: BORDER_MAX rows (and see BORDER_MAX_ENTRIES); below BORDER_MIN_FACTOR entries
#: in the factor, factorising costs less than the border's fixed Python
#: overhead. The refined solution must meet BORDER_RESIDUAL (worst row residual
#: relative to its row's scale), or the matrix is factorised after all.
BORDER_SYMBOLIC_SOLVES = 9.0
BORDER_FLOPS_PER_SOLVE = 11.0
BORDER_MIN_FACTOR = 20_000
BORDER_MAX = 64
#: The border keeps two dense n x k arrays: k is also capped so that each holds
#: at most this many numbers (16 rows at 1e6 unknowns, 128 MB per array).
BORDER_MAX_ENTRIES = 16_000_000
BORDER_RESIDUAL = 1e-12

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

#: Readings of a point that is not a solution (the explorer's coordinate-descent
#: steps): a diode within this of its threshold (times 1 + |threshold|) is shown as on.
STEP_TIGHT_SLACK = 1e-9
