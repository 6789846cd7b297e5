"""The batch's weight region (every pending EP update + the input product in one parallel
region) and the epoch-start weight sums, against separate kernel calls and exact sums."""

import math

import numpy as np
import pytest

from solver.learning import _drn_kernels as K
from solver.learning.drn import using_threads

#: Input weights, a narrow matrix (transposed copy kept) with fewer rows than panels, and a
#: wide one; B = 3 examples. The second network's work is above K.PARALLEL_MIN_WORK (its
#: panels run on the pool), the first one's below (on the calling thread).
B = 3
SIZES = [[40, 70, 6, 10], [600, 130, 90]]
assert 600 * 130 * (2 * B + 1) > K.PARALLEL_MIN_WORK > 40 * 70 * (2 * B + 1) + 70 * 16 * 7


def _problem(sizes, dtype, seed=0):
    rng = np.random.default_rng(seed)
    Ws = [np.ascontiguousarray(np.maximum(rng.normal(0.05, 0.05, (a, b)), 0), dtype=dtype)
          for a, b in zip(sizes[:-1], sizes[1:])]
    vin = rng.uniform(-1, 1, (B, sizes[0])).astype(dtype)
    vin[:, ::3] = 0.0  # dark pixels: skipped terms
    pend = []
    for k, W in enumerate(Ws):
        rank = B if k == 0 else 2 * B
        r = np.zeros(W.shape[0], dtype) if k == 0 else rng.normal(0, 0.01, W.shape[0]).astype(dtype)
        pend.append((r, rng.normal(0, 0.01, W.shape[1]).astype(dtype),
                     rng.normal(0, 1, (rank, W.shape[0])).astype(dtype),
                     rng.normal(0, 0.01, (rank, W.shape[1])).astype(dtype)))
    return Ws, vin, pend


def _region(Ws, vin, pend, pending, threads):
    dt = Ws[0].dtype
    Ws = [W.copy() for W in Ws]
    WTs = [np.ascontiguousarray(W.T) if k and W.shape[1] < K.NARROW_COLUMNS
           else np.zeros((1, 1), dt) for k, W in enumerate(Ws)]
    rowsums = [np.full(W.shape[0], -1, dt) for W in Ws]
    colsums = [np.full(W.shape[1], -1, dt) for W in Ws]
    P = np.empty((vin.shape[0], Ws[0].shape[1]), dt)
    flags = np.array(pending, dtype=np.int64)
    lists = [K.seq([np.array(p[i]) for p in pend]) for i in range(4)]
    with using_threads(threads):
        K.update_weights(K.seq(Ws), K.seq(WTs), flags, *lists, K.seq(rowsums), K.seq(colsums),
                         vin, P, K.weight_scratch(Ws, vin.shape[0]), K.parallel_now())
    assert not flags.any()
    return Ws, WTs, rowsums, colsums, P


@pytest.mark.parametrize("sizes", SIZES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_weight_region_gives_the_bits_of_one_rank_update_per_matrix(sizes, dtype):
    Ws, vin, pend = _problem(sizes, dtype)
    for threads in (1, 2):
        got = _region(Ws, vin, pend, [1] * len(Ws), threads)
        for k, (W, (r, c, U, E)) in enumerate(zip(Ws, pend)):
            W = W.copy()
            rowsum, colsum = np.empty(W.shape[0], dtype), np.empty(W.shape[1], dtype)
            Xp = vin if k == 0 else np.zeros((0, W.shape[0]), dtype)
            P = np.empty((Xp.shape[0], W.shape[1]), dtype)
            K.rank_update_project(W, r, c, U, E, rowsum, colsum, Xp, P, k > 0, 1)
            np.testing.assert_array_equal(got[0][k], W)
            np.testing.assert_array_equal(got[3][k], colsum)
            if k:
                np.testing.assert_array_equal(got[2][k], rowsum)
                if W.shape[1] < K.NARROW_COLUMNS:
                    np.testing.assert_array_equal(got[1][k], W.T)
            else:
                np.testing.assert_array_equal(got[4], P)
        # and the plain formula (float64 reference, another summation order)
        r, c, U, E = (a.astype(np.float64) for a in pend[0])
        W0 = np.maximum(Ws[0] + r[:, None] + c[None, :] + U.T @ E, 0)
        tol = 1e-5 if dtype == np.float32 else 1e-12
        np.testing.assert_allclose(got[0][0], W0, rtol=tol, atol=tol)
        np.testing.assert_allclose(got[4], vin.astype(np.float64) @ W0, rtol=tol, atol=tol)


def test_weight_region_without_pending_updates_only_projects():
    Ws, vin, pend = _problem(SIZES[0], np.float64)
    got = _region(Ws, vin, pend, [0] * len(Ws), 2)
    for W, W_after in zip(Ws, got[0]):
        np.testing.assert_array_equal(W_after, W)
    assert (got[3][1] == -1).all() and (got[2][1] == -1).all()  # untouched: no pass
    np.testing.assert_allclose(got[4], vin @ Ws[0], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(got[3][0], Ws[0].sum(0), rtol=1e-12)


@pytest.mark.parametrize("shape", [(1, 5), (7, 3), (9, 130), (1568, 17)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_weight_sums_match_exact_sums(shape, dtype):
    W = np.random.default_rng(1).exponential(0.02, shape).astype(dtype)
    W[W < 0.005] = 0.0
    exact_rows = np.array([math.fsum(row) for row in W.astype(np.float64)])
    exact_cols = np.array([math.fsum(col) for col in W.astype(np.float64).T])
    for threads in (1, 2):
        rowsum, colsum = np.empty(shape[0], dtype), np.empty(shape[1], dtype)
        with using_threads(threads):
            K.weight_sums(W, rowsum, colsum, K.parallel_now())
        # float64 sums, rounded once: within an ulp of the exact sum in float32
        tol = 1e-12 if dtype == np.float64 else 2 ** -23
        np.testing.assert_allclose(rowsum, exact_rows, rtol=tol)
        np.testing.assert_allclose(colsum, exact_cols, rtol=tol)
        if threads == 1:
            first = rowsum.copy(), colsum.copy()
        else:
            np.testing.assert_array_equal(rowsum, first[0])
            np.testing.assert_array_equal(colsum, first[1])
