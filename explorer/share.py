"""Share a circuit as a link: the whole network in the URL query ``?circuit=...``.

The text is compact JSON of the nodes (name and scalar attributes such as the
layout's ``x``/``y``) and the elements (kind, name, terminals, value),
zlib-compressed and written in URL-safe base64 without padding. Floats are
written with Python's shortest round-trip ``repr``, so decoding gives back
exactly the same network (``decode(encode(net)) == net``).

Decoding reads untrusted text: the text length is checked before anything
is decoded, the decompressed size is capped while decompressing, the JSON
structure is checked field by field, and the network is built through the
ordinary :class:`solver.Network` methods, so every value is validated as if
typed. There is no ``eval`` and no ``pickle``.

>>> from explorer import gallery, share
>>> net = gallery.build("divider")
>>> text = share.encode(net)
>>> share.decode(text) == net
True
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import zlib
from urllib.parse import quote

from solver import Network, NetworkError
from solver.core.network import KINDS

__all__ = ["MAX_LINK_CHARS", "MAX_JSON_BYTES", "decode", "decode_with_view", "encode", "link"]

#: Longest ``circuit`` text accepted (browsers and servers handle URLs of this size).
MAX_LINK_CHARS = 60_000
#: Largest JSON a link may decompress to (a link cannot inflate into a memory bomb).
MAX_JSON_BYTES = 2_000_000
#: Format version written first in the JSON, so that older links can be read later.
VERSION = 1
#: View settings a link may carry, with the values each accepts.
VIEW_SETTINGS = {"color_by": ("potential", "power"), "show_values": (True, False), "presenter": (True, False)}

_KIND_CODE = {"resistor": "R", "diode": "D", "vsource": "V", "isource": "I"}
_CODE_KIND = {code: kind for kind, code in _KIND_CODE.items()}


def _scalar(value):
    return isinstance(value, (str, int, float, bool)) and not (isinstance(value, float) and not math.isfinite(value))


def encode(network, title=None, view=None) -> str:
    """The network (and optionally its title and view settings) as URL-safe text.

    Parameters
    ----------
    network : solver.Network
    title : str, optional
        Name shown for the circuit.
    view : dict, optional
        View settings (keys of ``VIEW_SETTINGS``).
    """
    if not isinstance(network, Network):
        raise TypeError(f"encode needs a solver.Network, not {type(network).__name__}")
    nodes = []
    for node in network.nodes:
        attributes = {k: v for k, v in network.node_attributes(node).items() if _scalar(v)}
        nodes.append([node, attributes] if attributes else [node])
    elements = [[_KIND_CODE[e.kind], e.name, e.p, e.n, e.value] for e in network.elements()]
    document = {"v": VERSION, "n": nodes, "e": elements}
    if title:
        document["t"] = str(title)
    if view:
        _check_view(view)
        document["s"] = dict(view)
    raw = json.dumps(document, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()
    text = base64.urlsafe_b64encode(zlib.compress(raw, 9)).rstrip(b"=").decode("ascii")
    if len(text) > MAX_LINK_CHARS:
        raise ValueError(f"the circuit is too large to share as a link ({len(text)} characters, "
                         f"at most {MAX_LINK_CHARS}); download it as a file instead")
    return text


def link(base_url, network, title=None, view=None) -> str:
    """``base_url?circuit=...`` for the network (the address to copy)."""
    return f"{base_url}?circuit={quote(encode(network, title, view))}"


def decode(text) -> Network:
    """The network encoded in ``text`` (see :func:`encode`); ``NetworkError`` says what is wrong."""
    return decode_with_view(text)[0]


def decode_with_view(text):
    """``(network, title, view)`` from a shared link's text; title is ``None`` and view ``{}`` when absent."""
    document = _document(text)
    network = Network()
    nodes = _field(document, "n", list)
    for k, entry in enumerate(nodes):
        if not isinstance(entry, list) or not 1 <= len(entry) <= 2:
            raise NetworkError(f"shared circuit: node entry {k} must be [name] or [name, attributes]")
        attributes = entry[1] if len(entry) == 2 else {}
        if not isinstance(attributes, dict) or not all(_scalar(v) for v in attributes.values()):
            raise NetworkError(f"shared circuit: node {entry[0]!r} has attributes that are not scalars")
        network.add_node(_node_name(entry[0], k), **attributes)
    for k, entry in enumerate(_field(document, "e", list)):
        if not isinstance(entry, list) or len(entry) != 5:
            raise NetworkError(f"shared circuit: element entry {k} must be [kind, name, p, n, value]")
        code, name, p, n, value = entry
        if code not in _CODE_KIND:
            raise NetworkError(f"shared circuit: element {name!r} has kind {code!r}; "
                               f"accepted: {', '.join(_CODE_KIND)}")
        if not isinstance(name, str) or isinstance(value, bool) or not isinstance(value, (int, float)):
            raise NetworkError(f"shared circuit: element entry {k} needs a text name and a numeric value")
        kind = _CODE_KIND[code]
        p, n = _node_name(p, k), _node_name(n, k)
        if kind == "resistor":
            network.add_resistor(p, n, conductance=value, name=name)
        else:
            network.add_element(kind, p, n, value, name=name)
    title = document.get("t")
    if title is not None and not isinstance(title, str):
        raise NetworkError("shared circuit: the title must be text")
    view = document.get("s", {})
    if not isinstance(view, dict):
        raise NetworkError("shared circuit: view settings must be an object")
    try:
        _check_view(view)
    except ValueError as e:
        raise NetworkError(f"shared circuit: {e}") from None
    return network, title, view


def _check_view(view):
    for key, value in view.items():
        if key not in VIEW_SETTINGS:
            raise ValueError(f"unknown view setting {key!r}; accepted: {', '.join(VIEW_SETTINGS)}")
        if value not in VIEW_SETTINGS[key] or type(value) is not type(VIEW_SETTINGS[key][0]):
            raise ValueError(f"view setting {key!r} must be one of {VIEW_SETTINGS[key]}, got {value!r}")


def _node_name(value, k):
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise NetworkError(f"shared circuit: entry {k} names a node with {value!r}; names are text or integers")
    return value


def _field(document, key, kind):
    value = document.get(key)
    if not isinstance(value, kind):
        raise NetworkError(f"shared circuit: field {key!r} is missing or not a {kind.__name__}")
    return value


def _document(text):
    if not isinstance(text, str):
        raise TypeError(f"decode needs text, not {type(text).__name__}")
    text = text.strip()
    if len(text) > MAX_LINK_CHARS:  # checked before any decoding
        raise NetworkError(f"shared circuit: the link text has {len(text)} characters, at most {MAX_LINK_CHARS}")
    try:
        packed = base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError):
        raise NetworkError("shared circuit: the link text is not URL-safe base64 (was it cut short?)") from None
    inflater = zlib.decompressobj()
    try:
        raw = inflater.decompress(packed, MAX_JSON_BYTES)
    except zlib.error:
        raise NetworkError("shared circuit: the link text is damaged (it does not decompress)") from None
    if inflater.unconsumed_tail:
        raise NetworkError(f"shared circuit: the circuit decompresses to more than {MAX_JSON_BYTES} bytes")
    if not inflater.eof:
        raise NetworkError("shared circuit: the link text is cut short")
    try:
        document = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise NetworkError("shared circuit: the link does not hold a circuit (not JSON)") from None
    if not isinstance(document, dict) or document.get("v") != VERSION:
        raise NetworkError(f"shared circuit: unknown format (expected version {VERSION})")
    return document
