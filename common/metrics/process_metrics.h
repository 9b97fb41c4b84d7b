// The standard process metrics every Rein process serves beside its own (the names and meanings
// of Prometheus' client libraries, so stock dashboards and alerts work):
//
//   process_cpu_seconds_total       counter  user + system CPU time
//   process_resident_memory_bytes   gauge    resident set size
//   process_virtual_memory_bytes    gauge    virtual memory size
//   process_open_fds                gauge    open file descriptors
//   process_max_fds                 gauge    the soft limit on open file descriptors
//   process_threads                 gauge    threads of the process
//   process_start_time_seconds      gauge    start time, seconds since the Unix epoch
//
// Read from /proc/self at each scrape (Linux); a value that cannot be read is left out rather
// than reported as 0.
#ifndef REIN_COMMON_METRICS_PROCESS_METRICS_H_
#define REIN_COMMON_METRICS_PROCESS_METRICS_H_

#include <vector>

#include <prometheus/metric_family.h>

namespace rein::metrics {

std::vector<prometheus::MetricFamily> CollectProcessMetrics();

}  // namespace rein::metrics

#endif  // REIN_COMMON_METRICS_PROCESS_METRICS_H_
