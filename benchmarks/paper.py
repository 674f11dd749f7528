"""The paper's experiments (issue 10), one command each; the same code as ``vlmcsc experiment NAME``.

    python benchmarks/paper.py cl --quick --json paper.json        # continual-learning map, MED vs none
    python benchmarks/paper.py methods --quick --json paper.json   # MED vs EWC vs LwF vs reservoir vs joint
    python benchmarks/paper.py all --quick --json paper.json       # experiments 1-6, quick form
    python benchmarks/paper.py all --json paper_full.json          # full form (hours; see docs/experiments.md)

NAME: cl | methods | snr | nam | deepsc | jscc | all. Each run prints a table, writes the JSON
(``--json``; issue keys at the top level, each with ``<key>_spread``: mean, std, min, max, per-seed
values) and one PNG per experiment (``--fig-dir``, default beside the JSON). Throughput figures are
CPU seconds (``time.process_time``) with the wall time beside them. ``benchmarks/paper_full.json``
caches the full-form results with the command that made them.
"""

from __future__ import annotations

import argparse
import sys

from vlmcsc.flowgraphs import experiment


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    experiment.add_arguments(p)
    args = p.parse_args(argv)
    return experiment.main(args)


if __name__ == "__main__":
    sys.exit(main())
