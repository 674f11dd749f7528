"""One radio factory (``vlmcsc.sdr.open_radio``) and one spec grammar; the ``sigmf:`` file sink;
``ReplayRadio`` honouring ``core:header_bytes`` / ``core:trailing_bytes``."""

import json
import subprocess
import sys

import numpy as np
import pytest

from vlmcsc.sdr import RADIO_SPECS, RadioError, ReplayRadio, open_radio
from vlmcsc.sdr.sigmf_io import SigMFRecorder


def test_one_factory_knows_every_backend():
    from vlmcsc.sdr.sigmf_sink import SigMFSinkRadio
    from vlmcsc.sdr.zmq_radio import ZmqRadio

    with open_radio("zmq:tcp://127.0.0.1:1") as z:
        assert isinstance(z, ZmqRadio) and z.pattern == "pushpull"
    with open_radio("zmq+pub:tcp://127.0.0.1:1") as z:
        assert z.pattern == "pubsub"
    assert isinstance(open_radio("sigmf:/tmp/never-written-by-this-test"), SigMFSinkRadio)
    with pytest.raises(RadioError) as err:
        open_radio("bogus:thing")
    for kind in ("sigmf:", "zmq:", "replay:", "pluto:", "soapy:"):
        assert kind in str(err.value)
    assert any(k.startswith("sigmf:") for k in RADIO_SPECS)


def test_pluto_spec_options():
    from vlmcsc.sdr import _options

    assert _options("ip:192.168.2.1,kernel_buffers=32") == ("ip:192.168.2.1", {"kernel_buffers": 32})
    assert _options("usb:1.5.5") == ("usb:1.5.5", {})
    with pytest.raises(RadioError, match="key=value"):
        _options("ip:192.168.2.1,kernel_buffers")
    with pytest.raises(RadioError, match="unknown Pluto option"):
        open_radio("pluto:ip:127.0.0.1,buffers=3")


def test_sigmf_sink_writes_bursts_that_replay_and_never_overwrites(tmp_path):
    rng = np.random.default_rng(1)
    bursts = [(0.3 * (rng.standard_normal(n) + 1j * rng.standard_normal(n))).astype(np.complex64) for n in (700, 300)]
    with open_radio(f"sigmf:{tmp_path / 'cap'}") as sink:
        sink.configure(sample_rate=2e6, frequency=2.45e9)
        for b in bursts:
            sink.transmit(b)
        with pytest.raises(RadioError, match="transmit-only"):
            sink.receive(10)
    with ReplayRadio(tmp_path / "cap.sigmf-meta") as rep:
        assert rep.sample_rate == 2e6 and rep.frequency == 2.45e9
        x = rep.receive(10_000, timeout=0)
        assert [a["core:sample_count"] for a in rep.annotations] == [700, 300]
    assert x.size == 400 + 700 + 400 + 300 + 400
    np.testing.assert_array_equal(x[400:1100], bursts[0])
    np.testing.assert_array_equal(x[1500:1800], bursts[1])
    assert not np.any(x[:400]) and not np.any(x[1100:1500])
    with pytest.raises(RadioError, match="already exists"):
        open_radio(f"sigmf:{tmp_path / 'cap'}")


def test_replay_skips_header_and_trailing_bytes(tmp_path):
    base = tmp_path / "hdr"
    samples = (np.arange(6) + 1j * np.arange(6)).astype(np.complex64)
    with SigMFRecorder(base, sample_rate=1e6) as rec:
        rec.write(samples)
    meta_path = tmp_path / "hdr.sigmf-meta"
    data_path = tmp_path / "hdr.sigmf-data"
    data_path.write_bytes(b"H" * 16 + samples.tobytes() + b"T" * 8)  # a capture tool's header and trailer
    meta = json.loads(meta_path.read_text())
    meta["global"].pop("core:sha512", None)
    meta["captures"][0]["core:header_bytes"] = 16
    meta["global"]["core:trailing_bytes"] = 8
    meta_path.write_text(json.dumps(meta))
    with ReplayRadio(meta_path) as rep:
        out = rep.receive(100, timeout=0)
    np.testing.assert_array_equal(out, samples)  # before: 3 extra samples made of header/trailer bytes


def test_tx_file_sink_then_rx_replay_decodes_every_frame_and_ends_at_eof(tmp_path):
    pytest.importorskip("vlmcsc.model.codec")
    cli = [sys.executable, "-m", "vlmcsc.flowgraphs.cli"]
    cap = tmp_path / "tx_capture"
    tx = subprocess.run(cli + ["tx", "--radio", f"sigmf:{cap}", "--frames", "3", "--seed", "4", "--snr", "15"],
                        capture_output=True, text=True, timeout=120)
    assert tx.returncode == 0, tx.stderr
    # no --idle-exit and no --frames: the end of the recording ends the run
    rx = subprocess.run(cli + ["rx", "--radio", f"replay:{cap}.sigmf-meta", "--frames", "0", "--seed", "4",
                               "--no-similarity", "--sigmf", str(tmp_path / "rx_capture")],
                        capture_output=True, text=True, timeout=120)
    assert rx.returncode == 0, rx.stderr
    assert "rx done: 3 decoded, 0 failed, 0 missed of 3" in rx.stderr
    lines = rx.stdout.strip().splitlines()
    assert len(lines) == 3 and all(" ok " in line for line in lines)
    sent = json.loads((tmp_path / "tx_capture.sigmf-meta").read_text())["annotations"]
    got = json.loads((tmp_path / "rx_capture.sigmf-meta").read_text())["annotations"]
    # each frame's annotation spans exactly the burst that carried it (no header counted twice)
    assert [a["core:sample_count"] for a in got] == [a["core:sample_count"] for a in sent]
    assert [a["core:sample_start"] for a in got] == [a["core:sample_start"] for a in sent]
