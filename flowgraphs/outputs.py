"""The outputs of a run, checked before anything is opened, and closed so that nothing is lost.

:func:`check_field_outputs` applies :func:`.validate.check_output` to the files ``vlmcsc tx`` /
``vlmcsc rx`` write (``--log``, ``--sigmf``) against every file the run reads (a replayed capture,
the captions file, the profile, the checkpoint), so an output can never truncate an input.
:func:`end_log` writes a final record without letting a full disk hide the original error.
"""

from __future__ import annotations

import sys

from .validate import InputError, check_endpoint, check_output, input_paths_of_spec


def run_inputs(args, profile=None) -> list:
    """Every file this run reads, as far as the options say."""
    inputs = []
    spec = getattr(profile.radio, "spec", None) if profile is not None else getattr(args, "radio", None)
    inputs += input_paths_of_spec(spec or getattr(args, "radio", None))
    for value in (getattr(args, "profile", None),
                  getattr(profile.test, "captions", None) if profile is not None else getattr(args, "captions", None)):
        if value and value != "builtin":
            inputs.append(value)
    return inputs


def check_field_outputs(args, profile=None) -> None:
    """Refuse ``--log`` / ``--sigmf`` outputs that are inputs, folders, SigMF names for a log,
    unwritable, or (``--sigmf``) existing recordings without ``--overwrite``.

    :raises InputError: one line naming the option and the path.
    """
    spec = profile.radio.spec if profile is not None else getattr(args, "radio", None)
    if isinstance(spec, str) and spec.startswith(("zmq:", "zmq+pub:")):
        check_endpoint("--radio", spec.split(":", 1)[1])
    inputs = run_inputs(args, profile)
    log = getattr(args, "log", None)
    if log and log != "-":
        check_output("--log", log, inputs=inputs, append=True)
    sigmf = getattr(args, "sigmf", None)
    if sigmf:
        check_output("--sigmf", sigmf, inputs=inputs, overwrite=bool(getattr(args, "overwrite", False)),
                     kind="sigmf")
        if log and log != "-":
            from vlmcsc.sdr.sigmf_io import sigmf_base

            base = sigmf_base(sigmf)
            for suffix in (".sigmf-meta", ".sigmf-data"):
                check_output("--log", log, inputs=[base.with_name(base.name + suffix)], append=True)


def end_log(log, record: dict) -> None:
    """Write the final record and close ``log``; a failure (disk full) is reported, not raised."""
    try:
        log.write(record)
    except OSError as exc:
        print(f"warning: could not write the end record to {log.path} ({exc.strerror or exc}); "
              f"{log.lines_kept} records kept", file=sys.stderr)
    finally:
        log.close()


__all__ = ["InputError", "check_field_outputs", "end_log", "run_inputs"]
