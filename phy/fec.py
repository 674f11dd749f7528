"""Forward error correction: the K=7, rate-1/2 convolutional code [133, 171] (octal) with a
terminated trellis, and a soft-decision Viterbi decoder vectorised over states and codewords.

The decoder works on a radix-2^r trellis (``r`` trellis steps per Python iteration, default 4),
so a 64-bit header costs about 18 loop iterations of a few array operations each instead of the
~70 µs per bit of a scalar Viterbi. CRC helpers are re-exported from :mod:`.crc`.

LLR convention everywhere: ``llr = log P(bit=0) / P(bit=1)`` (positive means 0).
"""

from __future__ import annotations

import functools

import numpy as np

from . import _kernels
from .crc import append_crc32, bits_to_bytes, bytes_to_bits, check_crc32, crc16, crc32  # noqa: F401

K = 7  # constraint length
TAIL = K - 1  # zero bits appended to terminate the trellis
NUM_STATES = 1 << TAIL
GENERATORS = (0o133, 0o171)
_TAPS = np.array([[(g >> (K - 1 - i)) & 1 for i in range(K)] for g in GENERATORS], dtype=np.uint8)


def conv_encode(bits: np.ndarray) -> np.ndarray:
    """Encode and terminate: uint8 bits [n] -> coded bits [2 * (n + 6)], pairs (g0, g1) in time order."""
    u = np.concatenate([np.asarray(bits, dtype=np.uint8).ravel(), np.zeros(TAIL, np.uint8)])
    out = np.empty((u.size, 2), dtype=np.uint8)
    for i in range(2):
        out[:, i] = np.convolve(u, _TAPS[i])[: u.size] & 1
    return out.ravel()


def _step(state: int, u: int) -> tuple[int, int, int]:
    """One encoder step. ``state`` holds the last 6 inputs, newest in bit 5. Returns (next, c0, c1)."""
    reg = (u << TAIL) | state  # bit 6 = current input, bit 5 = previous one, ...
    c = []
    for g in GENERATORS:
        c.append(bin(reg & g).count("1") & 1)
    return (state >> 1) | (u << (TAIL - 1)), c[0], c[1]


@functools.lru_cache(maxsize=8)
def _trellis(radix_bits: int):
    """Predecessor table and coded-bit pattern of every (new state, predecessor choice) pair."""
    r = radix_bits
    nchoice = 1 << r
    pred = np.empty((NUM_STATES, nchoice), dtype=np.int64)
    pattern = np.empty((NUM_STATES, nchoice), dtype=np.int64)
    for ns in range(NUM_STATES):
        inputs = [(ns >> (TAIL - r + i)) & 1 for i in range(r)]  # u_t .. u_{t+r-1}
        for j in range(nchoice):
            s = ((ns & ((1 << (TAIL - r)) - 1)) << r) | j
            pred[ns, j] = s
            st, pat = s, 0
            for u in inputs:
                st, c0, c1 = _step(st, u)
                pat = (pat << 2) | (c0 << 1) | c1
            assert st == ns
            pattern[ns, j] = pat
    nb = 2 * r
    # signs[i, p]: +1 where bit i (MSB first) of pattern p is 0
    signs = 1.0 - 2.0 * ((np.arange(1 << nb)[None, :] >> (nb - 1 - np.arange(nb))[:, None]) & 1)
    return pred, pattern, signs


def viterbi_decode(llr: np.ndarray, radix_bits: int = 4, use_kernel: bool = True) -> np.ndarray:
    """Soft-decision maximum-likelihood decoding of :func:`conv_encode` output.

    Long single codewords (over ``_WINDOW_MIN`` trellis steps) are cut into overlapping windows
    decoded together as a batch (sliding-window Viterbi with 48-step margins, ~7 constraint
    lengths: indistinguishable from full ML in practice), so the Python loop runs ~72 times
    instead of once per 4 trellis steps.

    Args:
        llr: float [2 * (n + 6)] or [batch, 2 * (n + 6)], ``log P(0)/P(1)`` per coded bit.
        radix_bits: trellis steps merged per iteration (1..6).
        use_kernel: single codewords go to the compiled kernel (:mod:`._kernels`, numba) when it
            is available; ``False`` forces this numpy path (the reference).
    Returns:
        uint8 bits [n] (or [batch, n]): the information bits, tail removed.
    """
    llr = np.asarray(llr, dtype=np.float64)
    single = llr.ndim == 1
    if single:
        llr = llr[None, :]
    if llr.ndim != 2 or llr.shape[1] % 2 or llr.shape[1] < 2 * TAIL:
        raise ValueError(f"llr must be [2*(n+6)] or [batch, 2*(n+6)], got shape {llr.shape}")
    if not 1 <= radix_bits <= TAIL:
        raise ValueError(f"radix_bits must be 1..{TAIL}, got {radix_bits}")
    if not np.all(np.isfinite(llr)):
        llr = np.nan_to_num(llr, nan=0.0, posinf=1e6, neginf=-1e6)
    r = radix_bits
    batch, ncoded = llr.shape
    steps = ncoded // 2
    if single:
        bits = hard_decision_decode(llr[0])
        if bits is not None:
            return bits
        if use_kernel and _kernels.AVAILABLE:  # compiled full-length ML (the numpy code below is its reference)
            return _kernels.viterbi_k7(llr[0])
    if single and steps > _WINDOW_MIN:
        return _windowed(llr[0], steps, _WINDOW_RADIX)
    nblocks = -(-steps // r)
    pad = nblocks * r - steps
    if pad:  # extra zero inputs after the tail keep the state at 0 and send zeros: known bits
        llr = np.concatenate([llr, np.full((batch, 2 * pad), 1e3)], axis=1)
    bits = _decode(llr.reshape(batch, nblocks, 2 * r), r, free_ends=False)[:, : steps - TAIL]
    return bits[0] if single else bits


# a(x) g0(x) + b(x) g1(x) = 1 over GF(2) (extended Euclid; the code is non-catastrophic), so
# u = a c0 + b c1 recovers the input of any codeword with two convolutions
_INV = (np.array([0, 0, 1, 0, 1], np.uint8), np.array([1, 1, 1, 1, 1], np.uint8))


def _delays(poly: np.ndarray) -> tuple[int, ...]:
    return tuple(int(i) for i in np.flatnonzero(poly))


_INV_DELAYS = (_delays(_INV[0]), _delays(_INV[1]))
_ENC_DELAYS = (_delays(_TAPS[0]), _delays(_TAPS[1]))


def hard_decision_int(llr: np.ndarray) -> tuple[int, int] | None:
    """:func:`hard_decision_decode` on Python integers: ``(u, n)`` with the ``n`` information
    bits in ``u`` (first bit most significant), or ``None`` when the hard decisions of ``llr``
    [2 * (n + 6)] are no terminated codeword.

    Each coded stream is one integer (time 0 the most significant bit), so a delay is a right
    shift and GF(2) convolutions are a few shifts and XORs: microseconds for a header.
    """
    hard = np.asarray(llr) < 0
    if hard.ndim != 1 or hard.size % 2 or hard.size < 2 * TAIL:
        return None
    steps = hard.size // 2
    pad = (-steps) % 8
    c0 = int.from_bytes(np.packbits(hard[0::2]).tobytes(), "big") >> pad
    c1 = int.from_bytes(np.packbits(hard[1::2]).tobytes(), "big") >> pad
    u = 0
    for d in _INV_DELAYS[0]:
        u ^= c0 >> d
    for d in _INV_DELAYS[1]:
        u ^= c1 >> d
    if u & ((1 << TAIL) - 1):  # the tail must be zeros
        return None
    for c, delays in zip((c0, c1), _ENC_DELAYS):  # re-encode: must give the hard decisions
        e = 0
        for d in delays:
            e ^= u >> d
        if e != c:
            return None
    return u >> TAIL, steps - TAIL


def hard_decision_decode(llr: np.ndarray) -> np.ndarray | None:
    """The information bits if the hard decisions of ``llr`` [2 * (n + 6)] already form a
    terminated codeword, else ``None``.

    Then they are also the soft ML decision (every bit agrees with its own LLR, so no other
    codeword correlates better), and Viterbi is skipped: the common case above ~8 dB costs a few
    integer shifts instead of a trellis pass.
    """
    res = hard_decision_int(llr)
    if res is None:
        return None
    u, n = res
    nbytes = -(-n // 8)
    packed = (u << (8 * nbytes - n)).to_bytes(nbytes, "big")
    return np.unpackbits(np.frombuffer(packed, np.uint8))[:n]


_CORE_STEPS, _MARGIN_STEPS = 192, 48  # sliding-window core and margins, trellis steps
_WINDOW_MIN = 4 * (_CORE_STEPS + 2 * _MARGIN_STEPS)
_WINDOW_RADIX = 2  # windows are element-bound (batched): radix 4 (2 steps) measured fastest


def _windowed(llr: np.ndarray, steps: int, r: int) -> np.ndarray:
    """Sliding-window decoding of one long codeword as a batch of overlapping windows."""
    _CORE, _MARGIN = _CORE_STEPS // r, _MARGIN_STEPS // r
    nblocks = -(-steps // r)
    nwin = -(-nblocks // _CORE)
    total = nwin * _CORE + 2 * _MARGIN
    # known zero inputs in front (the encoder starts in state 0) and after the tail (it ends
    # there): strong positive LLRs keep the padded trellis consistent
    blocks = np.full((total, 2 * r), 1e3)
    blocks.reshape(-1)[2 * r * _MARGIN : 2 * r * _MARGIN + llr.size] = llr
    idx = np.arange(nwin)[:, None] * _CORE + np.arange(_CORE + 2 * _MARGIN)[None, :]
    out = []
    for g in range(0, nwin, 128):  # bounded memory for very long codewords
        bits = _decode(blocks[idx[g : g + 128]], r, free_ends=True)  # [windows, (core + 2 margin) * r]
        out.append(bits[:, _MARGIN * r : (_MARGIN + _CORE) * r].reshape(-1))
    return np.concatenate(out)[: steps - TAIL]


def _decode(blocks: np.ndarray, r: int, free_ends: bool) -> np.ndarray:
    """Viterbi on LLR blocks [batch, nblocks, 2r]; bits [batch, nblocks * r] (tail included).
    ``free_ends``: unknown start and end state (windows) instead of state 0 at both ends."""
    batch, nblocks, _ = blocks.shape
    pred, pattern, signs = _trellis(r)
    # einsum, not BLAS: multithreaded BLAS on small matrices is slow on busy cores
    metrics = np.einsum("btk,kp->btp", blocks, signs)  # [batch, blocks, 2^(2r)]
    shifts = TAIL - r + np.arange(r)
    if batch == 1 and not free_ends:  # one header or payload: flat arrays, few calls per step
        bm1 = metrics[0][:, pattern]  # [blocks, states, choices]
        pm1 = np.full(NUM_STATES, -1e12)
        pm1[0] = 0.0
        rows = np.arange(NUM_STATES) * (1 << r)
        decisions1 = np.empty((nblocks, NUM_STATES), dtype=np.int64)
        for t in range(nblocks):
            cand = pm1.take(pred)
            cand += bm1[t]
            best = cand.argmax(axis=1)
            decisions1[t] = best
            pm1 = cand.ravel().take(rows + best)
        # traceback on Python ints: cheaper than numpy calls for one codeword
        dec = decisions1.tolist()
        pred_l = pred.tolist()
        states = [0] * nblocks
        state = 0
        for t in range(nblocks - 1, -1, -1):
            states[t] = state
            state = pred_l[state][dec[t][state]]
        return ((np.array(states)[:, None] >> shifts[None, :]) & 1).astype(np.uint8).reshape(1, -1)
    # batch: flat gathers per step (no [batch, blocks, 64, 16] branch-metric array in memory)
    npat = metrics.shape[2]
    mt_all = np.ascontiguousarray(metrics.transpose(1, 0, 2))  # [blocks, batch, patterns]
    b_ix = np.arange(batch)[:, None, None]
    pred_b = (b_ix * NUM_STATES + pred[None]).ravel()
    pat_b = (b_ix * npat + pattern[None]).ravel()
    nch = pred.shape[1]
    base = np.arange(batch * NUM_STATES) * nch
    decisions = np.empty((nblocks, batch, NUM_STATES), dtype=np.int8)
    if free_ends:
        pm = np.zeros(batch * NUM_STATES)
    else:
        pm = np.full((batch, NUM_STATES), -1e12)
        pm[:, 0] = 0.0
        pm = pm.ravel()
    for t in range(nblocks):
        cand = pm.take(pred_b)
        cand += mt_all[t].ravel().take(pat_b)
        best = cand.reshape(-1, nch).argmax(axis=1)
        decisions[t] = best.reshape(batch, NUM_STATES)
        pm = cand.take(base + best)
        if t % 16 == 15:  # keep path metrics small; float64 has ample headroom in between
            pm = (pm.reshape(batch, -1) - pm.reshape(batch, -1).max(axis=1, keepdims=True)).ravel()
    pm = pm.reshape(batch, NUM_STATES)
    out = np.empty((batch, nblocks, r), dtype=np.uint8)
    state = pm.argmax(axis=1) if free_ends else np.zeros(batch, dtype=np.int64)
    rows = np.arange(batch)
    for t in range(nblocks - 1, -1, -1):
        out[:, t, :] = (state[:, None] >> shifts[None, :]) & 1
        state = pred[state, decisions[t, rows, state]]
    return out.reshape(batch, nblocks * r)
