// Shared by the rpc tests: an Echo server on a free loopback port with its own registry.
#ifndef REIN_COMMON_RPC_TEST_FIXTURE_H_
#define REIN_COMMON_RPC_TEST_FIXTURE_H_

#include <memory>
#include <string>

#include <prometheus/registry.h>

#include "common/rpc/client.h"
#include "common/rpc/server.h"
#include "common/testing/echo_service.h"
#include "common/testing/subprocess.h"

namespace rein::rpc {

struct EchoServer {
  std::shared_ptr<prometheus::Registry> registry = std::make_shared<prometheus::Registry>();
  testing::EchoService service;
  std::unique_ptr<Server> server;

  absl::Status Start(const ServerOptions& options) {
    auto created = Server::Create(options, {Bind<rein::testing::Echo>(&service)}, *registry);
    if (!created.ok()) return created.status();
    server = *std::move(created);
    return absl::OkStatus();
  }
  // Dial the server by the address it reports.
  std::unique_ptr<rein::testing::Echo::Stub> Stub(const ClientOptions& options) const {
    auto channel = CreateChannel(server->address(), options);
    return channel.ok() ? rein::testing::Echo::NewStub(*channel) : nullptr;
  }
};

inline std::string CertPath(const std::string& name) {
  return testing::SourcePath("tests/data/certs/" + name);
}

// Client options with short deadlines so that refusals fail fast.
inline ClientOptions FastClient() {
  ClientOptions options;
  options.default_deadline = absl::Seconds(10);
  return options;
}

inline grpc::Status CallEcho(rein::testing::Echo::Stub& stub, const ClientOptions& options,
                             const std::string& message, rein::testing::EchoResponse* response) {
  rein::testing::EchoRequest request;
  request.set_message(message);
  auto context = NewCallContext(options);
  return stub.Echo(context.get(), request, response);
}

}  // namespace rein::rpc

#endif  // REIN_COMMON_RPC_TEST_FIXTURE_H_
