"""Who is listening on the air's output: a ZeroMQ PUSH socket that knows when its receiver left.

A PUSH socket with no peer blocks, and one whose peer vanished may queue up to its high-water
mark of bursts that nobody will read. :class:`PeerWatch` follows the socket's connect/disconnect
events (``zmq_socket_monitor``), sends only when a receiver is connected and writable, counts the
bursts it has to drop, warns once per outage, and says when the receiver has been gone too long.
"""

from __future__ import annotations

import sys
import time

import zmq
from zmq.utils.monitor import recv_monitor_message


class PeerWatch:
    """Send on ``sock`` only while a peer is connected.

    :param sock: a bound ZeroMQ PUSH socket
    :param send_timeout: s to wait for a connected peer to accept a burst before dropping it
    :param peer_timeout: s after which a receiver that left (or never came) is gone for good
        (0 = never give up)
    """

    def __init__(self, sock, send_timeout: float = 60.0, peer_timeout: float = 30.0) -> None:
        self.sock = sock
        self.send_timeout = float(send_timeout)
        self.peer_timeout = float(peer_timeout)
        self.monitor = sock.get_monitor_socket(zmq.EVENT_ACCEPTED | zmq.EVENT_DISCONNECTED)
        self.peers = 0
        self.ever_connected = False
        self.dropped = 0
        self.outages = 0
        self._away_since: float | None = time.monotonic()
        self._warned = False

    def _poll_events(self) -> None:
        while self.monitor.poll(0):
            event = recv_monitor_message(self.monitor)["event"]
            if event == zmq.EVENT_ACCEPTED:
                self.peers += 1
                self.ever_connected = True
                self._away_since = None
                if self._warned:
                    print("air: receiver connected again", file=sys.stderr, flush=True)
                self._warned = False
            elif event == zmq.EVENT_DISCONNECTED:
                self.peers = max(0, self.peers - 1)
                if not self.peers:
                    self._away_since = time.monotonic()

    def send(self, message: bytes) -> bool:
        """Send one burst; False (counted in ``dropped``) if no receiver took it.

        A connected receiver that is slow gets back-pressure, never drops: the send waits as long
        as the receiver stays connected (ZeroMQ re-opens a full pipe only after the reader has
        drained half of it, which can take a minute on a busy machine). Before the first receiver
        the wait is ``send_timeout``; once the receiver has left, about one second.
        """
        t0 = time.monotonic()
        while True:
            self._poll_events()
            gone = self.ever_connected and not self.peers
            if self.sock.poll(200, zmq.POLLOUT):
                try:
                    self.sock.send(message, zmq.NOBLOCK, copy=False)
                    if not self.peers:  # a delivered burst proves a receiver (events may come late)
                        self.peers, self.ever_connected, self._away_since = 1, True, None
                    return True
                except zmq.Again:
                    pass
            waited = time.monotonic() - t0
            if (gone and waited > 1.0) or (not self.ever_connected and waited > self.send_timeout):
                break
        self.dropped += 1
        if not self._warned:
            self._warned = True
            self.outages += 1
            what = "has gone" if self.ever_connected else "is not connected yet"
            print(f"air: warning: the receiver {what}; dropping bursts (counted) until it is back",
                  file=sys.stderr, flush=True)
        return False

    def gone_for_good(self) -> bool:
        """True when a receiver that had connected has been away longer than ``peer_timeout``."""
        self._poll_events()
        return bool(self.peer_timeout and self.ever_connected and not self.peers
                    and self._away_since is not None
                    and time.monotonic() - self._away_since > self.peer_timeout)

    def reason(self) -> str:
        return (f"the receiver disconnected and did not come back within {self.peer_timeout:g} s; "
                f"{self.dropped} bursts dropped")

    def close(self) -> None:
        try:
            self.sock.disable_monitor()
        except zmq.ZMQError:
            pass
        self.monitor.close(linger=0)
