#include "services/feedback/http_admin.h"

#include <httplib.h>

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "services/feedback/http_reply.h"

namespace rein::feedback {
namespace {

using Json = nlohmann::json;

// The annotator as the other routes show it, plus when it was created (for the admin's list).
Json AdminAnnotatorJson(const Annotator& a) {
  Json json = AnnotatorJson(a);
  json["created_us"] = a.created_us;
  return json;
}

// The admin caller, or the error to answer with.
absl::StatusOr<Annotator> RequireAdmin(const AdminRouteDeps& deps, const httplib::Request& req,
                                       bool state_changing) {
  absl::StatusOr<Annotator> caller = deps.authenticate(req, state_changing);
  if (!caller.ok()) return caller.status();
  if (caller->role != AnnotatorRole::kAdmin) {
    return absl::PermissionDeniedError(absl::StrCat(
        "this needs the admin role; ", caller->name, " is ", Name(caller->role)));
  }
  return caller;
}

}  // namespace

void InstallAdminRoutes(httplib::Server& server, const AdminRouteDeps& deps) {
  server.Get(
      R"(/api/v1/admin/campaigns/([A-Za-z0-9_.\-]{1,200})/status)",
      deps.route("admin_status", [&deps](const httplib::Request& req, httplib::Response& res) {
        if (absl::Status s = RequireAdmin(deps, req, false).status(); !s.ok()) {
          return ReplyStatus(res, s);
        }
        if (!deps.campaign_status) {
          return ReplyStatus(res, absl::UnimplementedError("no campaign status here"));
        }
        absl::StatusOr<std::string> status = deps.campaign_status(req.matches[1]);
        if (!status.ok()) return ReplyStatus(res, status.status());
        res.status = 200;
        res.set_content(*status, "application/json");
      }));
  server.Get("/api/v1/admin/annotators",
             deps.route("admin_annotators",
                        [&deps](const httplib::Request& req, httplib::Response& res) {
                          if (absl::Status s = RequireAdmin(deps, req, false).status(); !s.ok()) {
                            return ReplyStatus(res, s);
                          }
                          absl::StatusOr<std::vector<Annotator>> all =
                              deps.store->ListAnnotators();
                          if (!all.ok()) return ReplyStatus(res, all.status());
                          Json list = Json::array();
                          for (const Annotator& a : *all) list.push_back(AdminAnnotatorJson(a));
                          ReplyJson(res, 200, {{"annotators", list}});
                        }));
  for (const bool pause : {true, false}) {
    server.Post(
        absl::StrCat(R"(/api/v1/admin/annotators/([A-Za-z0-9_.\-]{1,200})/)",
                     pause ? "pause" : "unpause"),
        deps.route(pause ? "admin_pause" : "admin_unpause",
                   [&deps, pause](const httplib::Request& req, httplib::Response& res) {
                     absl::StatusOr<Annotator> admin = RequireAdmin(deps, req, true);
                     if (!admin.ok()) return ReplyStatus(res, admin.status());
                     absl::StatusOr<Annotator> changed =
                         deps.store->SetAnnotatorPaused(req.matches[1], pause);
                     if (!changed.ok()) return ReplyStatus(res, changed.status());
                     ReplyJson(res, 200, {{"annotator", AdminAnnotatorJson(*changed)}});
                   }));
  }
}

}  // namespace rein::feedback
