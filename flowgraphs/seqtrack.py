"""Sequence tracking for a field-test receiver that survives what the air brings.

The header carries ``seq mod 65536``. :class:`SeqTracker` turns header values into frame numbers
and decides, per received frame, what the log should say: frames missed before it (each one for a
short gap, one ``missed_range`` record for a long one), a duplicate, or a jump. A jump (a foreign
transmitter, a false header, the TX restarted or the RX joined late) is held back until the next
frame says which track is real, so one odd header neither floods the log with ``missed`` records
nor ends the run early. Memory is bounded (only a window of recent frame numbers is kept).
"""

from __future__ import annotations

import dataclasses

SEQ_MODULO = 1 << 16


@dataclasses.dataclass
class Decision:
    """What to do with one header sequence number.

    ``records``: log records to emit first (missed, missed_range, seq_jump, foreign);
    ``accept``: ``(frame_number, frame)`` pairs to decode and log now, in order;
    ``duplicate``: the frame number already seen (log a duplicate record), or None.
    """

    records: list[dict] = dataclasses.field(default_factory=list)
    accept: list[tuple[int, object]] = dataclasses.field(default_factory=list)
    duplicate: int | None = None


class SeqTracker:
    """Header sequence numbers -> frame numbers, missed frames and jumps, in bounded memory.

    :param max_gap: a forward gap up to this many frames is a fade (one ``missed`` record per
        frame); a larger jump, or any step back by more than this, waits for confirmation.
    :param confirm_window: the next frame confirms a jump if it lies within this many frames
        after the jumped one.
    :param start: the frame number expected first (the TX counts from 0).
    """

    def __init__(self, max_gap: int = 256, confirm_window: int = 64, start: int = 0,
                 modulo: int = SEQ_MODULO) -> None:
        if max_gap < 1 or confirm_window < 1:
            raise ValueError("max_gap and confirm_window must be >= 1")
        self.max_gap = int(max_gap)
        self.confirm_window = int(confirm_window)
        self.modulo = int(modulo)
        self.next_expected = int(start)
        self.last: int | None = None  # highest frame number accepted on the current track
        self._seen: set[int] = set()
        self._pending: tuple[int, int, object] | None = None  # (header seq, frame number, frame)
        self._last_dup: tuple[int, object] | None = None
        self.missed = 0  # frames reported missed (missed + missed_range counts)
        self.jumps = 0
        self.foreign = 0

    # -- helpers -------------------------------------------------------------------------------
    def _near(self, header: int, ref: int) -> int:
        """The frame number with this header value nearest to ``ref`` (never negative)."""
        base = ref - ref % self.modulo
        cands = [c for c in (base - self.modulo + header, base + header, base + self.modulo + header) if c >= 0]
        return min(cands, key=lambda c: abs(c - ref))

    def _missed_records(self, first: int, stop: int) -> list[dict]:
        """Records for frames ``first .. stop-1`` not seen: one each, or one range if long."""
        if stop <= first:
            return []
        if stop - first > self.max_gap:
            n = sum(1 for s in range(first, stop) if s not in self._seen) if stop - first < 4 * self.max_gap \
                else (stop - first) - sum(1 for s in self._seen if first <= s < stop)
            self.missed += n
            return [{"type": "missed_range", "first": first, "last": stop - 1, "count": n}] if n else []
        out = [{"type": "missed", "seq": s} for s in range(first, stop) if s not in self._seen]
        self.missed += len(out)
        return out

    def _take(self, number: int, frame, decision: Decision) -> None:
        decision.records.extend(self._missed_records(self.next_expected, number))
        self._seen.add(number)
        self.last = number if self.last is None else max(self.last, number)
        self.next_expected = max(self.next_expected, number + 1)
        decision.accept.append((number, frame))
        if len(self._seen) > 8 * self.max_gap:  # keep memory bounded: forget old frame numbers
            floor = self.next_expected - 4 * self.max_gap
            self._seen = {s for s in self._seen if s >= floor}

    def _restart_track(self, number: int) -> None:
        self._seen.clear()
        self.next_expected = number
        self.last = None

    # -- the decision --------------------------------------------------------------------------
    def __call__(self, header_seq: int, frame=None) -> Decision:
        """Decide about one received frame whose header says ``header_seq`` (0..modulo-1)."""
        h = int(header_seq) % self.modulo
        d = Decision()
        ref = self.last if self.last is not None else self.next_expected
        number = self._near(h, ref)
        if self._pending is not None:
            ph, pnum, pframe = self._pending
            follow = self._near(h, pnum)
            if self.last is not None:
                continues_old = -self.max_gap <= number - self.last <= self.max_gap
            else:
                continues_old = 0 <= number - self.next_expected <= self.max_gap
            if 0 < follow - pnum <= self.confirm_window and not continues_old:
                # the jump is confirmed: a new track (TX restarted, RX joined late, or a long fade)
                self._pending = None
                self.jumps += 1
                back = self.last is not None and pnum <= self.last
                d.records.append({"type": "seq_jump", "from": self.last, "to": pnum,
                                  "reason": "restart" if back else "jump"})
                if back:
                    self._restart_track(pnum)
                else:
                    d.records.extend(self._missed_records(self.next_expected, pnum))
                    self.next_expected = pnum
                self._take(pnum, pframe, d)
                self._take(follow, frame, d)
                return d
            # the held frame was an outlier: log it as foreign, go on with the current track
            self._pending = None
            self.foreign += 1
            d.records.append({"type": "foreign", "header_seq": ph,
                              "reason": "sequence number far from the current track"})
        if self.last is None and not self._seen:
            # first frame of a track: a start within max_gap of the expected one is normal
            if 0 <= number - self.next_expected <= self.max_gap:
                self._take(number, frame, d)
            else:
                self._pending = (h, number, frame)
            return d
        if number in self._seen:
            prev = self._last_dup
            if prev is not None and number == prev[0] + 1:
                # two duplicates in a row that follow each other: the TX started again
                self._last_dup = None
                self.jumps += 1
                d.records.append({"type": "seq_jump", "from": self.last, "to": prev[0], "reason": "restart"})
                self._restart_track(prev[0])
                self._take(prev[0], prev[1], d)
                self._take(number, frame, d)
                return d
            self._last_dup = (number, frame)
            d.duplicate = number
            return d
        self._last_dup = None
        delta = number - self.last
        if -self.max_gap <= delta <= self.max_gap:
            self._take(number, frame, d)  # in order, a short fade, or a late frame
        else:
            self._pending = (h, number, frame)
        return d

    def finish(self, expected: int = 0) -> list[dict]:
        """Records at the end of a run: an unconfirmed held frame, frames ``< expected`` missed."""
        out: list[dict] = []
        if self._pending is not None:
            out.append({"type": "foreign", "header_seq": self._pending[0],
                        "reason": "sequence number far from the current track"})
            self.foreign += 1
            self._pending = None
        if expected:
            out.extend(self._missed_records(self.next_expected, int(expected)))
            self.next_expected = max(self.next_expected, int(expected))
        return out
