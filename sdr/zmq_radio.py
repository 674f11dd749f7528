"""A radio whose "air" is a ZeroMQ IQ stream, framed as GNU Radio's ZMQ blocks frame it.

GNU Radio's ``ZMQ PUSH Sink`` / ``ZMQ PULL Source`` (and PUB/SUB) with tags off send each message
as the raw bytes of the samples: for ``gr_complex`` that is interleaved little-endian float32 I, Q
(numpy ``complex64``), no header, no tags. A message may hold any whole number of samples.

Our :class:`ZmqRadio` keeps GNU Radio's socket roles, so GNU Radio can sit on either end:
``transmit`` pushes from a socket that **binds** the address (like ZMQ PUSH Sink, whose default is
to bind) and ``receive`` pulls from a socket that **connects** to it (like ZMQ PULL Source). With
PUB/SUB (``pattern="pubsub"``) the TX side is PUB (bind) and the RX side SUB (connect, subscribed
to everything).

Spec strings (through :func:`vlmcsc.sdr.open_radio` or :func:`open_zmq_radio`): ``zmq:tcp://127.0.0.1:5555`` (push/pull) and
``zmq+pub:tcp://127.0.0.1:5555`` (pub/sub).
"""

from __future__ import annotations

import numpy as np
import zmq

from .radio import Radio, RadioError

SAMPLE_DTYPE = np.dtype("<c8")  # gr_complex on the wire: little-endian float32 I, Q


def iq_to_message(iq: np.ndarray) -> bytes:
    """Complex samples ``[n]`` -> one ZMQ message body (``8 n`` bytes, GNU Radio framing)."""
    arr = np.asarray(iq)
    if arr.ndim != 1 or not np.iscomplexobj(arr):
        raise ValueError(f"IQ must be a 1-D complex array, got {arr.dtype} {arr.shape}")
    return np.ascontiguousarray(arr, dtype=SAMPLE_DTYPE).tobytes()


def message_to_iq(message: bytes) -> np.ndarray:
    """One ZMQ message body -> complex64 ``[n]``; raises ValueError on a partial sample."""
    if len(message) % SAMPLE_DTYPE.itemsize:
        raise ValueError(
            f"ZMQ message of {len(message)} bytes is not a whole number of complex64 samples "
            "(8 bytes each); is the peer sending gr_complex with tags off?"
        )
    return np.frombuffer(message, dtype=SAMPLE_DTYPE).astype(np.complex64)


class ZmqRadio(Radio):
    """IQ over ZeroMQ (no RF): for two-process rehearsals and for talking to GNU Radio.

    :param address: ZeroMQ endpoint, e.g. ``tcp://127.0.0.1:5555``
    :param pattern: ``"pushpull"`` (lossless, TX blocks while nobody listens) or ``"pubsub"``
        (TX never blocks; messages sent before a subscriber joins are lost, as in GNU Radio)
    :param send_timeout: seconds a push may wait for a receiver before RadioError (``None`` = forever)
    :param tx_bind: whether the TX socket binds (default, GNU Radio sink default) or connects
    :param rx_bind: whether the RX socket binds or connects (default, GNU Radio source default)
    """

    def __init__(
        self,
        address: str,
        pattern: str = "pushpull",
        send_timeout: float | None = 30.0,
        tx_bind: bool = True,
        rx_bind: bool = False,
        high_water_mark: int = 1000,
    ) -> None:
        super().__init__()
        if pattern not in ("pushpull", "pubsub"):
            raise ValueError(f"pattern must be 'pushpull' or 'pubsub', got {pattern!r}")
        if "://" not in address:
            raise ValueError(f"ZeroMQ address must look like tcp://127.0.0.1:5555, got {address!r}")
        self.address = address
        self.pattern = pattern
        self.send_timeout = send_timeout
        self.tx_bind = tx_bind
        self.rx_bind = rx_bind
        self.high_water_mark = int(high_water_mark)
        self.name = f"zmq:{address}" if pattern == "pushpull" else f"zmq+pub:{address}"
        self.bad_messages = 0
        self._ctx = zmq.Context()
        self._tx: zmq.Socket | None = None
        self._rx: zmq.Socket | None = None
        self._pending = np.zeros(0, np.complex64)

    # -- sockets are opened on first use, so a TX-only process never connects an RX socket ------
    def _tx_socket(self) -> zmq.Socket:
        if self._tx is None:
            sock = self._ctx.socket(zmq.PUSH if self.pattern == "pushpull" else zmq.PUB)
            sock.setsockopt(zmq.SNDHWM, self.high_water_mark)
            sock.setsockopt(zmq.LINGER, 2000)  # let queued messages leave on close
            if self.send_timeout is not None:
                sock.setsockopt(zmq.SNDTIMEO, int(self.send_timeout * 1000))
            try:
                (sock.bind if self.tx_bind else sock.connect)(self.address)
            except zmq.ZMQError as exc:
                sock.close(0)
                raise RadioError(
                    f"{self.name}: cannot {'bind' if self.tx_bind else 'connect'} the TX socket: "
                    f"{exc} (is another process using this port?)"
                ) from exc
            self._tx = sock
        return self._tx

    def _rx_socket(self) -> zmq.Socket:
        if self._rx is None:
            sock = self._ctx.socket(zmq.PULL if self.pattern == "pushpull" else zmq.SUB)
            if self.pattern == "pubsub":
                sock.setsockopt(zmq.SUBSCRIBE, b"")
            sock.setsockopt(zmq.RCVHWM, self.high_water_mark)
            sock.setsockopt(zmq.LINGER, 0)
            try:
                (sock.bind if self.rx_bind else sock.connect)(self.address)
            except zmq.ZMQError as exc:
                sock.close(0)
                raise RadioError(f"{self.name}: cannot open the RX socket: {exc}") from exc
            self._rx = sock
        return self._rx

    def start_rx(self) -> None:
        """Open the RX socket now (it otherwise opens on the first ``receive``); a pushing peer
        blocks until some receiver is connected."""
        self._rx_socket()

    # -- streaming ---------------------------------------------------------------------------------
    def transmit(self, iq: np.ndarray) -> None:
        """Send one burst as one ZMQ message (blocks up to ``send_timeout`` without a receiver)."""
        if self._closed:
            raise RadioError(f"{self.name}: radio is closed")
        arr = self._as_iq(iq)
        try:
            self._tx_socket().send(iq_to_message(arr), copy=False)
        except zmq.Again as exc:
            self.stats.underflows += 1
            raise RadioError(
                f"{self.name}: no receiver took the samples within {self.send_timeout} s; "
                "start the air (vlmcsc air) or the receiver first"
            ) from exc
        self.stats.samples_tx += arr.size
        self.stats.bursts_tx += 1

    def receive(self, num_samples: int, timeout: float = 1.0) -> np.ndarray:
        """Up to ``num_samples`` complex64 samples; fewer (possibly none) after ``timeout`` s."""
        if self._closed:
            raise RadioError(f"{self.name}: radio is closed")
        num_samples = int(num_samples)
        if num_samples <= 0:
            return np.zeros(0, np.complex64)
        sock = self._rx_socket()
        chunks = [self._pending] if self._pending.size else []
        have = self._pending.size
        wait_ms = max(0, int(timeout * 1000))
        while have < num_samples:
            if not sock.poll(wait_ms if have == 0 else 0):
                if have == 0:
                    self.stats.timeouts += 1
                break
            message = sock.recv(copy=True)
            try:
                iq = message_to_iq(message)
            except ValueError:
                self.bad_messages += 1  # garbage from a misconfigured peer: counted, dropped
                self.stats.errors += 1
                continue
            if iq.size and not np.all(np.isfinite(iq)):
                self.bad_messages += 1
                self.stats.errors += 1
                continue
            chunks.append(iq)
            have += iq.size
        data = np.concatenate(chunks) if chunks else np.zeros(0, np.complex64)
        out, self._pending = data[:num_samples], data[num_samples:]
        self.stats.samples_rx += out.size
        return np.ascontiguousarray(out, dtype=np.complex64)

    def close(self) -> None:
        if not self._closed:
            for sock in (self._tx, self._rx):
                if sock is not None:
                    sock.close()
            self._ctx.term()
        super().close()


def open_zmq_radio(spec: str, **kwargs) -> ZmqRadio:
    """``zmq:tcp://host:port`` (push/pull) or ``zmq+pub:tcp://host:port`` (pub/sub)."""
    if spec.startswith("zmq+pub:"):
        return ZmqRadio(spec[len("zmq+pub:"):], pattern="pubsub", **kwargs)
    if spec.startswith("zmq:"):
        return ZmqRadio(spec[len("zmq:"):], **kwargs)
    raise ValueError(f"not a ZeroMQ radio spec: {spec!r} (use zmq:tcp://127.0.0.1:5555)")
