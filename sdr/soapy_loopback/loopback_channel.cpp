#include "loopback_channel.hpp"

#include <algorithm>
#include <cmath>
#include <random>

namespace vlmcsc {

namespace {
constexpr size_t kNoiseTableBits = 18;  // 256 k samples: long enough that reuse is invisible
constexpr size_t kNoiseBlockBits = 12;  // each 4 k block of ticks starts at a hashed table offset

uint64_t mix64(uint64_t x) {  // splitmix64 finaliser: cheap, well-spread hash
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

float clip1(float v) { return std::max(-1.0f, std::min(1.0f, v)); }
}  // namespace

LoopbackChannel::LoopbackChannel(const ChannelParams &p) : params(p) {
    // A table of noise looked up by tick keeps the noise a function of the absolute sample index:
    // the same capture comes out whatever chunk sizes the reader uses (reproducible tests), and
    // no Gaussian generator runs in the streaming hot path.
    std::mt19937_64 rng(p.seed);
    std::normal_distribution<float> gauss(0.0f, std::sqrt(0.5f));
    noise_table_.resize(size_t(1) << kNoiseTableBits);
    for (auto &v : noise_table_) v = cf32(gauss(rng), gauss(rng));
}

void LoopbackChannel::addBurst(long long start, const cf32 *samples, size_t n) {
    if (n == 0) return;
    // Continuous streaming arrives as back-to-back writes: extend the last burst instead of
    // growing the queue by one entry per write.
    // (up to 1 M samples per entry, so an endless stream is still forgotten piece by piece)
    if (!bursts_.empty()) {
        Burst &last = bursts_.back();
        if (last.start + (long long)last.samples.size() == start &&
            last.samples.size() + n <= (size_t(1) << 20)) {
            last.samples.insert(last.samples.end(), samples, samples + n);
            return;
        }
    }
    bursts_.push_back(Burst{start, std::vector<cf32>(samples, samples + n)});
}

void LoopbackChannel::forgetBefore(long long tick) {
    while (!bursts_.empty()) {
        const Burst &b = bursts_.front();
        if (b.start + (long long)b.samples.size() + params.delay > tick) break;
        bursts_.pop_front();
    }
}

long long LoopbackChannel::queueEnd(long long fallback) const {
    if (bursts_.empty()) return fallback;
    const Burst &b = bursts_.back();
    return b.start + (long long)b.samples.size();
}

void LoopbackChannel::render(long long start, cf32 *out, size_t n, double sample_rate,
                             double tx_minus_rx_hz, float rx_gain) const {
    const float noise_amp = float(std::pow(10.0, params.noise_dbfs / 20.0));
    const size_t mask = noise_table_.size() - 1;
    for (size_t k = 0; k < n;) {
        const long long tick = start + (long long)k;
        const uint64_t block = uint64_t(tick) >> kNoiseBlockBits;
        const size_t offset = size_t(mix64(block ^ mix64(params.seed)));
        const long long block_end = (long long)((block + 1) << kNoiseBlockBits);
        const size_t run = std::min(n - k, size_t(block_end - tick));
        for (size_t j = 0; j < run; ++j)
            out[k + j] = noise_amp * noise_table_[(size_t(tick) + j + offset) & mask];
        k += run;
    }

    const double offset_hz = tx_minus_rx_hz + params.offset_hz;
    // A receiver only sees a transmitter inside its own band.
    const bool in_band = std::abs(offset_hz) < 0.5 * sample_rate;
    const float amp = float(std::pow(10.0, params.path_gain_db / 20.0));
    if (in_band) {
        const double w = 2.0 * M_PI * offset_hz / sample_rate;
        const long long end = start + (long long)n;
        for (const Burst &b : bursts_) {
            const long long b0 = b.start + params.delay;
            const long long b1 = b0 + (long long)b.samples.size();
            const long long lo = std::max(b0, start), hi = std::min(b1, end);
            if (lo >= hi) continue;
            // Phase follows the absolute tick, so an offset is continuous across reads.
            std::complex<double> rot = std::polar(1.0, std::fmod(w * double(lo), 2.0 * M_PI));
            const std::complex<double> step = std::polar(1.0, w);
            for (long long t = lo; t < hi; ++t) {
                const cf32 s = b.samples[size_t(t - b0)];
                out[t - start] += amp * (offset_hz == 0.0 ? s : s * cf32(rot));
                rot *= step;
            }
        }
    }
    for (size_t k = 0; k < n; ++k) {
        const cf32 v = rx_gain * out[k];
        out[k] = cf32(clip1(v.real()), clip1(v.imag()));
    }
}

}  // namespace vlmcsc
