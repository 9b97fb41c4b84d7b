#include "services/feedback/feedback_server.h"

#include <fcntl.h>
#include <httplib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <google/protobuf/util/json_util.h>

#include <iostream>
#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "common/files/file_util.h"
#include "common/http/http_server.h"
#include "common/log/log.h"
#include "common/sql/database.h"
#include "common/status/status_macros.h"
#include "services/feedback/feedback_service.h"
#include "services/feedback/feedback_store.h"
#include "services/feedback/http_api.h"
#include "services/feedback/quality_gate.h"

namespace rein::feedback {
namespace {

absl::StatusOr<std::string> ReadToken(const std::string& path, const char* key) {
  absl::StatusOr<std::string> text = files::ReadFile(path);
  if (!text.ok()) {
    return absl::Status(text.status().code(), absl::StrCat(key, ": ", text.status().message()));
  }
  std::string token(absl::StripAsciiWhitespace(*text));
  if (token.empty()) return absl::InvalidArgumentError(absl::StrCat(key, ": '", path, "' is empty"));
  return token;
}

// Hands the HTTP admin route the service once it exists; shared by both, so that a request in
// flight keeps the service alive.
class StatusSource {
 public:
  void Set(std::shared_ptr<FeedbackService> service) {
    absl::MutexLock lock(&mu_);
    service_ = std::move(service);
  }
  absl::StatusOr<std::string> StatusJson(const std::string& campaign) {
    std::shared_ptr<FeedbackService> service;
    {
      absl::MutexLock lock(&mu_);
      service = service_;
    }
    if (service == nullptr) return absl::UnavailableError("rein-feedback is starting");
    ASSIGN_OR_RETURN(rein::v1::CampaignStatus status, service->Status(campaign));
    google::protobuf::util::JsonPrintOptions options;
    options.preserve_proto_field_names = true;
    options.always_print_primitive_fields = true;
    std::string json;
    if (!google::protobuf::util::MessageToJsonString(status, &json, options).ok()) {
      return absl::InternalError("campaign status: cannot write JSON");
    }
    return json;
  }

 private:
  absl::Mutex mu_;
  std::shared_ptr<FeedbackService> service_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

absl::StatusOr<std::string> LoadAdminToken(const config::ExperimentConfig& config,
                                           const std::string& fallback_path) {
  if (!config.feedback.admin_token_file.empty()) {
    return ReadToken(config.feedback.admin_token_file, "feedback.admin_token_file");
  }
  if (!config.server.auth_token_file.empty()) {
    return ReadToken(config.server.auth_token_file, "server.auth_token_file");
  }
  if (!config.server.auth.operator_token_file.empty()) {
    // The token or its verifier: the server accepts either (auth_roles.h).
    return ReadToken(config.server.auth.operator_token_file, "server.auth.operator_token_file");
  }
  if (access(fallback_path.c_str(), F_OK) == 0) return ReadToken(fallback_path, "admin token");
  const std::string token = NewSecret();
  RETURN_IF_ERROR(files::WriteFileAtomically(fallback_path, [&](int fd) -> absl::Status {
    if (fchmod(fd, 0600) != 0) return files::ErrnoError(errno, "chmod", fallback_path);
    const std::string line = token + "\n";
    return files::WriteAll(fd, line.data(), line.size(), fallback_path);
  }));
  REIN_LOG(INFO, "feedback") << "no admin token configured: generated one in " << fallback_path;
  return token;
}

absl::Status RunFeedbackServer(const worker::WorkerSetup& setup, rpc::ShutdownSignal& shutdown) {
  const config::ExperimentConfig& c = setup.config;
  const config::FeedbackConfig& f = c.feedback;
  ASSIGN_OR_RETURN(std::unique_ptr<sql::Database> db, sql::OpenByUrl(f.store));
  FeedbackStoreOptions store_options;
  store_options.lease_duration = f.lease_duration;
  store_options.max_open_leases = f.max_open_leases;
  ASSIGN_OR_RETURN(std::unique_ptr<FeedbackStore> store,
                   FeedbackStore::Open(std::move(db), store_options));

  auto registry = std::make_shared<prometheus::Registry>();
  quality::QualityOptions quality_options;
  quality_options.min_gold_accuracy = f.min_gold_accuracy;
  quality_options.min_gold_judgements = f.min_gold_judgements;
  QualityGate gate(store.get(), quality_options);

  HttpApiOptions http_options;
  http_options.session_lifetime = f.session_lifetime;
  http_options.requests_per_minute = f.submissions_per_minute;
  // The annotator page is HTTPS whenever the gRPC side is TLS, with the same certificate.
  const bool tls = !c.server.tls.cert.empty();
  http_options.secure_cookie = tls || absl::StartsWith(f.public_url, "https://");
  // The admin status route reads the service, which is made once the HTTP port (and so the
  // invite link's base) is known; until then the route answers UNAVAILABLE.
  auto status_source = std::make_shared<StatusSource>();
  HttpApi api(store.get(), &gate, http_options, *registry,
              [status_source](const std::string& campaign) {
                return status_source->StatusJson(campaign);
              });
  http::HttpServerOptions server_options;
  server_options.name = "feedback";
  server_options.tls_cert_file = c.server.tls.cert;
  server_options.tls_key_file = c.server.tls.key;
  server_options.host = c.server.host;
  server_options.port = f.http_port;
  server_options.threads = f.http_threads;
  server_options.max_request_bytes = static_cast<size_t>(f.max_request_bytes);
  // Annotator clients keep one connection for a whole session; closing it every 100 requests
  // only makes them reconnect.
  server_options.keep_alive_max_count = 100000;
  ASSIGN_OR_RETURN(std::unique_ptr<http::HttpServer> http_server,
                   http::HttpServer::Start(server_options,
                                           [&api](httplib::Server& s) { api.Install(s); }));
  const std::string http_address = absl::StrCat(c.server.host, ":", http_server->port());
  std::cout << setup.serve.name << kHttpMarker << http_address << std::endl;
  const std::string http_url = absl::StrCat(http_server->scheme(), "://", http_address);
  REIN_LOG(INFO, "feedback") << "annotator page and HTTP API on " << http_url;

  FeedbackServiceOptions service_options;
  service_options.public_url =
      f.public_url.empty() ? http_url : std::string(absl::StripSuffix(f.public_url, "/"));
  service_options.quality = quality_options;
  auto service = std::make_shared<FeedbackService>(store.get(), service_options, *registry);
  status_source->Set(service);

  worker::WorkerSetup serving = setup;
  ASSIGN_OR_RETURN(serving.serve.server.auth_token, LoadAdminToken(c, "feedback-admin.token"));
  absl::Status status = worker::ServeWorker(serving, rein::v1::ROLE_FEEDBACK, /*capacity=*/1,
                                            {rpc::Bind<rein::v1::Feedback>(service.get())}, registry,
                                            shutdown);
  api.SetDraining();
  http_server->Stop();
  return status;
}

}  // namespace rein::feedback
