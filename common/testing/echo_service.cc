#include "common/testing/echo_service.h"

#include "absl/time/time.h"

namespace rein::testing {

grpc::Status EchoService::Echo(grpc::ServerContext* context, const EchoRequest* request,
                               EchoResponse* response) {
  response->set_message(request->message());
  response->set_payload(request->payload());
  auto auth = context->client_metadata().find("authorization");
  if (auth != context->client_metadata().end()) {
    response->set_authorization_seen(std::string(auth->second.data(), auth->second.size()));
  }
  return grpc::Status::OK;
}

grpc::Status EchoService::Hold(grpc::ServerContext* context, const HoldRequest* request,
                               EchoResponse* response) {
  if (on_hold_) on_hold_(request->key());
  absl::Time until = request->hold_ms() > 0 ? absl::Now() + absl::Milliseconds(request->hold_ms())
                                            : absl::InfiniteFuture();
  absl::MutexLock lock(&mu_);
  ++holders_;
  const bool& released = released_[request->key()];  // std::map references are stable.
  auto is_released = [&released] { return released; };
  // Wakes every 50 ms only to notice cancellation (the sync API has no cancel callback).
  while (!released && !context->IsCancelled() && absl::Now() < until) {
    mu_.AwaitWithTimeout(absl::Condition(&is_released), absl::Milliseconds(50));
  }
  --holders_;
  if (!released && absl::Now() < until) {
    return grpc::Status(grpc::StatusCode::CANCELLED, "hold cancelled");
  }
  response->set_message("released " + request->key());
  return grpc::Status::OK;
}

grpc::Status EchoService::Release(grpc::ServerContext* /*context*/, const HoldRequest* request,
                                  EchoResponse* response) {
  ReleaseKey(request->key());
  response->set_message("ok");
  return grpc::Status::OK;
}

void EchoService::ReleaseKey(const std::string& key) {
  absl::MutexLock lock(&mu_);
  released_[key] = true;
}

grpc::Status EchoService::FailFirst(grpc::ServerContext* /*context*/, const FailRequest* request,
                                    FailResponse* response) {
  absl::MutexLock lock(&mu_);
  int attempt = ++attempts_[request->key()];
  if (attempt <= request->failures()) {
    return grpc::Status(static_cast<grpc::StatusCode>(request->code()),
                        "planned failure " + std::to_string(attempt));
  }
  response->set_attempts(attempt);
  return grpc::Status::OK;
}

grpc::Status EchoService::FailFirstNotRetried(grpc::ServerContext* context,
                                              const FailRequest* request,
                                              FailResponse* response) {
  return FailFirst(context, request, response);
}

void EchoService::WaitForHolders(int count) {
  absl::MutexLock lock(&mu_);
  auto enough = [this, count]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return holders_ >= count; };
  mu_.Await(absl::Condition(&enough));
}

}  // namespace rein::testing
