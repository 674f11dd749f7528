"""The ``vlmcsc`` command: one subcommand per runnable job.

Each subcommand lives in the module that owns it and exposes two functions,
``add_arguments(parser)`` and ``main(args) -> int``; they are imported only when used, so
``vlmcsc --help`` stays fast and a missing optional dependency only affects its own subcommand.
"""

from __future__ import annotations

import argparse
import importlib
import sys

# name -> (module, one-line help)
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "demo": ("vlmcsc.flowgraphs.demo", "loopback demo on the shipped codec and a simulated radio"),
    "tx": ("vlmcsc.flowgraphs.field", "field-test transmitter (numbered, repeatable sequence)"),
    "rx": ("vlmcsc.flowgraphs.field", "field-test receiver (decodes continuously, logs JSON lines)"),
    "air": ("vlmcsc.flowgraphs.air", "simulated air between a ZeroMQ TX and RX (rehearsal)"),
    "sweep": ("vlmcsc.flowgraphs.sweep", "Monte-Carlo sweep: SNR x channel x system through the PHY"),
    "report": ("vlmcsc.flowgraphs.report", "plots and a summary from sweep results and field logs"),
    "train": ("vlmcsc.model.train", "train the semantic codec (continual-learning tasks optional)"),
    "eval": ("vlmcsc.model.evaluate", "evaluate a codec checkpoint over SNR and channel types"),
    "experiment": ("vlmcsc.flowgraphs.experiment", "the paper's experiments (cl, methods, snr, nam, deepsc, jscc)"),
    "caption": ("vlmcsc.model.ckb", "caption images with BLIP"),
    "generate": ("vlmcsc.model.ckb", "draw images from captions with Stable Diffusion"),
    "pluto-emu": ("vlmcsc.sdr.pluto_emu", "run an emulated PlutoSDR (iiod protocol) on 127.0.0.1"),
    "radios": ("vlmcsc.sdr.probe", "list the radios SoapySDR and libiio can see"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vlmcsc",
        description="VLM-CSC semantic communication over the air.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    wanted = sys.argv[1] if len(sys.argv) > 1 else None
    for name, (module_name, help_text) in SUBCOMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        # only import the module whose subcommand is being run (keeps --help fast)
        if name == wanted:
            module = _load(module_name)
            adder = getattr(module, f"add_{name.replace('-', '_')}_arguments", None) or getattr(
                module, "add_arguments"
            )
            adder(p)
            runner = getattr(module, f"main_{name.replace('-', '_')}", None) or getattr(module, "main")
            p.set_defaults(_run=runner)
    return parser


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("vlm-csc")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "unknown (not installed)"


def _load(module_name: str):
    try:
        return importlib.import_module(module_name)
    except ImportError as exc:  # pragma: no cover - message path
        raise SystemExit(f"vlmcsc: cannot load {module_name}: {exc}") from exc


def main(argv: list[str] | None = None) -> int:
    if argv is not None:
        sys.argv = [sys.argv[0], *argv]
    parser = build_parser()
    args = parser.parse_args(sys.argv[1:])
    if not getattr(args, "_run", None):
        parser.print_help()
        return 0 if args.command is None else 2
    from .guard import run_guarded  # bounds, SIGTERM as Ctrl-C, one-line errors

    return run_guarded(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
