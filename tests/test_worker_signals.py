"""A search's worker process and Ctrl-C (rnnbench/population/dispatch.py): its signal handler must stop the group
it trains once, wherever the signal lands, and must never leave the worker unable to exit. The slow end-to-end
case is tests/test_engine.py::test_ctrl_c_ends_a_search_on_worker_processes_within_seconds; these put the signal
at chosen points, deterministically (a trace function calls the handler there, as the interpreter would)."""
import contextvars
import inspect
import logging
import multiprocessing
import signal
import sys
import threading
import time

import pytest

from rnnbench.population import dispatch


@pytest.fixture
def training_group(monkeypatch):
    """A worker's state while it trains group 0."""
    monkeypatch.setattr(dispatch, "_INTERRUPTED", False)
    monkeypatch.setattr(dispatch, "_IN_PUT", False)
    monkeypatch.setattr(dispatch, "_DEFERRED", False)
    token = dispatch._GROUP.set(0)
    yield
    dispatch._GROUP.reset(token)


def _in_thread(fn, timeout=20.0):
    """fn() in a thread (carrying this context: the group); what it raised, and whether it ended within timeout."""
    out = {}
    ctx = contextvars.copy_context()

    def body():
        try:
            ctx.run(fn)
        except BaseException as e:  # noqa: BLE001 - the test looks at it
            out["raised"] = e

    t = threading.Thread(target=body, daemon=True)
    t.start()
    t.join(timeout)
    return out.get("raised"), not t.is_alive()


def test_the_first_signal_stops_the_group_and_later_ones_nothing(training_group):
    """The terminal's SIGINT and the one the parent passes on: one KeyboardInterrupt; a SIGTERM after them
    nothing; the next group the worker is handed fails at once, before it trains."""
    with pytest.raises(KeyboardInterrupt):
        dispatch._interrupt(signal.SIGINT, None)
    dispatch._interrupt(signal.SIGINT, None)
    dispatch._interrupt(signal.SIGTERM, None)
    with pytest.raises(KeyboardInterrupt, match="group 1 not started: the search was interrupted"):
        dispatch._train_group(1, [], [], None)


def test_a_signal_between_groups_stops_only_the_next_one(monkeypatch):
    monkeypatch.setattr(dispatch, "_INTERRUPTED", False)
    dispatch._interrupt(signal.SIGINT, None)  # no group: the worker's own loop goes on
    with pytest.raises(KeyboardInterrupt, match="group 2 not started"):
        dispatch._train_group(2, [], [], None)


def test_a_second_signal_handled_inside_the_first_handler_ends(training_group, monkeypatch):
    """The terminal's SIGINT and the parent's arrive together: the second handler runs between two lines of the
    first, or of what it calls. Each such place: one KeyboardInterrupt, and the handler returns (a threading.Event
    in it deadlocked when the second came inside the first one's Event.set())."""
    places = 0
    while True:
        monkeypatch.setattr(dispatch, "_INTERRUPTED", False)
        monkeypatch.setattr(dispatch, "_DEFERRED", False)
        seen, fired = [], []

        def local(frame, event, arg):
            if event == "line" and not fired:
                seen.append(frame.f_lineno)
                if len(seen) == places + 1:
                    fired.append(True)
                    dispatch._interrupt(signal.SIGINT, None)
            return local

        def signalled():
            sys.settrace(lambda frame, event, arg: None if fired else local)
            try:
                dispatch._interrupt(signal.SIGINT, None)
            finally:
                sys.settrace(None)

        raised, ended = _in_thread(signalled, timeout=5.0)
        assert ended, f"the handler hangs when a second signal comes at its line event {places}"
        assert isinstance(raised, KeyboardInterrupt) and dispatch._INTERRUPTED
        if not fired:  # past the handler's last line: every place was tried
            break
        places += 1
    assert places >= 3


def test_a_signal_during_a_log_put_is_raised_after_it_and_the_queue_still_closes(training_group):
    """gh-92530: KeyboardInterrupt raised in threading.Condition.notify just after it released the waiter of
    multiprocessing.Queue's feeder thread left a stale waiter that took the next wake-up: the feeder waited for ever
    and the worker hung at exit joining it. The worker's log handler raises the interruption after the put: the
    record goes to the parent, then the group stops, and the queue closes."""
    q = multiprocessing.get_context("spawn").Queue()
    handler = getattr(dispatch, "_WorkerLogHandler", dispatch.QueueHandler)(q)

    def record(msg):
        return logging.LogRecord("rnnbench", logging.INFO, __file__, 1, msg, (), None)

    handler.emit(record("epoch 1"))  # starts the feeder thread
    assert q.get(timeout=20).msg == "epoch 1"
    deadline = time.time() + 20
    while not q._notempty._waiters and time.time() < deadline:  # the feeder waits for the next record
        time.sleep(0.01)
    assert q._notempty._waiters
    notify = threading.Condition.notify.__code__
    lines, start = inspect.getsourcelines(threading.Condition.notify)
    fired, released = [], []

    def local(frame, event, arg):  # the signal lands on the first line after `waiter.release()` has run
        if event == "line" and not fired:
            if released:
                fired.append(frame.f_lineno)
                dispatch._interrupt(signal.SIGINT, None)
            elif "release()" in lines[frame.f_lineno - start]:
                released.append(frame.f_lineno)
        return local

    def tracer(frame, event, arg):
        return local if frame.f_code is notify else None

    sys.settrace(tracer)  # in the main thread, where signal handlers run (the handler defers there only)
    try:
        with pytest.raises(KeyboardInterrupt):  # the group stops: after the put
            handler.emit(record("epoch 2"))
    finally:
        sys.settrace(None)
    assert fired, "no signal was put inside Condition.notify"
    assert q.get(timeout=20).msg == "epoch 2"
    q.close()
    _, closed = _in_thread(q.join_thread)
    assert closed, "the queue's feeder thread never ends: the worker would hang at exit"
