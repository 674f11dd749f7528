"""Replay memories for continual learning: MED's STM/LTM selection and plain reservoir replay.

MED (after Jiang et al., VLM-CSC, Sec. on the memory-enhanced codec). Every training sample passes
through a short-term memory (STM, a FIFO of ``stm_size`` samples). When the STM is full (or the
task changes), each STM sample s_i of task k is scored by its representativeness against the
samples of task k already held (its LTM part and the other STM samples)::

    R(s_i) = mean_j exp(-||v_i - v_j||^2 / (2 tau^2))

with v the sample's mean-pooled MED-encoder feature, **scaled to unit length** (raw features have
norms of ~10 and the paper's tau = 10 then gives R >= 0.7 for every sample, so nothing was ever
rejected). Samples with R(s_i) >= lambda join the long-term memory (LTM). Three choices make the
rule select:

- ``tau`` and ``lambda`` are calibrated per task at its first consolidation (when not given):
  tau = the median pairwise distance of that STM (the "median heuristic" of kernel methods), and
  lambda = the ``admit_quantile`` quantile of the STM's R values, so a fixed share of a typical
  STM (default: the densest half) is admitted and isolated samples are not;
- the LTM is balanced across tasks: each of the k tasks seen so far owns ``ltm_size // k`` slots;
  when a task's part is over its quota, its least representative samples (lowest R against the
  rest of that part) are evicted, so the LTM of every task converges to its dense core;
- replay draws a task uniformly among the tasks in memory, then a sample of that task.

:class:`ReservoirMemory` is the baseline at equal memory: reservoir sampling (Vitter's algorithm R)
over the whole stream, replayed uniformly. Both keep (ids, feature) items with the task label and
the SNR the sample was trained at (:class:`Sample`).
"""

from __future__ import annotations

import numpy as np


def representativeness(v: np.ndarray, memory: np.ndarray, tau: float, exclude_self: bool = False) -> np.ndarray:
    """R for each row of ``v`` [n, d] against ``memory`` [m, d]: mean_j exp(-||v_i-m_j||^2/(2 tau^2)).

    With ``exclude_self`` (``v`` is the first n rows of ``memory``) the i-th term is left out.
    Returns [n] float64; zeros if the memory is empty.
    """
    v = np.asarray(v, np.float64)
    memory = np.asarray(memory, np.float64)
    if memory.shape[0] == 0:
        return np.zeros(v.shape[0])
    d2 = (v ** 2).sum(1)[:, None] + (memory ** 2).sum(1)[None, :] - 2.0 * v @ memory.T
    k = np.exp(-np.maximum(d2, 0.0) / (2.0 * tau ** 2))
    if exclude_self:
        k[np.arange(v.shape[0]), np.arange(v.shape[0])] = 0.0
        count = memory.shape[0] - 1
        return k.sum(1) / max(count, 1)
    return k.mean(1)


def unit_rows(features: np.ndarray) -> np.ndarray:
    """Rows of ``features`` [n, d] scaled to unit L2 norm (float32; zero rows stay zero)."""
    f = np.asarray(features, np.float32)
    norm = np.linalg.norm(f, axis=1, keepdims=True)
    return f / np.maximum(norm, 1e-12)


def median_distance(v: np.ndarray) -> float:
    """Median pairwise Euclidean distance of the rows of ``v`` [n, d] (n >= 2)."""
    v = np.asarray(v, np.float64)
    d2 = (v ** 2).sum(1)[:, None] + (v ** 2).sum(1)[None, :] - 2.0 * v @ v.T
    iu = np.triu_indices(v.shape[0], 1)
    return float(np.median(np.sqrt(np.maximum(d2[iu], 0.0))))


class Sample(tuple):
    """One memory item: a ``(ids, feature)`` pair (unpacks as before) plus ``task`` and ``snr_db``."""

    def __new__(cls, ids, feature, task=0, snr_db: float | None = None):
        obj = super().__new__(cls, (list(ids), feature))
        obj.task = task
        obj.snr_db = snr_db
        return obj


def _task(item):
    return getattr(item, "task", 0)


class MedMemory:
    """STM + task-balanced LTM of (token ids, feature) samples with the RBF selection rule.

    :param stm_size: STM capacity, samples (paper: 500).
    :param ltm_size: LTM capacity, samples, shared equally by the tasks seen so far.
    :param tau: RBF width on unit-norm features; ``None`` (default) calibrates it per task with the
        median heuristic. The paper's tau = 10 was set for raw features.
    :param threshold: selection threshold lambda; ``None`` (default) calibrates it per task as the
        ``admit_quantile`` quantile of R over the task's first full STM.
    :param admit_quantile: share of a typical STM that is *rejected* (0.5: the sparser half).
    :param normalize: scale features to unit length before scoring (default True).
    :param evict: over a task's quota keep its most representative samples ("dense", default) or a
        random subset of the admitted ones ("random", the ablation).
    :param seed: seed of the replay sampler.
    :raises ValueError: stm_size <= 1, ltm_size <= 0, tau <= 0 or admit_quantile outside [0, 1).
    """

    def __init__(self, stm_size: int = 500, ltm_size: int = 2000, tau: float | None = None,
                 threshold: float | None = None, seed: int = 0, admit_quantile: float = 0.5,
                 normalize: bool = True, evict: str = "dense"):
        if stm_size <= 1 or ltm_size <= 0:
            raise ValueError(f"stm_size must be > 1 and ltm_size > 0, got {stm_size}, {ltm_size}")
        if tau is not None and tau <= 0:
            raise ValueError(f"tau must be positive, got {tau}")
        if not 0.0 <= admit_quantile < 1.0:
            raise ValueError(f"admit_quantile must be in [0, 1), got {admit_quantile}")
        if evict not in ("dense", "random"):
            raise ValueError(f"evict must be 'dense' or 'random', got {evict!r}")
        self.evict = evict
        self.stm_size, self.ltm_size = stm_size, ltm_size
        self.tau, self.threshold = tau, threshold
        self.admit_quantile, self.normalize = admit_quantile, normalize
        self.stm: list[Sample] = []
        self.ltm: list[Sample] = []
        self.rng = np.random.default_rng(seed)
        self.admitted = 0
        self.scored = 0
        self.calibration: dict = {}  # task -> {"tau": .., "threshold": ..}

    def __len__(self) -> int:
        return len(self.stm) + len(self.ltm)

    # -- filling --------------------------------------------------------------------------------
    def add(self, ids: list[list[int]], features: np.ndarray, task=0, snr_db=None) -> None:
        """Add samples (token ids and their [n, d] features) of ``task``.

        ``snr_db``: one float or one per sample (kept so replay can reuse the sample's condition).
        Runs selection whenever the STM fills or the task changes.
        """
        features = np.asarray(features, np.float32)
        if features.ndim != 2 or features.shape[0] != len(ids):
            raise ValueError(f"features must be [n, d] with n = {len(ids)}, got {features.shape}")
        if self.normalize:
            features = unit_rows(features)
        snrs = np.broadcast_to(np.asarray(snr_db if snr_db is not None else np.nan, np.float64), (len(ids),))
        for seq, f, s in zip(ids, features, snrs):
            if self.stm and _task(self.stm[-1]) != task:
                self.consolidate()
            self.stm.append(Sample(seq, f, task, None if np.isnan(s) else float(s)))
            if len(self.stm) >= self.stm_size:
                self.consolidate()

    def _params(self, task, v: np.ndarray) -> tuple[float, float]:
        cal = self.calibration.get(task)
        if cal is None:
            tau = self.tau if self.tau is not None else max(median_distance(v), 1e-6) if len(v) > 1 else 1.0
            if self.threshold is not None:
                lam = float(self.threshold)
            else:
                r0 = representativeness(v, v, tau, exclude_self=True)
                lam = float(np.quantile(r0, self.admit_quantile)) if len(v) > 1 else 0.0
            cal = self.calibration[task] = {"tau": float(tau), "threshold": lam}
        return cal["tau"], cal["threshold"]

    def consolidate(self) -> np.ndarray:
        """Move representative STM samples to the LTM; empty the STM. Returns the STM's R values."""
        if not self.stm:
            return np.zeros(0)
        task = _task(self.stm[0])
        v = np.stack([f for _, f in self.stm])
        same = [s for s in self.ltm if _task(s) == task]
        mem = np.concatenate([v, np.stack([f for _, f in same])]) if same else v
        tau, lam = self._params(task, v)
        r = representativeness(v, mem, tau, exclude_self=True)
        chosen = [s for s, ri in zip(self.stm, r) if ri >= lam]
        self.admitted += len(chosen)
        self.scored += len(self.stm)
        self.ltm.extend(chosen)
        self.stm = []
        self._balance()
        return r

    def _balance(self) -> None:
        """Each task keeps at most ltm_size // n_tasks samples: its most representative ones."""
        tasks = list(dict.fromkeys(_task(s) for s in self.ltm))
        if len(self.ltm) <= self.ltm_size or not tasks:
            return
        quota = max(1, self.ltm_size // len(tasks))
        kept = []
        for t in tasks:
            part = [s for s in self.ltm if _task(s) == t]
            if len(part) > quota and self.evict == "random":
                part = [part[i] for i in np.sort(self.rng.choice(len(part), quota, replace=False))]
            elif len(part) > quota:
                v = np.stack([f for _, f in part])
                tau = self.calibration.get(t, {}).get("tau") or max(median_distance(v), 1e-6)
                r = representativeness(v, v, tau, exclude_self=True)
                best = np.sort(np.argsort(-r, kind="stable")[:quota])
                part = [part[i] for i in best]
            kept += part
        self.ltm = kept

    # -- replay ---------------------------------------------------------------------------------
    def sample_items(self, n: int) -> list[Sample]:
        """``n`` items: a task drawn uniformly among those in LTM u STM, then an item of it."""
        pool = self.ltm + self.stm
        if not pool or n <= 0:
            return []
        by_task: dict = {}
        for s in pool:
            by_task.setdefault(_task(s), []).append(s)
        groups = list(by_task.values())
        out = []
        for g in self.rng.integers(0, len(groups), n):
            items = groups[g]
            out.append(items[int(self.rng.integers(0, len(items)))])
        return out

    def sample(self, n: int) -> list[list[int]]:
        """``n`` token sequences drawn task-balanced from LTM u STM (with replacement)."""
        return [s[0] for s in self.sample_items(n)]

    def task_counts(self) -> dict:
        """{task: samples held (LTM + STM)}."""
        out: dict = {}
        for s in self.ltm + self.stm:
            out[_task(s)] = out.get(_task(s), 0) + 1
        return out


class ReservoirMemory:
    """Reservoir sampling over the training stream (Vitter's algorithm R), replayed uniformly.

    After n samples have been offered, each is held with probability size / n: at equal memory this
    is the plain-replay baseline MED is compared against.

    :param size: capacity, samples.
    :raises ValueError: size <= 0.
    """

    def __init__(self, size: int = 2000, seed: int = 0):
        if size <= 0:
            raise ValueError(f"size must be > 0, got {size}")
        self.size = size
        self.items: list[Sample] = []
        self.seen = 0
        self.rng = np.random.default_rng(seed)

    def __len__(self) -> int:
        return len(self.items)

    def add(self, ids: list[list[int]], features=None, task=0, snr_db=None) -> None:
        """Offer samples to the reservoir (``features`` are not needed and not kept)."""
        snrs = np.broadcast_to(np.asarray(snr_db if snr_db is not None else np.nan, np.float64), (len(ids),))
        for seq, s in zip(ids, snrs):
            item = Sample(seq, None, task, None if np.isnan(s) else float(s))
            self.seen += 1
            if len(self.items) < self.size:
                self.items.append(item)
            else:
                j = int(self.rng.integers(0, self.seen))
                if j < self.size:
                    self.items[j] = item

    def sample_items(self, n: int) -> list[Sample]:
        if not self.items or n <= 0:
            return []
        return [self.items[i] for i in self.rng.integers(0, len(self.items), n)]

    def sample(self, n: int) -> list[list[int]]:
        return [s[0] for s in self.sample_items(n)]

    def task_counts(self) -> dict:
        out: dict = {}
        for s in self.items:
            out[_task(s)] = out.get(_task(s), 0) + 1
        return out
