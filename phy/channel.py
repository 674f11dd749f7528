"""Channel impairment models with physical units and a seeded RNG, applied in the order a real
link imposes them::

    DAC clip -> multipath (TDL) -> timing offset + SFO (resampling) -> CFO -> phase noise
      -> AWGN -> RX IQ imbalance -> DC offset -> ADC clip + quantisation

SNR convention (design notes): ``snr_db`` is Es/N0 per data resource element, i.e. the noise
variance per complex sample is ``ref_power * 10**(-snr_db/10)`` where ``ref_power`` is the power
of one unit resource element at the transmitter output (``OfdmConfig.tx_scale**2``, since the
transmitter uses an orthonormal IFFT). Multipath taps have unit average total power, so the SNR is
the average over fading realisations.
"""

from __future__ import annotations

import math

import numpy as np

from .config import OfdmConfig


def _finite(name: str, value: float, lo: float = -math.inf, hi: float = math.inf) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a number, got {value!r}") from None
    if not math.isfinite(v) or not lo <= v <= hi:
        raise ValueError(f"{name} must be finite and in [{lo}, {hi}], got {value!r}")
    return v


def exponential_pdp(rms_delay_s: float, sample_rate: float, num_taps: int | None = None) -> np.ndarray:
    """Exponential power-delay profile sampled at 1/sample_rate, normalised to sum 1; float [L].

    ``num_taps`` defaults to cover 5 rms delays (at least 1 tap).
    """
    tau = rms_delay_s * sample_rate  # rms delay in samples
    if tau <= 0:
        return np.ones(1)
    n = num_taps or max(1, int(math.ceil(5 * tau)) + 1)
    p = np.exp(-np.arange(n) / tau)
    return p / p.sum()


class ChannelSimulator:
    """A seeded, stateful baseband channel.

    Args:
        snr_db: Es/N0 per data resource element, dB; ``None`` = no noise.
        sample_rate: Hz (for cfo_hz, rms delay, phase-noise linewidth).
        cfo_hz: carrier frequency offset, Hz.
        sfo_ppm: sampling-frequency offset, parts per million (receiver clock relative to TX).
        rms_delay_s: rms delay spread of an exponential PDP, seconds (0 = flat channel).
        num_taps: taps of the tapped delay line (default: 5 rms delays).
        taps: explicit complex taps (overrides the PDP; used as given every burst).
        fading: "static" (one realisation drawn at construction) or "block" (new realisation
            per burst); Rayleigh unless ``rician_k_db`` is given (K factor on the first tap).
        timing_offset: fractional delay of every burst, samples (>= 0).
        leading_noise: noise-only samples in front of every burst from :meth:`apply`.
        phase_noise_hz: 3-dB linewidth of Wiener phase noise, Hz.
        iq_amplitude_db, iq_phase_deg: receiver IQ gain and phase imbalance.
        dc_offset: complex DC added at the receiver, full-scale units.
        dac_clip: clip |x| of the transmitted burst at this level (None = off).
        adc_clip: clip I and Q at +-this level at the receiver (None = off).
        adc_bits: quantise I and Q to this many bits over +-adc_clip (default clip 1.0).
        ref_power: power of a unit resource element at the TX output (default from ``config``).
        config: OfdmConfig whose ``tx_scale`` sets ``ref_power`` (default OfdmConfig()).
        seed: RNG seed (int) for reproducible runs.

    Example::

        ch = ChannelSimulator(snr_db=10, cfo_hz=30e3, rms_delay_s=1e-6, fading="block", seed=1)
        rx = ch.apply(iq)          # complex64 [leading_noise + len(iq) + len(taps) - 1]
        idle = ch.noise(1000)      # receiver noise floor between bursts
    """

    def __init__(
        self,
        snr_db: float | None = None,
        *,
        sample_rate: float = 1e6,
        cfo_hz: float = 0.0,
        sfo_ppm: float = 0.0,
        rms_delay_s: float = 0.0,
        num_taps: int | None = None,
        taps: np.ndarray | None = None,
        fading: str = "static",
        rician_k_db: float | None = None,
        timing_offset: float = 0.0,
        leading_noise: int = 0,
        phase_noise_hz: float = 0.0,
        iq_amplitude_db: float = 0.0,
        iq_phase_deg: float = 0.0,
        dc_offset: complex = 0j,
        dac_clip: float | None = None,
        adc_clip: float | None = None,
        adc_bits: int | None = None,
        ref_power: float | None = None,
        config: OfdmConfig | None = None,
        seed: int | None = None,
    ) -> None:
        self.snr_db = None if snr_db is None else _finite("snr_db", snr_db, -50, 200)
        self.sample_rate = _finite("sample_rate", sample_rate, 1e-3)
        if self.sample_rate <= 0:
            raise ValueError("sample_rate must be positive")
        self.cfo_hz = _finite("cfo_hz", cfo_hz, -self.sample_rate / 2, self.sample_rate / 2)
        self.sfo_ppm = _finite("sfo_ppm", sfo_ppm, -1e4, 1e4)
        self.rms_delay_s = _finite("rms_delay_s", rms_delay_s, 0, 1)
        if fading not in ("static", "block"):
            raise ValueError(f"fading must be 'static' or 'block', got {fading!r}")
        self.fading = fading
        self.rician_k_db = None if rician_k_db is None else _finite("rician_k_db", rician_k_db, -50, 50)
        self.timing_offset = _finite("timing_offset", timing_offset, 0, 1e6)
        if not isinstance(leading_noise, (int, np.integer)) or leading_noise < 0:
            raise ValueError(f"leading_noise must be a non-negative number of samples, got {leading_noise!r}")
        self.leading_noise = int(leading_noise)
        self.phase_noise_hz = _finite("phase_noise_hz", phase_noise_hz, 0, self.sample_rate)
        self.iq_amplitude_db = _finite("iq_amplitude_db", iq_amplitude_db, -6, 6)
        self.iq_phase_deg = _finite("iq_phase_deg", iq_phase_deg, -45, 45)
        self.dc_offset = complex(dc_offset)
        if not (math.isfinite(self.dc_offset.real) and math.isfinite(self.dc_offset.imag)):
            raise ValueError(f"dc_offset must be finite, got {dc_offset!r}")
        self.dac_clip = None if dac_clip is None else _finite("dac_clip", dac_clip, 1e-6)
        self.adc_clip = None if adc_clip is None else _finite("adc_clip", adc_clip, 1e-6)
        if adc_bits is not None and (not isinstance(adc_bits, (int, np.integer)) or not 1 <= adc_bits <= 32):
            raise ValueError(f"adc_bits must be an integer 1..32, got {adc_bits!r}")
        self.adc_bits = adc_bits
        if ref_power is None:
            ref_power = (config or OfdmConfig()).tx_scale ** 2
        self.ref_power = _finite("ref_power", ref_power, 1e-12)
        self.rng = np.random.default_rng(seed)
        self._pdp = None
        self._num_taps = num_taps
        if taps is not None:
            t = np.asarray(taps, dtype=np.complex128).ravel()
            if t.size == 0 or not np.all(np.isfinite(t)):
                raise ValueError("taps must be a non-empty finite complex array")
            self._fixed_taps = t
        else:
            self._fixed_taps = None
            if self.rms_delay_s > 0 or self.rician_k_db is not None:
                self._pdp = exponential_pdp(self.rms_delay_s, self.sample_rate, num_taps)
        self.taps = self._fixed_taps if self._fixed_taps is not None else self._draw_taps()
        self._clock = 0  # receiver samples produced so far (phase reference of CFO)
        self._phase = 0.0  # phase-noise state, rad

    # -- properties ----------------------------------------------------------------------------
    @property
    def noise_var(self) -> float:
        """Noise variance per complex sample (0 without noise)."""
        if self.snr_db is None:
            return 0.0
        return self.ref_power * 10 ** (-self.snr_db / 10)

    # -- public --------------------------------------------------------------------------------
    def apply(self, iq: np.ndarray) -> np.ndarray:
        """Pass one burst through the channel; complex64
        [leading_noise + len(iq) + len(taps) - 1 (+ resampling change)]."""
        x = np.asarray(iq)
        if not np.iscomplexobj(x) or x.ndim != 1:
            raise TypeError(f"iq must be a 1-D complex array, got dtype {x.dtype}, shape {x.shape}")
        if x.size and not np.all(np.isfinite(x)):
            raise ValueError("iq contains NaN or inf")
        x = x.astype(np.complex128)
        if self.dac_clip is not None:
            mag = np.abs(x)
            over = mag > self.dac_clip
            x[over] *= self.dac_clip / mag[over]
        if self.fading == "block" and self._fixed_taps is None:
            self.taps = self._draw_taps()
        if self.taps is not None and (self.taps.size > 1 or self.taps[0] != 1):
            x = np.convolve(x, self.taps)
        if self.timing_offset or self.sfo_ppm:
            x = self._resample(x)
        if self.leading_noise:
            x = np.concatenate([np.zeros(self.leading_noise, complex), x])
        return self._receive_side(x)

    def noise(self, n: int) -> np.ndarray:
        """``n`` idle receiver samples (noise, DC, ADC effects), advancing the stream clock."""
        if not isinstance(n, (int, np.integer)) or n < 0:
            raise ValueError(f"n must be a non-negative integer, got {n!r}")
        return self._receive_side(np.zeros(int(n), complex))

    def set_sample_rate(self, sample_rate: float) -> None:
        """Change the sample rate (Hz): CFO, phase noise and the delay profile follow (a PDP
        given as ``rms_delay_s`` is resampled and its taps redrawn)."""
        rate = _finite("sample_rate", sample_rate, 1e-3)
        if abs(self.cfo_hz) > rate / 2:
            raise ValueError(f"cfo_hz={self.cfo_hz} is outside +-sample_rate/2 at {rate} Hz")
        self.sample_rate = rate
        if self._pdp is not None:
            self._pdp = exponential_pdp(self.rms_delay_s, rate, self._num_taps)
            self.taps = self._draw_taps()

    def frequency_response(self, fft_size: int = 64) -> np.ndarray:
        """Current channel's frequency response per FFT bin; complex [fft_size]."""
        return np.fft.fft(self.taps if self.taps is not None else np.ones(1), fft_size)

    # -- internals -----------------------------------------------------------------------------
    def _draw_taps(self) -> np.ndarray | None:
        if self._pdp is None:
            return None
        p = self._pdp
        h = np.sqrt(p / 2) * (self.rng.standard_normal(p.size) + 1j * self.rng.standard_normal(p.size))
        if self.rician_k_db is not None:
            k = 10 ** (self.rician_k_db / 10)
            # first tap: LOS of power k/(k+1) * p0 plus scattered part of power p0/(k+1)
            los = np.sqrt(k / (k + 1) * p[0]) * np.exp(2j * np.pi * self.rng.random())
            h[0] = los + h[0] / np.sqrt(k + 1)
        return h

    def _resample(self, x: np.ndarray) -> np.ndarray:
        """Windowed-sinc interpolation at t_m = m (1 + sfo) - timing_offset (16 taps, Hann)."""
        ratio = 1.0 + self.sfo_ppm * 1e-6
        n_out = int(np.floor((x.size - 1 + self.timing_offset) / ratio)) + 1
        t = np.arange(n_out) * ratio - self.timing_offset
        half = 8
        base = np.floor(t).astype(np.int64)
        frac = t - base
        j = np.arange(-half + 1, half + 1)
        idx = base[:, None] + j[None, :]
        arg = j[None, :] - frac[:, None]
        w = np.sinc(arg) * (0.5 + 0.5 * np.cos(np.pi * arg / half))
        xp = np.concatenate([np.zeros(half, complex), x, np.zeros(half + 1, complex)])
        return np.sum(xp[idx + half] * w, axis=1)

    def _receive_side(self, x: np.ndarray) -> np.ndarray:
        n = x.size
        if n == 0:
            return np.zeros(0, np.complex64)
        t = self._clock + np.arange(n)
        phase = 2 * np.pi * self.cfo_hz / self.sample_rate * t
        if self.phase_noise_hz > 0:
            steps = self.rng.standard_normal(n) * math.sqrt(2 * math.pi * self.phase_noise_hz / self.sample_rate)
            walk = self._phase + np.cumsum(steps)
            self._phase = float(walk[-1])
            phase = phase + walk
        if self.cfo_hz or self.phase_noise_hz:
            x = x * np.exp(1j * phase)
        if self.snr_db is not None:
            s = math.sqrt(self.noise_var / 2)
            x = x + s * (self.rng.standard_normal(n) + 1j * self.rng.standard_normal(n))
        if self.iq_amplitude_db or self.iq_phase_deg:
            g = 10 ** (self.iq_amplitude_db / 20)
            ph = math.radians(self.iq_phase_deg)
            k1 = (1 + g * np.exp(-1j * ph)) / 2
            k2 = (1 - g * np.exp(1j * ph)) / 2
            x = k1 * x + k2 * np.conj(x)
        if self.dc_offset:
            x = x + self.dc_offset
        if self.adc_clip is not None or self.adc_bits is not None:
            fs = self.adc_clip if self.adc_clip is not None else 1.0
            re, im = np.clip(x.real, -fs, fs), np.clip(x.imag, -fs, fs)
            if self.adc_bits is not None:
                step = 2 * fs / (2**self.adc_bits)
                re, im = np.round(re / step) * step, np.round(im / step) * step
            x = re + 1j * im
        self._clock += n
        return x.astype(np.complex64)
