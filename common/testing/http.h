// A minimal HTTP/1.1 GET over a loopback socket, for tests that scrape /metrics.
#ifndef REIN_COMMON_TESTING_HTTP_H_
#define REIN_COMMON_TESTING_HTTP_H_

#include <string>

#include "absl/status/statusor.h"

namespace rein::testing {

struct HttpResponse {
  int status_code = 0;
  std::string content_type;
  std::string body;
};

// GET http://host:port/path with "Connection: close"; reads until the server closes.
absl::StatusOr<HttpResponse> HttpGet(const std::string& host, int port, const std::string& path);

}  // namespace rein::testing

#endif  // REIN_COMMON_TESTING_HTTP_H_
