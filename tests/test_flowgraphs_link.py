"""The end-to-end link: demo on loopback, digital budget, sequence bookkeeping, radio safety."""

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from vlmcsc.flowgraphs.cli import main as cli_main
from vlmcsc.flowgraphs.jsonlog import read_jsonl
from vlmcsc.flowgraphs.link import LinkTransmitter, SeqUnwrapper, random_codec

# the link needs the PHY, the loopback radio and the codec (other folders of the project)
for _mod in ("vlmcsc.phy.channel", "vlmcsc.sdr.loopback", "vlmcsc.model.codec"):
    pytest.importorskip(_mod, reason=f"{_mod} is not in this checkout")


SHIPPED = Path(__file__).resolve().parent.parent / "model" / "weights" / "model.safetensors"


def codec_hi() -> float:
    """Upper end of the SNR range the shipped checkpoint was trained on (NAM inputs are clipped)."""
    from vlmcsc.flowgraphs.link import load_codec

    return load_codec(quiet=True).snr_range[1]


@pytest.fixture(scope="module")
def codec():
    import torch

    torch.set_num_threads(1)
    return random_codec()


def test_digital_frame_fits_the_codec_budget(codec):
    from vlmcsc.phy import OfdmConfig

    cfg = OfdmConfig()
    sem = LinkTransmitter(codec, cfg, "semantic")
    dig = LinkTransmitter(codec, cfg, "digital")
    for text in ("a dog", "a man in a blue shirt sits on a bench next to a very long red wall"):
        iq_s, info_s = sem.frame(3, text, 10.0)
        iq_d, info_d = dig.frame(3, text, 10.0)
        assert len(iq_d) <= len(iq_s)
        assert info_d["ofdm_symbols"] <= info_s["ofdm_symbols"]
        assert info_d["payload_bytes"] <= len(codec.normalize(text).encode())
    # "a dog": 2 tokens x 8 symbols -> 1 OFDM symbol of 48 REs; 5 bytes + CRC-32 + tail at rate 1/2
    # are 156 coded bits: more than QPSK's 96, within 16-QAM's 192
    info = dig.frame(0, "a dog", 10.0)[1]
    assert info["modulation"] == "16qam" and not info["truncated"] and info["ofdm_symbols"] == 1


def test_seq_unwrapper_handles_wraparound():
    unwrap = SeqUnwrapper(modulo=16)
    assert [unwrap(s) for s in (14, 15, 0, 2, 1, 5)] == [14, 15, 16, 18, 17, 21]


def test_field_receiver_reports_missed_frames(codec):
    from vlmcsc.flowgraphs.field import FieldReceiver
    from vlmcsc.flowgraphs.scoring import Scorer

    rx = FieldReceiver(codec, lambda seq: "a dog runs", Scorer(similarity=False))
    out = []
    for seq in (0, 1, 4, 4):
        frame = SimpleNamespace(seq=seq, kind="digital", payload=b"a dog runs", snr_db=12.0, cfo_hz=100.0,
                                cfo_subcarriers=0.0064, evm_db=-20.0, start_sample=0)
        out += rx.records(frame)
    out += rx.finish(expected=6)
    kinds = [(r["type"], r["seq"]) for r in out]
    assert kinds == [("frame", 0), ("frame", 1), ("missed", 2), ("missed", 3), ("frame", 4), ("duplicate", 4),
                     ("missed", 5)]
    assert out[0]["bleu1"] == 1.0 and out[0]["status"] == "ok" and out[0]["snr_db"] == 12.0


def test_demo_prints_decoded_captions(tmp_path, capsys):
    log = tmp_path / "demo.jsonl"
    rc = cli_main(["demo", "--no-similarity", "--no-images", "--snr", "20", "--log", str(log), "--channel", "awgn",
                   "--set", "channel.cfo_hz=20000",
                   "--text", "a dog runs on the grass", "--text", "two children play on the beach"])
    out = capsys.readouterr().out
    frames = [r for r in read_jsonl(log) if r["type"] == "frame"]
    assert rc == 0 and len(frames) == 2
    for r in frames:
        assert f"recv: {r['received']}" in out
        assert r["snr_db"] == pytest.approx(20.0, abs=2.0)  # the PHY's estimate of the channel SNR
        # the estimate went to NAM, clipped to the SNR range the checkpoint was trained on (codec v2)
        assert r["nam_snr_db"] == pytest.approx(min(max(r["snr_db"], -50.0), codec_hi()), abs=0.01)
        assert r["cfo_hz"] == pytest.approx(20000.0, abs=300.0)  # the profile override reached the channel
    assert "sent: a dog runs on the grass" in out and "summary" in out
    if SHIPPED.is_file():  # quality only with the trained checkpoint
        assert np.mean([r["bleu1"] for r in frames]) > 0.7


def test_demo_digital_baseline_delivers_the_text(tmp_path, capsys):
    rc = cli_main(["demo", "--no-similarity", "--no-images", "--system", "digital", "--channel", "awgn",
                   "--snr", "30", "--text", "a dog", "--text", "a cat sleeps"])
    out = capsys.readouterr().out
    assert rc == 0
    assert "recv: a dog\n" in out and "recv: a cat sleeps\n" in out and "BLEU-1 1.00" in out


def test_tx_refuses_real_radio_without_frequency_and_gain(capsys):
    assert cli_main(["tx", "--radio", "soapy:driver=nonexistent", "--frames", "1"]) == 2
    assert "refusing to transmit" in capsys.readouterr().err


def test_demo_image_mode_with_tiny_models(tmp_path, capsys):
    """--image: BLIP captions at TX, Stable Diffusion draws the received captions at RX."""
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from PIL import Image

    from tiny_ckb import make_tiny_blip, make_tiny_sd

    blip, sd = make_tiny_blip(tmp_path), make_tiny_sd(tmp_path)
    picture = tmp_path / "in.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (32, 32, 3), dtype=np.uint8)).save(picture)
    out = tmp_path / "out"
    rc = cli_main(["demo", "--no-similarity", "--image", str(picture), "--caption-model", str(blip),
                   "--image-model", str(sd), "--steps", "2", "--out", str(out), "--snr", "20"])
    text = capsys.readouterr().out
    assert "image mode" in text and "in.png:" in text
    assert rc == 0 and (out / "rx_000.png").is_file()  # the receiver drew the received caption
