"""Open a radio from a spec string, with the flowgraphs' safety rule for real hardware.

``loopback`` (simulated channel, see :mod:`.channels`), ``zmq:tcp://host:port`` /
``zmq+pub:tcp://host:port`` (IQ over ZeroMQ, see :mod:`.zmq_radio`), anything else through
``vlmcsc.sdr.open_radio`` (``soapy:driver=...``, ``pluto:ip:...``, ``replay:file.sigmf-meta``).
"""

from __future__ import annotations

from .profile import Profile, ProfileError

SIMULATED_PREFIXES = ("loopback", "zmq:", "zmq+pub:", "replay:")


def is_real_radio(spec: str) -> bool:
    return not spec.startswith(SIMULATED_PREFIXES)


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
    elif spec.startswith(("zmq:", "zmq+pub:")):
        from .zmq_radio import open_zmq_radio

        radio = open_zmq_radio(spec, send_timeout=send_timeout)
    else:
        try:
            from vlmcsc.sdr import open_radio as sdr_open_radio
        except ImportError as exc:
            raise ProfileError(
                f"radio {spec!r} needs vlmcsc.sdr.open_radio, which is not available here ({exc}); "
                "use 'loopback' or 'zmq:tcp://127.0.0.1:5555'"
            ) from exc
        radio = sdr_open_radio(spec)
    radio.configure(
        sample_rate=r.sample_rate_hz,
        frequency=r.frequency_hz,
        tx_gain_db=r.tx_gain_db,
        rx_gain_db=r.rx_gain_db,
        bandwidth=r.bandwidth_hz,
    )
    return radio
