"""A named pipe fed by a writer thread while the caller's reader consumes it.

The row diff's SQL sides stream out through a database client; writing a spill file first and
parsing it after makes the parse wait for the whole scan. Through a pipe DuckDB parses while the
server still scans. What a plain file never needed, a pipe does: neither end may be left blocked
when the other fails, and the failure reported must be the one that came first (a client error
truncates the reader's input; a reader error breaks the client's pipe).
"""

from __future__ import annotations

import os
import select
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

_POLL_SECONDS = 0.02


class Feed:
    """One writer's run into ``pipe``: its error (if any) and whether it came before the reader's."""

    def __init__(self, pipe: Path) -> None:
        self.pipe = pipe
        self.error: BaseException | None = None
        self._error_at: float | None = None
        self._reader_failed_at: float | None = None
        self._reader_done = threading.Event()
        self._thread: threading.Thread | None = None

    def _write(self, write: Callable[[], None]) -> None:
        try:
            write()
        except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread, re-raised there
            self.error, self._error_at = exc, time.monotonic()
            self._release_reader()

    def _release_reader(self) -> None:
        """A writer that failed before opening the pipe would leave the reader blocked in open():
        open and close the write end (EOF) until the reader is done. ENXIO: no reader yet."""
        while not self._reader_done.is_set():
            try:
                os.close(os.open(self.pipe, os.O_WRONLY | os.O_NONBLOCK))
            except OSError:
                pass
            self._reader_done.wait(_POLL_SECONDS)

    def reader_failed(self) -> None:
        """The reader gave up: drain the pipe until the writer ends, so it never blocks on a full pipe."""
        self._reader_failed_at = time.monotonic()
        fd = os.open(self.pipe, os.O_RDONLY | os.O_NONBLOCK)
        try:
            while self._thread is not None and self._thread.is_alive():
                ready, _, _ = select.select([fd], [], [], _POLL_SECONDS)
                if ready:
                    try:
                        if not os.read(fd, 1 << 20):
                            time.sleep(_POLL_SECONDS)  # no writer attached yet (or any more)
                    except BlockingIOError:
                        pass
        finally:
            os.close(fd)

    @property
    def writer_failed_first(self) -> bool:
        """True when the writer's error is the cause, not a consequence of the reader's."""
        if self.error is None:
            return False
        return self._reader_failed_at is None or (self._error_at or 0) <= self._reader_failed_at


@contextmanager
def feeding(pipe: Path, write: Callable[[], None]) -> Iterator[Feed]:
    """Run ``write`` (which opens ``pipe`` and writes it) in a thread while the body reads ``pipe``;
    on exit the writer has ended and the pipe is gone. The writer's error is in ``Feed.error``; a
    body that raises has the pipe drained first, so the writer cannot block."""
    os.mkfifo(pipe, 0o600)
    feed = Feed(pipe)
    feed._thread = threading.Thread(target=feed._write, args=(write,), name="recon-diff-feed", daemon=True)
    feed._thread.start()
    try:
        yield feed
    except BaseException:
        feed.reader_failed()
        raise
    finally:
        feed._reader_done.set()
        feed._thread.join()
        pipe.unlink(missing_ok=True)
