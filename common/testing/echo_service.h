// rein.testing.Echo implementation for RPC runtime tests (see proto/rein/testing/echo.proto).
// Thread safe.
#ifndef REIN_COMMON_TESTING_ECHO_SERVICE_H_
#define REIN_COMMON_TESTING_ECHO_SERVICE_H_

#include <functional>
#include <map>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "rein/testing/echo.grpc.pb.h"

namespace rein::testing {

class EchoService final : public rein::testing::Echo::Service {
 public:
  // `on_hold` (optional) runs when a Hold call starts waiting, with its key: lets a test in
  // another process see that a call is in flight.
  explicit EchoService(std::function<void(const std::string&)> on_hold = nullptr)
      : on_hold_(std::move(on_hold)) {}

  grpc::Status Echo(grpc::ServerContext* context, const EchoRequest* request,
                    EchoResponse* response) override;
  grpc::Status Hold(grpc::ServerContext* context, const HoldRequest* request,
                    EchoResponse* response) override;
  grpc::Status Release(grpc::ServerContext* context, const HoldRequest* request,
                       EchoResponse* response) override;
  grpc::Status FailFirst(grpc::ServerContext* context, const FailRequest* request,
                         FailResponse* response) override;
  grpc::Status FailFirstNotRetried(grpc::ServerContext* context, const FailRequest* request,
                                   FailResponse* response) override;

  // Blocks until `count` Hold calls are waiting (lets a test know a call is in flight).
  void WaitForHolders(int count);
  // What the Release RPC does, for callers in the server's process.
  void ReleaseKey(const std::string& key);

 private:
  const std::function<void(const std::string&)> on_hold_;
  absl::Mutex mu_;
  std::map<std::string, bool> released_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, int> attempts_ ABSL_GUARDED_BY(mu_);
  int holders_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace rein::testing

#endif  // REIN_COMMON_TESTING_ECHO_SERVICE_H_
