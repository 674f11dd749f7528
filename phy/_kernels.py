"""Compiled per-frame kernels (numba ``@njit(cache=True)``), with the numpy code as the reference.

``AVAILABLE`` says whether numba imported; without it the callers keep their numpy paths and a
warning says so once (never a crash). Kernels so far:

- :func:`viterbi_k7`: soft-decision Viterbi of the terminated K=7 [133, 171] code, one codeword,
  scalar loops over 64 states x 2 predecessors (full-length ML, no windows). Same bits as
  ``fec.viterbi_decode``'s numpy path wherever that one is exact ML (tests/test_phy_kernels.py).
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
# Each mirrors a numpy reference in estimation.py / integrity.py operation by operation (the same
# formulas, loops instead of array calls); results agree to float rounding
# (tests/test_phy_kernels.py). The receiver calls them through :mod:`.stages_nb`-style wrappers
# in estimation.py / integrity.py when its backend is "numba".

if AVAILABLE:

    @njit(cache=True)
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
                x = rhs / u
            else:
                g = np.empty((m, m), np.complex128)
                for i in range(m):
                    for j in range(m):
                        g[i, j] = gram[idx[i], idx[j]]
                x = np.linalg.solve(g, rhs)
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

    @njit(cache=True)
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

    @njit(cache=True)
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
            out[i] = sm / (abs(sm) + 1e-30)
        return out

    @njit(cache=True)
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

    @njit(cache=True)
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
            c = c / (sp + 1e-30)
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
