#include "common/metrics/metrics_server.h"

#include <prometheus/counter.h>

#include <catch2/catch.hpp>

#include "common/testing/http.h"

namespace rein {
namespace {

TEST_CASE("the metrics server answers /metrics with the registry's text, other paths 404") {
  auto registry = std::make_shared<prometheus::Registry>();
  prometheus::BuildCounter().Name("rein_test_events_total").Help("Events.").Register(*registry)
      .Add({{"kind", "a"}}).Increment(3);
  auto server = MetricsServer::Create({}, registry);
  REQUIRE(server.ok());
  REQUIRE((*server)->port() > 0);
  auto scraped = testing::HttpGet("127.0.0.1", (*server)->port(), "/metrics");
  REQUIRE(scraped.ok());
  CHECK(scraped->status_code == 200);
  CHECK_THAT(scraped->body, Catch::Contains("rein_test_events_total{kind=\"a\"} 3"));
  auto missing = testing::HttpGet("127.0.0.1", (*server)->port(), "/other");
  REQUIRE(missing.ok());
  CHECK(missing->status_code == 404);
}

TEST_CASE("the metrics server refuses a taken port and a bad host") {
  auto registry = std::make_shared<prometheus::Registry>();
  auto first = MetricsServer::Create({}, registry);
  REQUIRE(first.ok());
  auto second = MetricsServer::Create({.host = "127.0.0.1", .port = (*first)->port()}, registry);
  CHECK(second.status().code() == absl::StatusCode::kUnavailable);
  CHECK(MetricsServer::Create({.host = "not-an-ip", .port = 0}, registry).status().code() ==
        absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace rein
