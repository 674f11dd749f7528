"""Setup profiles: one TOML file per setup (radio, frequency, rates, gains, numerology, codec, SNR policy).

A profile is a TOML file with the sections below; every key is optional and falls back to the
default shown. Command-line options override profile values (``--set section.key=value`` for any
key, plus the common flags of each subcommand)::

    [radio]
    spec = "loopback"            # "loopback", "zmq:tcp://127.0.0.1:5555", "soapy:driver=uhd", "pluto:ip:192.168.2.1"
    frequency_hz = 2.45e9        # required (with tx_gain_db) before a real radio may transmit
    sample_rate_hz = 1e6
    tx_gain_db = -30.0           # backend's own gain scale
    rx_gain_db = 30.0
    bandwidth_hz = 0.0           # 0 = backend default

    [phy]                        # passed to vlmcsc.phy.OfdmConfig(**phy); empty = PHY defaults
    fft_size = 64

    [codec]
    checkpoint = ""              # "" = shipped weights (model/weights/), else a folder
    system = "semantic"          # "semantic" or "digital" (bytes in a digital frame, same channel uses)
    digital_modulation = "auto"  # "auto" = densest that fits the codec's channel uses; or bpsk/qpsk/16qam/64qam

    [snr]
    tx_snr_db = 10.0             # SNR given to the TX encoder's NAM (dB, Es/N0)
    tx_schedule = []             # [[t_s, snr_db], ...]: piecewise-constant schedule from the TX start
    rx_policy = "estimate"       # "estimate" = PHY per-frame estimate to the decoder's NAM; "fixed"
    rx_fixed_db = 10.0           # used when rx_policy = "fixed" (and as fallback if no estimate)

    [channel]                    # loopback / air only: passed to vlmcsc.phy.channel.ChannelSimulator
    snr_db = 15.0
    seed = 1
    # any further keys go to ChannelSimulator (multipath, cfo, sfo_ppm, phase noise...)

    [test]
    seed = 1                     # test-sequence seed (TX and RX must agree)
    captions = "builtin"         # "builtin" or a text file with one caption per line
    frames = 50                  # frames to send (TX) / expect (RX); 0 = until Ctrl-C
    interval_s = 0.1             # pause between TX frames (s)

All values are validated when the profile is built: unknown sections or keys, wrong types and
out-of-range numbers raise :class:`ProfileError` naming the file, the key and what to do.
"""

from __future__ import annotations

import dataclasses
import math
import tomllib
from pathlib import Path
from typing import Any


class ProfileError(ValueError):
    """A profile file or override is invalid; the message names the key and the fix."""


@dataclasses.dataclass
class RadioSection:
    spec: str = "loopback"
    frequency_hz: float | None = None
    sample_rate_hz: float = 1e6
    tx_gain_db: float | None = None
    rx_gain_db: float | None = None
    bandwidth_hz: float | None = None


@dataclasses.dataclass
class CodecSection:
    checkpoint: str = ""
    system: str = "semantic"
    digital_modulation: str = "auto"


@dataclasses.dataclass
class SnrSection:
    tx_snr_db: float = 10.0
    tx_schedule: list = dataclasses.field(default_factory=list)
    rx_policy: str = "estimate"
    rx_fixed_db: float = 10.0


@dataclasses.dataclass
class TestSection:
    seed: int = 1
    captions: str = "builtin"
    frames: int = 50
    interval_s: float = 0.1


_SYSTEMS = ("semantic", "digital")
_RX_POLICIES = ("estimate", "fixed")
_MODULATIONS = ("auto", "bpsk", "qpsk", "16qam", "64qam")


@dataclasses.dataclass
class Profile:
    """A validated setup. ``phy`` and ``channel`` are free-form dicts handed to the PHY's
    ``OfdmConfig`` and ``ChannelSimulator`` (they validate their own keys)."""

    radio: RadioSection = dataclasses.field(default_factory=RadioSection)
    phy: dict = dataclasses.field(default_factory=dict)
    codec: CodecSection = dataclasses.field(default_factory=CodecSection)
    snr: SnrSection = dataclasses.field(default_factory=SnrSection)
    channel: dict = dataclasses.field(default_factory=lambda: {"snr_db": 15.0, "seed": 1})
    test: TestSection = dataclasses.field(default_factory=TestSection)
    source: str = "<defaults>"

    def __post_init__(self) -> None:
        self.validate()

    # -- construction ---------------------------------------------------------------------------
    @classmethod
    def from_dict(cls, data: dict, source: str = "<dict>") -> "Profile":
        """Build from nested dicts (as parsed from TOML); unknown keys raise ProfileError."""
        if not isinstance(data, dict):
            raise ProfileError(f"{source}: a profile must be a table of sections, got {type(data).__name__}")
        kwargs: dict[str, Any] = {}
        sections = {f.name: f for f in dataclasses.fields(cls) if f.name != "source"}
        for name, value in data.items():
            if name not in sections:
                raise ProfileError(
                    f"{source}: unknown section [{name}]; valid sections: {', '.join(sections)}"
                )
            if not isinstance(value, dict):
                raise ProfileError(f"{source}: [{name}] must be a table (section), got {value!r}")
            default = sections[name].default_factory()  # type: ignore[misc]
            if isinstance(default, dict):
                kwargs[name] = {**default, **value} if name == "channel" else dict(value)
            else:
                kwargs[name] = _fill_section(type(default), value, f"{source}: [{name}]")
        return cls(**kwargs, source=source)

    @classmethod
    def load(
        cls,
        path: str | Path | None,
        overrides: list[str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> "Profile":
        """Load a TOML profile (``None`` = defaults), apply ``section.key=value`` overrides, then
        ``extra`` {"section.key": value} from dedicated command-line flags (``None`` = not given)."""
        data: dict = {}
        source = "<defaults>"
        if path:
            path = Path(path)
            source = str(path)
            if not path.is_file():
                raise ProfileError(f"profile {path} not found; see flowgraphs/profiles/ for examples")
            try:
                data = tomllib.loads(path.read_text())
            except tomllib.TOMLDecodeError as exc:
                raise ProfileError(f"{path}: not valid TOML: {exc}") from exc
        for item in overrides or []:
            _apply_override(data, item)
        for key, value in (extra or {}).items():
            if value is not None:
                section, name = key.split(".", 1)
                data.setdefault(section, {})[name] = value
        return cls.from_dict(data, source=source)

    def to_dict(self) -> dict:
        out = dataclasses.asdict(self)
        out.pop("source")
        return out

    # -- validation -----------------------------------------------------------------------------
    def validate(self) -> None:
        src = self.source
        r = self.radio
        if not isinstance(r.spec, str) or not r.spec:
            raise ProfileError(f"{src}: radio.spec must be a non-empty string like 'loopback'")
        for key in ("frequency_hz", "sample_rate_hz", "bandwidth_hz"):
            value = getattr(r, key)
            if value is not None and (not math.isfinite(value) or value < 0):
                raise ProfileError(f"{src}: radio.{key} must be a positive number of Hz, got {value!r}")
        if not r.sample_rate_hz or r.sample_rate_hz <= 0:
            raise ProfileError(f"{src}: radio.sample_rate_hz must be > 0 Hz, got {r.sample_rate_hz!r}")
        if r.frequency_hz == 0:
            r.frequency_hz = None
        if r.bandwidth_hz == 0:
            r.bandwidth_hz = None
        for key in ("tx_gain_db", "rx_gain_db"):
            value = getattr(r, key)
            if value is not None and not math.isfinite(value):
                raise ProfileError(f"{src}: radio.{key} must be a finite number of dB, got {value!r}")
        if self.codec.system not in _SYSTEMS:
            raise ProfileError(
                f"{src}: codec.system must be one of {_SYSTEMS}, got {self.codec.system!r}"
            )
        if self.codec.digital_modulation not in _MODULATIONS:
            raise ProfileError(
                f"{src}: codec.digital_modulation must be one of {_MODULATIONS}, "
                f"got {self.codec.digital_modulation!r}"
            )
        s = self.snr
        if s.rx_policy not in _RX_POLICIES:
            raise ProfileError(f"{src}: snr.rx_policy must be one of {_RX_POLICIES}, got {s.rx_policy!r}")
        for key in ("tx_snr_db", "rx_fixed_db"):
            value = getattr(s, key)
            if not math.isfinite(value) or not -30 <= value <= 60:
                raise ProfileError(f"{src}: snr.{key} must be a dB value in [-30, 60], got {value!r}")
        last_t = -math.inf
        for i, step in enumerate(s.tx_schedule):
            if (
                not isinstance(step, (list, tuple))
                or len(step) != 2
                or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in step)
            ):
                raise ProfileError(
                    f"{src}: snr.tx_schedule[{i}] must be a pair [t_s, snr_db], got {step!r}"
                )
            if step[0] < 0 or step[0] <= last_t:
                raise ProfileError(
                    f"{src}: snr.tx_schedule times must start at >= 0 s and increase, got {step[0]!r}"
                )
            last_t = step[0]
        t = self.test
        if t.frames < 0:
            raise ProfileError(f"{src}: test.frames must be >= 0 (0 = until Ctrl-C), got {t.frames}")
        if not math.isfinite(t.interval_s) or t.interval_s < 0:
            raise ProfileError(f"{src}: test.interval_s must be >= 0 s, got {t.interval_s!r}")
        snr = self.channel.get("snr_db")
        if snr is not None and (not isinstance(snr, (int, float)) or not math.isfinite(snr)):
            raise ProfileError(f"{src}: channel.snr_db must be a number of dB, got {snr!r}")
        _check_bounds(self)
        _check_phy(self.phy, src)
        _check_channel(self.channel, src)

    # -- helpers --------------------------------------------------------------------------------
    def tx_snr_at(self, t_s: float) -> float:
        """The encoder SNR (dB) at ``t_s`` seconds after the TX start (schedule or constant)."""
        value = self.snr.tx_snr_db
        for start, snr in self.snr.tx_schedule:
            if t_s >= start:
                value = float(snr)
        return float(value)


# upper bounds that keep a typo from eating the machine (the backends check device ranges again)
_RADIO_BOUNDS = {"frequency_hz": (0.0, 1e11), "sample_rate_hz": (0.0, 1e9), "bandwidth_hz": (0.0, 1e10),
                 "tx_gain_db": (-200.0, 200.0), "rx_gain_db": (-200.0, 200.0)}
_CHANNEL_BOUNDS = {"num_taps": (1, 256), "leading_noise": (0, 10**8), "adc_bits": (1, 32), "seed": (0, 2**32 - 1),
                   "snr_db": (-50.0, 200.0)}
_MAX_SCHEDULE = 10_000


def _check_bounds(p: "Profile") -> None:
    src = p.source
    for key, (lo, hi) in _RADIO_BOUNDS.items():
        value = getattr(p.radio, key)
        if value is not None and not lo <= value <= hi:
            raise ProfileError(f"{src}: radio.{key} must be in [{lo:g}, {hi:g}], got {value!r}")
    t = p.test
    if t.frames > 10**9:
        raise ProfileError(f"{src}: test.frames must be <= 1e9 (0 = until Ctrl-C), got {t.frames}")
    if not 0 <= t.seed <= 2**32 - 1:
        raise ProfileError(f"{src}: test.seed must be in [0, 2**32-1], got {t.seed}")
    if t.interval_s > 1e5:
        raise ProfileError(f"{src}: test.interval_s must be <= 1e5 s, got {t.interval_s!r}")
    if len(p.snr.tx_schedule) > _MAX_SCHEDULE:
        raise ProfileError(f"{src}: snr.tx_schedule has more than {_MAX_SCHEDULE} steps")
    for i, (_t, snr) in enumerate(p.snr.tx_schedule):
        if not -30 <= snr <= 60:
            raise ProfileError(f"{src}: snr.tx_schedule[{i}] SNR must be a dB value in [-30, 60], got {snr!r}")


def _scalar_section(values: dict, section: str, src: str) -> None:
    for key, value in values.items():
        if isinstance(value, dict):
            raise ProfileError(f"{src}: {section}.{key} is a nested table; [{section}] takes plain values only")
        if isinstance(value, float) and not math.isfinite(value):
            raise ProfileError(f"{src}: {section}.{key} must be a finite number, got {value!r}")


def _check_phy(phy: dict, src: str) -> None:
    """[phy] keys must be OfdmConfig's and build a working config (the PHY validates values)."""
    _scalar_section(phy, "phy", src)
    if not phy:
        return
    import dataclasses as _dc

    from vlmcsc.phy import OfdmConfig

    names = [f.name for f in _dc.fields(OfdmConfig) if f.init]
    for key in phy:
        if key not in names:
            raise ProfileError(f"{src}: unknown key phy.{key}; valid keys: {', '.join(names)}")
    try:
        OfdmConfig(**phy)
    except (TypeError, ValueError) as exc:
        raise ProfileError(f"{src}: [phy] {' '.join(str(exc).split())}") from exc


def _check_channel(channel: dict, src: str) -> None:
    """[channel] keys must be ChannelSimulator's (or a preset name / cfo_subcarriers), bounded."""
    _scalar_section(channel, "channel", src)
    import inspect

    from vlmcsc.phy.channel import ChannelSimulator

    from .channels import CHANNEL_PRESETS

    names = set(inspect.signature(ChannelSimulator.__init__).parameters) - {"self", "config", "sample_rate"}
    names |= {"preset", "cfo_subcarriers"}
    for key, value in channel.items():
        if key not in names:
            raise ProfileError(f"{src}: unknown key channel.{key}; valid keys: {', '.join(sorted(names))}")
        if key == "preset":
            if value not in CHANNEL_PRESETS:
                raise ProfileError(f"{src}: channel.preset must be one of {', '.join(CHANNEL_PRESETS)}, got {value!r}")
            continue
        if key in _CHANNEL_BOUNDS and value is not None:
            lo, hi = _CHANNEL_BOUNDS[key]
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not lo <= value <= hi:
                raise ProfileError(f"{src}: channel.{key} must be a number in [{lo:g}, {hi:g}], got {value!r}")
            if isinstance(lo, int) and float(value) != int(value):
                raise ProfileError(f"{src}: channel.{key} must be an integer, got {value!r}")
        elif isinstance(value, (int, float)) and not isinstance(value, bool) and abs(value) > 1e12:
            raise ProfileError(f"{src}: channel.{key} is out of any sensible range, got {value!r}")


def _fill_section(cls, values: dict, where: str):
    fields = {f.name: f for f in dataclasses.fields(cls)}
    kwargs = {}
    for key, value in values.items():
        if key not in fields:
            raise ProfileError(f"{where}: unknown key {key!r}; valid keys: {', '.join(fields)}")
        kwargs[key] = _coerce(value, fields[key].type, f"{where} {key}")
    return cls(**kwargs)


def _coerce(value: Any, type_name: Any, where: str) -> Any:
    """Check ``value`` against a dataclass field type given as a string (``from __future__``)."""
    t = str(type_name)
    optional = "None" in t
    if value is None or (isinstance(value, str) and value.lower() in ("none", "null") and optional):
        if optional:
            return None
        raise ProfileError(f"{where}: a value is required")
    if t.startswith("float"):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            if isinstance(value, str):
                try:
                    return float(value)
                except ValueError:
                    pass
            raise ProfileError(f"{where}: expected a number, got {value!r}")
        return float(value)
    if t.startswith("int"):
        if isinstance(value, bool):
            raise ProfileError(f"{where}: expected an integer, got {value!r}")
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str):
            try:
                return int(value)
            except ValueError:
                pass
        if not isinstance(value, int):
            raise ProfileError(f"{where}: expected an integer, got {value!r}")
        return value
    if t.startswith("str"):
        if not isinstance(value, str):
            raise ProfileError(f"{where}: expected a string, got {value!r}")
        return value
    if t.startswith("list"):
        if not isinstance(value, list):
            raise ProfileError(f"{where}: expected a list, got {value!r}")
        return value
    return value


def _parse_value(text: str) -> Any:
    """Parse an override's right-hand side as a TOML value, falling back to a bare string."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def _apply_override(data: dict, item: str) -> None:
    if "=" not in item or "." not in item.split("=", 1)[0]:
        raise ProfileError(f"override {item!r} must look like section.key=value (e.g. radio.tx_gain_db=-20)")
    key, text = item.split("=", 1)
    section, name = key.strip().split(".", 1)
    data.setdefault(section, {})
    if not isinstance(data[section], dict):
        raise ProfileError(f"override {item!r}: [{section}] is not a section")
    data[section][name.strip()] = _parse_value(text.strip())


def add_profile_arguments(parser) -> None:
    """The profile options every subcommand shares."""
    parser.add_argument("--profile", "-p", help="TOML profile (see flowgraphs/profiles/)")
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="SECTION.KEY=VALUE",
        help="override a profile value, e.g. --set radio.tx_gain_db=-20 (repeatable)",
    )


def profile_from_args(args, extra: dict[str, Any] | None = None) -> Profile:
    """Load ``args.profile``, apply ``--set`` overrides, then ``extra`` {"section.key": value}
    from dedicated flags (those left ``None`` are ignored)."""
    return Profile.load(getattr(args, "profile", None), getattr(args, "overrides", None), extra)
