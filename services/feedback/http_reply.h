// The JSON replies of rein-feedback's HTTP handlers (http_api.cc, http_admin.cc), and the one
// JSON shape of an annotator both use.
#ifndef REIN_SERVICES_FEEDBACK_HTTP_REPLY_H_
#define REIN_SERVICES_FEEDBACK_HTTP_REPLY_H_

#include <httplib.h>

#include <nlohmann/json.hpp>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "common/http/http_server.h"
#include "services/feedback/feedback_types.h"

namespace rein::feedback {

inline void ReplyJson(httplib::Response& res, int status, const nlohmann::json& body) {
  res.status = status;
  res.set_content(body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
                  "application/json");
}

// What the API shows of an annotator.
inline nlohmann::json AnnotatorJson(const Annotator& a) {
  return {{"id", a.id},           {"name", a.name},         {"role", Name(a.role)},
          {"paused", a.paused},   {"synthetic", a.synthetic}};
}

// Splits "field: message" (the convention of every validation error here) so that the JSON
// error names the field on its own as well.
inline void ReplyStatus(httplib::Response& res, const absl::Status& status) {
  std::string field;
  const absl::string_view message = status.message();
  const size_t colon = message.find(": ");
  if (absl::IsInvalidArgument(status) && colon != absl::string_view::npos &&
      message.substr(0, colon).find(' ') == absl::string_view::npos) {
    field = std::string(message.substr(0, colon));
  }
  http::ReplyError(res, status, field);
}

}  // namespace rein::feedback

#endif  // REIN_SERVICES_FEEDBACK_HTTP_REPLY_H_
