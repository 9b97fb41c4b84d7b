#include "common/testing/raw_connection.h"
#include "common/metrics/metrics_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include <httplib.h>
#include <prometheus/counter.h>

#include <catch2/catch.hpp>

#include "common/testing/http.h"

namespace rein {
namespace {

std::shared_ptr<prometheus::Registry> RegistryWithCounter() {
  auto registry = std::make_shared<prometheus::Registry>();
  prometheus::BuildCounter().Name("rein_test_events_total").Help("Events.").Register(*registry)
      .Add({{"kind", "a"}}).Increment(3);
  return registry;
}


TEST_CASE("the metrics server answers /metrics with the registry's text, other paths 404") {
  auto server = MetricsServer::Create({}, RegistryWithCounter());
  REQUIRE(server.ok());
  REQUIRE((*server)->port() > 0);
  CHECK((*server)->address() == "127.0.0.1:" + std::to_string((*server)->port()));
  auto scraped = testing::HttpGet("127.0.0.1", (*server)->port(), "/metrics");
  REQUIRE(scraped.ok());
  CHECK(scraped->status_code == 200);
  CHECK(scraped->content_type == "text/plain; version=0.0.4; charset=utf-8");
  CHECK_THAT(scraped->body, Catch::Contains("rein_test_events_total{kind=\"a\"} 3"));
  CHECK_THAT(scraped->body, Catch::Contains("# TYPE process_resident_memory_bytes gauge"));
  CHECK_THAT(scraped->body, Catch::Contains("# TYPE process_cpu_seconds_total counter"));
  auto with_query = testing::HttpGet("127.0.0.1", (*server)->port(), "/metrics?name[]=x");
  REQUIRE(with_query.ok());
  CHECK(with_query->status_code == 200);
  auto missing = testing::HttpGet("127.0.0.1", (*server)->port(), "/other");
  REQUIRE(missing.ok());
  CHECK(missing->status_code == 404);
  CHECK(missing->body == "metrics are at /metrics\n");
}

TEST_CASE("the metrics server answers HEAD like GET and other methods with 405") {
  auto server = MetricsServer::Create({}, RegistryWithCounter());
  REQUIRE(server.ok());
  httplib::Client client("127.0.0.1", (*server)->port());
  auto head = client.Head("/metrics");
  REQUIRE(head);
  CHECK(head->status == 200);
  CHECK(head->body.empty());
  for (const char* path : {"/metrics", "/other"}) {
    INFO(path);
    auto post = client.Post(path, "x", "text/plain");
    REQUIRE(post);
    CHECK(post->status == 405);
    CHECK(post->get_header_value("Allow") == "GET, HEAD");
    auto del = client.Delete(path);
    REQUIRE(del);
    CHECK(del->status == 405);
  }
}

TEST_CASE("the metrics server refuses a taken port, a bad host and a bad port") {
  auto registry = std::make_shared<prometheus::Registry>();
  auto first = MetricsServer::Create({}, registry);
  REQUIRE(first.ok());
  auto second = MetricsServer::Create({.host = "127.0.0.1", .port = (*first)->port()}, registry);
  CHECK(second.status().code() == absl::StatusCode::kUnavailable);
  CHECK(MetricsServer::Create({.host = "not-an-ip", .port = 0}, registry).status().code() ==
        absl::StatusCode::kInvalidArgument);
  CHECK(MetricsServer::Create({.host = "127.0.0.1", .port = -1}, registry).status().code() ==
        absl::StatusCode::kInvalidArgument);
}

TEST_CASE("concurrent scrapes all see the registry") {
  auto server = MetricsServer::Create({}, RegistryWithCounter());
  REQUIRE(server.ok());
  const int port = (*server)->port();
  std::atomic<int> good{0};
  std::vector<std::thread> scrapers;
  constexpr int kScrapers = 4;
  constexpr int kScrapes = 10;
  for (int s = 0; s < kScrapers; ++s) {
    scrapers.emplace_back([port, &good] {
      for (int i = 0; i < kScrapes; ++i) {
        auto scraped = testing::HttpGet("127.0.0.1", port, "/metrics");
        if (scraped.ok() && scraped->status_code == 200 &&
            scraped->body.find("rein_test_events_total{kind=\"a\"} 3") != std::string::npos) {
          ++good;
        }
      }
    });
  }
  for (std::thread& t : scrapers) t.join();
  CHECK(good.load() == kScrapers * kScrapes);
}

TEST_CASE("stalled scrapers are cut off after the timeout and do not hold up the destructor") {
  auto server = MetricsServer::Create({.timeout = absl::Seconds(1)}, RegistryWithCounter());
  REQUIRE(server.ok());
  const int port = (*server)->port();
  testing::RawConnection silent(port);
  testing::RawConnection half_request(port);
  REQUIRE(silent.connected());
  REQUIRE(half_request.connected());
  REQUIRE(half_request.Send("GET /metrics HTTP/1.1\r\nHost: x\r\n"));
  // Connections reach the two workers in order, so this scrape waits until one of the stalled
  // ones is cut off by the 1 s timeout; that it is answered at all shows the cut-off works.
  auto scraped = testing::HttpGet("127.0.0.1", port, "/metrics");
  REQUIRE(scraped.ok());
  CHECK(scraped->status_code == 200);

  testing::RawConnection late(port);
  REQUIRE(late.connected());
  const auto start = std::chrono::steady_clock::now();
  server->reset();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  // A stalled client holds a worker for at most the 1 s timeout.
  CHECK(seconds < 5.0);
  CHECK_FALSE(testing::HttpGet("127.0.0.1", port, "/metrics").ok());
}

TEST_CASE("a scrape is answered while another client stalls") {
  auto server = MetricsServer::Create({}, RegistryWithCounter());
  REQUIRE(server.ok());
  testing::RawConnection silent((*server)->port());
  REQUIRE(silent.connected());
  // The stalled client holds one of the two workers for up to the 5 s timeout; the scrape
  // takes the other and is answered at once.
  const auto start = std::chrono::steady_clock::now();
  auto scraped = testing::HttpGet("127.0.0.1", (*server)->port(), "/metrics");
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  REQUIRE(scraped.ok());
  CHECK(scraped->status_code == 200);
  CHECK(seconds < 4.0);
}

}  // namespace
}  // namespace rein
