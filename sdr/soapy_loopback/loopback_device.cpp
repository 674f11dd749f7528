// driver=vlmcsc_loopback: a SoapySDR device whose TX is cabled to its own RX (see
// loopback_channel.hpp). It behaves like a real radio where it matters to a host program:
//  - the clock runs in real time at the sample rate; RX samples accrue whether or not anyone
//    reads, so a slow reader overflows (readStream returns SOAPY_SDR_OVERFLOW once, then resumes
//    at "now"); an RX FIFO of `rx_buffer` samples absorbs short stalls;
//  - readStream waits for data and returns SOAPY_SDR_TIMEOUT when none arrives in time;
//  - hardware time (HAS_TIME): RX buffers carry timestamps, TX bursts can be timed; a timed
//    burst in the past is dropped and reported as SOAPY_SDR_TIME_ERROR by readStreamStatus;
//    a continuous TX stream that runs dry is reported as SOAPY_SDR_UNDERFLOW;
//  - per-stage gains, frequency, sample rate, bandwidth, antennas, CF32 streams;
//  - faults for tests: setting `fault` = stall | unplug | overflow_storm | none, or the device
//    argument `unplug_after=<samples>` (the device "disappears" mid-stream).
// Device arguments (all optional): delay, path_gain_db, noise_dbfs, offset_hz, seed, rx_buffer,
// tx_buffer, mtu, unplug_after. Unknown arguments are refused with a list of the known ones.
#include "loopback_channel.hpp"

#include <SoapySDR/Device.hpp>
#include <SoapySDR/Formats.hpp>
#include <SoapySDR/Registry.hpp>
#include <SoapySDR/Time.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>

namespace {

using vlmcsc::cf32;
using Clock = std::chrono::steady_clock;

const char *kDriver = "vlmcsc_loopback";
const char *kSerial = "vlmcsc-lb0";

const std::set<std::string> kKnownArgs = {"delay",  "path_gain_db", "noise_dbfs", "offset_hz",
                                          "seed",   "rx_buffer",    "tx_buffer",  "mtu",
                                          "unplug_after"};
// keys SoapySDR or its users add to every argument string; accepted and ignored
const std::set<std::string> kGenericArgs = {"driver", "label", "serial", "type", "hardware"};

double parseNumber(const SoapySDR::Kwargs &args, const std::string &key, double fallback,
                   double lo, double hi) {
    auto it = args.find(key);
    if (it == args.end()) return fallback;
    size_t used = 0;
    double v = 0;
    try {
        v = std::stod(it->second, &used);
    } catch (const std::exception &) {
        used = 0;
    }
    if (used == 0 || used != it->second.size() || !std::isfinite(v) || v < lo || v > hi)
        throw std::invalid_argument(std::string(kDriver) + ": device argument " + key + "='" +
                                    it->second + "' must be a number in [" + std::to_string(lo) +
                                    ", " + std::to_string(hi) + "]");
    return v;
}

struct LoopStream {
    int direction;
};

struct StatusEvent {
    int code;
    int flags;
    long long time_ns;
};

class LoopbackDevice : public SoapySDR::Device {
public:
    explicit LoopbackDevice(const SoapySDR::Kwargs &args) : channel_(channelParams(args)) {
        for (const auto &kv : args) {
            if (kKnownArgs.count(kv.first) || kGenericArgs.count(kv.first)) continue;
            if (kv.first.rfind("soapy", 0) == 0 || kv.first.rfind("remote", 0) == 0) continue;
            std::string known;
            for (const auto &k : kKnownArgs) known += (known.empty() ? "" : ", ") + k;
            throw std::invalid_argument(std::string(kDriver) + ": unknown device argument '" +
                                        kv.first + "'; known: " + known);
        }
        rx_buffer_ = (long long)parseNumber(args, "rx_buffer", 1 << 18, 1024, 1 << 26);
        tx_buffer_ = (long long)parseNumber(args, "tx_buffer", 1 << 24, 1024, 1 << 28);
        mtu_ = (size_t)parseNumber(args, "mtu", 8192, 64, 1 << 20);
        unplug_after_ = (long long)parseNumber(args, "unplug_after", -1, -1, 1e15);
        gains_[SOAPY_SDR_TX]["PGA"] = 0.0;  // safest default: lowest TX gain
        gains_[SOAPY_SDR_RX]["LNA"] = 0.0;
        gains_[SOAPY_SDR_RX]["PGA"] = 0.0;
        freq_[SOAPY_SDR_TX] = freq_[SOAPY_SDR_RX] = 2.45e9;
        bandwidth_[SOAPY_SDR_TX] = bandwidth_[SOAPY_SDR_RX] = rate_;
        antenna_[SOAPY_SDR_TX] = "TX/RX";
        antenna_[SOAPY_SDR_RX] = "RX2";
        rebaseClock(0);
    }

    static vlmcsc::ChannelParams channelParams(const SoapySDR::Kwargs &args) {
        vlmcsc::ChannelParams p;
        p.delay = (long long)parseNumber(args, "delay", 0, 0, 1e9);
        p.path_gain_db = parseNumber(args, "path_gain_db", -30.0, -200.0, 0.0);
        p.noise_dbfs = parseNumber(args, "noise_dbfs", -90.0, -300.0, 0.0);
        p.offset_hz = parseNumber(args, "offset_hz", 0.0, -1e9, 1e9);
        p.seed = (uint64_t)parseNumber(args, "seed", 1, 0, 1e18);
        return p;
    }

    // -- identification ----------------------------------------------------------------------
    std::string getDriverKey() const override { return kDriver; }
    std::string getHardwareKey() const override { return "vlmcsc-loopback"; }
    SoapySDR::Kwargs getHardwareInfo() const override {
        return {{"origin", "vlmcsc (sdr/soapy_loopback)"}, {"serial", kSerial},
                {"description", "TX looped to RX with delay, gain, noise, offset"}};
    }
    size_t getNumChannels(const int) const override { return 1; }
    bool getFullDuplex(const int, const size_t) const override { return true; }

    // -- streams ---------------------------------------------------------------------------
    std::vector<std::string> getStreamFormats(const int, const size_t) const override {
        return {SOAPY_SDR_CF32};
    }
    std::string getNativeStreamFormat(const int, const size_t, double &fullScale) const override {
        fullScale = 1.0;
        return SOAPY_SDR_CF32;
    }

    SoapySDR::Stream *setupStream(const int direction, const std::string &format,
                                  const std::vector<size_t> &channels,
                                  const SoapySDR::Kwargs &) override {
        if (format != SOAPY_SDR_CF32)
            throw std::invalid_argument(std::string(kDriver) + ": stream format '" + format +
                                        "' not supported; use CF32");
        for (size_t c : channels)
            if (c != 0) throw std::invalid_argument(std::string(kDriver) + ": only channel 0");
        return reinterpret_cast<SoapySDR::Stream *>(new LoopStream{direction});
    }

    void closeStream(SoapySDR::Stream *stream) override {
        std::lock_guard<std::mutex> lock(mutex_);
        auto *s = reinterpret_cast<LoopStream *>(stream);
        if (s->direction == SOAPY_SDR_RX) rx_active_ = false; else tx_active_ = false;
        delete s;
        cv_.notify_all();
    }

    size_t getStreamMTU(SoapySDR::Stream *) const override { return mtu_; }

    int activateStream(SoapySDR::Stream *stream, const int flags, const long long timeNs,
                       const size_t) override {
        std::lock_guard<std::mutex> lock(mutex_);
        if (unplugged_) return SOAPY_SDR_STREAM_ERROR;
        auto *s = reinterpret_cast<LoopStream *>(stream);
        if (s->direction == SOAPY_SDR_RX) {
            rx_active_ = true;
            rx_pos_ = (flags & SOAPY_SDR_HAS_TIME) ? std::max(nsToTick(timeNs), nowTick())
                                                   : nowTick();
            overflow_toggle_ = false;
        } else {
            tx_active_ = true;
            tx_in_burst_ = false;
        }
        return 0;
    }

    int deactivateStream(SoapySDR::Stream *stream, const int, const long long) override {
        std::lock_guard<std::mutex> lock(mutex_);
        auto *s = reinterpret_cast<LoopStream *>(stream);
        if (s->direction == SOAPY_SDR_RX) rx_active_ = false; else tx_active_ = false;
        cv_.notify_all();
        return 0;
    }

    int readStream(SoapySDR::Stream *stream, void *const *buffs, const size_t numElems, int &flags,
                   long long &timeNs, const long timeoutUs) override {
        std::unique_lock<std::mutex> lock(mutex_);
        flags = 0;
        if (reinterpret_cast<LoopStream *>(stream)->direction != SOAPY_SDR_RX)
            return SOAPY_SDR_NOT_SUPPORTED;
        const auto deadline = Clock::now() + std::chrono::microseconds(std::max(0L, timeoutUs));
        while (true) {
            if (unplugged_ || !rx_active_) return SOAPY_SDR_STREAM_ERROR;
            const long long now = nowTick();
            if (fault_ == "stall") {
                // a hung device delivers nothing; when it recovers it resumes at "now"
                rx_pos_ = now;
                if (cv_.wait_until(lock, deadline) == std::cv_status::timeout)
                    return SOAPY_SDR_TIMEOUT;
                continue;
            }
            if (fault_ == "overflow_storm") {
                overflow_toggle_ = !overflow_toggle_;
                if (overflow_toggle_) {
                    rx_pos_ = now;
                    return SOAPY_SDR_OVERFLOW;
                }
            }
            if (now - rx_pos_ > rx_buffer_) {
                // FIFO full: the samples in it are lost, the stream resumes with fresh ones
                rx_pos_ = now;
                return SOAPY_SDR_OVERFLOW;
            }
            const long long avail = now - rx_pos_;
            const long long want = (long long)std::min(numElems, mtu_);
            const bool expired = Clock::now() >= deadline;
            if (avail >= want || (avail > 0 && expired)) {
                size_t n = (size_t)std::min<long long>(avail, (long long)numElems);
                if (unplug_after_ >= 0 && delivered_ + (long long)n > unplug_after_) {
                    n = (size_t)std::max<long long>(0, unplug_after_ - delivered_);
                    if (n == 0) {
                        unplugged_ = true;
                        return SOAPY_SDR_STREAM_ERROR;
                    }
                }
                channel_.render(rx_pos_, static_cast<cf32 *>(buffs[0]), n, rate_,
                                freq_[SOAPY_SDR_TX] - freq_[SOAPY_SDR_RX], rxGainLinear());
                flags |= SOAPY_SDR_HAS_TIME;
                timeNs = tickToNs(rx_pos_);
                rx_pos_ += (long long)n;
                delivered_ += (long long)n;
                channel_.forgetBefore(rx_pos_);
                return (int)n;
            }
            if (expired) return SOAPY_SDR_TIMEOUT;
            // sleep until enough samples have accrued (or the deadline), then look again
            const double wait_s = double(want - avail) / rate_;
            auto until = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                            std::chrono::duration<double>(wait_s));
            cv_.wait_until(lock, std::min(until, deadline));
        }
    }

    int writeStream(SoapySDR::Stream *stream, const void *const *buffs, const size_t numElems,
                    int &flags, const long long timeNs, const long timeoutUs) override {
        std::unique_lock<std::mutex> lock(mutex_);
        if (reinterpret_cast<LoopStream *>(stream)->direction != SOAPY_SDR_TX)
            return SOAPY_SDR_NOT_SUPPORTED;
        if (unplugged_ || !tx_active_) return SOAPY_SDR_STREAM_ERROR;
        const long long latency = std::max<long long>(64, (long long)(1e-3 * rate_));
        long long now = nowTick();
        long long start;
        if (flags & SOAPY_SDR_HAS_TIME) {
            start = nsToTick(timeNs);
            // late: its time has passed, or the previous burst is still on the air then;
            // the burst is dropped and the host hears about it later (as from a USRP)
            if (start < now || start < channel_.queueEnd(start)) {
                pushEvent(SOAPY_SDR_TIME_ERROR, 0, timeNs);
                tx_in_burst_ = false;
                return (int)numElems;
            }
        } else if (tx_in_burst_) {
            start = tx_next_;
            if (start < now) {  // continuous stream ran dry: a gap went out on the air
                pushEvent(SOAPY_SDR_UNDERFLOW, 0, tickToNs(start));
                start = now + latency;
            }
        } else {
            start = std::max(now + latency, channel_.queueEnd(now));
        }
        // back-pressure: untimed samples queue behind the ones not yet on the air
        const auto deadline = Clock::now() + std::chrono::microseconds(std::max(0L, timeoutUs));
        while (!(flags & SOAPY_SDR_HAS_TIME) && start - now > tx_buffer_) {
            if (Clock::now() >= deadline) return SOAPY_SDR_TIMEOUT;
            cv_.wait_until(lock, std::min(deadline, Clock::now() + std::chrono::milliseconds(5)));
            if (unplugged_ || !tx_active_) return SOAPY_SDR_STREAM_ERROR;
            now = nowTick();
        }
        // TX gain 90 dB (the maximum) sends the samples at full scale; every dB less is 1 dB weaker
        const float amp = float(std::pow(10.0, (gains_[SOAPY_SDR_TX]["PGA"] - 90.0) / 20.0));
        const cf32 *in = static_cast<const cf32 *>(buffs[0]);
        scratch_.resize(numElems);
        for (size_t k = 0; k < numElems; ++k)  // the DAC clips at full scale
            scratch_[k] = amp * cf32(std::max(-1.0f, std::min(1.0f, in[k].real())),
                                     std::max(-1.0f, std::min(1.0f, in[k].imag())));
        if (!rx_active_) channel_.forgetBefore(now);  // nobody will read what is past
        channel_.addBurst(start, scratch_.data(), numElems);
        tx_next_ = start + (long long)numElems;
        tx_in_burst_ = !(flags & SOAPY_SDR_END_BURST);
        return (int)numElems;
    }

    int readStreamStatus(SoapySDR::Stream *stream, size_t &chanMask, int &flags, long long &timeNs,
                         const long timeoutUs) override {
        std::unique_lock<std::mutex> lock(mutex_);
        if (reinterpret_cast<LoopStream *>(stream)->direction != SOAPY_SDR_TX)
            return SOAPY_SDR_NOT_SUPPORTED;
        const auto deadline = Clock::now() + std::chrono::microseconds(std::max(0L, timeoutUs));
        while (events_.empty()) {
            if (unplugged_) return SOAPY_SDR_STREAM_ERROR;
            if (cv_.wait_until(lock, deadline) == std::cv_status::timeout && events_.empty())
                return SOAPY_SDR_TIMEOUT;
        }
        StatusEvent e = events_.front();
        events_.pop_front();
        chanMask = 1;
        flags = e.flags | SOAPY_SDR_HAS_TIME;
        timeNs = e.time_ns;
        return e.code;
    }

    // -- antennas ----------------------------------------------------------------------------
    std::vector<std::string> listAntennas(const int direction, const size_t) const override {
        if (direction == SOAPY_SDR_TX) return {"TX/RX"};
        return {"RX2", "TX/RX"};
    }
    void setAntenna(const int direction, const size_t ch, const std::string &name) override {
        const auto names = listAntennas(direction, ch);
        if (std::find(names.begin(), names.end(), name) == names.end())
            throw std::invalid_argument(std::string(kDriver) + ": no antenna '" + name + "'");
        std::lock_guard<std::mutex> lock(mutex_);
        antenna_[direction] = name;
    }
    std::string getAntenna(const int direction, const size_t) const override {
        std::lock_guard<std::mutex> lock(mutex_);
        return antenna_.at(direction);
    }

    // -- gains (TX: PGA; RX: LNA + PGA; the base class splits an overall gain over stages) ----
    std::vector<std::string> listGains(const int direction, const size_t) const override {
        if (direction == SOAPY_SDR_TX) return {"PGA"};
        return {"LNA", "PGA"};
    }
    SoapySDR::Range getGainRange(const int direction, const size_t,
                                 const std::string &name) const override {
        // Every stage starts at 0 dB so that an overall gain (the base class fills the stages in
        // order) means the same as the sum of the stages, as on most SoapySDR devices.
        if (direction == SOAPY_SDR_TX && name == "PGA") return SoapySDR::Range(0.0, 90.0, 0.25);
        if (direction == SOAPY_SDR_RX && name == "LNA") return SoapySDR::Range(0.0, 30.0, 1.0);
        if (direction == SOAPY_SDR_RX && name == "PGA") return SoapySDR::Range(0.0, 40.0, 0.5);
        throw std::invalid_argument(std::string(kDriver) + ": no gain stage '" + name + "'");
    }
    void setGain(const int direction, const size_t ch, const std::string &name,
                 const double value) override {
        const SoapySDR::Range r = getGainRange(direction, ch, name);
        std::lock_guard<std::mutex> lock(mutex_);
        gains_[direction][name] = std::max(r.minimum(), std::min(r.maximum(), value));
    }
    double getGain(const int direction, const size_t ch, const std::string &name) const override {
        getGainRange(direction, ch, name);  // validates the name
        std::lock_guard<std::mutex> lock(mutex_);
        return gains_.at(direction).at(name);
    }

    // -- frequency ---------------------------------------------------------------------------
    std::vector<std::string> listFrequencies(const int, const size_t) const override {
        return {"RF"};
    }
    SoapySDR::RangeList getFrequencyRange(const int, const size_t) const override {
        return {SoapySDR::Range(70e6, 6e9)};
    }
    SoapySDR::RangeList getFrequencyRange(const int d, const size_t c,
                                          const std::string &name) const override {
        if (name != "RF")
            throw std::invalid_argument(std::string(kDriver) + ": no frequency component '" +
                                        name + "'");
        return getFrequencyRange(d, c);
    }
    void setFrequency(const int direction, const size_t, const double frequency,
                      const SoapySDR::Kwargs &) override {
        if (!(frequency >= 70e6 && frequency <= 6e9))
            throw std::invalid_argument(std::string(kDriver) + ": frequency " +
                                        std::to_string(frequency) + " Hz outside [70 MHz, 6 GHz]");
        std::lock_guard<std::mutex> lock(mutex_);
        freq_[direction] = frequency;
    }
    void setFrequency(const int d, const size_t c, const std::string &name, const double f,
                      const SoapySDR::Kwargs &args) override {
        getFrequencyRange(d, c, name);
        setFrequency(d, c, f, args);
    }
    double getFrequency(const int direction, const size_t) const override {
        std::lock_guard<std::mutex> lock(mutex_);
        return freq_.at(direction);
    }
    double getFrequency(const int d, const size_t c, const std::string &name) const override {
        getFrequencyRange(d, c, name);
        return getFrequency(d, c);
    }

    // -- sample rate and bandwidth (one clock shared by RX and TX) -----------------------------
    SoapySDR::RangeList getSampleRateRange(const int, const size_t) const override {
        return {SoapySDR::Range(100e3, 61.44e6)};
    }
    std::vector<double> listSampleRates(const int, const size_t) const override {
        return {250e3, 1e6, 2e6, 4e6, 8e6, 10e6, 20e6, 30.72e6, 61.44e6};
    }
    void setSampleRate(const int, const size_t, const double rate) override {
        if (!(rate >= 100e3 && rate <= 61.44e6))
            throw std::invalid_argument(std::string(kDriver) + ": sample rate " +
                                        std::to_string(rate) + " S/s outside [100 kS/s, 61.44 MS/s]");
        std::lock_guard<std::mutex> lock(mutex_);
        if (rate == rate_) return;
        const long long t = tickToNs(nowTick());
        rate_ = rate;
        rebaseClock(t);
    }
    double getSampleRate(const int, const size_t) const override {
        std::lock_guard<std::mutex> lock(mutex_);
        return rate_;
    }
    SoapySDR::RangeList getBandwidthRange(const int, const size_t) const override {
        return {SoapySDR::Range(200e3, 56e6)};
    }
    void setBandwidth(const int direction, const size_t, const double bw) override {
        if (!(bw >= 200e3 && bw <= 56e6))
            throw std::invalid_argument(std::string(kDriver) + ": bandwidth outside [200 kHz, 56 MHz]");
        std::lock_guard<std::mutex> lock(mutex_);
        bandwidth_[direction] = bw;
    }
    double getBandwidth(const int direction, const size_t) const override {
        std::lock_guard<std::mutex> lock(mutex_);
        return bandwidth_.at(direction);
    }

    // -- time --------------------------------------------------------------------------------
    bool hasHardwareTime(const std::string &what) const override { return what.empty(); }
    long long getHardwareTime(const std::string &) const override {
        std::lock_guard<std::mutex> lock(mutex_);
        return tickToNs(nowTick());
    }
    void setHardwareTime(const long long timeNs, const std::string &) override {
        std::lock_guard<std::mutex> lock(mutex_);
        time0_ns_ = timeNs - (long long)std::llround(double(nowTick()) * 1e9 / rate_);
    }

    // -- settings: live channel parameters and fault injection ---------------------------------
    SoapySDR::ArgInfoList getSettingInfo() const override {
        SoapySDR::ArgInfoList list;
        auto add = [&](const std::string &key, const std::string &desc, const std::string &value) {
            SoapySDR::ArgInfo a;
            a.key = key;
            a.name = key;
            a.description = desc;
            a.value = value;
            a.type = SoapySDR::ArgInfo::STRING;
            list.push_back(a);
        };
        add("fault", "injected fault: none | stall | unplug | overflow_storm", "none");
        add("path_gain_db", "TX->RX path gain, dB", "-30");
        add("noise_dbfs", "noise power at the RX input, dBFS", "-90");
        add("offset_hz", "frequency offset TX->RX, Hz", "0");
        add("delay", "TX->RX delay, samples", "0");
        return list;
    }
    void writeSetting(const std::string &key, const std::string &value) override {
        std::lock_guard<std::mutex> lock(mutex_);
        if (key == "fault") {
            if (value != "none" && value != "stall" && value != "unplug" && value != "overflow_storm")
                throw std::invalid_argument(std::string(kDriver) + ": fault must be none, stall, "
                                            "unplug or overflow_storm");
            fault_ = value;
            if (value == "unplug") unplugged_ = true;
            cv_.notify_all();
            return;
        }
        SoapySDR::Kwargs one{{key, value}};
        if (key == "path_gain_db") channel_.params.path_gain_db = parseNumber(one, key, 0, -200, 0);
        else if (key == "noise_dbfs") channel_.params.noise_dbfs = parseNumber(one, key, 0, -300, 0);
        else if (key == "offset_hz") channel_.params.offset_hz = parseNumber(one, key, 0, -1e9, 1e9);
        else if (key == "delay") channel_.params.delay = (long long)parseNumber(one, key, 0, 0, 1e9);
        else throw std::invalid_argument(std::string(kDriver) + ": unknown setting '" + key + "'");
    }
    std::string readSetting(const std::string &key) const override {
        std::lock_guard<std::mutex> lock(mutex_);
        if (key == "fault") return unplugged_ ? "unplug" : fault_;
        if (key == "path_gain_db") return std::to_string(channel_.params.path_gain_db);
        if (key == "noise_dbfs") return std::to_string(channel_.params.noise_dbfs);
        if (key == "offset_hz") return std::to_string(channel_.params.offset_hz);
        if (key == "delay") return std::to_string(channel_.params.delay);
        throw std::invalid_argument(std::string(kDriver) + ": unknown setting '" + key + "'");
    }

private:
    // caller holds mutex_
    long long nowTick() const {
        const double s = std::chrono::duration<double>(Clock::now() - base_t_).count();
        return (long long)std::floor(s * rate_);
    }
    long long tickToNs(long long tick) const {
        return time0_ns_ + (long long)std::llround(double(tick) * 1e9 / rate_);
    }
    long long nsToTick(long long ns) const {
        return (long long)std::llround(double(ns - time0_ns_) * rate_ / 1e9);
    }
    void rebaseClock(long long time_ns) {
        // a new rate restarts the tick count; queued samples belong to the old rate
        base_t_ = Clock::now();
        time0_ns_ = time_ns;
        channel_.clear();
        rx_pos_ = 0;
        tx_next_ = 0;
        tx_in_burst_ = false;
    }
    float rxGainLinear() const {
        const auto &g = gains_.at(SOAPY_SDR_RX);
        return float(std::pow(10.0, (g.at("LNA") + g.at("PGA")) / 20.0));
    }
    void pushEvent(int code, int flags, long long time_ns) {
        if (events_.size() < 1024) events_.push_back(StatusEvent{code, flags, time_ns});
        cv_.notify_all();
    }

    mutable std::mutex mutex_;
    std::condition_variable cv_;
    vlmcsc::LoopbackChannel channel_;
    std::vector<cf32> scratch_;
    std::deque<StatusEvent> events_;
    std::map<int, std::map<std::string, double>> gains_;
    std::map<int, double> freq_, bandwidth_;
    std::map<int, std::string> antenna_;
    double rate_ = 1e6;
    Clock::time_point base_t_;
    long long time0_ns_ = 0;
    long long rx_buffer_ = 0, tx_buffer_ = 0, unplug_after_ = -1, delivered_ = 0;
    size_t mtu_ = 8192;
    long long rx_pos_ = 0, tx_next_ = 0;
    bool rx_active_ = false, tx_active_ = false, tx_in_burst_ = false, unplugged_ = false;
    bool overflow_toggle_ = false;
    std::string fault_ = "none";
};

SoapySDR::KwargsList findLoopback(const SoapySDR::Kwargs &args) {
    auto serial = args.find("serial");
    if (serial != args.end() && serial->second != kSerial) return {};
    return {{{"driver", kDriver},
             {"label", "vlmcsc loopback (TX cabled to RX, simulated)"},
             {"serial", kSerial}}};
}

SoapySDR::Device *makeLoopback(const SoapySDR::Kwargs &args) { return new LoopbackDevice(args); }

SoapySDR::Registry registerLoopback(kDriver, &findLoopback, &makeLoopback, SOAPY_SDR_ABI_VERSION);

}  // namespace
