"""The live dashboard: its snapshot (gaps for lost frames, spectrum), and the page in a real headless
chromium while a two-process rehearsal runs (the frame table fills, the plots are drawn)."""

import json
import os
import shutil
import threading
import time
import urllib.error
import urllib.request

import numpy as np
import pytest

pytest.importorskip("starlette", reason="dashboard needs starlette + uvicorn")
from vlmcsc.flowgraphs.dashboard import DashboardState, parse_address, start_dashboard  # noqa: E402


def test_parse_address_defaults_to_localhost():
    assert parse_address("8080") == ("127.0.0.1", 8080)
    assert parse_address("0.0.0.0:9000") == ("0.0.0.0", 9000)
    with pytest.raises(ValueError, match="HOST:]PORT"):
        parse_address("localhost:http")


def test_snapshot_has_gaps_for_lost_frames_and_a_spectrum():
    state = DashboardState(sample_rate=1e6)
    rng = np.random.default_rng(0)
    tone = np.exp(2j * np.pi * 0.25 * np.arange(4096)).astype(np.complex64)  # +250 kHz at full scale
    state.set_iq(tone + 1e-3 * (rng.standard_normal(4096) + 1j * rng.standard_normal(4096)).astype(np.complex64))
    state.add_record({"type": "frame", "seq": 0, "status": "ok", "snr_db": 20.0, "cfo_hz": 50.0, "bleu1": 1.0,
                      "sent": "a dog", "received": "a dog"})
    state.add_record({"type": "missed", "seq": 1})
    state.add_record({"type": "frame", "seq": 2, "status": "ok", "snr_db": 18.0, "cfo_hz": 40.0, "bleu1": 0.5,
                      "sent": "a cat", "received": "a dog"})
    snap = json.loads(json.dumps(state.snapshot()))  # JSON-ready
    assert [p["snr_db"] for p in snap["series"]] == [20.0, None, 18.0]
    assert [p["bleu1"] for p in snap["series"]] == [1.0, None, 0.5]
    assert [p["loss"] for p in snap["series"]] == [0.0, 0.5, pytest.approx(1 / 3, abs=1e-3)]
    assert snap["counts"] == {"ok": 2, "failed": 0, "lost": 1}
    spec = np.array(snap["spectrum"])
    assert int(np.argmax(spec)) == 3 * len(spec) // 4 and spec.max() > -1.0  # full-scale tone ~0 dBFS
    assert len(snap["waterfall"]) == 1


def test_busy_port_is_a_clear_error():
    dash = start_dashboard("127.0.0.1:0", announce=None)
    try:
        with pytest.raises(OSError, match="cannot listen on 127.0.0.1"):
            start_dashboard(f"127.0.0.1:{dash.port}", announce=None)
        page = urllib.request.urlopen(dash.url, timeout=10).read().decode()
        assert "/static/dashboard.js" in page and "http" not in page.split("<body>")[1]  # no CDN
    finally:
        dash.close()


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")


@pytest.mark.skipif(not (CHROMIUM and CHROMEDRIVER), reason="needs Debian chromium + chromium-driver")
def test_dashboard_in_headless_chromium_during_rehearsal(tmp_path):
    pytest.importorskip("selenium")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By

    from vlmcsc.flowgraphs.air import free_port, rehearse

    port = free_port()
    result = {}
    run = threading.Thread(target=lambda: result.update(rehearse(
        frames=16, snr_db=15.0, channel="tdl", seed=3, workdir=tmp_path, timeout=120,
        extra_rx=["--dashboard", f"127.0.0.1:{port}", "--dashboard-hold", "6"],
        extra_tx=["--interval", "0.25"])), daemon=True)
    run.start()
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url + "api/snapshot", timeout=2).read()
            break
        except OSError:
            time.sleep(0.2)
    else:
        pytest.fail("the receiver never served the dashboard")
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1400,1100",
                "--disable-dev-shm-usage", f"--user-data-dir={tmp_path / 'chrome'}"):
        opts.add_argument(arg)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    try:
        driver.get(url)
        deadline = time.monotonic() + 60
        rows = []
        while time.monotonic() < deadline:  # the table fills while the rehearsal runs
            rows = driver.execute_script("""return [...document.querySelectorAll('#frames tbody tr.frame')]
                .map(tr => [...tr.cells].map(td => td.textContent));""")
            if len(rows) >= 4:
                break
            time.sleep(0.3)
        assert len(rows) >= 4, "frame table did not fill"
        assert all(r[2] and r[3] for r in rows)  # sent and received captions
        # 15 dB: the shipped codec's rate policy (6 symbols/token there) gives BLEU-1 about 0.95,
        # so the table's BLEU-1 column must read high and match the captions it shows
        assert sum(float(r[4]) for r in rows) / len(rows) >= 0.8
        assert all(float(r[4]) == 1.0 for r in rows if r[2] == r[3])
        assert driver.find_element(By.ID, "conn").text == "live"
        drawn = driver.execute_script("""
            const ink = id => { const c = document.getElementById(id);
              const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
              let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i]) n++; return n; };
            return ['spectrum', 'waterfall', 'constellation', 'snr'].map(ink);""")
        assert all(n > 200 for n in drawn), drawn  # every plot has ink
        shot = tmp_path / "dashboard.png"
        assert driver.save_screenshot(str(shot)) and shot.stat().st_size > 10_000
        if os.environ.get("VLMCSC_DASHBOARD_SCREENSHOT"):  # refresh the docs' screenshot on purpose
            shutil.copy(shot, os.environ["VLMCSC_DASHBOARD_SCREENSHOT"])
    finally:
        driver.quit()
    run.join(150)
    assert result.get("rx_returncode") == 0 and result.get("frames_ok", 0) >= 14, result


def test_regenerated_images_are_served_beside_their_frames(tmp_path):
    from PIL import Image

    dash = start_dashboard("127.0.0.1:0", announce=None)
    try:
        dash.add_record({"type": "frame", "seq": 4, "status": "ok", "sent": "a dog", "received": "a dog"})
        Image.new("RGB", (8, 8), (200, 10, 10)).save(tmp_path / "rx_000.png")
        dash.state.image_dir = tmp_path
        dash.set_image(4, "rx_000.png")  # the public method (it delegates to the state)
        row = dash.state.snapshot()["frames"][0]
        assert row["image"] == "/images/rx_000.png"
        png = urllib.request.urlopen(dash.url + "images/rx_000.png", timeout=10).read()
        assert png[:4] == b"\x89PNG"
        with pytest.raises(urllib.error.HTTPError):
            urllib.request.urlopen(dash.url + "images/..%2Fsecret", timeout=10)
    finally:
        dash.close()


def test_demo_image_mode_puts_the_regenerated_image_in_the_table(tmp_path, monkeypatch, capsys):
    import sys as _sys
    from pathlib import Path

    from PIL import Image

    import vlmcsc.flowgraphs.dashboard as dashboard_mod
    from vlmcsc.flowgraphs.cli import main as cli_main

    _sys.path.insert(0, str(Path(__file__).resolve().parent))
    from tiny_ckb import make_tiny_blip, make_tiny_sd

    started = []
    real_start = dashboard_mod.start_dashboard
    monkeypatch.setattr(dashboard_mod, "start_dashboard",
                        lambda *a, **k: started.append(real_start(*a, **k)) or started[-1])
    blip, sd = make_tiny_blip(tmp_path), make_tiny_sd(tmp_path)
    picture = tmp_path / "in.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (32, 32, 3), dtype=np.uint8)).save(picture)
    rc = cli_main(["demo", "--no-similarity", "--image", str(picture), "--caption-model", str(blip),
                   "--image-model", str(sd), "--steps", "2", "--out", str(tmp_path / "out"), "--snr", "20",
                   "--dashboard", "127.0.0.1:0"])
    capsys.readouterr()
    assert rc == 0 and len(started) == 1
    rows = started[0].state.snapshot()["frames"]
    assert rows[0]["image"] == "/images/rx_000.png"  # served from --out by the dashboard
