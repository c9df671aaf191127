#pragma once
// A small Prometheus instrumentation library: counters, gauges and
// histograms with fixed buckets, grouped in labelled families, plus families
// whose samples a callback fills at scrape time, written in the text
// exposition format (text_format.h; docs/architecture.md §7 "Metrics").
//
// Threading: every instrument may be updated from any thread at any time
// (counters and gauges are lock-free atomics; a histogram takes its own small
// mutex per observation, so a scrape sees its buckets, sum and count from the
// same moment). Family::with() takes the family's mutex (look a child up once
// and keep the reference where it is hot: children live as long as the
// registry). Registration is meant for start-up; render() may run on any
// thread at any time, concurrently with updates and registrations. A
// collected family's callback runs on the thread that calls render(), so it
// may only read what is safe to read from there (the server renders on its
// executor, the agent on its network thread).
//
// Misuse is a programming error, not an input error: an invalid or
// duplicate metric name, an invalid or duplicate label name, a label named
// "le" on a histogram, bucket bounds that are not finite and strictly
// increasing, or a label value count that does not match the family's label
// names abort the process with a message naming the metric.

#include <atomic>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace zp::metrics {

enum class Type { kCounter, kGauge, kHistogram };
std::string_view typeName(Type type);  // "counter", "gauge", "histogram"

// Goes up only. Its family's name should end in "_total".
class Counter {
 public:
  // Adds `amount`; a negative or NaN amount is ignored.
  void inc(double amount = 1.0);
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0.0};
};

class Gauge {
 public:
  void set(double value) { value_.store(value, std::memory_order_relaxed); }
  void inc(double amount = 1.0) { value_.fetch_add(amount, std::memory_order_relaxed); }
  void dec(double amount = 1.0) { value_.fetch_sub(amount, std::memory_order_relaxed); }
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0.0};
};

// Counts observations in fixed buckets: an observation v lands in the first
// bucket whose upper bound is >= v (the "+Inf" bucket holds every one; a NaN
// lands only there, and makes the sum NaN, as in other Prometheus clients).
class Histogram {
 public:
  // `bounds`: finite, strictly increasing upper bounds, "+Inf" implied.
  explicit Histogram(std::shared_ptr<const std::vector<double>> bounds);
  void observe(double value);

  struct Snapshot {
    std::vector<double> bounds;             // without +Inf
    std::vector<std::uint64_t> cumulative;  // per bound, then +Inf (== count)
    double sum = 0.0;
    std::uint64_t count = 0;
  };
  Snapshot snapshot() const;

 private:
  std::shared_ptr<const std::vector<double>> bounds_;
  mutable std::mutex mutex_;
  std::vector<std::uint64_t> counts_;  // per bucket (not cumulative), +Inf last
  double sum_ = 0.0;
  std::uint64_t count_ = 0;
};

// Bucket bounds `start`, start*factor, ... (`count` of them).
std::vector<double> exponentialBuckets(double start, double factor, int count);

// The samples a collected family's callback reports at scrape time.
class SampleSink {
 public:
  using Sample = std::pair<std::vector<std::string>, double>;
  SampleSink(std::string_view name, std::size_t labels) : name_(name), labels_(labels) {}
  // One sample: a value per label name of the family, in order.
  void add(std::vector<std::string> label_values, double value);
  const std::vector<Sample>& samples() const { return samples_; }

 private:
  std::string_view name_;
  std::size_t labels_;
  std::vector<Sample> samples_;
};

// What every family has; the Registry writes them in registration order.
class FamilyBase {
 public:
  FamilyBase(std::string name, std::string help, Type type, std::vector<std::string> labels);
  virtual ~FamilyBase() = default;
  const std::string& name() const { return name_; }
  Type type() const { return type_; }
  const std::vector<std::string>& labelNames() const { return labels_; }
  // Appends the HELP and TYPE lines and every sample.
  void write(std::string& out) const;

 protected:
  virtual void writeSamples(std::string& out) const = 0;
  // Aborts unless `values` has one value per label name.
  void checkArity(std::size_t values) const;
  // One sample line: name+suffix{labels[,le="bound"]} value.
  void writeLine(std::string& out, std::string_view suffix, const std::vector<std::string>& values,
                 const std::string* le, double value) const;

 private:
  std::string name_;
  std::string help_;
  Type type_;
  std::vector<std::string> labels_;
};

// The children of one metric, one per distinct tuple of label values,
// created at first use and kept for the registry's life.
template <typename Instrument>
class Family final : public FamilyBase {
 public:
  Family(std::string name, std::string help, Type type, std::vector<std::string> labels,
         std::shared_ptr<const std::vector<double>> bounds = nullptr)
      : FamilyBase(std::move(name), std::move(help), type, std::move(labels)),
        bounds_(std::move(bounds)) {}

  // The child for `values` (one per label name, in order). The reference
  // stays valid as long as the registry.
  Instrument& with(const std::vector<std::string>& values);
  Instrument& with(std::initializer_list<std::string_view> values) {
    return with(std::vector<std::string>(values.begin(), values.end()));
  }

 private:
  void writeSamples(std::string& out) const override;

  std::shared_ptr<const std::vector<double>> bounds_;  // histograms only
  mutable std::mutex mutex_;
  std::map<std::vector<std::string>, std::unique_ptr<Instrument>> children_;
};

using CounterFamily = Family<Counter>;
using GaugeFamily = Family<Gauge>;
using HistogramFamily = Family<Histogram>;

class Registry {
 public:
  Registry() = default;
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  CounterFamily& counter(std::string name, std::string help, std::vector<std::string> labels = {});
  GaugeFamily& gauge(std::string name, std::string help, std::vector<std::string> labels = {});
  HistogramFamily& histogram(std::string name, std::string help, std::vector<std::string> labels,
                             std::vector<double> bounds);

  // A counter or gauge family whose samples `collect` reports at every
  // render() (see the threading note above). `collect` must not register
  // families (render() holds the registry's lock).
  using Collect = std::function<void(SampleSink&)>;
  void collected(std::string name, std::string help, Type type, std::vector<std::string> labels,
                 Collect collect);

  // Every family in the text exposition format, in registration order.
  std::string render() const;

 private:
  template <typename F>
  F& add(std::unique_ptr<F> family);

  mutable std::mutex mutex_;
  std::vector<std::unique_ptr<FamilyBase>> families_;
};

}  // namespace zp::metrics
