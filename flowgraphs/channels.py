"""Named channel presets for the loopback radio and the simulated air.

SNR is Es/N0 per data resource element (the PHY's convention). ``tdl`` is the benchmark channel of
the flowgraphs issue: block-fading multipath (exponential PDP, 1.5 us rms at 1 MS/s, inside the
16-sample cyclic prefix), CFO of 2.5 subcarriers, SFO 20 ppm and Wiener phase noise.
"""

from __future__ import annotations

#: name -> keyword arguments of vlmcsc.phy.channel.ChannelSimulator (besides snr_db and seed);
#: "cfo_subcarriers" is converted to Hz with the numerology (sample_rate / fft_size)
CHANNEL_PRESETS: dict[str, dict] = {
    "clean": {},
    "awgn": {},
    "rayleigh": {"rms_delay_s": 0.0, "rician_k_db": -50.0, "fading": "block"},
    "tdl": {"rms_delay_s": 1.5e-6, "fading": "block", "cfo_subcarriers": 2.5, "sfo_ppm": 20.0,
            "phase_noise_hz": 50.0},
    "tdl_static": {"rms_delay_s": 1.5e-6, "fading": "static"},
    # the PHY counterpart of `vlmcsc eval`'s "ofdm" channel (model/channels.py: exponential power-delay
    # profile, 6 taps decaying by e every 2 samples = 1.4 us rms at 1 MS/s, a new draw per frame, no
    # CFO/SFO), so eval and sweep share the names awgn, rayleigh and ofdm with the same meaning
    "ofdm": {"rms_delay_s": 1.4e-6, "fading": "block"},
}


def check_snr_for_channel(name: str, snr_db: float | None) -> None:
    """ValueError when an SNR is given for the noiseless ``clean`` preset (it would be ignored)."""
    if name == "clean" and snr_db is not None:
        raise ValueError(f"--channel clean has no noise, so --snr {snr_db:g} would be ignored; "
                         "drop --snr, or use --channel awgn for a noisy channel")


def channel_kwargs(name: str, snr_db: float | None, seed: int = 1, cfg=None, sample_rate: float = 1e6,
                   **overrides) -> dict:
    """ChannelSimulator keyword arguments of preset ``name`` (``overrides`` win)."""
    if name not in CHANNEL_PRESETS:
        raise ValueError(f"unknown channel preset {name!r}; presets: {', '.join(CHANNEL_PRESETS)}")
    from vlmcsc.phy import OfdmConfig

    cfg = cfg or OfdmConfig()
    kwargs = {**CHANNEL_PRESETS[name], **overrides}
    cfo_sc = kwargs.pop("cfo_subcarriers", None)
    if cfo_sc is not None and "cfo_hz" not in overrides:
        kwargs["cfo_hz"] = float(cfo_sc) * sample_rate / cfg.fft_size
    snr = None if name == "clean" else snr_db
    return {"snr_db": snr, "seed": int(seed), "sample_rate": float(sample_rate), "config": cfg, **kwargs}


def make_channel(name: str, snr_db: float | None, seed: int = 1, cfg=None, sample_rate: float = 1e6, **overrides):
    """A seeded ``ChannelSimulator`` for preset ``name`` at ``snr_db``."""
    from vlmcsc.phy.channel import ChannelSimulator

    try:
        return ChannelSimulator(**channel_kwargs(name, snr_db, seed, cfg, sample_rate, **overrides))
    except TypeError as exc:
        raise ValueError(f"channel {name!r}: bad channel setting ({exc})") from exc


def make_loopback(name: str, snr_db: float | None, seed: int = 1, cfg=None, sample_rate: float = 1e6,
                  **overrides):
    """A ``LoopbackRadio`` through preset ``name`` (gap jitter seeded from ``seed`` too)."""
    from vlmcsc.sdr.loopback import LoopbackRadio

    channel = make_channel(name, snr_db, seed, cfg, sample_rate, **overrides)
    return LoopbackRadio(channel, seed=seed)
