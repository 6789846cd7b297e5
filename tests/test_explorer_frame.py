"""The drawing follows the plot-frame size that the browser reports (no browser: the report is
applied to the figure's read-only ``inner_width``/``inner_height`` as Bokeh's server does)."""

import pytest

pytest.importorskip("panel")

from explorer import CircuitStore, CircuitView  # noqa: E402
from explorer.layout import figure_size  # noqa: E402


def report(figure, width, height):
    """What Bokeh's server does with the browser's patch of the figure's frame size."""
    figure.set_from_json("inner_width", width)
    figure.set_from_json("inner_height", height)


def px_per_unit(figure, width, height):
    x, y = figure.x_range, figure.y_range
    return width / (x.end - x.start), height / (y.end - y.start)


@pytest.mark.parametrize("width,height", [(1060, 482), (419, 482), (994, 300)])
def test_reported_frame_size_lays_the_drawing_out_for_it(width, height):
    view = CircuitView(store=CircuitStore.from_example("wheatstone"))
    assert view.frame == figure_size(1024, 768)  # the prediction until the browser reports
    node_offsets = list(view.node_source.data["lox"])
    report(view.figure, width, height)
    assert view.frame == (width, height)
    sx, sy = px_per_unit(view.figure, width, height)
    assert sx == pytest.approx(sy, rel=1e-9)  # one scale on both axes: the frame really is that size
    if width < 500:  # a narrow frame moves labels to other sides of their anchors
        assert list(view.node_source.data["lox"]) != node_offsets


def test_sizes_too_small_to_be_a_frame_are_ignored():
    view = CircuitView(store=CircuitStore.from_example("divider"))
    before = view.frame
    report(view.figure, 0, 0)  # (a hidden tab lays the figure out with no size)
    assert view.frame == before
