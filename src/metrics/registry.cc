#include "metrics/registry.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <set>

#include "metrics/text_format.h"

namespace zp::metrics {
namespace {

[[noreturn]] void misuse(std::string_view name, std::string_view what) {
  std::fprintf(stderr, "metrics: %.*s: %.*s\n", static_cast<int>(name.size()), name.data(),
               static_cast<int>(what.size()), what.data());
  std::abort();
}

// A family that reports its samples when rendered.
class CollectedFamily final : public FamilyBase {
 public:
  CollectedFamily(std::string name, std::string help, Type type, std::vector<std::string> labels,
                  Registry::Collect collect)
      : FamilyBase(std::move(name), std::move(help), type, std::move(labels)),
        collect_(std::move(collect)) {}

 private:
  void writeSamples(std::string& out) const override;

  Registry::Collect collect_;
};

}  // namespace

std::string_view typeName(Type type) {
  switch (type) {
    case Type::kCounter:
      return "counter";
    case Type::kGauge:
      return "gauge";
    case Type::kHistogram:
      return "histogram";
  }
  return "untyped";
}

void Counter::inc(double amount) {
  if (!(amount >= 0.0)) return;  // negative or NaN
  value_.fetch_add(amount, std::memory_order_relaxed);
}

Histogram::Histogram(std::shared_ptr<const std::vector<double>> bounds)
    : bounds_(std::move(bounds)), counts_(bounds_->size() + 1, 0) {}

void Histogram::observe(double value) {
  std::size_t bucket = bounds_->size();  // +Inf (and NaN)
  if (!std::isnan(value)) {
    bucket = static_cast<std::size_t>(std::lower_bound(bounds_->begin(), bounds_->end(), value) -
                                      bounds_->begin());
  }
  std::lock_guard lock(mutex_);
  ++counts_[bucket];
  sum_ += value;
  ++count_;
}

Histogram::Snapshot Histogram::snapshot() const {
  Snapshot out;
  out.bounds = *bounds_;
  std::lock_guard lock(mutex_);
  out.cumulative.reserve(counts_.size());
  std::uint64_t running = 0;
  for (const auto n : counts_) {
    running += n;
    out.cumulative.push_back(running);
  }
  out.sum = sum_;
  out.count = count_;
  return out;
}

std::vector<double> exponentialBuckets(double start, double factor, int count) {
  std::vector<double> out;
  double bound = start;
  for (int i = 0; i < count; ++i) {
    out.push_back(bound);
    bound *= factor;
  }
  return out;
}

void SampleSink::add(std::vector<std::string> label_values, double value) {
  if (label_values.size() != labels_) misuse(name_, "collected sample with the wrong label count");
  samples_.emplace_back(std::move(label_values), value);
}

FamilyBase::FamilyBase(std::string name, std::string help, Type type,
                       std::vector<std::string> labels)
    : name_(std::move(name)), help_(std::move(help)), type_(type), labels_(std::move(labels)) {
  if (!validMetricName(name_)) misuse(name_, "invalid metric name");
  std::set<std::string_view> seen;
  for (const auto& label : labels_) {
    if (!validLabelName(label)) misuse(name_, "invalid label name \"" + label + "\"");
    if (!seen.insert(label).second) misuse(name_, "label \"" + label + "\" named twice");
    if (type_ == Type::kHistogram && label == "le") misuse(name_, "a histogram label named le");
  }
}

void FamilyBase::checkArity(std::size_t values) const {
  if (values != labels_.size()) misuse(name_, "label value count differs from the label names");
}

void FamilyBase::write(std::string& out) const {
  out += "# HELP ";
  out += name_;
  out += ' ';
  appendEscapedHelp(out, help_);
  out += "\n# TYPE ";
  out += name_;
  out += ' ';
  out += typeName(type_);
  out += '\n';
  writeSamples(out);
}

void FamilyBase::writeLine(std::string& out, std::string_view suffix,
                           const std::vector<std::string>& values, const std::string* le,
                           double value) const {
  out += name_;
  out += suffix;
  if (!values.empty() || le != nullptr) {
    out += '{';
    bool first = true;
    const auto label = [&](std::string_view name, std::string_view text) {
      if (!first) out += ',';
      first = false;
      out += name;
      out += "=\"";
      appendEscapedLabelValue(out, text);
      out += '"';
    };
    for (std::size_t i = 0; i < values.size(); ++i) label(labels_[i], values[i]);
    if (le != nullptr) label("le", *le);
    out += '}';
  }
  out += ' ';
  appendValue(out, value);
  out += '\n';
}

template <typename Instrument>
Instrument& Family<Instrument>::with(const std::vector<std::string>& values) {
  checkArity(values.size());
  std::lock_guard lock(mutex_);
  auto& child = children_[values];
  if (!child) {
    if constexpr (std::is_same_v<Instrument, Histogram>) {
      child = std::make_unique<Histogram>(bounds_);
    } else {
      child = std::make_unique<Instrument>();
    }
  }
  return *child;
}

template <typename Instrument>
void Family<Instrument>::writeSamples(std::string& out) const {
  std::lock_guard lock(mutex_);
  for (const auto& [values, child] : children_) {
    if constexpr (std::is_same_v<Instrument, Histogram>) {
      const auto snap = child->snapshot();
      for (std::size_t i = 0; i < snap.cumulative.size(); ++i) {
        const std::string le =
            i < snap.bounds.size() ? formatValue(snap.bounds[i]) : std::string("+Inf");
        writeLine(out, "_bucket", values, &le, static_cast<double>(snap.cumulative[i]));
      }
      writeLine(out, "_sum", values, nullptr, snap.sum);
      writeLine(out, "_count", values, nullptr, static_cast<double>(snap.count));
    } else {
      writeLine(out, "", values, nullptr, child->value());
    }
  }
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

namespace {

void CollectedFamily::writeSamples(std::string& out) const {
  SampleSink sink(name(), labelNames().size());
  collect_(sink);
  for (const auto& [values, value] : sink.samples()) writeLine(out, "", values, nullptr, value);
}

}  // namespace

template <typename F>
F& Registry::add(std::unique_ptr<F> family) {
  std::lock_guard lock(mutex_);
  for (const auto& existing : families_) {
    if (existing->name() == family->name()) misuse(family->name(), "registered twice");
  }
  F& out = *family;
  families_.push_back(std::move(family));
  return out;
}

CounterFamily& Registry::counter(std::string name, std::string help,
                                 std::vector<std::string> labels) {
  return add(std::make_unique<CounterFamily>(std::move(name), std::move(help), Type::kCounter,
                                             std::move(labels)));
}

GaugeFamily& Registry::gauge(std::string name, std::string help, std::vector<std::string> labels) {
  return add(std::make_unique<GaugeFamily>(std::move(name), std::move(help), Type::kGauge,
                                           std::move(labels)));
}

HistogramFamily& Registry::histogram(std::string name, std::string help,
                                     std::vector<std::string> labels, std::vector<double> bounds) {
  for (std::size_t i = 0; i < bounds.size(); ++i) {
    if (!std::isfinite(bounds[i]) || (i > 0 && !(bounds[i] > bounds[i - 1]))) {
      misuse(name, "bucket bounds must be finite and strictly increasing");
    }
  }
  auto shared = std::make_shared<const std::vector<double>>(std::move(bounds));
  return add(std::make_unique<HistogramFamily>(std::move(name), std::move(help), Type::kHistogram,
                                               std::move(labels), std::move(shared)));
}

void Registry::collected(std::string name, std::string help, Type type,
                         std::vector<std::string> labels, Collect collect) {
  if (type == Type::kHistogram) misuse(name, "a collected family is a counter or a gauge");
  add(std::make_unique<CollectedFamily>(std::move(name), std::move(help), type, std::move(labels),
                                        std::move(collect)));
}

std::string Registry::render() const {
  std::string out;
  std::lock_guard lock(mutex_);
  for (const auto& family : families_) family->write(out);
  return out;
}

}  // namespace zp::metrics
