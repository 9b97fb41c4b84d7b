#include "common/metrics/process_metrics.h"

#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <ctime>
#include <map>
#include <thread>

#include "absl/synchronization/notification.h"

namespace rein::metrics {
namespace {

std::map<std::string, double> Values() {
  std::map<std::string, double> values;
  for (const auto& family : CollectProcessMetrics()) {
    REQUIRE(family.metric.size() == 1);
    values[family.name] = family.type == prometheus::MetricType::Counter
                              ? family.metric[0].counter.value
                              : family.metric[0].gauge.value;
  }
  return values;
}

double ThreadCpuSeconds() {
  timespec now = {};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &now);
  return static_cast<double>(now.tv_sec) + static_cast<double>(now.tv_nsec) * 1e-9;
}

TEST_CASE("process metrics follow the process: threads, descriptors, CPU time, memory") {
  const std::map<std::string, double> before = Values();
  for (const char* name :
       {"process_cpu_seconds_total", "process_resident_memory_bytes",
        "process_virtual_memory_bytes", "process_open_fds", "process_max_fds", "process_threads",
        "process_start_time_seconds"}) {
    INFO(name);
    CHECK(before.count(name) == 1);
  }
  CHECK(before.at("process_resident_memory_bytes") > 0);
  CHECK(before.at("process_virtual_memory_bytes") >= before.at("process_resident_memory_bytes"));
  CHECK(before.at("process_start_time_seconds") <= static_cast<double>(std::time(nullptr)) + 1);
  CHECK(before.at("process_start_time_seconds") > static_cast<double>(std::time(nullptr)) - 3600);

  // One more thread and three more descriptors while they exist.
  absl::Notification counted;
  std::thread extra([&] { counted.WaitForNotification(); });
  const int fds[3] = {open("/dev/null", O_RDONLY), open("/dev/null", O_RDONLY),
                      open("/dev/null", O_RDONLY)};
  const std::map<std::string, double> during = Values();
  counted.Notify();
  extra.join();
  for (int fd : fds) close(fd);
  CHECK(during.at("process_threads") == before.at("process_threads") + 1);
  CHECK(during.at("process_open_fds") == before.at("process_open_fds") + 3);

  // Burn 50 ms of CPU (by the kernel's own clock); the counter moves by about as much (the
  // kernel's tick granularity is 10 ms).
  const double start = ThreadCpuSeconds();
  volatile double sink = 0;
  while (ThreadCpuSeconds() - start < 0.05) sink = sink + 1;
  const std::map<std::string, double> after = Values();
  CHECK(after.at("process_cpu_seconds_total") >= before.at("process_cpu_seconds_total") + 0.03);
}

}  // namespace
}  // namespace rein::metrics
