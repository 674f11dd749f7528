"""Closed-loop feedback (issue 14): the report message, the transmitter's policy, the SNR schedule."""

from __future__ import annotations

import time

import numpy as np
import pytest

from vlmcsc.flowgraphs.feedback import (MESSAGE_BYTES, FeedbackReceiver, FeedbackSender, RatePolicyFeedback,
                                        Report, open_tx_feedback, parse_schedule, schedule_at)


class _Codec:
    rates = (2, 3, 4, 6, 8, 12, 16)
    snr_range = (-2.0, 20.0)

    def rate_for(self, snr, price=0.0):
        if price > 0:  # a stand-in for the policy table's Lagrangian: fewer symbols when priced
            return 4 if snr < 10 else 2
        return 16 if snr < 3 else 8 if snr < 10 else 3


def test_report_round_trip_and_rejects_garbage():
    rep = Report(seq=65535, snr_db=-3.27, lost=False, frames_ok=70000, frames_lost=3)
    data = rep.pack()
    assert len(data) == MESSAGE_BYTES == 16
    got = Report.parse(data)
    assert got.seq == 65535 and got.snr_db == pytest.approx(-3.27) and got.frames_ok == 70000 % 65536
    assert Report.parse(Report(1, None, True).pack()).snr_db is None
    assert Report.parse(data[:-1]) is None
    assert Report.parse(bytes([data[0] ^ 1]) + data[1:]) is None  # CRC
    assert Report.parse(b"\x00" * 16) is None


def test_policy_uses_low_percentile_and_backs_off_after_losses():
    pol = RatePolicyFeedback(_Codec(), window=10, percentile=20)
    assert pol.choose(9.0, now=0.0) == (9.0, 8)  # no report yet: the configured SNR
    for i, snr in enumerate([15, 16, 14, 15, 16, 15, 14, 2, 15, 16]):
        pol.update(Report(i, float(snr)), now=1.0)
    est = pol.estimate_db(9.0, now=1.0)
    assert est == pytest.approx(float(np.percentile([15, 16, 14, 15, 16, 15, 14, 2, 15, 16], 20)))
    assert est < np.median([15, 16, 14, 15, 16, 15, 14, 2, 15, 16])  # conservative
    pol.update(Report(10, None, lost=True), now=1.0)
    assert pol.estimate_db(9.0, now=1.0) == pytest.approx(est - 3.0)
    assert pol.choose(9.0, now=1.0) == (pytest.approx(est - 3.0), _Codec().rate_for(est - 3.0))
    assert pol.choose(9.0, now=1.0 + 31)[0] == 9.0  # stale: back to the configured SNR
    with pytest.raises(ValueError):
        RatePolicyFeedback(_Codec(), window=0)


def test_schedule_parse_and_interpolation():
    pts = parse_schedule("0:0,150:18,300:0")
    assert [schedule_at(pts, i) for i in (0, 75, 150, 225, 300, 400)] == [0.0, 9.0, 18.0, 9.0, 0.0, 0.0]
    for bad in ("0:0,0:5", "x:1", "0:nan", "5"):
        with pytest.raises(ValueError):
            parse_schedule(bad)


def test_zmq_feedback_link_and_tx_options():
    from vlmcsc.flowgraphs.air import free_port

    addr = f"tcp://127.0.0.1:{free_port()}"
    pol = RatePolicyFeedback(_Codec())
    rx = FeedbackReceiver(addr, pol)
    tx = FeedbackSender(addr)
    try:
        time.sleep(0.3)  # PUB/SUB join
        got = 0
        for i in range(20):
            tx.record({"type": "frame", "seq": i, "snr_db": 17.0, "status": "ok"})
            got += rx.poll(0.05)
        tx.record({"type": "missed", "seq": 21})
        got += rx.poll(0.5)
        assert got >= 10 and pol.backoff_db > 0
    finally:
        tx.close()
        rx.close()
    with pytest.raises(ValueError, match="--symbols-per-token"):
        open_tx_feedback(None, _Codec(), rate=5)
    with pytest.raises(ValueError, match="exclude"):
        open_tx_feedback(addr, _Codec(), rate=8)
    assert open_tx_feedback(None, _Codec(), rate=None).choose(7.0) == (7.0, None)


def test_rate_price_makes_the_policy_spend_fewer_symbols():
    pol = RatePolicyFeedback(_Codec(), price=0.01)
    assert pol.choose(9.0, now=0.0) == (9.0, 4)
    with pytest.raises(ValueError, match="rate-price"):
        RatePolicyFeedback(_Codec(), price=-1.0)


def test_default_price_comes_from_the_checkpoint_policy():
    c = _Codec()
    c.rate_policy = {"closed_loop": {"price": 0.02}}
    assert RatePolicyFeedback(c).price == 0.02
    assert RatePolicyFeedback(c, price=0.0).price == 0.0  # --rate-price 0: the quality curve
    assert RatePolicyFeedback(_Codec()).price == 0.0  # a policy without calibration
