// rein.v1.Coordinator: the control plane of one run. Registration and the key-value store are
// served at any time; Start launches the iteration loop (once) on its own thread; the run
// control RPCs go to RunState; Checkpoint waits (up to the call's deadline) for the loop to
// write the checkpoint between iterations.
//
// Ownership: borrows everything; the loop thread is joined by the destructor after Stop.
// Thread safety: handlers run concurrently on gRPC's threads.
#ifndef REIN_SERVICES_COORDINATOR_COORDINATOR_SERVICE_H_
#define REIN_SERVICES_COORDINATOR_COORDINATOR_SERVICE_H_

#include <functional>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "rein/v1/coordinator.grpc.pb.h"
#include "services/coordinator/kv_store.h"
#include "services/coordinator/run_loop.h"
#include "services/coordinator/run_state.h"
#include "services/coordinator/worker_registry.h"

namespace rein::coordinator {

class CoordinatorService final : public rein::v1::Coordinator::Service {
 public:
  // `on_finished` (optional) runs on the loop thread when the run has ended.
  CoordinatorService(WorkerRegistry& registry, KvStore& store, RunState& run, RunLoop& loop,
                     std::function<void(const absl::Status&)> on_finished = nullptr);
  ~CoordinatorService() override;

  // Whether a worker answers at `address` (its health service). With a probe set, a Register
  // under the id of an active worker at another address is refused while the old one still
  // answers: one request must not evict a live worker. Without one (tests), it replaces it.
  using LivenessProbe = std::function<bool(const std::string& address)>;
  void SetLivenessProbe(LivenessProbe probe) { probe_ = std::move(probe); }

  // Starts the loop if it has not started; what the Start RPC does.
  void StartRun();
  // Whether the loop has been started (and so will call on_finished).
  bool started() ABSL_LOCKS_EXCLUDED(mu_);

  grpc::Status Register(grpc::ServerContext*, const rein::v1::RegisterRequest* request,
                        rein::v1::RegisterResponse* response) override;
  grpc::Status Start(grpc::ServerContext*, const rein::v1::StartRequest*,
                     rein::v1::RunStatus* response) override;
  grpc::Status Status(grpc::ServerContext*, const rein::v1::StatusRequest*,
                      rein::v1::RunStatus* response) override;
  grpc::Status Pause(grpc::ServerContext*, const rein::v1::PauseRequest*,
                     rein::v1::RunStatus* response) override;
  grpc::Status Resume(grpc::ServerContext*, const rein::v1::ResumeRequest*,
                      rein::v1::RunStatus* response) override;
  grpc::Status Stop(grpc::ServerContext*, const rein::v1::StopRequest*,
                    rein::v1::RunStatus* response) override;
  grpc::Status Checkpoint(grpc::ServerContext* context,
                          const rein::v1::CheckpointRequest* request,
                          rein::v1::CheckpointResponse* response) override;
  grpc::Status Set(grpc::ServerContext*, const rein::v1::SetRequest* request,
                   rein::v1::RunStatus* response) override;
  grpc::Status KvSet(grpc::ServerContext*, const rein::v1::KvSetRequest* request,
                     rein::v1::KvSetResponse* response) override;
  grpc::Status KvGet(grpc::ServerContext* context, const rein::v1::KvGetRequest* request,
                     rein::v1::KvGetResponse* response) override;

 private:
  WorkerRegistry& registry_;
  KvStore& store_;
  RunState& run_;
  RunLoop& loop_;
  const std::function<void(const absl::Status&)> on_finished_;
  LivenessProbe probe_;
  const std::string incarnation_;
  absl::Mutex mu_;
  std::thread loop_thread_ ABSL_GUARDED_BY(mu_);
};

}  // namespace rein::coordinator

#endif  // REIN_SERVICES_COORDINATOR_COORDINATOR_SERVICE_H_
