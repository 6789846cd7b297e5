"""Serving the explorer to a class at once: heavy work off the event loop, sessions released on close.

A Bokeh server runs every session's callbacks on one event loop, so one slow callback freezes
every open tab. This module keeps the loop free:

* :func:`run_isolated` runs a function in a fresh child process (forked from a preloaded fork
  server, lower CPU priority, its own memory cap) and kills it when its time budget is spent.
  Parsing untrusted files is pure Python and holds the GIL, and a hostile netlist can expand to
  millions of elements, so uploads are parsed, laid out and test-solved there: nothing an upload
  does can stall the server or grow its memory, and an abandoned upload leaves no thread behind.
* :func:`run_off_loop` runs ``compute`` in a worker thread and then ``apply`` back on the
  session's event loop (``Document.add_next_tick_callback``, the one thread-safe entry into a
  session), so the loop only ever does the cheap part.
* :func:`open_upload` is the upload path of the app built from the two: the last valid circuit
  stays on screen until the new one is ready, and an upload that fails or runs out of time says so.
* :func:`release_session` runs when a session is destroyed: it stops the session's periodic
  callbacks, drops its edit history, and returns freed memory to the operating system
  (``malloc_trim``; it can return Python objects' pages only when the server runs with
  ``PYTHONMALLOC=malloc``, since Python's own allocator keeps any arena with one live object).
* :func:`freeze_startup_objects` (called by the CLI) keeps the imports out of every full garbage
  collection, which session start-ups trigger.
* :func:`send_small_arrays_inline` writes small numeric arrays into the JSON of a server message
  instead of one websocket frame each: a slider move's repaint went out as about 40 frames.
* :func:`quiet_closed_connection_warnings` turns Bokeh's "Failed sending message as connection
  was closed" warnings (one per update pushed to a tab that has gone) into a debug message.
"""

from __future__ import annotations

import base64
import contextlib
import ctypes
import ctypes.util
import gc
import logging
import multiprocessing
import os
import struct
import threading
import time
import weakref
import zlib
from concurrent.futures import ThreadPoolExecutor

import param

from solver import NetworkError, solve

from . import io as circuit_io

__all__ = [
    "UPLOAD_MEMORY_BYTES",
    "UPLOAD_SECONDS",
    "WorkAbandoned",
    "freeze_startup_objects",
    "open_upload",
    "prepare_upload",
    "quiet_closed_connection_warnings",
    "recompute_models_once",
    "release_session",
    "run_isolated",
    "run_next_tick",
    "run_off_loop",
    "send_small_arrays_inline",
]

log = logging.getLogger(__name__)


def _env_number(name, default):
    try:
        value = float(os.environ.get(name, default))
    except ValueError:
        return default
    return value if value > 0 else default


#: Time budget of one upload (parse, layout and a first solve), seconds.
UPLOAD_SECONDS = _env_number("RESISTIVE_EXPLORER_UPLOAD_SECONDS", 20.0)
#: Memory an upload may take beyond what the process reading it starts with (address space).
UPLOAD_MEMORY_BYTES = int(_env_number("RESISTIVE_EXPLORER_UPLOAD_MEMORY_MB", 1024) * 2**20)
#: Uploads read at the same time across all sessions; further ones wait (inside their budget).
PARALLEL_UPLOADS = 2
#: Niceness added to the processes that read uploads: the server's own loop goes first.
CHILD_NICENESS = 10

#: Worker threads of :func:`run_off_loop` (they mostly wait on child processes or numba kernels).
_threads = ThreadPoolExecutor(max_workers=4, thread_name_prefix="explorer-work")
_upload_slots = threading.BoundedSemaphore(PARALLEL_UPLOADS)
_busy_stores = weakref.WeakSet()
_context = None
_started = False


class WorkAbandoned(RuntimeError):
    """Heavy work stopped because it ran out of its time or memory budget."""


# ----------------------------------------------------------------- child processes
def _process_context():
    """A fork-server context whose server has imported the explorer and loaded the numba kernels."""
    global _context
    if _context is None:
        if "forkserver" in multiprocessing.get_all_start_methods():
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(["explorer._upload_worker"])
        else:  # Windows: each upload starts a fresh interpreter (slower, same isolation)
            context = multiprocessing.get_context("spawn")
        _context = context
    return _context


def start_worker_processes():
    """Start the fork server now, in the background, so that the first upload does not wait for it.

    Idempotent: the served app calls it for every session, and only the first call starts it.
    """
    global _started
    if _started:
        return
    _started = True

    def start():
        if _process_context().get_start_method() != "forkserver":
            return
        from multiprocessing import forkserver

        try:
            forkserver.ensure_running()
        except Exception as e:  # uploads will try again, and report
            log.warning("could not start the upload fork server: %s", e)

    threading.Thread(target=start, name="explorer-forkserver", daemon=True).start()


def _address_space_bytes():
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


def _limit_memory(extra_bytes):
    """Cap this process's address space at what it uses now plus ``extra_bytes`` (Linux)."""
    try:
        import resource
    except ImportError:  # pragma: no cover - not on Linux
        return
    limit = _address_space_bytes() + extra_bytes
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def _child_main(sender, function, args, memory_bytes):
    try:
        os.nice(CHILD_NICENESS)
    except OSError:
        pass
    if memory_bytes:
        _limit_memory(memory_bytes)
    try:
        outcome = ("ok", function(*args))
    except MemoryError:
        outcome = ("memory", None)
    except RecursionError:
        outcome = ("error", "the input is nested too deeply to read")
    except NetworkError as e:
        outcome = ("error", str(e))
    except Exception as e:  # report, never crash: the parent shows it as a failed upload
        outcome = ("error", f"{type(e).__name__}: {e}")
    if outcome[0] == "memory":
        gc.collect()  # what the task built is unreachable now: room to send the answer
    try:
        sender.send(outcome)
    except MemoryError:
        sender.send(("memory", None))
    except Exception as e:  # a result that cannot be pickled
        sender.send(("error", f"could not return the result ({type(e).__name__}: {e})"))
    finally:
        sender.close()
    os._exit(0)  # skip the interpreter's shutdown (0.4 s with the explorer loaded): nothing to flush


def run_isolated(function, args=(), *, seconds, memory_bytes=None, what="the task"):
    """Return ``function(*args)`` computed in a child process, within ``seconds`` and ``memory_bytes``.

    ``function`` must be importable (a module-level function). Raises :class:`WorkAbandoned` when
    the budget runs out (the child is killed at once) and :class:`~explorer.io.UploadError`, with
    the child's message, when the function raised. Blocks the calling thread: call it from a
    worker thread (:func:`run_off_loop`) in a served app.
    """
    if not (seconds > 0):
        raise ValueError(f"seconds must be a positive number, not {seconds!r}")
    context = _process_context()
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(target=_child_main, args=(sender, function, args, memory_bytes),
                              name="explorer-isolated", daemon=True)
    process.start()
    sender.close()
    try:
        if not receiver.poll(seconds):
            raise WorkAbandoned(f"{what} took longer than its budget of {seconds:g} s and was stopped")
        try:
            status, payload = receiver.recv()
        except EOFError:  # the child died without a word: out of memory in C code, or killed
            process.join(5)
            status, payload = "died", process.exitcode
    finally:
        if process.is_alive():  # at the budget, or done and exiting: either way nothing more to wait for
            process.kill()
        process.join()
        receiver.close()
        process.close()
    if status == "ok":
        return payload
    if status == "memory":
        limit = f" of {memory_bytes / 2**20:,.0f} MiB" if memory_bytes else ""
        raise WorkAbandoned(f"{what} ran out of its memory budget{limit} and was stopped")
    if status == "died":
        raise WorkAbandoned(f"{what} stopped without a result (exit code {payload}), probably out of memory")
    raise circuit_io.UploadError(payload)


# ----------------------------------------------------------------------- uploads
def prepare_upload(data, filename):
    """Parse an upload, give its nodes positions and solve it once: ``(network, solve_seconds)``.

    Runs in the child process of :func:`open_upload`; the solve checks, within the budget, that
    the circuit can be shown, and its time is reported. A circuit with no valid steady state is
    still returned (the app shows it with the solver's message).
    """
    from .state import _wired, ensure_layout

    network = circuit_io.read_network(data, filename)
    ensure_layout(network)
    t0 = time.perf_counter()
    try:
        solve(_wired(network), trace=False)
    except NetworkError:
        pass
    return network, time.perf_counter() - t0


def _show_error(store, message):
    store.error = message
    store.version += 1


def open_upload(store, data, filename, *, seconds=None, memory_bytes=None, doc=None):
    """Read an uploaded file off the event loop and load it into ``store`` when ready.

    The file is parsed, laid out and test-solved in a child process with a time budget
    (:data:`UPLOAD_SECONDS`) and a memory cap (:data:`UPLOAD_MEMORY_BYTES`); then the network is
    loaded on the session's loop. Any failure leaves the current circuit in place and shows why.
    One upload per session at a time. Returns False when the upload was refused at once.
    """
    seconds = UPLOAD_SECONDS if seconds is None else seconds
    memory_bytes = UPLOAD_MEMORY_BYTES if memory_bytes is None else memory_bytes
    if store in _busy_stores:
        _show_error(store, f"could not open {filename}: still reading the previous file")
        return False
    _busy_stores.add(store)

    def compute():
        deadline = time.monotonic() + seconds
        if not _upload_slots.acquire(timeout=seconds):
            raise WorkAbandoned(f"the server is busy reading other files; try again in {seconds:g} s")
        try:
            return run_isolated(prepare_upload, (data, filename), seconds=max(deadline - time.monotonic(), 0.1),
                                memory_bytes=memory_bytes, what=f"reading {filename}")
        finally:
            _upload_slots.release()

    def apply(outcome):
        _busy_stores.discard(store)
        if isinstance(outcome, (NetworkError, WorkAbandoned)):
            _show_error(store, f"could not open {filename}: {outcome}; the circuit shown is unchanged")
        elif isinstance(outcome, BaseException):
            log.error("upload of %s failed", filename, exc_info=outcome)
            _show_error(store, f"could not open {filename}: {type(outcome).__name__}: {outcome}")
        else:
            network, _ = outcome
            store.load(network, filename)

    run_off_loop(compute, apply, doc=doc)
    return True


# ------------------------------------------------------------------ event loop
def served_document():
    """The current session's document when served by a Bokeh server, else None."""
    import panel as pn

    doc = pn.state.curdoc
    return doc if doc is not None and doc.session_context is not None else None


def run_off_loop(compute, apply, *, doc=None):
    """Run ``compute()`` in a worker thread, then ``apply(result)`` on the session's event loop.

    ``apply`` receives the exception instead when ``compute`` raised. ``compute`` must not touch
    the session's objects (it runs while the session keeps handling events); ``apply`` may, and
    runs with the document locked and the session's document current. Outside a server (notebooks,
    tests) both run at once in the calling thread. Returns the worker's future, or None.
    """
    doc = doc if doc is not None else served_document()
    if doc is None:
        apply(_outcome(compute))
        return None

    def deliver(future):
        error = future.exception()
        outcome = error if error is not None else future.result()
        try:
            doc.add_next_tick_callback(lambda: _apply_in_session(doc, apply, outcome))
        except Exception as e:  # the session has gone meanwhile: nobody to tell
            log.debug("dropping the result of off-loop work for a closed session: %s", e)

    future = _threads.submit(compute)
    future.add_done_callback(deliver)
    return future


def run_next_tick(compute, apply, *, doc=None):
    """Run ``compute()`` and then ``apply(result)`` on the session's event loop, one tick from now.

    For work too short to be worth a thread. Done at once, inside the handling of the browser's
    message, its patch would wait: Bokeh's reply to that message holds the websocket's write lock
    until its write has completed, a few turns of the loop later, so Panel queues the patch behind
    whatever the loop does next, such as handling the slider's next message (12 ms of a 500-node
    slider step). Here the work starts once the reply is out, and the patch is written as soon as
    ``apply`` returns. Outside a server (notebooks, tests) both run at once, as in
    :func:`run_off_loop`.
    """
    doc = doc if doc is not None else served_document()
    if doc is None:
        apply(_outcome(compute))
        return

    async def once_replies_are_written():
        for lock in _write_locks(doc):
            async with lock:
                pass
        _apply_in_session(doc, apply, _outcome(compute))

    doc.add_next_tick_callback(once_replies_are_written)


def _outcome(compute):
    """``compute()``, or the exception it raised (handed to ``apply`` like a result)."""
    try:
        return compute()
    except Exception as e:
        return e


def _write_locks(doc):
    """The write locks of the websockets of ``doc``'s session (none outside a Bokeh server)."""
    session = getattr(getattr(doc, "session_context", None), "session", None)
    sockets = [getattr(c, "_socket", None) for c in getattr(session, "_subscribed_connections", ())]
    return [s.write_lock for s in sockets if s is not None and hasattr(s, "write_lock")]


def _apply_in_session(doc, apply, outcome):
    import panel as pn
    from panel.io.state import set_curdoc

    # the models of the document are recomputed once at the end, not after each change that adds
    # or drops a model; each recompute walks every column of every data source (0.2 s with a
    # 4,000-element circuit, 0.1 s at 500 nodes), so none is made when no change asked for one
    with set_curdoc(doc), recompute_models_once(doc), pn.io.hold(doc):
        apply(outcome)


@contextlib.contextmanager
def recompute_models_once(doc):
    """Defer the document's recomputation of its models to the end of the block, and skip it if unasked.

    Bokeh's ``doc.models.freeze()`` defers it too, but always recomputes on leaving, whether or
    not a change added or dropped a model; a value update (new numbers, new text) adds none.
    Here the recomputation that a change asks for (``doc.models.invalidate()``) is noted and made
    once, when the block ends. Nested ``freeze()`` blocks (adding a root...) recompute as usual.
    """
    models = doc.models
    asked = []
    models.invalidate = lambda: asked.append(True)  # (an instance attribute: this document only)
    try:
        yield
    finally:
        del models.invalidate
        if asked:
            models.invalidate()


# ------------------------------------------------------------------- sessions
_trim_lock = threading.Lock()
_last_trim = [0.0]


_frozen = [False]


def freeze_startup_objects():
    """Import the app's modules, then move every object alive (the imports) out of the garbage
    collector's sight: its full collections then scan only what sessions create.

    Called by the CLI before it serves (and before Bokeh forks for ``--num-procs``, so the forked
    processes share those pages too); idempotent. Without it each full collection walked the
    ~290,000 objects of the imports (0.4 s), several times while a class opened its sessions.
    Those objects live as long as the server anyway; nothing of a session exists yet.
    """
    if _frozen[0]:
        return
    _frozen[0] = True
    import explorer.circuit_explorer  # noqa: F401  (what every session's page is built from)
    import explorer.learning_view  # noqa: F401
    import explorer.sweep_view  # noqa: F401

    gc.collect()
    gc.freeze()


def _malloc_trim():
    """glibc's ``malloc_trim``, or None elsewhere (musl, macOS, Windows): looked up once."""
    if not hasattr(_malloc_trim, "function"):
        _malloc_trim.function = None
        name = ctypes.util.find_library("c")  # runs ldconfig: once, not on every session close
        try:
            libc = ctypes.CDLL(name) if name else None
        except OSError:
            libc = None
        if libc is not None and hasattr(libc, "malloc_trim"):
            _malloc_trim.function = libc.malloc_trim
    return _malloc_trim.function


def _release_free_memory():
    """Collect garbage and hand glibc's free heap pages back to the OS (RSS falls after sessions close)."""
    gc.collect()
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


def release_session(explorer, session_context=None):
    """Free what one closed session held: periodic callbacks, edit history, and the memory itself.

    Registered per session with ``pn.state.on_session_destroyed`` by the served app (``explorer``
    is the session's :class:`~explorer.circuit_explorer.CircuitExplorer`, held weakly there).
    """
    if explorer is None:
        return
    for view in (getattr(explorer, "convergence", None), getattr(explorer, "_learning_view", None)):
        pause = getattr(view, "pause", None)
        if callable(pause):
            try:
                pause()
            except Exception as e:  # the session is going anyway
                log.debug("could not pause %r on session close: %s", view, e)
    _drop_js_callbacks(explorer)
    store = getattr(explorer, "store", None)
    for history in ("_undo", "_redo"):
        entries = getattr(store, history, None)
        if isinstance(entries, list):
            entries.clear()
    _busy_stores.discard(store)
    # collecting is worth it once the session's objects are unreachable, i.e. after Bokeh and
    # Panel drop theirs: do it on a timer, at most once per second however many sessions close
    _schedule_trim()


def _drop_js_callbacks(explorer):
    """Unregister the JS callbacks of the session's widgets: Panel would otherwise keep them forever.

    ``EditableFloatSlider`` registers a JS callback on its text box whose arguments hold the slider,
    in ``panel.links.Callback.registry``, a ``WeakKeyDictionary`` keyed by the text box: the value
    reaches the key (slider -> watcher -> composite -> text box), so the entry never dies, and
    through the slider's watchers it kept the whole session (store, views, solution) alive.
    """
    try:
        from panel.links import Callback
    except ImportError:  # pragma: no cover - Panel always ships it
        return
    views = [explorer] + [v for v in vars(explorer).values() if isinstance(v, param.Parameterized)]
    for view in views:
        for value in list(vars(view).values()):
            for widget in (value, getattr(value, "_value_edit", None), getattr(value, "_slider", None)):
                if widget is not None:
                    try:
                        Callback.registry.pop(widget, None)
                    except TypeError:  # not weak-referenceable: never a key
                        pass


def _schedule_trim(delay=1.0):
    with _trim_lock:
        now = time.monotonic()
        if now - _last_trim[0] < delay:
            return
        _last_trim[0] = now
    timer = threading.Timer(delay, _release_free_memory)
    timer.daemon = True
    timer.start()


def register_session_cleanup(explorer):
    """Call :func:`release_session` for ``explorer`` when the current session is destroyed."""
    import panel as pn

    reference = weakref.ref(explorer)
    pn.state.on_session_destroyed(lambda session_context: release_session(reference(), session_context))


class _DropClosedConnectionWarnings(logging.Filter):
    MESSAGE = "Failed sending message as connection was closed"

    def filter(self, record):
        if record.getMessage() == self.MESSAGE:
            log.debug("an update for a closed tab was dropped")
            return False
        return True


def quiet_closed_connection_warnings():
    """Silence Bokeh's warning for updates sent to a closed tab (harmless: the session ends soon)."""
    logger = logging.getLogger("bokeh.server.views.ws")
    if not any(isinstance(f, _DropClosedConnectionWarnings) for f in logger.filters):
        logger.addFilter(_DropClosedConnectionWarnings())


#: Arrays smaller than this go inside the message's JSON (base64) rather than as a frame of their own.
INLINE_ARRAY_BYTES = 16 * 1024

#: A gzip member's header: magic, deflate, no flags, mtime 1 (as Bokeh writes), no extra flags, unknown OS.
_GZIP_HEADER = b"\x1f\x8b\x08\x00\x01\x00\x00\x00\x00\xff"


def gzip_stored(data):
    """``data`` (at most 65,535 bytes) as a gzip member holding one stored (uncompressed) deflate block.

    Valid gzip for any reader (``gzip.decompress``, BokehJS's fflate), built without a compressor.
    """
    n = len(data)
    if n > 0xFFFF:
        raise ValueError(f"a stored deflate block holds at most 65,535 bytes, not {n:,}")
    return b"".join((_GZIP_HEADER, struct.pack("<BHH", 1, n, n ^ 0xFFFF), data,
                     struct.pack("<II", zlib.crc32(data), n)))


def send_small_arrays_inline(limit_bytes=INLINE_ARRAY_BYTES):
    """Serialise arrays under ``limit_bytes`` inline in server messages; True once in place.

    Bokeh sends every numpy array of a message as a separate binary websocket frame. A slider
    move changes a few columns of seven small data sources, so its repaint left as about 40
    frames, each a system call and a pass through Tornado's framing, for some 4 KB of data. Inline
    (base64 in the JSON, which BokehJS decodes the same way) it is one frame per message part.
    Large arrays still travel as binary frames. Idempotent; leans on ``Serializer._encode_bytes``
    and its ``_deferred`` flag: if Bokeh changes them, every array simply keeps its own frame.
    """
    try:
        from bokeh.core.serialization import Serializer
    except ImportError:  # pragma: no cover - Bokeh always ships it
        return False
    original = Serializer._encode_bytes
    if getattr(original, "_inlines_small_arrays", False):
        return True

    def encode_bytes(self, obj):
        if getattr(self, "_deferred", False) and memoryview(obj).nbytes < min(limit_bytes, 65535):
            # what Bokeh writes for an inline buffer (BokehJS gunzips every one), without its costs
            # per array: a new model id, two settings lookups and a compressor (about 0.1 ms each,
            # for some fifteen arrays per slider move); small float arrays do not shrink anyway
            return {"type": "bytes", "data": base64.b64encode(gzip_stored(memoryview(obj).tobytes())).decode("ascii")}
        return original(self, obj)

    encode_bytes._inlines_small_arrays = True
    encode_bytes.__doc__ = original.__doc__
    Serializer._encode_bytes = encode_bytes
    return True
