"""Radio safety and the simulated air under faults (issue 11): SoapySDR settings outside the
device's reported ranges are refused, what the device set is read back and logged; the air counts
NaN messages and notices a receiver that vanished."""

from __future__ import annotations

import os
import tempfile
import time

import numpy as np
import pytest
import zmq

os.environ.setdefault("SOAPY_SDR_ROOT", tempfile.mkdtemp(prefix="soapy-root-"))
from vlmcsc.sdr.soapy import loopback_module_path  # noqa: E402

os.environ.setdefault("SOAPY_SDR_PLUGIN_PATH", str(loopback_module_path().parent))

ARGS = "driver=vlmcsc_loopback,noise_dbfs=-95,seed=3"


def _soapy():
    pytest.importorskip("SoapySDR", reason="SoapySDR binding missing (.ci/setup.sh)")
    if not loopback_module_path().is_file():
        pytest.skip(f"{loopback_module_path()} not built (.ci/setup.sh builds it)")
    from vlmcsc.sdr.soapy import SoapyRadio

    return SoapyRadio


@pytest.mark.parametrize("setting, value", [
    ("tx_gain_db", 1000.0), ("tx_gain_db", 400.0), ("tx_gain_db", -40.0), ("rx_gain_db", 71.0),
    ("frequency", 10e9), ("sample_rate", 80e6), ("bandwidth", 100e6),
])
def test_soapy_refuses_settings_outside_the_device_range(setting, value):
    from vlmcsc.sdr import RadioError

    with _soapy()(ARGS) as r:
        r.configure(sample_rate=1e6, frequency=2.45e9, tx_gain_db=10, rx_gain_db=20)
        with pytest.raises(RadioError, match="outside the device's range"):
            r.configure(**{setting: value})
        assert r.tx_gain_db == 10 and r.frequency == 2.45e9  # unchanged after the refusal
        assert r._dev.getGain(r._tx_dir, 0) == pytest.approx(10)


def test_soapy_reads_back_and_logs_what_the_device_set(tmp_path, capsys):
    _soapy()
    from vlmcsc.flowgraphs.cli import main as cli_main
    from vlmcsc.flowgraphs.jsonlog import read_jsonl

    log = tmp_path / "tx.jsonl"
    rc = cli_main(["tx", "--radio", f"soapy:{ARGS}", "--freq", "2.45e9", "--tx-gain", "10.1", "--frames", "1",
                   "--interval", "0", "--log", str(log)])
    start = next(read_jsonl(log))
    assert rc == 0, capsys.readouterr().err
    assert start["radio"]["tx_gain_db"] == pytest.approx(10.1)  # read back from the device...
    assert start["radio"]["tx_gain_stages"] == {"PGA": pytest.approx(10.1)}
    assert start["radio"]["requested"]["tx_gain_db"] == pytest.approx(10.1)  # ...beside what was asked
    rc = cli_main(["tx", "--radio", f"soapy:{ARGS}", "--freq", "2.45e9", "--tx-gain", "95", "--frames", "1"])
    err = capsys.readouterr().err
    assert rc == 2 and "outside the device's range" in err and "Traceback" not in err


def test_air_counts_a_nan_message_and_keeps_going():
    from vlmcsc.flowgraphs.air import Air, free_port
    from vlmcsc.sdr.zmq_radio import iq_to_message, message_to_iq

    p_in, p_out = free_port(), free_port()
    ctx = zmq.Context.instance()
    tx = ctx.socket(zmq.PUSH)
    tx.bind(f"tcp://127.0.0.1:{p_in}")
    air = Air(f"tcp://127.0.0.1:{p_in}", f"tcp://127.0.0.1:{p_out}", channel="awgn", snr_db=20.0, send_timeout=5)
    rx = ctx.socket(zmq.PULL)
    rx.connect(f"tcp://127.0.0.1:{p_out}")
    try:
        bad = np.ones(100, np.complex64)
        bad[7] = np.nan
        tx.send(iq_to_message(bad))
        tx.send(iq_to_message(np.ones(100, np.complex64) * 0.1))
        for _ in range(20):
            air.step(timeout=0.5)
            if air.messages:
                break
        assert air.bad_messages == 1 and air.messages == 1
        assert rx.poll(5000) and np.all(np.isfinite(message_to_iq(rx.recv())))
    finally:
        rx.close(0)
        tx.close(0)
        air.close()


def test_air_notices_a_receiver_that_vanished():
    from vlmcsc.flowgraphs.air import Air, free_port
    from vlmcsc.sdr.zmq_radio import iq_to_message

    p_in, p_out = free_port(), free_port()
    ctx = zmq.Context.instance()
    tx = ctx.socket(zmq.PUSH)
    tx.bind(f"tcp://127.0.0.1:{p_in}")
    air = Air(f"tcp://127.0.0.1:{p_in}", f"tcp://127.0.0.1:{p_out}", channel="awgn", snr_db=20.0,
              send_timeout=5, peer_timeout=0.5)
    rx = ctx.socket(zmq.PULL)
    rx.connect(f"tcp://127.0.0.1:{p_out}")
    try:
        tx.send(iq_to_message(np.ones(100, np.complex64) * 0.1))
        while not air.messages:
            air.step(timeout=0.5)
        assert rx.poll(5000)
        rx.close(0)  # the receiver vanishes
        t0 = time.monotonic()
        for _ in range(5):
            tx.send(iq_to_message(np.ones(100, np.complex64) * 0.1))
        air.run(stop=lambda: time.monotonic() - t0 > 20)
        assert air.watch.gone_for_good() and time.monotonic() - t0 < 10
        assert air.watch.dropped >= 1 and air.messages + air.watch.dropped <= 6
    finally:
        tx.close(0)
        air.close()


def test_device_lost_mid_run_ends_with_one_line_and_complete_files(tmp_path, capsys):
    role = "rx"  # the module's unplug_after counts delivered RX samples
    _soapy()
    from vlmcsc.flowgraphs.cli import main as cli_main
    from vlmcsc.flowgraphs.jsonlog import read_jsonl

    log = tmp_path / f"{role}.jsonl"
    argv = [role, "--radio", "soapy:driver=vlmcsc_loopback,unplug_after=50000", "--freq", "2.45e9",
            "--frames", "0", "--log", str(log)]
    argv += ["--rx-gain", "20", "--no-similarity", "--quiet", "--sigmf", str(tmp_path / "cap")]
    rc = cli_main(argv)
    err = [ln for ln in capsys.readouterr().err.splitlines() if ln.strip()]
    records = list(read_jsonl(log, strict=True))
    assert rc == 1 and "Traceback" not in "\n".join(err)
    assert any("stopped streaming" in ln or "writeStream" in ln or "device" in ln for ln in err[-2:]), err
    assert records[0]["type"] == "start" and records[-1]["type"] == "end" and records[-1].get("error")
    from vlmcsc.sdr.sigmf_io import ReplayRadio

    assert ReplayRadio(tmp_path / "cap").num_samples == 50000
