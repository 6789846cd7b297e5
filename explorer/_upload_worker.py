"""Imported once by the fork server of :mod:`explorer.server`: every upload's process starts warm.

Importing the explorer and solving one small circuit loads the numba kernels (about 2 s from
numba's disk cache); done here, each child process forked for an upload inherits them.
"""

from solver import solve

from explorer import gallery, server  # noqa: F401  (the children run explorer.server's functions)

solve(gallery.build("clipper"), trace=False)
