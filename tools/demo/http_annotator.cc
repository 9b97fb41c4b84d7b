#include "tools/demo/http_annotator.h"

#include <httplib.h>

#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/status/status_macros.h"

namespace rein::demo {
namespace {

using Json = nlohmann::json;

std::chrono::microseconds ToChrono(absl::Duration d) {
  return std::chrono::microseconds(absl::ToInt64Microseconds(d));
}

// "HTTP 409 FAILED_PRECONDITION: lease expired" from a reply, whatever its body holds.
std::string Describe(const httplib::Response& r) {
  std::string text = absl::StrCat("HTTP ", r.status);
  const Json body = Json::parse(r.body, nullptr, /*allow_exceptions=*/false);
  if (body.is_object() && body.contains("error") && body["error"].is_object()) {
    const Json& e = body["error"];
    if (e.contains("code") && e["code"].is_string()) {
      absl::StrAppend(&text, " ", e["code"].get<std::string>());
    }
    if (e.contains("message") && e["message"].is_string()) {
      absl::StrAppend(&text, ": ", e["message"].get<std::string>());
    }
  } else if (!r.body.empty()) {
    absl::StrAppend(&text, ": ", r.body.substr(0, 200));
  }
  return text;
}

// The task of a 200 reply to /next, or INTERNAL naming what is missing.
absl::StatusOr<ShownTask> ParseTask(const std::string& body) {
  const Json json = Json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!json.is_object() || !json.contains("task") || !json["task"].is_object()) {
    return absl::InternalError("the reply holds no \"task\" object");
  }
  const Json& task = json["task"];
  if (!task.contains("lease_id") || !task["lease_id"].is_string() || !task.contains("item") ||
      !task["item"].is_object()) {
    return absl::InternalError("the task has no string \"lease_id\" or no \"item\" object");
  }
  const Json& item = task["item"];
  ShownTask shown;
  shown.lease_id = task["lease_id"].get<std::string>();
  if (item.contains("prompt") && item["prompt"].is_string()) {
    shown.prompt = item["prompt"].get<std::string>();
  }
  shown.has_context = item.contains("context") && item["context"].is_array() &&
                      !item["context"].empty();
  if (!item.contains("responses") || !item["responses"].is_array()) {
    return absl::InternalError("the item has no \"responses\" array");
  }
  for (const Json& r : item["responses"]) {
    if (!r.is_object() || !r.contains("text") || !r["text"].is_string()) {
      return absl::InternalError("a response has no string \"text\"");
    }
    shown.responses.push_back(r["text"].get<std::string>());
  }
  return shown;
}

}  // namespace

const char* PairwiseName(Pairwise p) {
  switch (p) {
    case Pairwise::kA:
      return "a";
    case Pairwise::kB:
      return "b";
    case Pairwise::kTie:
      return "tie";
    case Pairwise::kBothBad:
      return "both_bad";
  }
  return "tie";
}

absl::StatusOr<AnnotatorRun> RunHttpAnnotator(const HttpAnnotatorOptions& o,
                                              const JudgeFn& judge) {
  if (o.http_address.empty() || o.token.empty() || o.campaign.empty()) {
    return absl::InvalidArgumentError("the HTTP address, the token and the campaign are required");
  }
  httplib::Client client(absl::StrContains(o.http_address, "://") ? o.http_address
                                                                   : "http://" + o.http_address);
  if (!o.ca_file.empty()) client.set_ca_cert_path(o.ca_file.c_str());
  if (!client.is_valid()) {
    return absl::InvalidArgumentError(absl::StrCat("bad HTTP address '", o.http_address, "'"));
  }
  // One connection for the whole loop, as a browser keeps one.
  client.set_keep_alive(true);
  client.set_tcp_nodelay(true);
  client.set_read_timeout(ToChrono(o.request_timeout));
  client.set_write_timeout(ToChrono(o.request_timeout));
  client.set_connection_timeout(ToChrono(o.request_timeout));
  const httplib::Headers headers = {{"Authorization", "Bearer " + o.token}};

  AnnotatorRun run;
  absl::Duration backoff = o.initial_backoff;
  absl::Duration throttled_for;
  // One POST that waits out 429s with back-off; returns the first other reply.
  auto post = [&](const std::string& path,
                  const std::string& body) -> absl::StatusOr<httplib::Result> {
    while (true) {
      httplib::Result r = client.Post(path, headers, body, "application/json");
      if (!r) {
        return absl::UnavailableError(absl::StrCat("POST ", path, " to ", o.http_address, ": ",
                                                   httplib::to_string(r.error())));
      }
      if (r->status != 429) {
        backoff = o.initial_backoff;
        throttled_for = absl::ZeroDuration();
        return r;
      }
      ++run.throttled;
      if (throttled_for >= o.max_throttled) {
        return absl::ResourceExhaustedError(absl::StrCat(
            "POST ", path, ": still throttled (429) after ", absl::FormatDuration(throttled_for),
            " of back-off: ", Describe(*r)));
      }
      absl::SleepFor(backoff);
      throttled_for += backoff;
      backoff = std::min(2 * backoff, o.max_backoff);
    }
  };

  // The campaign's id: GET /campaigns/{x} takes an id or a name, /next wants the id.
  const std::string campaign_path = absl::StrCat("/api/v1/campaigns/", o.campaign);
  httplib::Result campaign = client.Get(campaign_path, headers);
  if (!campaign) {
    return absl::UnavailableError(absl::StrCat("GET ", campaign_path, " from ", o.http_address,
                                               ": ", httplib::to_string(campaign.error())));
  }
  if (campaign->status != 200) {
    return absl::Status(campaign->status == 404 ? absl::StatusCode::kNotFound
                                                : absl::StatusCode::kInternal,
                        absl::StrCat("GET ", campaign_path, ": ", Describe(*campaign)));
  }
  const Json campaign_json = Json::parse(campaign->body, nullptr, /*allow_exceptions=*/false);
  if (!campaign_json.is_object() || !campaign_json.contains("id") ||
      !campaign_json["id"].is_string()) {
    return absl::InternalError(absl::StrCat("GET ", campaign_path, ": the reply has no \"id\""));
  }
  const std::string next_path =
      absl::StrCat("/api/v1/campaigns/", campaign_json["id"].get<std::string>(), "/next");
  while (o.limit == 0 || run.submitted < o.limit) {
    ASSIGN_OR_RETURN(httplib::Result next, post(next_path, ""));
    if (next->status == 204) {
      run.finished = true;
      break;
    }
    if (next->status == 403) {
      run.paused = true;
      break;
    }
    if (next->status != 200) {
      return absl::InternalError(absl::StrCat("POST ", next_path, ": ", Describe(*next)));
    }
    absl::StatusOr<ShownTask> task = ParseTask(next->body);
    if (!task.ok()) {
      return absl::InternalError(absl::StrCat("POST ", next_path, ": ", task.status().message()));
    }
    absl::StatusOr<Verdict> verdict = judge(*task);
    if (!verdict.ok()) {
      return absl::Status(verdict.status().code(),
                          absl::StrCat("judging lease ", task->lease_id, ": ",
                                       verdict.status().message()));
    }
    Json answers = {{"pairwise", PairwiseName(verdict->pairwise)}};
    if (verdict->flags.has_value()) {
      Json flags = Json::array();
      for (const std::string& category : *verdict->flags) {
        flags.push_back(category.empty() ? Json{{"approved", true}}
                                         : Json{{"approved", false}, {"categories", {category}}});
      }
      answers = {{"flags", flags}};
    }
    const Json body = {{"answers", answers}, {"seconds_spent", verdict->seconds_spent}};
    const std::string submit_path = absl::StrCat("/api/v1/tasks/", task->lease_id, "/submit");
    ASSIGN_OR_RETURN(httplib::Result submit, post(submit_path, body.dump()));
    if (submit->status == 403) {  // paused between /next and /submit
      run.paused = true;
      break;
    }
    if (submit->status != 200) {
      return absl::InternalError(absl::StrCat("POST ", submit_path, ": ", Describe(*submit)));
    }
    ++run.submitted;
  }
  return run;
}

}  // namespace rein::demo
