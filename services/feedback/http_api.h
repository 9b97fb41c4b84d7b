// The annotator-facing HTTP/JSON API and web page of rein-feedback (services/feedback/http_api.md
// is its reference): log in from an invite, fetch a task, save a draft, submit or skip.
//
// Authentication is either a browser session (cookie set by /api/v1/login, CSRF header on every
// state-changing request) or a bearer annotator token (programs). Roles: a campaign's min_role
// decides who may judge it; annotators with the admin role also get the routes of
// http_admin.h. Every reply to an error is the
// JSON error of common/http; no request can crash the process or grow memory without bound
// (body size limit, JSON depth limit, bounded rate-limiter table).
//
// Thread safety: handlers run on the HTTP server's threads concurrently; the API's state (rate
// limiter, metrics) is internally synchronised.
#ifndef REIN_SERVICES_FEEDBACK_HTTP_API_H_
#define REIN_SERVICES_FEEDBACK_HTTP_API_H_

#include <functional>
#include <memory>
#include <string>

#include <prometheus/registry.h>

#include "absl/time/time.h"
#include "services/feedback/feedback_store.h"
#include "services/feedback/http_admin.h"
#include "services/feedback/quality_gate.h"

namespace httplib {
class Server;
}

namespace rein::feedback {

struct HttpApiOptions {
  // Lifetime of a browser session.
  absl::Duration session_lifetime = absl::Hours(12);
  // Per-annotator limit on task requests and submissions, per minute (burst of the same size);
  // 0 = unlimited.
  double requests_per_minute = 120;
  // Adds `Secure` to the session cookie (set when served over HTTPS behind a proxy).
  bool secure_cookie = false;
};

class HttpApi {
 public:
  // `store` and `gate` must outlive the API. Metrics register in `registry`. `campaign_status`
  // serves the admin status route (empty: that route answers UNIMPLEMENTED).
  HttpApi(FeedbackStore* store, QualityGate* gate, HttpApiOptions options,
          prometheus::Registry& registry, CampaignStatusFn campaign_status = nullptr);
  ~HttpApi();
  HttpApi(const HttpApi&) = delete;
  HttpApi& operator=(const HttpApi&) = delete;

  // Installs every route, the page and its assets on `server`.
  void Install(httplib::Server& server);

  // Stops answering with new work (503) once the server begins to drain.
  void SetDraining();

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace rein::feedback

#endif  // REIN_SERVICES_FEEDBACK_HTTP_API_H_
