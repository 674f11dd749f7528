"""Compiled per-frame kernels (numba ``@njit(cache=True)``), with the numpy code as the reference.

``AVAILABLE`` says whether numba imported; without it the callers keep their numpy paths and a
warning says so once (never a crash). Each kernel mirrors a numpy function step by step (same
formulas, loops instead of array calls) and gives its result to float rounding
(tests/test_phy_kernels.py); ``StreamingReceiver(backend="numba")`` (the default) runs them, one
call per stage:

- detection: :func:`_detect_nb` (``sync.detect_peak``; bit-identical);
- synchronisation: :func:`_synchronize_nb` (``sync.synchronize``);
- header: :func:`_header_nb` = :func:`_windows_nb` (FFT windows, front end, CFO; our radix-2
  :func:`_fft_rows_nb`) + :func:`_estimate_channel_nb` (``estimation.estimate_channel`` with
  :func:`_sparse_taps_nb`) + :func:`_equalize_nb` (``estimation.equalize``) + :func:`_demap_nb`
  (``modulation.demodulate_llr``) + copy combining + :func:`_codeword_nb`
  (``fec.hard_decision_int``); :func:`_refine_noise_nb` (``estimation.refine_noise``);
- payload: :func:`_payload_nb` = windows + equaliser + :func:`_payload_intact_nb`
  (``integrity.payload_intact``); digital: :func:`_digital_decode_nb` (demap, de-interleave,
  codeword shortcut or :func:`_viterbi_k7`) and :func:`_digital_finish_nb` (re-encode, EVM);
- :func:`viterbi_k7`: soft-decision Viterbi of the terminated K=7 [133, 171] code, one codeword,
  scalar loops over 64 states x 2 predecessors (full-length ML, no windows). Same bits as
  ``fec.viterbi_decode``'s numpy path wherever that one is exact ML.

Per-frame kernels use ``error_model="numpy"`` and avoid complex division by a possibly zero
value, so garbage input gives non-finite numbers (as numpy) instead of ``ZeroDivisionError``.
"""

from __future__ import annotations

import warnings

import numpy as np

try:  # pragma: no cover - depends on the environment
    from numba import njit

    AVAILABLE = True
except ImportError:  # pragma: no cover
    AVAILABLE = False
    warnings.warn("numba is not installed: the PHY uses its numpy paths (slower per frame)", RuntimeWarning,
                  stacklevel=2)

K7_G0, K7_G1 = 0o133, 0o171


def _k7_outputs() -> np.ndarray:
    """uint8 [64, 2, 2]: coded bits (c0, c1) for new state ``ns`` reached from predecessor choice
    ``j`` (state = last 6 inputs, newest in bit 5; predecessor ``((ns & 31) << 1) | j``)."""
    out = np.empty((64, 2, 2), np.uint8)
    for ns in range(64):
        u = ns >> 5
        for j in range(2):
            reg = (u << 6) | (((ns & 31) << 1) | j)
            out[ns, j, 0] = bin(reg & K7_G0).count("1") & 1
            out[ns, j, 1] = bin(reg & K7_G1).count("1") & 1
    out.setflags(write=False)
    return out


K7_OUT = _k7_outputs()

if AVAILABLE:

    @njit(cache=True)
    def _viterbi_k7(llr, out):  # pragma: no cover - compiled
        steps = llr.size // 2
        pm = np.full(64, -1e300)
        pm[0] = 0.0
        new = np.empty(64)
        dec = np.empty((steps, 64), np.uint8)
        for t in range(steps):
            l0 = llr[2 * t]
            l1 = llr[2 * t + 1]
            for ns in range(64):
                best = -np.inf
                bj = 0
                for j in range(2):
                    s = ((ns & 31) << 1) | j
                    m = pm[s]
                    m += l0 if out[ns, j, 0] == 0 else -l0
                    m += l1 if out[ns, j, 1] == 0 else -l1
                    if m > best:
                        best = m
                        bj = j
                new[ns] = best
                dec[t, ns] = bj
            top = new.max()
            for ns in range(64):
                pm[ns] = new[ns] - top
        bits = np.empty(steps, np.uint8)
        state = 0
        for t in range(steps - 1, -1, -1):
            bits[t] = state >> 5
            state = ((state & 31) << 1) | dec[t, state]
        return bits


def viterbi_k7(llr: np.ndarray) -> np.ndarray:
    """Information bits (uint8 [n]) of one terminated codeword from ``llr`` (float [2 (n + 6)],
    ``log P(0)/P(1)``). Requires numba (``AVAILABLE``)."""
    llr = np.ascontiguousarray(llr, dtype=np.float64)
    return _viterbi_k7(llr, K7_OUT)[: llr.size // 2 - 6]


# -- per-frame stages: channel estimate, equalisation + pilot tracking, payload integrity -----
# Each mirrors a numpy reference in estimation.py / integrity.py / sync.py / modulation.py / fec.py
# operation by operation; results agree to float rounding (tests/test_phy_kernels.py).

if AVAILABLE:

    @njit(cache=True, error_model="numpy")
    def _lu_solve_nb(g, b):  # pragma: no cover
        """``g x = b``, Gaussian elimination with partial pivoting (LAPACK zgesv's algorithm)."""
        m = b.size
        a = g.copy()
        x = b.copy()
        for col in range(m):
            piv = col
            for r in range(col + 1, m):
                if abs(a[r, col]) > abs(a[piv, col]):
                    piv = r
            if piv != col:
                for k in range(m):
                    t = a[col, k]
                    a[col, k] = a[piv, k]
                    a[piv, k] = t
                t = x[col]
                x[col] = x[piv]
                x[piv] = t
            pc = a[col, col]
            inv = np.conj(pc) * (1.0 / (pc.real * pc.real + pc.imag * pc.imag))
            for r in range(col + 1, m):
                f = a[r, col] * inv
                for k in range(col, m):
                    a[r, k] -= f * a[col, k]
                x[r] -= f * x[col]
        for col in range(m - 1, -1, -1):
            acc = x[col]
            for k in range(col + 1, m):
                acc -= a[col, k] * x[k]
            pc = a[col, col]
            x[col] = acc * (np.conj(pc) * (1.0 / (pc.real * pc.real + pc.imag * pc.imag)))
        return x

    @njit(cache=True, error_model="numpy")
    def _solve_nb(g, b):  # pragma: no cover
        """``g x = b`` for a small Hermitian positive-definite ``g`` [m, m] (a gram matrix): Cholesky
        ``g = U^H U`` and two triangular solves, the steps of LAPACK's zposv (the numpy path's
        solver); no exceptions (non-finite input gives non-finite output)."""
        m = b.size
        u = np.zeros((m, m), np.complex128)
        for j in range(m):
            acc = g[j, j].real
            for k in range(j):
                acc -= u[k, j].real * u[k, j].real + u[k, j].imag * u[k, j].imag
            if not acc > 0:  # not positive definite (as zposv's info > 0): LU, as the numpy path
                return _lu_solve_nb(g, b)
            d = np.sqrt(acc)
            u[j, j] = d
            for i in range(j + 1, m):
                v = g[j, i]
                for k in range(j):
                    v -= np.conj(u[k, j]) * u[k, i]
                u[j, i] = v * (1.0 / d)
        y = np.empty(m, np.complex128)
        for i in range(m):  # U^H y = b
            v = b[i]
            for k in range(i):
                v -= np.conj(u[k, i]) * y[k]
            y[i] = v * (1.0 / u[i, i].real)
        x = np.empty(m, np.complex128)
        for i in range(m - 1, -1, -1):  # U x = y
            v = y[i]
            for k in range(i + 1, m):
                v -= u[i, k] * x[k]
            x[i] = v * (1.0 / u[i, i].real)
        return x

    @njit(cache=True, error_model="numpy")
    def _sparse_taps_nb(h_ls, noise_mean, ridge_noise, ridge_fh, ridge_f, f, gram, u, passes):  # pragma: no cover
        nt = ridge_noise.size
        nu = h_ls.size
        limit = 4.0 * 0.5 * noise_mean * ridge_noise
        t0 = np.empty(nt, np.complex128)
        b = np.empty(nt, np.complex128)
        for i in range(nt):
            a0 = 0j
            a1 = 0j
            for k in range(nu):
                a0 += ridge_fh[i, k] * h_ls[k]
                a1 += ridge_fh[nt + i, k] * h_ls[k]
            t0[i] = a0
            b[i] = a1
        chosen = np.zeros(nt, np.bool_)
        any_chosen = False
        taps = t0.copy()
        power = np.empty(nt)
        idx = np.zeros(0, np.int64)
        x = np.zeros(0, np.complex128)
        for p in range(passes):
            for i in range(nt):
                power[i] = 0.0 if (any_chosen and chosen[i]) else taps[i].real * taps[i].real + taps[i].imag * taps[i].imag
            over = power > limit
            if not over.any():
                if any_chosen:
                    break
                over[np.argmax(power)] = True
            if passes > 1:
                mx = 0.0
                for i in range(nt):
                    if over[i] and power[i] > mx:
                        mx = power[i]
                for i in range(nt):
                    if over[i] and power[i] >= 0.05 * mx:
                        chosen[i] = True
            else:
                for i in range(nt):
                    if over[i]:
                        chosen[i] = True
            any_chosen = True
            idx = np.nonzero(chosen)[0]
            m = idx.size
            rhs = np.empty(m, np.complex128)
            for j in range(m):
                rhs[j] = b[idx[j]]
            if m == 1:
                x = rhs * (1.0 / u)
            else:
                g = np.empty((m, m), np.complex128)
                for i in range(m):
                    for j in range(m):
                        g[i, j] = gram[idx[i], idx[j]]
                x = _solve_nb(g, rhs)
            if p + 1 < passes:
                for i in range(nt):
                    acc = 0j
                    for j in range(m):
                        acc += ridge_f[i, idx[j]] * x[j]
                    taps[i] = t0[i] - acc
        h = np.empty(nu, np.complex128)
        for k in range(nu):
            acc = 0j
            for j in range(idx.size):
                acc += f[k, idx[j]] * x[j]
            h[k] = acc
        return h, idx.size

    @njit(cache=True, error_model="numpy")
    def _estimate_channel_nb(lts1, lts2, bins, lts_half, pair_lo, pair_hi, fft_size, k_used, ridge_noise, ridge_fh,
                             ridge_f, f, gram, noise_smoother, smooth):  # pragma: no cover
        u = bins.size
        h_ls = np.empty(u, np.complex128)
        raw = np.empty(u)
        total = 0.0
        for k in range(u):
            y1 = lts1[bins[k]]
            y2 = lts2[bins[k]]
            h_ls[k] = (y1 + y2) * lts_half[k]
            d = y1 - y2
            raw[k] = 0.5 * (d.real * d.real + d.imag * d.imag)
            total += raw[k]
        noise_mean = max(total / u, 1e-20)
        if smooth:
            zs = 0j
            for i in range(pair_lo.size):
                zs += np.conj(h_ls[pair_lo[i]]) * h_ls[pair_hi[i]]
            delay = -np.arctan2(zs.imag, zs.real) * fft_size / (2 * np.pi)
            frac = delay - np.rint(delay)
            e = 0.0
            for k in range(u):
                e += h_ls[k].real * h_ls[k].real + h_ls[k].imag * h_ls[k].imag
            rough_snr = e / u / noise_mean
            if rough_snr <= 4.0:
                h, ntaps = _sparse_taps_nb(h_ls, noise_mean, ridge_noise, ridge_fh, ridge_f, f, gram, float(u), 1)
            elif abs(frac) >= 0.1:
                ramp = np.exp(2j * np.pi * frac / fft_size * k_used)
                h, ntaps = _sparse_taps_nb(h_ls * ramp, noise_mean, ridge_noise, ridge_fh, ridge_f, f, gram, float(u), 6)
                h = h * np.conj(ramp)
            else:
                h, ntaps = _sparse_taps_nb(h_ls, noise_mean, ridge_noise, ridge_fh, ridge_f, f, gram, float(u), 6)
            gain = ntaps / u
        else:
            h = h_ls
            gain = 1.0
            ntaps = u
        noise = np.empty(u)
        floor = 1e-3 * noise_mean
        for i in range(u):
            acc = 0.0
            for k in range(u):
                acc += noise_smoother[i, k] * raw[k]
            noise[i] = max(acc, floor)
        e = 0.0
        for k in range(u):
            e += h[k].real * h[k].real + h[k].imag * h[k].imag
        signal = e / u - 0.5 * gain * noise_mean
        snr = max(signal, 1e-3 * noise_mean) / noise_mean
        return h, noise, noise_mean, snr, 0.5 * gain, ntaps

    @njit(cache=True, error_model="numpy")
    def _common_phase_nb(s, pilot_snr):  # pragma: no cover
        n = s.size
        out = np.empty(n, np.complex128)
        if n < 8:
            for i in range(n):
                c = s[i]
                if n >= 3:
                    c = (s[i] + s[max(i - 1, 0)]) + s[min(i + 1, n - 1)]
                m = abs(c) + 1e-30
                out[i] = complex(c.real / m, -c.imag / m)
            return out
        step = 0j
        for i in range(n - 1):
            step += np.conj(s[i]) * s[i + 1]
        w = np.arctan2(step.imag, step.real)
        ctrend = np.empty(n, np.complex128)
        rest = np.empty(n, np.complex128)
        rest0 = 0j
        for i in range(n):
            ctrend[i] = np.exp((-1j * w) * i)
            rest[i] = s[i] * ctrend[i]
            rest0 += rest[i]
        m0 = abs(rest0) + 1e-30
        r0 = complex(rest0.real / m0, -rest0.imag / m0)
        spread = 0.0
        for i in range(n):
            dv = rest[i] * r0
            a = np.arctan2(dv.imag, dv.real)
            spread += a * a
        spread /= n
        width = 9 if spread < 2.0 / (2.0 * pilot_snr + 1e-30) else 3
        half = min(width // 2, n - 1)
        for i in range(n):
            acc = 0j
            for j in range(i - half, i + half + 1):
                acc += rest[min(max(j, 0), n - 1)]
            sm = np.conj(acc) * ctrend[i]
            out[i] = sm * (1.0 / (abs(sm) + 1e-30))
        return out

    @njit(cache=True, error_model="numpy")
    def _equalize_nb(y, bins_p, pilots, wp, pilot_snr, kp, kp2, tk, times, fit_upto, fit_tdot, bound, tmax, kd_max,
                     kd_int_max, kd_col, bins_d, inv_hd, h2, nd, mmse):  # pragma: no cover
        nsym = y.shape[0]
        npil = bins_p.size
        r = np.empty((nsym, npil), np.complex128)
        for s in range(nsym):
            for p in range(npil):
                r[s, p] = y[s, bins_p[p]] * (pilots[s, p] * wp[p])
        drift = 0.0
        if bound > 0 and nsym:
            rs = np.empty(npil, np.complex128)
            for fi in range(fit_upto.size):
                upto = fit_upto[fi]
                acc_t = 0.0
                for s in range(upto):
                    c = 0j
                    for p in range(npil):
                        v = r[s, p]
                        if drift != 0.0:
                            v = v * np.exp(tk[s, p] * (-1j * drift))
                        rs[p] = v
                        c += v
                    cc = np.conj(c)
                    num = 0.0
                    den = 0.0
                    for p in range(npil):
                        rr = rs[p] * cc
                        wk = abs(rr)
                        num += wk * np.arctan2(rr.imag, rr.real) * kp[p]
                        den += wk * kp2[p]
                    acc_t += num / (den + 1e-30) * times[s]
                drift += acc_t / fit_tdot[fi]
                drift = min(max(drift, -bound), bound)
            if drift != 0.0:
                for s in range(nsym):
                    for p in range(npil):
                        r[s, p] = r[s, p] * np.exp(tk[s, p] * (-1j * drift))
        ssum = np.empty(nsym, np.complex128)
        for s in range(nsym):
            c = 0j
            for p in range(npil):
                c += r[s, p]
            ssum[s] = c
        ph = _common_phase_nb(ssum, pilot_snr if nsym >= 8 else 0.0)
        nd_ = bins_d.size
        zf = np.empty((nsym, nd_), np.complex128)
        ramp = drift != 0.0 and abs(drift) * tmax * kd_max > 1e-3
        pw = np.empty(kd_int_max + 1, np.complex128)
        for s in range(nsym):
            if ramp:
                z = np.exp((-1j * drift) * times[s])
                pw[0] = 1.0
                for k in range(1, kd_int_max + 1):
                    pw[k] = pw[k - 1] * z
            for j in range(nd_):
                if ramp:
                    k = kd_col[j] - kd_int_max
                    rot = (pw[k] if k >= 0 else np.conj(pw[-k])) * ph[s]
                else:
                    rot = ph[s]
                zf[s, j] = y[s, bins_d[j]] * rot * inv_hd[j]
        nv_zf = nd / h2
        if not mmse:
            return zf, zf, nv_zf, nv_zf, drift
        g = h2 / (h2 + nd)
        data = np.empty_like(zf)
        for s in range(nsym):
            for j in range(nd_):
                data[s, j] = zf[s, j] * g[j]
        return data, zf, g * nv_zf, nv_zf, drift

    @njit(cache=True, error_model="numpy")
    def _payload_intact_nb(y, h_pilots, noise_pilots, bins_pilots, pilot_values):  # pragma: no cover
        s_n = y.shape[0]
        if s_n == 0:
            return True
        npil = bins_pilots.size
        sp = 0.0
        v = 0.0
        for p in range(npil):
            hp2 = h_pilots[p].real ** 2 + h_pilots[p].imag ** 2
            sp += hp2
            v += hp2 * noise_pilots[p]
        v /= sp * sp + 1e-30
        gain2 = np.empty(s_n)
        for s in range(s_n):
            c = 0j
            for p in range(npil):
                cur = y[s, bins_pilots[p]] * pilot_values[s, p]
                prev = h_pilots[p] if s == 0 else y[s - 1, bins_pilots[p]] * pilot_values[s - 1, p]
                c += np.conj(prev) * cur
            c = c * (1.0 / (sp + 1e-30))
            gain2[s] = abs(c) if s == 0 else c.real
        g_cum = np.cumsum(gain2[::-1])
        length = s_n
        while True:
            g_mean = g_cum[length - 1] / length
            g_std = np.sqrt((2 * v + v * v) / length)
            if 1.0 > 10 * g_std and g_mean < 0.3:
                return False
            if length <= 4:
                return True
            length = max(4, -(-length // 2))
            if length > s_n:
                return True
        return True


def fft_tables(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Tables of :func:`_fft_rows_nb` for an ``n``-point FFT (power of two): int64 [n] bit-reversed
    indices and complex128 [n/2] twiddles ``exp(-2j pi k / n)``, read-only."""
    bits = n.bit_length() - 1
    rev = np.array([int(format(i, f"0{bits}b")[::-1], 2) if bits else 0 for i in range(n)], np.int64)
    tw = np.exp(-2j * np.pi * np.arange(n // 2) / n)
    rev.setflags(write=False)
    tw.setflags(write=False)
    return rev, tw


if AVAILABLE:

    @njit(cache=True, error_model="numpy")
    def _fft_rows_nb(x, rev, tw):  # pragma: no cover
        """In place: each row of complex128 ``x`` [R, N] replaced by its orthonormal FFT
        (iterative radix-2, ``norm="ortho"``: pocketfft's result to float rounding)."""
        rows, n = x.shape
        scale = 1.0 / np.sqrt(n)
        for r in range(rows):
            for i in range(n):
                j = rev[i]
                if j > i:
                    t = x[r, i]
                    x[r, i] = x[r, j]
                    x[r, j] = t
            size = 2
            while size <= n:
                half = size // 2
                step = n // size
                for start in range(0, n, size):
                    for k in range(half):
                        t = tw[k * step] * x[r, start + k + half]
                        x[r, start + k + half] = x[r, start + k] - t
                        x[r, start + k] = x[r, start + k] + t
                size *= 2
            for i in range(n):
                x[r, i] = x[r, i] * scale

    @njit(cache=True, error_model="numpy")
    def _windows_nb(buf, starts, times, n, cfo, dc, w_iq, rev, tw):  # pragma: no cover
        """Orthonormal FFTs [R, n] of the windows ``buf[starts[r] : starts[r] + n]`` with the
        front-end correction (DC, then the IQ image) and the CFO removed: sample m of window r
        rotated by ``exp(j w times[r]) exp(j w m)``, ``w = -2 pi cfo / n`` (the numpy path's two
        phasors: ``times`` are the windows' starts relative to the phase reference)."""
        rows = starts.size
        w = -2 * np.pi * cfo / n
        fine = np.empty(n, np.complex128)
        for m in range(n):
            fine[m] = np.exp((1j * w) * m)
        out = np.empty((rows, n), np.complex128)
        for r in range(rows):
            a = starts[r]
            ph = np.exp((1j * w) * times[r])
            for m in range(n):
                v = buf[a + m]
                if dc != 0:
                    v = v - dc
                if w_iq != 0:
                    v = v - w_iq * np.conj(v)
                out[r, m] = v * (ph * fine[m])
        _fft_rows_nb(out, rev, tw)
        return out

    @njit(cache=True, error_model="numpy")
    def _pam_llr_nb(z, nv, levels, labels, per_axis, out, pos):  # pragma: no cover
        """Max-log LLRs of one axis value ``z`` (float) into ``out[pos : pos + per_axis]``
        (float32; ``modulation.demodulate_llr``'s formula)."""
        nl = levels.size
        for b in range(per_axis):
            d0 = np.inf
            d1 = np.inf
            for li in range(nl):
                d = (z - levels[li]) ** 2
                if labels[li, b] == 1:
                    if d < d1:
                        d1 = d
                elif d < d0:
                    d0 = d
            out[pos + b] = np.float32((d1 - d0) / nv)

    @njit(cache=True, error_model="numpy")
    def _demap_nb(zf, nv_row, bpsk, levels, labels, per_axis):  # pragma: no cover
        """LLRs (float32 [S * n_data * bits]) of the equalised grid ``zf`` [S, n_data] with noise
        variance ``nv_row`` [n_data] (every symbol), in ``demodulate_llr``'s bit order."""
        s_n, nd = zf.shape
        bps = 1 if bpsk else 2 * per_axis
        out = np.empty(s_n * nd * bps, np.float32)
        for s in range(s_n):
            for j in range(nd):
                nv = max(nv_row[j], 1e-12)
                pos = (s * nd + j) * bps
                if bpsk:
                    out[pos] = np.float32(4.0 * zf[s, j].real / nv)
                else:
                    _pam_llr_nb(zf[s, j].real, nv, levels, labels, per_axis, out, pos)
                    _pam_llr_nb(zf[s, j].imag, nv, levels, labels, per_axis, out, pos + per_axis)
        return out

    @njit(cache=True, error_model="numpy")
    def _codeword_nb(llr, inv0, inv1, enc0, enc1):  # pragma: no cover
        """``fec.hard_decision_int`` on arrays: (True, information bits uint8 [steps - 6]) when
        the hard decisions of ``llr`` [2 steps] are a terminated codeword, else (False, [])."""
        steps = llr.size // 2
        c0 = np.empty(steps, np.uint8)
        c1 = np.empty(steps, np.uint8)
        for t in range(steps):
            c0[t] = 1 if llr[2 * t] < 0 else 0
            c1[t] = 1 if llr[2 * t + 1] < 0 else 0
        u = np.zeros(steps, np.uint8)
        for t in range(steps):
            v = 0
            for d in inv0:
                if t >= d:
                    v ^= c0[t - d]
            for d in inv1:
                if t >= d:
                    v ^= c1[t - d]
            u[t] = v
        for t in range(steps - 6, steps):
            if u[t]:
                return False, u[:0]
        for t in range(steps):
            e0 = 0
            e1 = 0
            for d in enc0:
                if t >= d:
                    e0 ^= u[t - d]
            for d in enc1:
                if t >= d:
                    e1 ^= u[t - d]
            if e0 != c0[t] or e1 != c1[t]:
                return False, u[:0]
        return True, u[: steps - 6].copy()

    @njit(cache=True, error_model="numpy")
    def _abs2_nb(h):  # pragma: no cover
        """|h|^2 elementwise (float64)."""
        return h.real * h.real + h.imag * h.imag

    @njit(cache=True, error_model="numpy")
    def _equalize_from_estimate_nb(y, h, noise, est_err, ip, idd, bins_p, pilots, kp, kp2, tk, times, fit_upto,
                                   fit_tdot, bound, tmax, kd_max, kd_int_max, kd_col, bins_d, mmse):  # pragma: no cover
        """:func:`_equalize_nb` with the channel's derived values (``ChannelEstimate.parts``,
        the pilots' MRC weights, the data REs' noise) computed here."""
        hp = h[ip]
        hd = h[idd]
        wp = np.conj(hp) * (1.0 / noise[ip])
        pilot_snr = 0.0
        if y.shape[0] >= 8:
            for p in range(hp.size):
                pilot_snr += (wp[p] * hp[p]).real
        h2 = hd.real * hd.real + hd.imag * hd.imag + 1e-30
        inv_hd = np.conj(hd) * (1.0 / _abs2_nb(hd))  # 1 / hd; (numba raises on a complex division by zero)
        nd = noise[idd] * (1.0 + est_err)
        return _equalize_nb(y, bins_p, pilots, wp, pilot_snr, kp, kp2, tk, times, fit_upto, fit_tdot, bound, tmax,
                            kd_max, kd_int_max, kd_col, bins_d, inv_hd, h2, nd, mmse)

    @njit(cache=True, error_model="numpy")
    def _header_nb(buf, starts, times, n, cfo, dc, w_iq, rev, tw,
                   bins, lts_half, pair_lo, pair_hi, k_used, ridge_noise, ridge_fh, ridge_f, f, gram, noise_smoother,
                   smooth, ip, idd, bins_p, pilots, kp, kp2, tk, htimes, tmax, kd_max, kd_int_max, kd_col, bins_d,
                   bpsk, levels, labels, per_axis, label_level, perm, repeat, inv0, inv1, enc0, enc1):  # pragma: no cover
        """The header stage in one call: FFT windows of the LTS pair and header symbols,
        channel + noise estimate, ZF + pilot phase, LLRs, the ``repeat`` copies added
        (float32, as the numpy path), the hard-decision codeword check and, when it holds, the
        known header grid (for the data-aided noise refinement). See ``receiver._decode_header``."""
        spec = _windows_nb(buf, starts, times, n, cfo, dc, w_iq, rev, tw)
        h, noise, noise_mean, snr, est_err, ntaps = _estimate_channel_nb(
            spec[0], spec[1], bins, lts_half, pair_lo, pair_hi, n, k_used, ridge_noise, ridge_fh, ridge_f, f, gram,
            noise_smoother, smooth)
        y = spec[2:]
        fit0 = np.zeros(0, np.int64)
        data, zf, nv, nv_unb, drift = _equalize_from_estimate_nb(
            y, h, noise, est_err, ip, idd, bins_p, pilots, kp, kp2, tk, htimes, fit0, np.zeros(0), 0.0, tmax, kd_max,
            kd_int_max, kd_col, bins_d, False)
        slots = _demap_nb(zf, nv_unb, bpsk, levels, labels, per_axis)
        nc = perm.size // repeat
        llr = np.empty(nc, np.float32)
        for i in range(nc):
            acc = slots[perm[i]]
            for r in range(1, repeat):
                acc = np.float32(acc + slots[perm[r * nc + i]])
            llr[i] = acc
        exact, info = _codeword_nb(llr, inv0, inv1, enc0, enc1)
        known = np.zeros_like(zf)
        if exact:
            bits = np.zeros(slots.size, np.uint8)
            for r in range(repeat):
                for i in range(nc):
                    bits[perm[r * nc + i]] = 1 if llr[i] < 0 else 0
            s_n, nd = zf.shape
            bps = 1 if bpsk else 2 * per_axis
            for s in range(s_n):
                for j in range(nd):
                    pos = (s * nd + j) * bps
                    if bpsk:
                        known[s, j] = -1.0 if bits[pos] else 1.0
                    else:
                        li = 0
                        lq = 0
                        for b in range(per_axis):
                            li = 2 * li + bits[pos + b]
                            lq = 2 * lq + bits[pos + per_axis + b]
                        known[s, j] = complex(label_level[li], label_level[lq])
        return h, noise, noise_mean, snr, est_err, ntaps, zf, llr, exact, info, known

    @njit(cache=True, error_model="numpy")
    def _refine_noise_nb(zf, known, h, idd, noise, noise_mean, est_err, num_pilots):  # pragma: no cover
        """``estimation.refine_noise`` on arrays: (noise [U], noise_mean, snr) after adding the
        decoded header's ZF residuals to the LTS pair's noise samples."""
        s_n, nd = zf.shape
        acc = 0.0
        for s in range(s_n):
            for j in range(nd):
                e = (zf[s, j] - known[s, j]) * h[idd[j]]
                acc += e.real * e.real + e.imag * e.imag
        m = s_n * nd
        u = h.size
        hdr_noise = acc / m / (1.0 + est_err + 1.0 / (3 * num_pilots))
        new = max((u * noise_mean + m * hdr_noise) / (u + m), 1e-20)
        e = 0.0
        for k in range(u):
            e += h[k].real * h[k].real + h[k].imag * h[k].imag
        signal = e / u - est_err * new
        return noise * (new / noise_mean), new, max(signal, 1e-3 * new) / new

    @njit(cache=True, error_model="numpy")
    def _payload_nb(buf, a0, count, sl, cp, rel, n, cfo, dc, w_iq, rev, tw, h, noise, est_err, ip, idd, bins_p,
                    pilots, kp, kp2, tk, times, fit_upto, fit_tdot, bound, tmax, kd_max, kd_int_max, kd_col, bins_d,
                    mmse, check_intact):  # pragma: no cover
        """The payload stage in one call: FFT windows of ``count`` symbols (the first CP starting
        at buffer index ``a0``, ``rel`` samples after the LTS start), equalisation + pilot
        tracking and, if ``check_intact``, the analog integrity test. Returns (data, zf, noise
        variance rows of both, drift, intact)."""
        starts = np.empty(count, np.int64)
        wt = np.empty(count)
        for s in range(count):
            starts[s] = a0 + s * sl + cp
            wt[s] = float(s * sl + cp) + rel
        y = _windows_nb(buf, starts, wt, n, cfo, dc, w_iq, rev, tw)
        data, zf, nv, nv_unb, drift = _equalize_from_estimate_nb(
            y, h, noise, est_err, ip, idd, bins_p, pilots, kp, kp2, tk, times, fit_upto, fit_tdot, bound, tmax, kd_max,
            kd_int_max, kd_col, bins_d, mmse)
        intact = True
        if check_intact:
            intact = _payload_intact_nb(y, h[ip], noise[ip], bins_p, pilots)
        return data, zf, nv, nv_unb, drift, intact

    @njit(cache=True, error_model="numpy")
    def _detect_nb(x, prod, period, window, block, threshold):  # pragma: no cover
        """``sync.detect_peak`` on the lag products ``prod = conj(x[:-D]) x[D:]`` (complex64,
        from numpy): the same cumulative sums (complex128 / float64, in order) and tests."""
        n = x.size - window - period + 1
        if n <= 0:
            return 0, -1, -1, False
        cp = np.empty(prod.size + 1, np.complex128)
        cp[0] = 0
        acc = 0j
        for k in range(prod.size):
            acc += complex(prod[k])
            cp[k + 1] = acc
        e = np.empty(x.size + 1)
        e[0] = 0.0
        s = 0.0
        for k in range(x.size):
            v = x[k].real * x[k].real + x[k].imag * x[k].imag  # float32, as numpy
            s += v
            e[k + 1] = s
        valid = min(n, block)
        i = -1
        for d in range(valid):
            p = cp[window + d] - cp[d]
            p2 = p.real * p.real + p.imag * p.imag
            r = 0.5 * ((e[d + window] - e[d]) + (e[d + period + window] - e[d + period]))
            if p2 > threshold * (r * r):
                i = d
                break
        if i < 0:
            return valid, -1, -1, False
        d = i
        while True:
            if d + window > n:
                return valid, i, d, False
            best = -1.0
            arg = 0
            for k in range(d, d + window):
                p = cp[window + k] - cp[k]
                r = 0.5 * ((e[k + window] - e[k]) + (e[k + period + window] - e[k + period]))
                q = (p.real * p.real + p.imag * p.imag) / (r * r + 1e-30)
                if q > best:
                    best = q
                    arg = k
            if arg == d:
                return valid, i, d, True
            d = arg

    @njit(cache=True, error_model="numpy")
    def _rotate_nb(raw, cfo, n0, n):  # pragma: no cover
        """``sync.rotate``: ``raw`` (complex [m]) times ``exp(-2j pi cfo (k + n0) / n)``; complex128."""
        w = -2 * np.pi * cfo / n
        out = np.empty(raw.size, np.complex128)
        for k in range(raw.size):
            out[k] = raw[k] * np.exp((1j * w) * (k + n0))
        return out

    @njit(cache=True, error_model="numpy")
    def _synchronize_nb(x, d, n, cp, short_len, long_gi, search, period, rev, tw, next_bin, hyps, hyp_idx,
                        pair_ref_conj, ref, used_bins, pair_energy, verify_threshold, multipath_threshold,
                        backoff):  # pragma: no cover
        """``sync.synchronize`` for a detection at ``x[d]``: (verified, LTS window start t,
        CFO in subcarriers, quality rho, first preamble sample), buffer indices; the same steps
        (``multipath_threshold < 0``: no multipath test)."""
        window = short_len - period
        p = 0j
        for k in range(window):
            p += np.conj(complex(x[d + k])) * complex(x[d + k + period])
        eps_c = np.arctan2(p.imag, p.real) * n / (2 * np.pi * period)
        lts_nom = d + short_len + long_gi
        lo = lts_nom - search
        raw = x[lo : lts_nom + 2 * n + search]
        rot_c = _rotate_nb(raw, eps_c, lo - d, n)
        y = np.empty((1, n), np.complex128)
        for k in range(n):
            y[0, k] = rot_c[search + k] + rot_c[search + n + k]
        _fft_rows_nb(y, rev, tw)
        z = np.empty(n, np.complex128)
        mag = np.empty(n)
        for k in range(n):
            z[k] = y[0, k] * np.conj(y[0, next_bin[k]])
            mag[k] = abs(z[k])
        nh, npair = hyp_idx.shape
        q = np.empty(nh)
        for hi in range(nh):
            acc = 0j
            den = 0.0
            for j in range(npair):
                acc += z[hyp_idx[hi, j]] * pair_ref_conj[j]
                den += mag[hyp_idx[hi, j]]
            q[hi] = abs(acc) / (den + 1e-30)
        order = np.argsort(q)[::-1]
        nlag = raw.size - 2 * n + 1
        ref_conj = np.conj(ref[:n])
        best_rho = -1.0
        best_eps = 0.0
        best_peak = 0
        best_c = np.zeros(nlag)
        best_seg = rot_c
        c = np.empty(nlag)
        wf = np.empty((2, n), np.complex128)
        for rank in range(nh):
            if rank == 1 and best_rho > 2 * verify_threshold and q[order[1]] < 0.8 * q[order[0]]:
                break
            if rank >= 2 and best_rho >= verify_threshold:
                break
            g = hyps[order[rank]]
            eps_g = eps_c + float(g)
            seg_g = rot_c if g == 0 else _rotate_nb(raw, eps_g, lo - d, n)
            # the reference is the LTS twice: correlate the sum of the two halves with one LTS
            # (half the products of np.correlate with the pair; the same sums regrouped)
            pair = np.empty(nlag + n - 1, np.complex128)
            for k in range(nlag + n - 1):
                pair[k] = seg_g[k] + seg_g[k + n]
            c = np.empty(nlag)
            peak = 0
            for k in range(nlag):
                acc = 0j
                for m in range(n):
                    acc += pair[k + m] * ref_conj[m]
                c[k] = acc.real * acc.real + acc.imag * acc.imag
                if c[k] > c[peak]:
                    peak = k
            for r in range(2):
                for m in range(n):
                    wf[r, m] = seg_g[peak + r * n + m]
            _fft_rows_nb(wf, rev, tw)
            energy = 0.0
            for r in range(2):
                for b in used_bins:
                    energy += wf[r, b].real * wf[r, b].real + wf[r, b].imag * wf[r, b].imag
            rho_g = c[peak] / (energy * pair_energy + 1e-30)
            if rank == 0 or rho_g > best_rho:
                best_rho, best_eps, best_peak, best_c, best_seg = rho_g, eps_g, peak, c, seg_g
        rho, eps, peak, c, seg = best_rho, best_eps, best_peak, best_c, best_seg
        if rho < verify_threshold:
            if multipath_threshold < 0:
                return False, 0, 0.0, rho, 0
            half = cp // 4
            lo_l = max(peak - half, 0)
            hi_l = min(peak + half + 1, c.size)
            tot = 0.0
            for k in range(lo_l, hi_l):
                tot += c[k]
            if tot * rho / (c[peak] + 1e-30) < multipath_threshold:
                return False, 0, 0.0, rho, 0
        first = peak
        level = 0.25 * c[peak]
        for k in range(max(peak - cp // 2, 0), peak):
            if c[k] >= level:
                first = k
                break
        t = lo + first - backoff
        if first >= backoff:
            a = seg[first - backoff : first - backoff + 2 * n]
        else:
            a = _rotate_nb(x[t : t + 2 * n], eps, t - d, n)
        v = 0j
        for k in range(n):
            v += np.conj(a[k]) * a[n + k]
        eps += np.arctan2(v.imag, v.real) / (2 * np.pi)
        return True, t, eps, rho, t + backoff - long_gi - short_len

    @njit(cache=True, error_model="numpy")
    def _evm_nb(zf, bits, used, bpsk, per_axis, label_level):  # pragma: no cover
        """Error power of the symbols ``zf`` (complex [n]) at the indices ``used`` against the
        constellation points of ``bits`` (uint8 [n * bits per symbol]), relative to their power
        (the receiver's digital EVM, linear)."""
        bps = 1 if bpsk else 2 * per_axis
        num = 0.0
        den = 0.0
        for i in used:
            pos = i * bps
            if bpsk:
                ref = complex(-1.0 if bits[pos] else 1.0, 0.0)
            else:
                li = 0
                lq = 0
                for b in range(per_axis):
                    li = 2 * li + bits[pos + b]
                    lq = 2 * lq + bits[pos + per_axis + b]
                ref = complex(label_level[li], label_level[lq])
            e = zf[i] - ref
            num += e.real * e.real + e.imag * e.imag
            den += ref.real * ref.real + ref.imag * ref.imag
        return num / den

    @njit(cache=True, error_model="numpy")
    def _digital_decode_nb(zf, nv_row, bpsk, levels, labels, per_axis, sel, inv0, inv1, enc0, enc1, trellis):  # pragma: no cover
        """Digital payload, first half: LLRs of every slot (float32, ``demodulate_llr``'s), the
        coded bits' LLRs picked by ``sel`` (the de-interleaver), then ``fec.viterbi_decode``'s
        single-codeword path: non-finite LLRs clipped, the hard-decision codeword shortcut, else
        the full-length Viterbi. Returns (slot LLRs, information bits uint8)."""
        llr = _demap_nb(zf, nv_row, bpsk, levels, labels, per_axis)
        x = np.empty(sel.size)
        for i in range(sel.size):
            v = float(llr[sel[i]])
            if np.isnan(v):
                v = 0.0
            elif v == np.inf:
                v = 1e6
            elif v == -np.inf:
                v = -1e6
            x[i] = v
        ok, info = _codeword_nb(x, inv0, inv1, enc0, enc1)
        if not ok:
            info = _viterbi_k7(x, trellis)[: x.size // 2 - 6].copy()
        return llr, info

    @njit(cache=True, error_model="numpy")
    def _digital_finish_nb(zf, data, nv_row, llr, sel, info, reencode, bpsk, per_axis, label_level, enc0, enc1):  # pragma: no cover
        """Digital payload, second half: the resource elements carrying coded bits (sorted), their
        symbols (complex64) and noise variances (float32), and the EVM (linear) against the
        re-encoded bits (``reencode``: the CRC passed) or else the hard decisions."""
        bps = 1 if bpsk else 2 * per_axis
        bits = np.empty(llr.size, np.uint8)
        for i in range(llr.size):
            bits[i] = 1 if llr[i] < 0 else 0
        if reencode:
            steps = info.size + 6
            for t in range(steps):
                e0 = 0
                e1 = 0
                for d in enc0:
                    if d <= t < info.size + d:
                        e0 ^= info[t - d]
                for d in enc1:
                    if d <= t < info.size + d:
                        e1 ^= info[t - d]
                bits[sel[2 * t]] = e0
                bits[sel[2 * t + 1]] = e1
        nd = zf.shape[1]
        used = np.zeros(zf.size, np.bool_)
        for i in range(sel.size):
            used[sel[i] // bps] = True
        idx = np.nonzero(used)[0]
        zflat = zf.ravel()
        dflat = data.ravel()
        symbols = np.empty(idx.size, np.complex64)
        noise = np.empty(idx.size, np.float32)
        for j in range(idx.size):
            symbols[j] = dflat[idx[j]]
            noise[j] = nv_row[idx[j] % nd]
        return symbols, noise, _evm_nb(zflat, bits, idx, bpsk, per_axis, label_level)
