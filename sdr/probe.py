"""``vlmcsc radios``: list the radios SoapySDR and libiio can see, and check given URIs.

Every probe is wrapped: a missing library or a failing backend is reported as a line of the
table, never as a traceback, so the command is the first thing to run when a radio does not open.
"""

from __future__ import annotations

import json
import sys


def soapy_devices(load_loopback: bool = True) -> tuple[list[dict], str | None]:
    """SoapySDR enumeration: (devices as dicts, problem or None)."""
    try:
        from .soapy import ensure_loopback_module, import_soapysdr

        soapy = import_soapysdr()
    except Exception as exc:  # noqa: BLE001
        return [], str(exc)
    note = None
    if load_loopback:
        try:
            ensure_loopback_module()
        except Exception as exc:  # noqa: BLE001 - optional: only our simulated device
            note = f"vlmcsc_loopback not available: {exc}"
    try:
        found = [dict(d) for d in soapy.Device.enumerate("")]
    except Exception as exc:  # noqa: BLE001
        return [], f"SoapySDR enumeration failed: {exc}"
    return found, note


def iio_contexts(backends: tuple[str, ...] = ("usb", "local")) -> tuple[dict, list[str]]:
    """libiio scan per backend: ({uri: description}, problems)."""
    try:
        import iio  # noqa: PLC0415
    except ImportError as exc:
        return {}, [f"pylibiio not importable ({exc}); pip install 'pylibiio==0.25' (needs apt libiio0)"]
    found, problems = {}, []
    for backend in backends:
        # one backend at a time: a failing one (e.g. ip without Avahi) must not hide the others
        try:
            ptr = iio._POINTER(iio._ContextInfoPtr)()
            ctx = iio._create_scan_context(backend.encode(), 0)
            try:
                n = iio._get_context_info_list(ctx, iio._byref(ptr))
                for i in range(n):
                    found[iio._context_info_get_uri(ptr[i]).decode()] = (
                        iio._context_info_get_description(ptr[i]).decode()
                    )
                iio._context_info_list_free(ptr)
            finally:
                iio._destroy_scan_context(ctx)
        except Exception as exc:  # noqa: BLE001
            problems.append(f"libiio {backend} scan: {exc}")
    return found, problems


def check_uri(uri: str, timeout_ms: int = 3000) -> dict:
    """Open ``uri`` with libiio and describe it (devices, whether it looks like a Pluto)."""
    try:
        import iio  # noqa: PLC0415

        ctx = iio.Context(uri)
        ctx.set_timeout(timeout_ms)
        names = [d.name for d in ctx.devices]
        return {"uri": uri, "ok": True, "description": ctx.description, "devices": names,
                "pluto": {"ad9361-phy", "cf-ad9361-lpc"} <= set(names)}
    except Exception as exc:  # noqa: BLE001
        return {"uri": uri, "ok": False, "error": f"{exc} (nothing answered at {uri})"}


def add_arguments(parser) -> None:
    parser.add_argument("--uri", action="append", default=[],
                        help="also open this libiio URI (repeatable), e.g. ip:192.168.2.1")
    parser.add_argument("--no-loopback", action="store_true",
                        help="do not load our simulated SoapySDR device (driver=vlmcsc_loopback)")
    parser.add_argument("--scan-ip", action="store_true",
                        help="also look for networked IIO devices with DNS-SD (needs the Avahi daemon)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")


def main(args) -> int:
    soapy, soapy_note = soapy_devices(load_loopback=not args.no_loopback)
    contexts, iio_problems = iio_contexts(("usb", "local", "ip") if args.scan_ip else ("usb", "local"))
    checks = [check_uri(u) for u in args.uri]
    if args.json:
        print(json.dumps({"soapy": soapy, "soapy_note": soapy_note, "iio": contexts,
                          "iio_problems": iio_problems, "uri_checks": checks}, indent=2))
        return 0 if all(c["ok"] for c in checks) else 1
    print("SoapySDR devices (use as radio spec soapy:<args>):")
    for d in soapy:
        args_str = ",".join(f"{k}={v}" for k, v in d.items() if k in ("driver", "serial", "type", "uri"))
        print(f"  soapy:{args_str:<45} {d.get('label', '')}")
    if not soapy:
        print("  (none)")
    if soapy_note:
        print(f"  note: {soapy_note}")
    print("libiio contexts (a Pluto is pluto:<uri>):")
    for uri, desc in contexts.items():
        print(f"  {uri:<30} {desc}")
    if not contexts:
        print("  (none found by scanning; a networked Pluto may still answer: --uri ip:192.168.2.1)")
    for p in iio_problems:
        print(f"  note: {p}")
    for c in checks:
        if c["ok"]:
            kind = "PlutoSDR-like" if c["pluto"] else "IIO context"
            print(f"  {c['uri']}: {kind}, devices {', '.join(n or '?' for n in c['devices'])}")
        else:
            print(f"  {c['uri']}: {c['error']}", file=sys.stderr)
    return 0 if all(c["ok"] for c in checks) else 1
