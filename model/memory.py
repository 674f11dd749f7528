"""MED memory for continual learning: a short-term memory (STM) and a long-term memory (LTM).

Every training sample passes through the STM (a FIFO of ``stm_size`` samples). When the STM is full,
each STM sample s_i is scored by its representativeness against the memory M = LTM u STM (without
s_i itself)::

    R(s_i) = mean_j exp(-||v_i - v_j||^2 / (2 tau^2))

with v the sample's mean-pooled MED-encoder feature. Samples with R(s_i) >= lambda join the LTM
(the dense, typical samples of what the model has learned; outliers are not kept); the STM is then
emptied. The LTM is capped at ``ltm_size`` (random eviction, seeded). Replay batches are drawn from
LTM u STM while later tasks are trained.
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


class MedMemory:
    """STM + LTM of (token ids, feature) samples with the RBF selection rule.

    :param stm_size: STM capacity (paper: 500).
    :param ltm_size: LTM cap (oldest-random eviction beyond it).
    :param tau: RBF width (paper: 10).
    :param threshold: selection threshold lambda (paper: 0.05).
    """

    def __init__(self, stm_size: int = 500, ltm_size: int = 2000, tau: float = 10.0,
                 threshold: float = 0.05, seed: int = 0):
        if stm_size <= 1 or ltm_size <= 0:
            raise ValueError(f"stm_size must be > 1 and ltm_size > 0, got {stm_size}, {ltm_size}")
        if tau <= 0:
            raise ValueError(f"tau must be positive, got {tau}")
        self.stm_size, self.ltm_size, self.tau, self.threshold = stm_size, ltm_size, tau, threshold
        self.stm: list[tuple[list[int], np.ndarray]] = []
        self.ltm: list[tuple[list[int], np.ndarray]] = []
        self.rng = np.random.default_rng(seed)
        self.admitted = 0

    def __len__(self) -> int:
        return len(self.stm) + len(self.ltm)

    def add(self, ids: list[list[int]], features: np.ndarray) -> None:
        """Add samples (token ids and their [n, d] features); runs selection whenever the STM fills."""
        for seq, f in zip(ids, np.asarray(features)):
            self.stm.append((list(seq), np.asarray(f, np.float32)))
            if len(self.stm) >= self.stm_size:
                self.consolidate()

    def consolidate(self) -> np.ndarray:
        """Move representative STM samples to the LTM; empty the STM. Returns the STM's R values."""
        if not self.stm:
            return np.zeros(0)
        v = np.stack([f for _, f in self.stm])
        mem = np.concatenate([v, np.stack([f for _, f in self.ltm])]) if self.ltm else v
        r = representativeness(v, mem, self.tau, exclude_self=True)
        chosen = [s for s, ri in zip(self.stm, r) if ri >= self.threshold]
        self.admitted += len(chosen)
        self.ltm.extend(chosen)
        if len(self.ltm) > self.ltm_size:
            keep = self.rng.choice(len(self.ltm), self.ltm_size, replace=False)
            self.ltm = [self.ltm[i] for i in sorted(keep)]
        self.stm = []
        return r

    def sample(self, n: int) -> list[list[int]]:
        """``n`` token sequences drawn uniformly from LTM u STM (with replacement)."""
        pool = self.ltm + self.stm
        if not pool:
            return []
        return [pool[i][0] for i in self.rng.integers(0, len(pool), n)]
