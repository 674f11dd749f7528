"""A small server for libiio's network protocol (iiod, TCP port 30431), as libiio 0.24 speaks it.

It parses the text commands and moves the bytes; what the device *is* lives in a backend object
(:class:`IiodBackend`, implemented by :class:`vlmcsc.sdr.pluto_emu.EmulatedPluto`). Protocol facts
(checked against the real Debian libiio 0.24 + pylibiio 0.25):

- commands are text lines ending in ``\\r\\n``; answers start with a decimal integer line, negative
  for ``-errno``;
- ``PRINT`` -> ``<len>\\n<xml>\\n``; ``ZPRINT`` is refused (-EINVAL) so the client falls back;
- ``READ <dev> [INPUT|OUTPUT <chan>|DEBUG|BUFFER] <attr>`` -> ``<len>\\n<value>\\n``;
- ``WRITE ... <attr> <n>`` then n raw bytes -> ``<n>\\n``;
- buffers run on their own TCP connection: ``OPEN <dev> <samples> <mask> [CYCLIC]``,
  ``READBUF <dev> <n>`` -> ``<n>\\n<mask>\\n<data>``, ``WRITEBUF <dev> <n>`` -> ``0\\n`` *before* the
  data is read (or the client deadlocks), then ``<n>\\n``; ``CLOSE <dev>``; ``EXIT``.

Each reply is sent with one ``sendall`` on a TCP_NODELAY socket: libiio times out after a few
seconds and small replies held back by Nagle's algorithm cost a round trip each.
"""

from __future__ import annotations

import errno
import socket
import threading
import traceback
from typing import Protocol

IIOD_PORT = 30431


class IiodError(Exception):
    """A backend refusal, sent to the client as ``-errno``."""

    def __init__(self, code: int, message: str = "") -> None:
        super().__init__(message or errno.errorcode.get(code, str(code)))
        self.code = code


class IiodBackend(Protocol):
    """What an emulated IIO context provides to :class:`IiodServer`."""

    def context_xml(self) -> str: ...

    def read_attr(self, dev: str, kind: str, chan: str | None, attr: str) -> str: ...

    def write_attr(self, dev: str, kind: str, chan: str | None, attr: str, value: str) -> None: ...

    def set_buffers_count(self, dev: str, count: int) -> None: ...

    def open_buffer(self, dev: str, samples: int, mask: str, cyclic: bool) -> object: ...

    def read_buffer(self, handle: object, nbytes: int) -> bytes: ...

    def write_buffer(self, handle: object, data: bytes) -> None: ...

    def close_buffer(self, handle: object) -> None: ...


class IiodServer:
    """Serve an :class:`IiodBackend` on ``host:port`` (``port=0`` picks a free port).

    One thread per client connection; :meth:`stop` closes the listening socket and every client
    connection (clients then see their device disappear, as with a pulled cable).
    """

    def __init__(self, backend: IiodBackend, host: str = "127.0.0.1", port: int = IIOD_PORT):
        self.backend = backend
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            self._sock.bind((host, int(port)))
        except OSError as exc:
            self._sock.close()
            raise OSError(
                f"cannot listen on {host}:{port} ({exc}); is another iiod or emulator running? "
                "Pick another port with --port"
            ) from exc
        self._sock.listen(16)
        self.host, self.port = self._sock.getsockname()[:2]
        self._clients: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None
        self.connections = 0  # served so far (for tests and logs)

    @property
    def uri(self) -> str:
        """libiio URI of this server, e.g. ``ip:127.0.0.1:30431``."""
        return f"ip:{self.host}:{self.port}" if self.port != IIOD_PORT else f"ip:{self.host}"

    def start(self) -> IiodServer:
        self._thread = threading.Thread(target=self._accept_loop, name="iiod accept", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._accept_loop()

    def stop(self) -> None:
        self._stopped.set()
        try:
            self._sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._sock.close()
        with self._lock:
            clients = list(self._clients)
        for c in clients:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            c.close()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=2.0)

    def __enter__(self) -> IiodServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- connections -----------------------------------------------------------------------
    def _accept_loop(self) -> None:
        while not self._stopped.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self._lock:
                self._clients.add(conn)
                self.connections += 1
            threading.Thread(target=self._serve, args=(conn,), name="iiod client", daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        reader = conn.makefile("rb")
        buffers: dict[str, object] = {}  # device id -> backend buffer handle
        try:
            while not self._stopped.is_set():
                line = reader.readline()
                if not line:
                    return
                words = line.decode("ascii", "replace").strip().split()
                if not words:
                    continue
                if words[0] == "EXIT":
                    return
                reply = self._dispatch(words, reader, conn, buffers)
                if reply is not None:
                    conn.sendall(reply)
        except (OSError, ValueError):
            return  # client went away or the server is stopping
        finally:
            for handle in buffers.values():
                try:
                    self.backend.close_buffer(handle)
                except Exception:  # noqa: BLE001 - cleanup must not raise
                    pass
            with self._lock:
                self._clients.discard(conn)
            try:
                reader.close()
                conn.close()
            except OSError:
                pass

    def _dispatch(self, words, reader, conn, buffers) -> bytes | None:
        cmd = words[0].upper()
        try:
            if cmd == "PRINT":
                xml = self.backend.context_xml().encode()
                return b"%d\n" % len(xml) + xml + b"\n"
            if cmd == "VERSION":
                return b"0.24 vlmcsc0\n"  # libiio wants a git tag of at least 7 characters
            if cmd == "TIMEOUT":
                return b"0\n"
            if cmd == "READ":
                kind, chan, attr = _attr_address(words[2:])
                value = self.backend.read_attr(words[1], kind, chan, attr).encode()
                return b"%d\n" % len(value) + value + b"\n"
            if cmd == "WRITE":
                nbytes = int(words[-1])
                kind, chan, attr = _attr_address(words[2:-1])
                data = _read_exact(reader, nbytes)
                value = data.split(b"\0", 1)[0].decode("utf-8", "replace")
                self.backend.write_attr(words[1], kind, chan, attr, value)
                return b"%d\n" % nbytes
            if cmd == "SET" and len(words) == 4 and words[2] == "BUFFERS_COUNT":
                self.backend.set_buffers_count(words[1], int(words[3]))
                return b"0\n"
            if cmd == "GETTRIG":
                return b"%d\n" % -errno.ENODEV  # no trigger: the DMA paces itself
            if cmd == "SETTRIG":
                return b"0\n"
            if cmd == "OPEN":
                dev, samples, mask = words[1], int(words[2]), words[3]
                cyclic = len(words) > 4 and words[4].upper() == "CYCLIC"
                if dev in buffers:
                    self.backend.close_buffer(buffers.pop(dev))
                buffers[dev] = self.backend.open_buffer(dev, samples, mask, cyclic)
                return b"0\n"
            if cmd == "CLOSE":
                handle = buffers.pop(words[1], None)
                if handle is not None:
                    self.backend.close_buffer(handle)
                return b"0\n"
            if cmd == "READBUF":
                dev, nbytes = words[1], int(words[2])
                if dev not in buffers:
                    return b"%d\n" % -errno.EBADF
                data = self.backend.read_buffer(buffers[dev], nbytes)
                mask = getattr(buffers[dev], "mask", "00000003")
                return b"%d\n" % len(data) + mask.encode() + b"\n" + data
            if cmd == "WRITEBUF":
                dev, nbytes = words[1], int(words[2])
                if dev not in buffers:
                    return b"%d\n" % -errno.EBADF
                conn.sendall(b"0\n")  # libiio sends the samples only after this
                data = _read_exact(reader, nbytes)
                self.backend.write_buffer(buffers[dev], data)
                return b"%d\n" % nbytes
        except IiodError as exc:
            return b"%d\n" % -abs(exc.code)
        except (IndexError, KeyError, ValueError):
            return b"%d\n" % -errno.EINVAL
        except OSError:
            raise  # the connection itself failed
        except Exception:  # noqa: BLE001 - a backend bug must not kill the connection silently
            traceback.print_exc()
            return b"%d\n" % -errno.EIO
        return b"%d\n" % -errno.EINVAL  # ZPRINT and anything unknown


def _attr_address(words: list[str]) -> tuple[str, str | None, str]:
    """``[INPUT, voltage0, hardwaregain]`` -> ``("input", "voltage0", "hardwaregain")``."""
    if words[0] in ("INPUT", "OUTPUT"):
        return words[0].lower(), words[1], words[2]
    if words[0] == "DEBUG":
        return "debug", None, words[1]
    if words[0] == "BUFFER":
        return "buffer", None, words[1]
    return "dev", None, words[0]


def _read_exact(reader, nbytes: int) -> bytes:
    data = reader.read(nbytes)
    if data is None or len(data) != nbytes:
        raise ValueError("client closed the connection in the middle of a transfer")
    return data
