"""Profiles: TOML loading, command-line overrides, validation errors that name the key."""

from pathlib import Path

import pytest

from vlmcsc.flowgraphs.profile import Profile, ProfileError

PROFILES = Path(__file__).resolve().parent.parent / "flowgraphs" / "profiles"


def write(tmp_path, text):
    path = tmp_path / "p.toml"
    path.write_text(text)
    return path


def test_shipped_profiles_load():
    names = sorted(p.name for p in PROFILES.glob("*.toml"))
    assert "loopback.toml" in names and "pluto_2g4.toml" in names
    for path in PROFILES.glob("*.toml"):
        Profile.load(path)
    pluto = Profile.load(PROFILES / "pluto_2g4.toml")
    assert pluto.radio.frequency_hz == 2.45e9 and pluto.radio.tx_gain_db == -40.0


def test_defaults_and_overrides(tmp_path):
    path = write(tmp_path, '[radio]\nspec = "zmq:tcp://127.0.0.1:5555"\ntx_gain_db = -30\n[snr]\ntx_snr_db = 4\n')
    p = Profile.load(path, ["radio.tx_gain_db=-10", "snr.tx_schedule=[[0, 2.0], [5, 8.0]]"],
                     {"test.frames": 7, "radio.rx_gain_db": None})
    assert p.radio.spec == "zmq:tcp://127.0.0.1:5555"
    assert p.radio.tx_gain_db == -10.0 and p.radio.rx_gain_db is None
    assert p.test.frames == 7 and p.radio.sample_rate_hz == 1e6
    assert p.tx_snr_at(0.0) == 2.0 and p.tx_snr_at(4.9) == 2.0 and p.tx_snr_at(6.0) == 8.0
    assert Profile.load(None).tx_snr_at(100.0) == 10.0


@pytest.mark.parametrize(
    "text, words",
    [
        ("[radoi]\nspec='x'\n", ["unknown section [radoi]", "radio"]),
        ("[radio]\nfreq = 1e9\n", ["unknown key 'freq'", "frequency_hz"]),
        ("[radio]\nsample_rate_hz = 'fast'\n", ["sample_rate_hz", "expected a number"]),
        ("[radio]\nsample_rate_hz = -1e6\n", ["sample_rate_hz"]),
        ("[snr]\nrx_policy = 'guess'\n", ["snr.rx_policy", "estimate"]),
        ("[snr]\ntx_snr_db = 99\n", ["snr.tx_snr_db", "[-30, 60]"]),
        ("[snr]\ntx_schedule = [[5, 1], [2, 3]]\n", ["tx_schedule", "increase"]),
        ("[snr]\ntx_schedule = [3]\n", ["tx_schedule[0]", "[t_s, snr_db]"]),
        ("[codec]\nsystem = 'analog'\n", ["codec.system", "semantic"]),
        ("[test]\nframes = -1\n", ["test.frames"]),
        ("[test]\nframes = 1.5\n", ["frames", "integer"]),
        ("radio = 3\n", ["[radio] must be a table"]),
        ("[radio\n", ["not valid TOML"]),
    ],
)
def test_validation_errors_name_the_key(tmp_path, text, words):
    with pytest.raises(ProfileError) as info:
        Profile.load(write(tmp_path, text))
    message = str(info.value)
    assert str(tmp_path / "p.toml") in message or "TOML" in message
    for word in words:
        assert word in message


def test_bad_override_and_missing_file(tmp_path):
    with pytest.raises(ProfileError, match="section.key=value"):
        Profile.load(None, ["tx_gain_db=-10"])
    with pytest.raises(ProfileError, match="not found"):
        Profile.load(tmp_path / "nope.toml")
