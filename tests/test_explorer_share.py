"""Share by link: every gallery example round-trips exactly; bad links are refused with a reason."""

import base64
import json
import zlib

import pytest

from solver import Network, NetworkError
from explorer import gallery, share


def _pack(document):
    raw = json.dumps(document).encode()
    return base64.urlsafe_b64encode(zlib.compress(raw)).rstrip(b"=").decode()


@pytest.mark.parametrize("name", list(gallery.EXAMPLES))
def test_every_gallery_example_round_trips_exactly(name):
    net = gallery.build(name)
    text = share.encode(net, title=name, view={"color_by": "power", "show_values": False})
    assert all(c.isalnum() or c in "-_" for c in text)  # URL-safe, no padding
    back, title, view = share.decode_with_view(text)
    assert back == net  # nodes with every attribute (positions), elements with exact values
    assert back.nodes == net.nodes and [e.name for e in back.elements()] == [e.name for e in net.elements()]
    for node in net.nodes:  # positions bit for bit, not merely close
        assert back.node_attributes(node) == net.node_attributes(node)
    assert title == name and view == {"color_by": "power", "show_values": False}


def test_awkward_values_and_integer_node_names_survive():
    net = Network()
    net.add_voltage_source(7, 0, 0.1 + 0.2, name="V1")  # 0.30000000000000004
    net.add_resistor(7, "ü-node", resistance=1 / 3, name="R ω")
    net.add_diode("ü-node", "0", threshold=1e-300, name="D1")
    net.add_current_source("0", "ü-node", 5e-324, name="I1")
    net.add_node(7, x=1e300, y=-0.0, label="a")
    back = share.decode(share.encode(net))
    assert back == net and back.element("V1").value == 0.1 + 0.2 and 7 in back.nodes


def test_a_mesh_of_a_few_hundred_nodes_fits_a_link():
    net = gallery.mesh(400)
    text = share.encode(net)
    assert len(text) < share.MAX_LINK_CHARS
    assert share.decode(text) == net


def test_the_link_puts_the_text_in_the_query():
    url = share.link("http://127.0.0.1:5006/app", gallery.build("clipper"))
    base, text = url.split("?circuit=")
    assert base == "http://127.0.0.1:5006/app" and share.decode(text) == gallery.build("clipper")


@pytest.mark.parametrize("text, reason", [
    ("not base64 at all!", "base64"),
    (base64.urlsafe_b64encode(b"plain bytes").decode(), "damaged"),
    (_pack({"v": 99, "n": [], "e": []}), "version"),
    (_pack({"v": 1, "n": [["a"]], "e": [["X", "Q1", "a", "0", 1.0]]}), "kind 'X'"),
    (_pack({"v": 1, "n": [["a"]], "e": [["R", "R1", "a", "0", -1.0]]}), "R1"),
    (_pack({"v": 1, "n": [["a"]], "e": [["R", "R1", "a", "0", "1k"]]}), "numeric"),
    (_pack({"v": 1, "n": [[["a"]]], "e": []}), "names a node"),
    (_pack({"v": 1, "n": [["a", {"x": [1, 2]}]], "e": []}), "not scalars"),
    (_pack({"v": 1, "n": [], "e": [], "s": {"theme": "dark"}}), "theme"),
    (_pack([1, 2, 3]), "format"),
])
def test_bad_links_raise_a_network_error_naming_the_problem(text, reason):
    with pytest.raises(NetworkError, match=reason):
        share.decode(text)


def test_size_is_checked_before_decoding_and_while_decompressing():
    with pytest.raises(NetworkError, match="characters"):
        share.decode("A" * (share.MAX_LINK_CHARS + 1))
    # 20 MB of zeros compress to a short text: refused while inflating, not after
    bomb = base64.urlsafe_b64encode(zlib.compress(b"0" * 20_000_000, 9)).decode()
    assert len(bomb) < share.MAX_LINK_CHARS
    with pytest.raises(NetworkError, match="more than"):
        share.decode(bomb)
    with pytest.raises(NetworkError, match="cut short"):
        share.decode(share.encode(gallery.build("divider"))[:-6])


def test_bad_arguments_to_encode():
    with pytest.raises(TypeError, match="solver.Network"):
        share.encode({"nodes": []})
    with pytest.raises(ValueError, match="color_by"):
        share.encode(gallery.build("divider"), view={"color_by": "rainbow"})
    with pytest.raises(ValueError, match="too large"):
        share.encode(gallery.mesh(20_000))
