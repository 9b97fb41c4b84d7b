// One-line registration of an unlabelled Prometheus metric, the shape every Rein component
// uses for its own metrics:
//
//   prometheus::Counter& calls = metrics::AddCounter(registry, "rein_x_calls_total", "Calls.");
//
// The registry owns the metric; the reference stays valid as long as the registry lives.
#ifndef REIN_COMMON_METRICS_FAMILIES_H_
#define REIN_COMMON_METRICS_FAMILIES_H_

#include <string>

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

namespace rein::metrics {

inline prometheus::Counter& AddCounter(prometheus::Registry& registry, const std::string& name,
                                       const std::string& help) {
  return prometheus::BuildCounter().Name(name).Help(help).Register(registry).Add({});
}

inline prometheus::Gauge& AddGauge(prometheus::Registry& registry, const std::string& name,
                                   const std::string& help) {
  return prometheus::BuildGauge().Name(name).Help(help).Register(registry).Add({});
}

inline prometheus::Histogram& AddHistogram(prometheus::Registry& registry,
                                           const std::string& name, const std::string& help,
                                           const prometheus::Histogram::BucketBoundaries& buckets) {
  return prometheus::BuildHistogram().Name(name).Help(help).Register(registry).Add({}, buckets);
}

// Buckets for durations from 10 ms to about 17 minutes, in seconds.
inline prometheus::Histogram::BucketBoundaries SecondsBuckets() {
  return {0.01, 0.03, 0.1, 0.3, 1, 3, 10, 30, 100, 300, 1000};
}

}  // namespace rein::metrics

#endif  // REIN_COMMON_METRICS_FAMILIES_H_
