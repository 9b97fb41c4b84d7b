// The admin routes of rein-feedback's HTTP API, for annotators whose role is admin (the team
// lead's view in a browser or script; services/feedback/http_api.md): a campaign's status and
// quality report, the annotator list, pausing and unpausing. Every other role gets 403
// PERMISSION_DENIED. Campaign management (create, items, export) stays on the admin gRPC API.
//
// Thread safety: the handlers run concurrently on the HTTP server's threads; they hold no state.
#ifndef REIN_SERVICES_FEEDBACK_HTTP_ADMIN_H_
#define REIN_SERVICES_FEEDBACK_HTTP_ADMIN_H_

#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "services/feedback/feedback_store.h"

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace rein::feedback {

using HttpHandler = std::function<void(const httplib::Request&, httplib::Response&)>;

// A campaign's status and quality report (rein.v1.CampaignStatus) as a JSON document; the
// campaign is an id or a name.
using CampaignStatusFn = std::function<absl::StatusOr<std::string>(const std::string& campaign)>;

struct AdminRouteDeps {
  // Must outlive the server.
  FeedbackStore* store = nullptr;
  CampaignStatusFn campaign_status;
  // The caller, authenticated as on every other route (CSRF checked when state_changing).
  std::function<absl::StatusOr<Annotator>(const httplib::Request&, bool state_changing)>
      authenticate;
  // Wraps a handler with the API's metrics and drain check.
  std::function<HttpHandler(const std::string& route, HttpHandler)> route;
};

// GET  /api/v1/admin/campaigns/{campaign}/status
// GET  /api/v1/admin/annotators
// POST /api/v1/admin/annotators/{annotator}/pause   and   .../unpause
// `deps` is referenced by the handlers, not copied: it must outlive the server.
void InstallAdminRoutes(httplib::Server& server, const AdminRouteDeps& deps);

}  // namespace rein::feedback

#endif  // REIN_SERVICES_FEEDBACK_HTTP_ADMIN_H_
