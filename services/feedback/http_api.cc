#include "services/feedback/http_api.h"

#include <httplib.h>
#include <prometheus/counter.h>
#include <prometheus/histogram.h>

#include <atomic>
#include <nlohmann/json.hpp>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/match.h"
#include "absl/synchronization/mutex.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/http/http_server.h"
#include "common/log/log.h"
#include "common/metrics/families.h"
#include "common/status/status_macros.h"
#include "services/feedback/formats/answers_json.h"
#include "services/feedback/http_admin.h"
#include "services/feedback/http_reply.h"
#include "services/feedback/json_guard.h"
#include "services/feedback/rate_limiter.h"
#include "services/feedback/store_codec.h"
#include "services/feedback/web_assets.h"

namespace rein::feedback {
namespace {

using Json = nlohmann::json;

constexpr char kSessionCookie[] = "rein_session";
constexpr char kCsrfHeader[] = "X-Rein-CSRF";

// Who made a request, and whether the CSRF check applies (cookie sessions only).
struct Caller {
  Annotator annotator;
  bool from_cookie = false;
  std::string csrf_token;
};

std::string CookieValue(const httplib::Request& req, const std::string& name) {
  const std::string header = req.get_header_value("Cookie");
  for (absl::string_view part : absl::StrSplit(header, ';')) {
    part = absl::StripAsciiWhitespace(part);
    if (absl::StartsWith(part, name + "=")) return std::string(part.substr(name.size() + 1));
  }
  return "";
}

std::string BearerToken(const httplib::Request& req) {
  const std::string header = req.get_header_value("Authorization");
  constexpr absl::string_view kPrefix = "Bearer ";
  if (!absl::StartsWith(header, kPrefix)) return "";
  return std::string(absl::StripAsciiWhitespace(absl::string_view(header).substr(kPrefix.size())));
}

Json TaskJson(const Task& task) {
  Json responses = Json::array();
  for (int index : task.shown_order) responses.push_back({{"text", task.item.responses[index].text}});
  Json context = Json::array();
  for (const ChatMessage& m : task.item.context) {
    context.push_back({{"role", m.role}, {"content", m.content}});
  }
  Json questions = Json::array();
  for (QuestionType q : task.campaign.questions) questions.push_back(Name(q));
  Json out = {{"lease_id", task.lease_id},
              {"expires_at_us", task.expires_us},
              {"guideline_version", task.campaign.guideline_version},
              {"questions", questions},
              {"item", {{"prompt", task.item.prompt}, {"context", context},
                        {"responses", responses}}}};
  return out;
}

}  // namespace

class HttpApi::Impl {
 public:
  Impl(FeedbackStore* store, QualityGate* gate, HttpApiOptions options,
       prometheus::Registry& registry, CampaignStatusFn campaign_status)
      : store_(store),
        campaign_status_(std::move(campaign_status)),
        gate_(gate),
        options_(options),
        limiter_(options.requests_per_minute),
        requests_(prometheus::BuildCounter()
                      .Name("rein_feedback_http_requests_total")
                      .Help("HTTP API requests by route and status code.")
                      .Register(registry)),
        latency_(prometheus::BuildHistogram()
                     .Name("rein_feedback_http_request_seconds")
                     .Help("HTTP API handling time by route.")
                     .Register(registry)),
        judgements_(prometheus::BuildCounter()
                        .Name("rein_feedback_judgements_total")
                        .Help("Judgements stored, by status and whether synthetic.")
                        .Register(registry)),
        leases_(metrics::AddCounter(registry, "rein_feedback_leases_total",
                                    "Tasks handed out under a lease.")),
        lost_leases_(metrics::AddCounter(
            registry, "rein_feedback_lost_lease_submissions_total",
            "Submissions refused because the lease expired or another annotator took the task.")),
        rate_limited_(metrics::AddCounter(registry, "rein_feedback_rate_limited_total",
                                          "Requests refused by the per-annotator rate limit.")),
        paused_(metrics::AddCounter(registry, "rein_feedback_annotators_paused_total",
                                    "Annotators paused for low gold accuracy.")) {}

  void Install(httplib::Server& server);
  void SetDraining() { draining_ = true; }

 private:
  using Handler = std::function<void(const httplib::Request&, httplib::Response&)>;
  // Wraps a handler with metrics, the drain check and a last-resort error reply.
  Handler Route(const std::string& route, Handler handler);

  absl::StatusOr<Caller> Authenticate(const httplib::Request& req, bool state_changing);
  // A bearer token's annotator, remembered for kTokenCacheTtl: programs send the same token on
  // every request, and the store checks pausing itself wherever it matters (NextTask).
  absl::StatusOr<Annotator> AuthenticateBearer(const std::string& token);
  absl::StatusOr<Json> Body(const httplib::Request& req);
  absl::Status Limit(const Caller& caller);

  void Login(const httplib::Request& req, httplib::Response& res);
  void Logout(const httplib::Request& req, httplib::Response& res);
  void Me(const httplib::Request& req, httplib::Response& res);
  void GetCampaign(const httplib::Request& req, httplib::Response& res);
  void Next(const httplib::Request& req, httplib::Response& res);
  void Draft(const httplib::Request& req, httplib::Response& res);
  void Submit(const httplib::Request& req, httplib::Response& res);
  void Skip(const httplib::Request& req, httplib::Response& res);
  // Parses the answers of a submit/draft body (by shown position) into item order.
  absl::StatusOr<Answers> ParseAnswers(const Json& body, const LeaseInfo& lease);

  FeedbackStore* store_;
  CampaignStatusFn campaign_status_;
  // What the admin routes use; filled by Install, referenced by their handlers.
  AdminRouteDeps admin_;
  QualityGate* gate_;
  HttpApiOptions options_;
  RateLimiter limiter_;
  std::atomic<bool> draining_{false};
  static constexpr absl::Duration kTokenCacheTtl = absl::Seconds(2);
  static constexpr size_t kTokenCacheMax = 100000;
  absl::Mutex token_mu_;
  absl::flat_hash_map<std::string, std::pair<Annotator, absl::Time>> token_cache_
      ABSL_GUARDED_BY(token_mu_);
  prometheus::Family<prometheus::Counter>& requests_;
  prometheus::Family<prometheus::Histogram>& latency_;
  prometheus::Family<prometheus::Counter>& judgements_;
  prometheus::Counter& leases_;
  prometheus::Counter& lost_leases_;
  prometheus::Counter& rate_limited_;
  prometheus::Counter& paused_;
};

HttpApi::Impl::Handler HttpApi::Impl::Route(const std::string& route, Handler handler) {
  prometheus::Histogram& latency = latency_.Add(
      {{"route", route}}, prometheus::Histogram::BucketBoundaries{0.001, 0.003, 0.01, 0.03, 0.1,
                                                                   0.3, 1, 3});
  return [this, route, handler = std::move(handler), &latency](const httplib::Request& req,
                                                                httplib::Response& res) {
    const absl::Time start = absl::Now();
    if (draining_ && route != "page") {
      http::ReplyError(res, absl::UnavailableError("rein-feedback is shutting down"));
    } else {
      handler(req, res);
    }
    latency.Observe(absl::ToDoubleSeconds(absl::Now() - start));
    requests_.Add({{"route", route}, {"code", std::to_string(res.status)}}).Increment();
  };
}

absl::StatusOr<Caller> HttpApi::Impl::Authenticate(const httplib::Request& req,
                                                   bool state_changing) {
  if (const std::string token = BearerToken(req); !token.empty()) {
    ASSIGN_OR_RETURN(Annotator annotator, AuthenticateBearer(token));
    return Caller{std::move(annotator), false, ""};
  }
  const std::string session = CookieValue(req, kSessionCookie);
  if (session.empty()) {
    return absl::UnauthenticatedError("log in from your invite link (or send a bearer token)");
  }
  ASSIGN_OR_RETURN(SessionAnnotator found, store_->AuthenticateSession(session));
  // A cookie rides along on any request the browser makes, including ones another site
  // triggers; the CSRF token only this page knows proves the request came from it.
  if (state_changing && req.get_header_value(kCsrfHeader) != found.csrf_token) {
    return absl::PermissionDeniedError(
        absl::StrCat("missing or wrong ", kCsrfHeader, " header; reload the page"));
  }
  return Caller{std::move(found.annotator), true, std::move(found.csrf_token)};
}

absl::StatusOr<Annotator> HttpApi::Impl::AuthenticateBearer(const std::string& token) {
  const absl::Time now = absl::Now();
  {
    absl::MutexLock lock(&token_mu_);
    auto it = token_cache_.find(token);
    if (it != token_cache_.end() && now < it->second.second) return it->second.first;
  }
  ASSIGN_OR_RETURN(Annotator annotator, store_->AuthenticateToken(token));
  absl::MutexLock lock(&token_mu_);
  // Bounded: past the cap the cache starts over (entries live two seconds anyway).
  if (token_cache_.size() >= kTokenCacheMax) token_cache_.clear();
  token_cache_[token] = {annotator, now + kTokenCacheTtl};
  return annotator;
}

absl::StatusOr<Json> HttpApi::Impl::Body(const httplib::Request& req) {
  if (req.body.empty()) return Json::object();
  RETURN_IF_ERROR(CheckJsonDepth(req.body, kMaxJsonDepth));
  Json body = Json::parse(req.body, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded()) return absl::InvalidArgumentError("body: not valid JSON");
  if (!body.is_object()) return absl::InvalidArgumentError("body: must be a JSON object");
  return body;
}

absl::Status HttpApi::Impl::Limit(const Caller& caller) {
  if (limiter_.Allow(caller.annotator.id, absl::Now())) return absl::OkStatus();
  rate_limited_.Increment();
  return absl::ResourceExhaustedError("too many requests: slow down");
}

void HttpApi::Impl::Login(const httplib::Request& req, httplib::Response& res) {
  absl::StatusOr<Json> body = Body(req);
  if (!body.ok()) return ReplyStatus(res, body.status());
  const Json& token = (*body)["token"];
  if (!token.is_string()) {
    return ReplyStatus(res, absl::InvalidArgumentError("token: a string is required"));
  }
  absl::StatusOr<Annotator> annotator = store_->AuthenticateToken(token.get<std::string>());
  if (!annotator.ok()) return ReplyStatus(res, annotator.status());
  absl::StatusOr<Session> session = store_->CreateSession(annotator->id, options_.session_lifetime);
  if (!session.ok()) return ReplyStatus(res, session.status());
  res.set_header("Set-Cookie",
                 absl::StrCat(kSessionCookie, "=", session->token,
                              "; HttpOnly; SameSite=Strict; Path=/; Max-Age=",
                              absl::ToInt64Seconds(options_.session_lifetime),
                              options_.secure_cookie ? "; Secure" : ""));
  ReplyJson(res, 200, {{"annotator", AnnotatorJson(*annotator)}, {"csrf_token", session->csrf_token}});
}

void HttpApi::Impl::Logout(const httplib::Request& req, httplib::Response& res) {
  absl::StatusOr<Caller> caller = Authenticate(req, /*state_changing=*/true);
  if (!caller.ok()) return ReplyStatus(res, caller.status());
  if (caller->from_cookie) {
    absl::Status status = store_->DeleteSession(CookieValue(req, kSessionCookie));
    if (!status.ok()) return ReplyStatus(res, status);
  }
  res.set_header("Set-Cookie", absl::StrCat(kSessionCookie, "=; HttpOnly; SameSite=Strict; "
                                                            "Path=/; Max-Age=0"));
  ReplyJson(res, 200, Json::object());
}

void HttpApi::Impl::Me(const httplib::Request& req, httplib::Response& res) {
  absl::StatusOr<Caller> caller = Authenticate(req, false);
  if (!caller.ok()) return ReplyStatus(res, caller.status());
  absl::StatusOr<std::vector<Campaign>> campaigns = store_->ListCampaigns();
  if (!campaigns.ok()) return ReplyStatus(res, campaigns.status());
  Json list = Json::array();
  for (const Campaign& c : *campaigns) {
    if (c.state == CampaignState::kClosed) continue;
    if (!RoleAtLeast(caller->annotator.role, c.min_role)) continue;
    absl::StatusOr<AnnotatorProgress> progress = store_->Progress(c.id, caller->annotator.id);
    if (!progress.ok()) return ReplyStatus(res, progress.status());
    list.push_back({{"id", c.id}, {"name", c.name}, {"state", Name(c.state)},
                    {"submitted_by_me", progress->submitted}, {"quota", progress->quota}});
  }
  Json me = {{"annotator", AnnotatorJson(caller->annotator)}, {"campaigns", list}};
  if (caller->from_cookie) me["csrf_token"] = caller->csrf_token;
  ReplyJson(res, 200, me);
}

void HttpApi::Impl::GetCampaign(const httplib::Request& req, httplib::Response& res) {
  absl::StatusOr<Caller> caller = Authenticate(req, false);
  if (!caller.ok()) return ReplyStatus(res, caller.status());
  absl::StatusOr<Campaign> c = store_->GetCampaign(req.matches[1]);
  if (!c.ok()) return ReplyStatus(res, c.status());
  if (!RoleAtLeast(caller->annotator.role, c->min_role)) {
    return ReplyStatus(res, absl::PermissionDeniedError(absl::StrCat(
                                "campaign '", c->name, "' is for ", Name(c->min_role), "s")));
  }
  Json questions = Json::array();
  for (QuestionType q : c->questions) questions.push_back(Name(q));
  ReplyJson(res, 200, {{"id", c->id}, {"name", c->name},
                       {"guidelines_markdown", c->guidelines_markdown},
                       {"guideline_version", c->guideline_version}, {"questions", questions},
                       {"state", Name(c->state)}, {"min_role", Name(c->min_role)}});
}

void HttpApi::Impl::Next(const httplib::Request& req, httplib::Response& res) {
  absl::StatusOr<Caller> caller = Authenticate(req, true);
  if (!caller.ok()) return ReplyStatus(res, caller.status());
  if (absl::Status s = Limit(*caller); !s.ok()) return ReplyStatus(res, s);
  absl::StatusOr<std::optional<Task>> task = store_->NextTask(req.matches[1], caller->annotator);
  if (!task.ok()) return ReplyStatus(res, task.status());
  if (!task->has_value()) {
    res.status = 204;
    return;
  }
  leases_.Increment();
  Json body = TaskJson(**task);
  if ((*task)->draft) {
    // A draft is stored in item order; the page wants it by position: map it through the
    // inverse of the showing.
    const std::vector<int>& shown = (*task)->shown_order;
    std::vector<int> inverse(shown.size());
    for (size_t p = 0; p < shown.size(); ++p) inverse[shown[p]] = static_cast<int>(p);
    absl::StatusOr<Answers> by_position = ToItemOrder(*(*task)->draft, inverse);
    if (by_position.ok()) body["draft"] = AnswersToJson(*by_position);
  }
  ReplyJson(res, 200, {{"task", body}});
}

absl::StatusOr<Answers> HttpApi::Impl::ParseAnswers(const Json& body, const LeaseInfo& lease) {
  if (!body.contains("answers")) return absl::InvalidArgumentError("answers: required");
  ASSIGN_OR_RETURN(Answers by_position,
                   AnswersFromJson(body["answers"], lease.num_responses, lease.campaign.questions));
  return ToItemOrder(by_position, lease.shown_order);
}

void HttpApi::Impl::Draft(const httplib::Request& req, httplib::Response& res) {
  absl::StatusOr<Caller> caller = Authenticate(req, true);
  if (!caller.ok()) return ReplyStatus(res, caller.status());
  absl::StatusOr<Json> body = Body(req);
  if (!body.ok()) return ReplyStatus(res, body.status());
  absl::StatusOr<LeaseInfo> lease = store_->GetLease(req.matches[1], caller->annotator.id);
  if (!lease.ok()) return ReplyStatus(res, lease.status());
  // Drafts are partial: only the questions present are checked.
  Json answers = body->value("answers", Json::object());
  if (!answers.is_object()) {
    return ReplyStatus(res, absl::InvalidArgumentError("answers: must be an object"));
  }
  std::vector<QuestionType> present;
  for (QuestionType q : lease->campaign.questions) {
    if (answers.contains(internal::AnswerKey(q))) present.push_back(q);
  }
  absl::StatusOr<Answers> by_position = AnswersFromJson(answers, lease->num_responses, present);
  if (!by_position.ok()) return ReplyStatus(res, by_position.status());
  absl::StatusOr<Answers> item_order = ToItemOrder(*by_position, lease->shown_order);
  if (!item_order.ok()) return ReplyStatus(res, item_order.status());
  absl::Status status = store_->SaveDraft(lease->lease_id, caller->annotator.id, *item_order);
  if (!status.ok()) return ReplyStatus(res, status);
  ReplyJson(res, 200, Json::object());
}

void HttpApi::Impl::Submit(const httplib::Request& req, httplib::Response& res) {
  absl::StatusOr<Caller> caller = Authenticate(req, true);
  if (!caller.ok()) return ReplyStatus(res, caller.status());
  if (absl::Status s = Limit(*caller); !s.ok()) return ReplyStatus(res, s);
  absl::StatusOr<Json> body = Body(req);
  if (!body.ok()) return ReplyStatus(res, body.status());
  double seconds = 0;
  if (body->contains("seconds_spent")) {
    const Json& s = (*body)["seconds_spent"];
    if (!s.is_number() || s.get<double>() < 0 || s.get<double>() > 86400) {
      return ReplyStatus(res, absl::InvalidArgumentError(
                                  "seconds_spent: must be a number of seconds in [0, 86400]"));
    }
    seconds = s.get<double>();
  }
  for (const auto& [key, value] : body->items()) {
    if (key != "answers" && key != "seconds_spent") {
      return ReplyStatus(res, absl::InvalidArgumentError(absl::StrCat(key, ": unknown field")));
    }
  }
  absl::StatusOr<LeaseInfo> lease = store_->GetLease(req.matches[1], caller->annotator.id);
  if (!lease.ok()) {
    if (absl::IsFailedPrecondition(lease.status())) lost_leases_.Increment();
    return ReplyStatus(res, lease.status());
  }
  absl::StatusOr<Answers> answers = ParseAnswers(*body, *lease);
  if (!answers.ok()) return ReplyStatus(res, answers.status());
  absl::StatusOr<std::string> id = store_->Submit(lease->lease_id, caller->annotator, *answers,
                                                  seconds);
  if (!id.ok()) {
    if (absl::IsFailedPrecondition(id.status())) lost_leases_.Increment();
    return ReplyStatus(res, id.status());
  }
  judgements_.Add({{"status", "submitted"}, {"synthetic", caller->annotator.synthetic ? "true" : "false"}})
      .Increment();
  if (lease->gold && gate_ != nullptr) {
    absl::StatusOr<bool> paused = gate_->AfterGoldJudgement(caller->annotator);
    if (!paused.ok()) {
      REIN_LOG(WARNING, "http") << "gold check of " << caller->annotator.name
                                << " failed: " << paused.status();
    } else if (*paused) {
      paused_.Increment();
    }
  }
  ReplyJson(res, 200, {{"judgement_id", *id}});
}

void HttpApi::Impl::Skip(const httplib::Request& req, httplib::Response& res) {
  absl::StatusOr<Caller> caller = Authenticate(req, true);
  if (!caller.ok()) return ReplyStatus(res, caller.status());
  if (absl::Status s = Limit(*caller); !s.ok()) return ReplyStatus(res, s);
  absl::Status status = store_->Skip(req.matches[1], caller->annotator);
  if (!status.ok()) return ReplyStatus(res, status);
  judgements_.Add({{"status", "skipped"}, {"synthetic", caller->annotator.synthetic ? "true" : "false"}})
      .Increment();
  ReplyJson(res, 200, Json::object());
}

void HttpApi::Impl::Install(httplib::Server& server) {
  using namespace std::placeholders;
  auto bind = [this](void (Impl::*method)(const httplib::Request&, httplib::Response&)) {
    return [this, method](const httplib::Request& req, httplib::Response& res) {
      (this->*method)(req, res);
    };
  };
  for (const WebAsset& asset : WebAssets()) {
    const std::string path = asset.path == "index.html" ? "/" : absl::StrCat("/static/", std::string(asset.path));
    server.Get(path, Route("page", [asset](const httplib::Request&, httplib::Response& res) {
                 res.set_content(std::string(asset.content), std::string(asset.content_type));
                 // The page may run only its own scripts and styles: injected markup could not
                 // load or run anything even if it got past the renderer.
                 res.set_header("Content-Security-Policy",
                                "default-src 'self'; script-src 'self'; style-src 'self'; "
                                "img-src 'self' data:; object-src 'none'; base-uri 'none'; "
                                "frame-ancestors 'none'; form-action 'self'");
                 res.set_header("X-Content-Type-Options", "nosniff");
                 res.set_header("Referrer-Policy", "no-referrer");
               }));
  }
  server.Get("/healthz", Route("healthz", [this](const httplib::Request&, httplib::Response& res) {
               ReplyJson(res, draining_ ? 503 : 200,
                         {{"status", draining_ ? "NOT_SERVING" : "SERVING"}});
             }));
  server.Post("/api/v1/login", Route("login", bind(&Impl::Login)));
  server.Post("/api/v1/logout", Route("logout", bind(&Impl::Logout)));
  server.Get("/api/v1/me", Route("me", bind(&Impl::Me)));
  server.Get(R"(/api/v1/campaigns/([A-Za-z0-9_.\-]{1,200}))",
             Route("campaign", bind(&Impl::GetCampaign)));
  server.Post(R"(/api/v1/campaigns/([A-Za-z0-9_.\-]{1,200})/next)", Route("next", bind(&Impl::Next)));
  server.Put(R"(/api/v1/tasks/([A-Za-z0-9_]{1,64})/draft)", Route("draft", bind(&Impl::Draft)));
  server.Post(R"(/api/v1/tasks/([A-Za-z0-9_]{1,64})/submit)", Route("submit", bind(&Impl::Submit)));
  server.Post(R"(/api/v1/tasks/([A-Za-z0-9_]{1,64})/skip)", Route("skip", bind(&Impl::Skip)));
  admin_.store = store_;
  admin_.campaign_status = campaign_status_;
  admin_.authenticate = [this](const httplib::Request& req,
                               bool state_changing) -> absl::StatusOr<Annotator> {
    absl::StatusOr<Caller> caller = Authenticate(req, state_changing);
    if (!caller.ok()) return caller.status();
    return std::move(caller->annotator);
  };
  admin_.route = [this](const std::string& route, HttpHandler handler) {
    return Route(route, std::move(handler));
  };
  InstallAdminRoutes(server, admin_);
}

HttpApi::HttpApi(FeedbackStore* store, QualityGate* gate, HttpApiOptions options,
                 prometheus::Registry& registry, CampaignStatusFn campaign_status)
    : impl_(std::make_unique<Impl>(store, gate, options, registry, std::move(campaign_status))) {}
HttpApi::~HttpApi() = default;
void HttpApi::Install(httplib::Server& server) { impl_->Install(server); }
void HttpApi::SetDraining() { impl_->SetDraining(); }

}  // namespace rein::feedback
