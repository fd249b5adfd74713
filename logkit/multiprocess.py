"""Logging from worker processes through one queue and one listener.

Worker processes started with ``spawn`` or ``forkserver`` (the default on macOS and
Windows, and on Linux from Python 3.14) inherit no logging setup: their records vanish
or come out through ``logging.lastResort`` on stderr. Several processes appending to one
file can also interleave partial lines. The remedy is one queue:

- the main process owns the real handlers and runs a ``QueueListener`` thread
  (:func:`start_listener`);
- every worker's root logger has a single ``QueueHandler`` (:func:`configure_worker`),
  passed the queue through ``Process(args=...)`` or a pool's ``initializer``.

Filters that read per-process or per-task state (:class:`logkit.context.ContextFilter`,
:class:`logkit.redaction.RedactingFilter`) belong on the worker's ``QueueHandler``: the
listener's handlers run in the main process's listener thread, where the worker's
context no longer exists.

Example::

    queue, listener = start_listener(logging.FileHandler("run.log"))
    try:
        ctx = multiprocessing.get_context("spawn")
        with ctx.Pool(4, initializer=configure_worker, initargs=(queue,)) as pool:
            pool.map(train_fold, range(4))
    finally:
        listener.stop()
"""

from __future__ import annotations

import logging
import multiprocessing
import multiprocessing.context
import multiprocessing.queues
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from logging.handlers import QueueHandler, QueueListener

__all__ = ["configure_worker", "listening", "start_listener"]

Queue = multiprocessing.queues.Queue


def start_listener(
    *handlers: logging.Handler,
    mp_context: multiprocessing.context.BaseContext | str | None = "spawn",
    respect_handler_level: bool = True,
) -> tuple[Queue, QueueListener]:
    """Create a process-safe queue and start a listener that feeds ``handlers``.

    Args:
        handlers: The real handlers (file, console), used only by the main process.
        mp_context: The multiprocessing context (or its name) whose queue to create;
            use the same one as your workers. The default, ``"spawn"``, works for
            workers of any start method.
        respect_handler_level: Apply each handler's level (the stdlib default of
            ``QueueListener`` is to ignore it).

    Returns:
        The queue to hand to :func:`configure_worker` and the started listener; call
        ``listener.stop()`` when the workers are done, to flush every pending record.
    """
    ctx = mp_context if isinstance(mp_context, multiprocessing.context.BaseContext) else None
    ctx = ctx or multiprocessing.get_context(mp_context)  # type: ignore[arg-type]
    queue: Queue = ctx.Queue(-1)
    listener = QueueListener(queue, *handlers, respect_handler_level=respect_handler_level)
    listener.start()
    return queue, listener


def configure_worker(
    queue: Queue,
    *,
    level: int | str = logging.DEBUG,
    filters: Iterable[logging.Filter] = (),
) -> QueueHandler:
    """Route every record of this (worker) process to ``queue``.

    The root logger ends up with exactly one handler, a ``QueueHandler``; handlers
    inherited through ``fork`` are removed so no line is written twice. Call it first
    thing in the worker (as a pool ``initializer`` or at the top of the target).

    Args:
        queue: The queue returned by :func:`start_listener`.
        level: Root level in the worker; the listener's handlers filter further.
        filters: Filters to put on the ``QueueHandler`` (e.g. a ``ContextFilter``).

    Returns:
        The installed ``QueueHandler``.
    """
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    handler = QueueHandler(queue)
    for flt in filters:
        handler.addFilter(flt)
    root.addHandler(handler)
    root.setLevel(level)
    return handler


@contextmanager
def listening(
    *handlers: logging.Handler, mp_context: multiprocessing.context.BaseContext | str | None = "spawn"
) -> Iterator[Queue]:
    """Run a listener for the duration of a ``with`` block and yield its queue.

    On exit the listener is stopped, which drains the queue into ``handlers``.
    """
    queue, listener = start_listener(*handlers, mp_context=mp_context)
    try:
        yield queue
    finally:
        listener.stop()
        queue.close()
        queue.join_thread()
