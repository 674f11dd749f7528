// The air between our loopback device's TX and RX: a timeline of transmitted bursts that the
// receiver reads back with a delay, a path gain, a frequency offset, additive noise and ADC clipping.
// Sample indices are absolute ticks of the device clock at the current sample rate.
#pragma once

#include <complex>
#include <cstdint>
#include <deque>
#include <vector>

namespace vlmcsc {

using cf32 = std::complex<float>;

struct ChannelParams {
    long long delay = 0;          // samples from TX to RX (>= 0)
    double path_gain_db = 0.0;    // cable + attenuators, dB
    double noise_dbfs = -90.0;    // noise power at the RX input per complex sample, dB full scale
    double offset_hz = 0.0;       // extra frequency offset TX->RX (oscillator error), Hz
    uint64_t seed = 1;            // noise seed
};

class LoopbackChannel {
public:
    explicit LoopbackChannel(const ChannelParams &params);

    // Queue a burst of TX samples starting at absolute tick `start` (already TX-gain scaled).
    void addBurst(long long start, const cf32 *samples, size_t n);

    // Fill out[0..n) with what the receiver sees at ticks [start, start+n): delayed, shifted,
    // attenuated TX plus noise, times rx_gain (linear), clipped to |I|,|Q| <= 1.
    void render(long long start, cf32 *out, size_t n, double sample_rate, double tx_minus_rx_hz,
                float rx_gain) const;

    // Drop bursts whose last sample (after the delay) is before `tick`.
    void forgetBefore(long long tick);

    // End of the last queued burst (tick after its last sample), or `fallback` if none.
    long long queueEnd(long long fallback) const;

    void clear() { bursts_.clear(); }
    ChannelParams params;

private:
    struct Burst {
        long long start;
        std::vector<cf32> samples;
    };
    std::deque<Burst> bursts_;
    std::vector<cf32> noise_table_;  // unit-power complex Gaussian, indexed by hashed tick
};

}  // namespace vlmcsc
