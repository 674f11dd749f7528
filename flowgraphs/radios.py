"""Open a profile's radio through ``vlmcsc.sdr.open_radio`` (the one factory and spec grammar,
listed in ``vlmcsc.sdr.RADIO_SPECS``), with the flowgraphs' safety rule for real hardware.

Only ``loopback`` is built here, because its channel comes from the profile (see :mod:`.channels`).
"""

from __future__ import annotations

from .profile import Profile, ProfileError

def is_real_radio(spec: str) -> bool:
    from vlmcsc.sdr import SIMULATED_KINDS, spec_kind

    return spec_kind(spec) not in SIMULATED_KINDS


def open_radio(profile: Profile, for_tx: bool, cfg=None, send_timeout: float | None = 30.0):
    """Open and configure ``profile.radio.spec``.

    Real radios only transmit when the profile (or the command line) gave both a frequency and a
    TX gain explicitly; otherwise :class:`ProfileError` says what to set. The backend checks again.
    """
    r = profile.radio
    spec = r.spec
    if for_tx and is_real_radio(spec) and (r.frequency_hz is None or r.tx_gain_db is None):
        raise ProfileError(
            f"refusing to transmit on {spec!r} without an explicit frequency and TX gain: pass "
            "--freq and --tx-gain (or radio.frequency_hz / radio.tx_gain_db in a profile). Start at "
            "the lowest gain with a cable and attenuators; see hardware.md."
        )
    if spec == "loopback":
        from .channels import make_loopback

        ch = dict(profile.channel)
        name = ch.pop("preset", "tdl")
        snr = float(ch.pop("snr_db", 15.0))
        seed = int(ch.pop("seed", 1))
        radio = make_loopback(name, snr, seed=seed, cfg=cfg, **ch)
    else:
        from vlmcsc.sdr import open_radio as sdr_open_radio, spec_kind

        kwargs = {"send_timeout": send_timeout} if spec_kind(spec) in ("zmq", "zmq+pub") else {}
        radio = sdr_open_radio(spec, **kwargs)
    radio.configure(
        sample_rate=r.sample_rate_hz,
        frequency=r.frequency_hz,
        tx_gain_db=r.tx_gain_db,
        rx_gain_db=r.rx_gain_db,
        bandwidth=r.bandwidth_hz,
    )
    return radio
