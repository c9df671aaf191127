#include "soak_verdict.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>

namespace zp::soak {

namespace {

double mean(const std::vector<double>& v, std::size_t from, std::size_t to) {
  if (to <= from) return 0;
  return std::accumulate(v.begin() + from, v.begin() + to, 0.0) / static_cast<double>(to - from);
}

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  const std::size_t mid = v.size() / 2;
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(mid), v.end());
  if (v.size() % 2 == 1) return v[mid];
  const double upper = v[mid];
  return (*std::max_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(mid)) + upper) / 2;
}

std::vector<double> slice(const std::vector<double>& v, std::size_t from, std::size_t to) {
  return {v.begin() + static_cast<std::ptrdiff_t>(from),
          v.begin() + static_cast<std::ptrdiff_t>(to)};
}

std::string number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, std::fabs(v) >= 100 || v == std::floor(v) ? "%.0f" : "%.1f", v);
  return buf;
}

}  // namespace

double slope(const std::vector<double>& t, const std::vector<double>& values) {
  const std::size_t n = std::min(t.size(), values.size());
  if (n < 2) return 0;
  const double mt = mean(t, 0, n);
  const double mv = mean(values, 0, n);
  double num = 0, den = 0;
  for (std::size_t i = 0; i < n; ++i) {
    num += (t[i] - mt) * (values[i] - mv);
    den += (t[i] - mt) * (t[i] - mt);
  }
  return den > 0 ? num / den : 0;
}

Verdict judge(const Series& series, double warmup_fraction) {
  Verdict v;
  v.daemon = series.daemon;
  v.metric = series.metric;
  v.after_drain = series.after_drain;
  const auto& t = series.t_seconds;
  const auto& x = series.values;
  if (t.empty() || t.size() != x.size()) {
    v.reason = "no samples";
    return v;
  }
  v.start = x.front();
  v.end = x.back();
  v.min = *std::min_element(x.begin(), x.end());
  v.max = *std::max_element(x.begin(), x.end());

  const double warmup_end = t.front() + warmup_fraction * (t.back() - t.front());
  const std::size_t first =
      static_cast<std::size_t>(std::lower_bound(t.begin(), t.end(), warmup_end) - t.begin());
  const std::size_t n = t.size() - first;
  v.steady_samples = static_cast<int>(n);
  const std::vector<double> st(t.begin() + first, t.end());
  const std::vector<double> sx(x.begin() + first, x.end());
  v.slope_per_10min = slope(st, sx) * 600.0;
  if (n < static_cast<std::size_t>(kMinSteadySamples)) {
    v.reason = "too few samples after the warm-up to judge";
    return v;
  }
  const std::size_t third = n / 3;
  v.middle_median = median(slice(sx, third, 2 * third));
  v.last_median = median(slice(sx, n - third, n));
  v.tolerance =
      std::max(series.rule.abs_tolerance, series.rule.rel_tolerance * std::fabs(v.middle_median));

  const double growth = v.last_median - v.middle_median;
  const double fitted = slope(st, sx) * (st.back() - st.front());
  if (growth > v.tolerance && fitted > v.tolerance) {
    v.leak = true;
    v.reason = "still growing: last third " + number(v.last_median) + " vs middle third " +
               number(v.middle_median) + " (tolerance " + number(v.tolerance) +
               "), fitted growth " + number(fitted);
    return v;
  }
  if (series.after_drain) {
    if (series.rule.drain_limit && *series.after_drain > *series.rule.drain_limit) {
      v.leak = true;
      v.reason = "after the drain " + number(*series.after_drain) + " > " +
                 number(*series.rule.drain_limit);
    } else if (series.rule.return_to_load && *series.after_drain > v.middle_median + v.tolerance) {
      v.leak = true;
      v.reason = "after the drain " + number(*series.after_drain) + " > the load's " +
                 number(v.middle_median) + " + " + number(v.tolerance);
    }
  }
  return v;
}

void printTable(std::ostream& out, const std::vector<Verdict>& verdicts) {
  out << "| daemon | metric | start | min | max | end | after drain | slope /10 min | verdict |\n"
      << "|---|---|---:|---:|---:|---:|---:|---:|---|\n";
  for (const auto& v : verdicts) {
    out << "| " << v.daemon << " | " << v.metric << " | " << number(v.start) << " | "
        << number(v.min) << " | " << number(v.max) << " | " << number(v.end) << " | "
        << (v.after_drain ? number(*v.after_drain) : std::string("-")) << " | "
        << number(v.slope_per_10min) << " | "
        << (v.leak ? "LEAK: " + v.reason : (v.reason.empty() ? "ok" : "ok (" + v.reason + ")"))
        << " |\n";
  }
}

}  // namespace zp::soak
