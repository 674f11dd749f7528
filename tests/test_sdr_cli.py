"""`vlmcsc pluto-emu` and `vlmcsc radios` as a user runs them (subprocesses)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile

import pytest

from vlmcsc.sdr.soapy import loopback_module_path

CLI = [sys.executable, "-m", "vlmcsc.flowgraphs.cli"]
ENV = dict(os.environ, SOAPY_SDR_ROOT=tempfile.mkdtemp(prefix="soapy-root-"),
           SOAPY_SDR_PLUGIN_PATH=str(loopback_module_path().parent))


def test_pluto_emu_command_serves_until_ctrl_c():
    pytest.importorskip("adi", reason="pyadi-iio missing")
    from vlmcsc.sdr.pluto import PlutoRadio

    proc = subprocess.Popen(CLI + ["pluto-emu", "--port", "0", "--noise-dbfs", "-90"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)
    try:
        line = proc.stdout.readline()
        assert "pluto:ip:127.0.0.1:" in line, line
        uri = line.split("'pluto:")[1].split("'")[0]
        with PlutoRadio(uri) as r:
            r.configure(sample_rate=1e6, frequency=2.4e9, rx_gain_db=30)
            assert r.receive(5000, timeout=2.0).size == 5000
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=10)
        assert proc.returncode == 0
        assert "pluto-emu stopped" in err
    finally:
        proc.kill()


def test_pluto_emu_command_reports_a_busy_port():
    from vlmcsc.sdr.pluto_emu import PlutoEmulator

    with PlutoEmulator(port=0) as emu:
        out = subprocess.run(CLI + ["pluto-emu", "--port", str(emu.server.port)],
                             capture_output=True, text=True, timeout=30, env=ENV)
    assert out.returncode == 2 and "cannot listen" in out.stderr


def test_radios_command_lists_soapy_devices_and_checks_uris():
    pytest.importorskip("iio", reason="pylibiio missing")
    from vlmcsc.sdr.pluto_emu import PlutoEmulator

    with PlutoEmulator(port=0) as emu:
        out = subprocess.run(CLI + ["radios", "--json", "--uri", emu.uri, "--uri", "ip:127.0.0.1:9"],
                             capture_output=True, text=True, timeout=60, env=ENV)
    report = json.loads(out.stdout)
    assert out.returncode == 1  # one URI did not answer
    ok, bad = report["uri_checks"]
    assert ok["ok"] and ok["pluto"] and not bad["ok"] and "ip:127.0.0.1:9" in bad["error"]
    if loopback_module_path().is_file() and report["soapy_note"] is None:
        assert any(d.get("driver") == "vlmcsc_loopback" for d in report["soapy"])


_STREAM_SCRIPT = """
import sys
from vlmcsc.sdr import open_radio
radio = open_radio(sys.argv[1])
try:
    with radio:
        radio.configure(sample_rate=1e6, frequency=2.45e9, rx_gain_db=30)
        radio.receive(1000, timeout=2.0)
        print("streaming", flush=True)
        while True:
            radio.receive(8192, timeout=0.1)
except KeyboardInterrupt:
    print("closed" if radio._closed else "NOT closed", flush=True)
"""


@pytest.mark.parametrize("kind", ["soapy", "pluto"])
def test_ctrl_c_closes_a_streaming_radio(kind):
    if kind == "soapy":
        pytest.importorskip("SoapySDR", reason="SoapySDR binding missing")
        if not loopback_module_path().is_file():
            pytest.skip("vlmcsc_loopback module not built (.ci/setup.sh)")
        spec, emu = "soapy:driver=vlmcsc_loopback", None
    else:
        pytest.importorskip("adi", reason="pyadi-iio missing")
        from vlmcsc.sdr.pluto_emu import PlutoEmulator

        emu = PlutoEmulator(port=0).start()
        spec = f"pluto:{emu.uri}"
    proc = subprocess.Popen([sys.executable, "-c", _STREAM_SCRIPT, spec], stdout=subprocess.PIPE,
                            text=True, env=ENV)
    try:
        assert proc.stdout.readline().strip() == "streaming"
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=20)
        assert proc.returncode == 0 and out.strip() == "closed"
    finally:
        proc.kill()
        if emu is not None:
            emu.stop()
