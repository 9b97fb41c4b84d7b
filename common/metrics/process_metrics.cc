#include "common/metrics/process_metrics.h"

#include <sys/resource.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <limits>
#include <optional>
#include <sstream>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"

namespace rein::metrics {
namespace {

// The fields of /proc/self/stat this reads (proc(5), numbered from 1).
struct ProcStat {
  double utime_ticks = 0;  // 14
  double stime_ticks = 0;  // 15
  double threads = 0;      // 20
  double start_ticks = 0;  // 22, since boot
  double vsize_bytes = 0;  // 23
  double rss_pages = 0;    // 24
};

std::optional<ProcStat> ReadProcStat() {
  std::ifstream in("/proc/self/stat");
  std::string line;
  if (!std::getline(in, line)) return std::nullopt;
  // The command name (field 2) is in parentheses and may hold spaces: fields 3.. follow the
  // last ')'.
  const size_t close = line.rfind(')');
  if (close == std::string::npos || close + 2 > line.size()) return std::nullopt;
  std::vector<std::string> fields = absl::StrSplit(line.substr(close + 2), ' ');
  auto field = [&](int number, double& out) {
    const size_t index = static_cast<size_t>(number - 3);
    return index < fields.size() && absl::SimpleAtod(fields[index], &out);
  };
  ProcStat stat;
  if (!field(14, stat.utime_ticks) || !field(15, stat.stime_ticks) || !field(20, stat.threads) ||
      !field(22, stat.start_ticks) || !field(23, stat.vsize_bytes) || !field(24, stat.rss_pages)) {
    return std::nullopt;
  }
  return stat;
}

// The boot time (btime in /proc/stat), seconds since the epoch.
std::optional<double> BootTime() {
  std::ifstream in("/proc/stat");
  std::string key;
  double value = 0;
  while (in >> key) {
    if (key == "btime" && (in >> value)) return value;
    in.ignore(std::numeric_limits<std::streamsize>::max(), '\n');
  }
  return std::nullopt;
}

std::optional<double> OpenFds() {
  std::error_code error;
  double count = 0;
  for (std::filesystem::directory_iterator it("/proc/self/fd", error), end; !error && it != end;
       it.increment(error)) {
    ++count;
  }
  if (error) return std::nullopt;
  return count - 1;  // the directory iterator's own descriptor
}

void Add(std::vector<prometheus::MetricFamily>& out, const char* name, const char* help,
         prometheus::MetricType type, std::optional<double> value) {
  if (!value) return;
  prometheus::MetricFamily family;
  family.name = name;
  family.help = help;
  family.type = type;
  prometheus::ClientMetric metric;
  if (type == prometheus::MetricType::Counter) {
    metric.counter.value = *value;
  } else {
    metric.gauge.value = *value;
  }
  family.metric.push_back(metric);
  out.push_back(std::move(family));
}

}  // namespace

std::vector<prometheus::MetricFamily> CollectProcessMetrics() {
  using prometheus::MetricType;
  std::vector<prometheus::MetricFamily> out;
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  const double page = static_cast<double>(sysconf(_SC_PAGESIZE));
  std::optional<ProcStat> stat = ReadProcStat();
  std::optional<double> boot = BootTime();
  if (stat && ticks > 0) {
    Add(out, "process_cpu_seconds_total", "Total user and system CPU time spent in seconds.",
        MetricType::Counter, (stat->utime_ticks + stat->stime_ticks) / ticks);
    Add(out, "process_threads", "Number of threads of the process.", MetricType::Gauge,
        stat->threads);
    if (boot) {
      Add(out, "process_start_time_seconds",
          "Start time of the process since the Unix epoch in seconds.", MetricType::Gauge,
          *boot + stat->start_ticks / ticks);
    }
  }
  if (stat) {
    Add(out, "process_virtual_memory_bytes", "Virtual memory size in bytes.", MetricType::Gauge,
        stat->vsize_bytes);
    if (page > 0) {
      Add(out, "process_resident_memory_bytes", "Resident memory size in bytes.",
          MetricType::Gauge, stat->rss_pages * page);
    }
  }
  Add(out, "process_open_fds", "Number of open file descriptors.", MetricType::Gauge, OpenFds());
  struct rlimit limit = {};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY) {
    Add(out, "process_max_fds", "Maximum number of open file descriptors.", MetricType::Gauge,
        static_cast<double>(limit.rlim_cur));
  }
  return out;
}

}  // namespace rein::metrics
