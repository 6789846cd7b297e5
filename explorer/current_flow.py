"""Animated current: dots that move along each element in the direction of conventional current.

:func:`flow_paths` is a pure function of the drawing's routes and the
currents; it gives, per element that carries current, its wire as a polyline
oriented along the current (``p -> n`` when ``i > 0``), how far apart its dots
sit and how fast they move. The browser animates them (``FLOW_JS``, a timer
in the page), so the animation costs no message to the server; a new solve
only sends new paths and speeds. :func:`dots_at` is the same motion written in
Python: the reference the tests hold the browser's dots to.

Speed grows with the logarithm of ``|i|`` on a fixed scale (1 nA to 10 A), so
that a microampere and an ampere are both visibly moving, and the same current
moves at the same speed in every circuit. An element whose current is zero
(below ``ZERO_CURRENT``, or a billionth of the circuit's largest) shows no dots,
nor does a blocking diode.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["FLOW_JS", "SPEED_PX", "CURRENT_DECADES", "DOT_GAP_PX", "ZERO_CURRENT", "dot_speed_px",
           "dots_at", "flow_paths"]

#: Dot speed in screen pixels per second at the two ends of the current scale.
SPEED_PX = (12.0, 150.0)
#: log10 of the currents (A) that move at the slowest and the fastest speed; outside, clipped.
CURRENT_DECADES = (-9.0, 1.0)
#: Distance between neighbouring dots along a wire, in screen pixels (about; see :func:`flow_paths`).
DOT_GAP_PX = 28.0
#: Currents at or below this (A) count as zero.
ZERO_CURRENT = 1e-12
#: ... and so do those below this fraction of the circuit's largest current (rounding noise).
RELATIVE_ZERO = 1e-9


def dot_speed_px(current):
    """Dot speed (px/s) for currents ``current`` (A): linear in ``log10 |i|`` between the decades."""
    magnitude = np.abs(np.asarray(current, dtype=float))
    low, high = CURRENT_DECADES
    with np.errstate(divide="ignore"):
        t = np.clip((np.log10(magnitude) - low) / (high - low), 0.0, 1.0)
    return SPEED_PX[0] + (SPEED_PX[1] - SPEED_PX[0]) * t


def flow_paths(xy, pi, ni, a, b, current, kinds, conducting, scale):
    """Per element with current, its wire oriented along the current, dot spacing and speed.

    Parameters
    ----------
    xy : (n, 2) node positions; ``pi``/``ni``: element terminal indices.
    a, b : (m, 2) the route's corner points (NaN where the wire has none), as in
        :func:`explorer.layout.routes`: the wire runs ``p -> a -> b -> n``.
    current : (m,) element currents (A), positive from ``p`` to ``n`` through the element.
    kinds, conducting : element kinds and, for diodes, whether they conduct.
    scale : pixels per drawing unit (so that speeds and spacings are in px on screen).

    Returns
    -------
    dict of equal-length columns, one row per animated element: ``ei`` (element index),
    ``xs``/``ys`` (polyline, in the current's direction), ``length`` (drawing units),
    ``count`` (dots on the wire), ``gap`` (their spacing, ``length / count``) and
    ``speed`` (drawing units per second).
    """
    xy = np.asarray(xy, dtype=float).reshape(-1, 2)
    current = np.asarray(current, dtype=float)
    kinds = np.asarray(list(kinds), dtype=object)
    conducting = np.asarray(conducting, dtype=bool)
    finite = np.isfinite(current)
    largest = float(np.max(np.abs(current[finite]), initial=0.0))
    floor = max(ZERO_CURRENT, RELATIVE_ZERO * largest)
    moving = finite & (np.abs(np.nan_to_num(current)) > floor) & ~((kinds == "diode") & ~conducting)
    rows = dict(ei=[], xs=[], ys=[], length=[], count=[], gap=[], speed=[])
    speeds = dot_speed_px(current) / scale
    for k in np.flatnonzero(moving):
        corners = [xy[pi[k]], a[k], b[k], xy[ni[k]]]
        path = np.array([c for c in corners if np.isfinite(c[0])])
        if current[k] < 0:
            path = path[::-1]
        length = float(np.hypot(*np.diff(path, axis=0).T).sum())
        if length <= 0:
            continue
        count = max(1, round(length * scale / DOT_GAP_PX))
        rows["ei"].append(int(k))
        rows["xs"].append(path[:, 0].tolist())
        rows["ys"].append(path[:, 1].tolist())
        rows["length"].append(length)
        rows["count"].append(int(count))
        rows["gap"].append(length / count)
        rows["speed"].append(float(speeds[k]))
    return rows


def dots_at(paths, t):
    """Dot positions at time ``t`` (s): ``(x, y, row)`` arrays; the motion ``FLOW_JS`` draws.

    On row ``r`` dot ``j`` sits at arc length ``(t * speed) mod gap + j * gap`` from the
    start of the oriented wire, so each dot moves forward at ``speed`` and the one that
    leaves the end is replaced by one entering at the start.
    """
    xs_out, ys_out, row_out = [], [], []
    for r, (xs, ys, gap, count, speed) in enumerate(zip(paths["xs"], paths["ys"], paths["gap"],
                                                         paths["count"], paths["speed"])):
        xs, ys = np.asarray(xs, dtype=float), np.asarray(ys, dtype=float)
        seg = np.hypot(np.diff(xs), np.diff(ys))
        ends = np.cumsum(seg)
        phase = math.fmod(t * speed, gap)
        for j in range(count):
            s = phase + j * gap
            i = min(int(np.searchsorted(ends, s, side="right")), len(seg) - 1)
            start = ends[i] - seg[i]
            f = (s - start) / seg[i] if seg[i] > 0 else 0.0
            xs_out.append(xs[i] + f * (xs[i + 1] - xs[i]))
            ys_out.append(ys[i] + f * (ys[i + 1] - ys[i]))
            row_out.append(r)
    return np.array(xs_out), np.array(ys_out), np.array(row_out, dtype=np.int64)


# The browser's animation: every ``period`` ms it places the dots as :func:`dots_at` does at the
# page's clock, and sets the dot source without syncing it to the server. It stops itself when the
# paths are empty (flow switched off, or no current) and starts again when new paths arrive.
FLOW_JS = """
const place = () => {
  const f = paths.data;
  const n = f.speed.length;
  const x = [], y = [], row = [];
  const t = performance.now() / 1000;
  for (let r = 0; r < n; r++) {
    const xs = f.xs[r], ys = f.ys[r], gap = f.gap[r], count = f.count[r];
    const phase = (t * f.speed[r]) % gap;
    let i = 0, start = 0;
    let seg = Math.hypot(xs[1] - xs[0], ys[1] - ys[0]);
    for (let j = 0; j < count; j++) {
      const s = phase + j * gap;
      while (s >= start + seg && i < xs.length - 2) {
        start += seg; i += 1;
        seg = Math.hypot(xs[i + 1] - xs[i], ys[i + 1] - ys[i]);
      }
      const u = seg > 0 ? (s - start) / seg : 0;
      x.push(xs[i] + u * (xs[i + 1] - xs[i]));
      y.push(ys[i] + u * (ys[i + 1] - ys[i]));
      row.push(r);
    }
  }
  dots.__t = t;  // the clock these positions are for (tests compare with dots_at)
  dots.setv({data: {x: x, y: y, row: row}}, {sync: false});
  return n;
};
if (dots.__timer != null) {
  clearInterval(dots.__timer);
  dots.__timer = null;
}
if (place() > 0) {
  dots.__timer = setInterval(() => {
    if (place() === 0) { clearInterval(dots.__timer); dots.__timer = null; }
  }, period);
}
"""
