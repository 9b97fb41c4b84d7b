#include "services/coordinator/coordinator_service.h"

#include <unistd.h>

#include <chrono>
#include <optional>
#include <random>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/files/confined_path.h"
#include "common/log/log.h"
#include "common/rpc/auth_roles.h"
#include "common/rpc/request_limits.h"
#include "common/status/grpc_status.h"

namespace rein::coordinator {
namespace {

// A KvGet never waits longer than this, whatever it asks: handler threads are a shared pool.
constexpr absl::Duration kMaxKvWait = absl::Minutes(10);

absl::Duration WaitOf(const grpc::ServerContext& context, const google::protobuf::Duration& wait) {
  absl::Duration asked = absl::Seconds(wait.seconds()) + absl::Nanoseconds(wait.nanos());
  absl::Duration until_deadline = absl::FromChrono(context.deadline() - std::chrono::system_clock::now());
  return std::min({asked, until_deadline, kMaxKvWait});
}

// Control requests change the run, so each is logged with where it came from and how it ended
// (the peer is the caller's address, then the role its token has).
void LogControl(const grpc::ServerContext& context, absl::string_view what,
                const absl::Status& outcome) {
  REIN_LOG(INFO, "coordinator") << what << " requested by " << context.peer() << " ("
                                << rpc::CallerRole(context)
                                << "): " << (outcome.ok() ? "done" : outcome.ToString());
}

// Unique per process start: the pid alone repeats across containers (often 1), the time alone
// across a fast restart on two machines.
std::string NewIncarnation() {
  std::random_device random;
  return absl::StrCat(getpid(), "-", absl::ToUnixMicros(absl::Now()), "-", random());
}

// A worker takes at most this many sequences per call: 2^20 is beyond any accelerator's batch,
// and the capacity becomes a shard size the coordinator allocates for.
constexpr uint32_t kMaxWorkerCapacity = 1 << 20;
// Learner ranks: 2^16 is beyond any data-parallel world size.
constexpr uint32_t kMaxWorkerRank = 1 << 16;

// The request's strings and numbers against rpc/request_limits.h, before any lookup.
absl::Status CheckRegister(const rein::v1::RegisterRequest& request) {
  if (absl::Status s = rpc::CheckId("worker_id", request.worker_id()); !s.ok()) return s;
  if (absl::Status s = rpc::CheckAddress("address", request.address()); !s.ok()) return s;
  if (request.capacity() > kMaxWorkerCapacity) {
    return absl::InvalidArgumentError(absl::StrCat("capacity: ", request.capacity(),
                                                   " is above the limit of ", kMaxWorkerCapacity));
  }
  if (request.rank() >= kMaxWorkerRank) {
    return absl::InvalidArgumentError(
        absl::StrCat("rank: ", request.rank(), " is above the limit of ", kMaxWorkerRank - 1));
  }
  return absl::OkStatus();
}

}  // namespace

CoordinatorService::CoordinatorService(WorkerRegistry& registry, KvStore& store, RunState& run,
                                       RunLoop& loop,
                                       std::function<void(const absl::Status&)> on_finished)
    : registry_(registry),
      store_(store),
      run_(run),
      loop_(loop),
      on_finished_(std::move(on_finished)),
      incarnation_(NewIncarnation()) {}

CoordinatorService::~CoordinatorService() {
  run_.Stop();
  absl::MutexLock lock(&mu_);
  if (loop_thread_.joinable()) loop_thread_.join();
}

void CoordinatorService::StartRun() {
  absl::MutexLock lock(&mu_);
  if (loop_thread_.joinable()) return;  // Already started: Start is idempotent.
  loop_thread_ = std::thread([this] {
    absl::Status status = loop_.Run();
    REIN_LOG(INFO, "coordinator") << "run ended: " << (status.ok() ? "finished" : status.ToString());
    if (on_finished_) on_finished_(status);
  });
}

bool CoordinatorService::started() {
  absl::MutexLock lock(&mu_);
  return loop_thread_.joinable();
}

grpc::Status CoordinatorService::Register(grpc::ServerContext*,
                                          const rein::v1::RegisterRequest* request,
                                          rein::v1::RegisterResponse* response) {
  if (absl::Status checked = CheckRegister(*request); !checked.ok()) return ToGrpcStatus(checked);
  if (probe_) {
    const std::optional<Worker> current = registry_.FindActive(request->worker_id());
    if (current && current->address != request->address() && probe_(current->address)) {
      return ToGrpcStatus(absl::AlreadyExistsError(absl::StrCat(
          "worker_id ", request->worker_id(), " is registered by a live worker at ",
          current->address, "; give this one another --worker_id (or stop that one first)")));
    }
  }
  absl::StatusOr<int> count = registry_.Register(*request);
  if (!count.ok()) return ToGrpcStatus(count.status());
  REIN_LOG(INFO, "coordinator") << "registered " << request->worker_id() << " ("
                                << rein::v1::Role_Name(request->role()) << ") at "
                                << request->address() << ", capacity " << request->capacity();
  response->set_workers_in_role(static_cast<uint32_t>(*count));
  response->set_coordinator_incarnation(incarnation_);
  return grpc::Status::OK;
}

grpc::Status CoordinatorService::Start(grpc::ServerContext*, const rein::v1::StartRequest*,
                                       rein::v1::RunStatus* response) {
  StartRun();
  *response = run_.Snapshot();
  return grpc::Status::OK;
}

grpc::Status CoordinatorService::Status(grpc::ServerContext*, const rein::v1::StatusRequest*,
                                        rein::v1::RunStatus* response) {
  *response = run_.Snapshot();
  response->set_coordinator_incarnation(incarnation_);
  return grpc::Status::OK;
}

grpc::Status CoordinatorService::Pause(grpc::ServerContext* context,
                                       const rein::v1::PauseRequest*,
                                       rein::v1::RunStatus* response) {
  auto status = run_.Pause();
  LogControl(*context, "pause", status.status());
  if (!status.ok()) return ToGrpcStatus(status.status());
  *response = *std::move(status);
  return grpc::Status::OK;
}

grpc::Status CoordinatorService::Resume(grpc::ServerContext* context,
                                        const rein::v1::ResumeRequest*,
                                        rein::v1::RunStatus* response) {
  auto status = run_.Resume();
  LogControl(*context, "resume", status.status());
  if (!status.ok()) return ToGrpcStatus(status.status());
  *response = *std::move(status);
  return grpc::Status::OK;
}

grpc::Status CoordinatorService::Stop(grpc::ServerContext* context,
                                      const rein::v1::StopRequest*,
                                      rein::v1::RunStatus* response) {
  *response = run_.Stop();
  LogControl(*context, "stop", absl::OkStatus());
  return grpc::Status::OK;
}

grpc::Status CoordinatorService::Checkpoint(grpc::ServerContext* context,
                                            const rein::v1::CheckpointRequest* request,
                                            rein::v1::CheckpointResponse* response) {
  if (absl::Status checked = rpc::CheckPath("directory", request->directory(), true);
      !checked.ok()) {
    return ToGrpcStatus(checked);
  }
  const std::string what = absl::StrCat("checkpoint to ", files::QuotePath(request->directory()));
  // Refused before it is queued: a path outside the roots, or a folder that is not a
  // checkpoint, is never handed to the loop (nor to the learner).
  absl::StatusOr<std::string> target = loop_.ResolveCheckpointDir(request->directory());
  if (!target.ok()) {
    LogControl(*context, what, target.status());
    return ToGrpcStatus(target.status());
  }
  auto written = run_.Checkpoint(*target, absl::FromChrono(context->deadline()));
  LogControl(*context, what, written.status());
  if (!written.ok()) return ToGrpcStatus(written.status());
  *response = *std::move(written);
  return grpc::Status::OK;
}

grpc::Status CoordinatorService::Set(grpc::ServerContext* context,
                                     const rein::v1::SetRequest* request,
                                     rein::v1::RunStatus* response) {
  auto status = run_.Set(request->parameters());
  LogControl(*context, absl::StrCat("set ", request->parameters().ShortDebugString()),
             status.status());
  if (!status.ok()) return ToGrpcStatus(status.status());
  *response = *std::move(status);
  return grpc::Status::OK;
}

grpc::Status CoordinatorService::KvSet(grpc::ServerContext*, const rein::v1::KvSetRequest* request,
                                       rein::v1::KvSetResponse*) {
  if (absl::Status checked = rpc::CheckKey("key", request->key()); !checked.ok()) {
    return ToGrpcStatus(checked);
  }
  return ToGrpcStatus(store_.Set(request->key(), request->value()));
}

grpc::Status CoordinatorService::KvGet(grpc::ServerContext* context,
                                       const rein::v1::KvGetRequest* request,
                                       rein::v1::KvGetResponse* response) {
  if (absl::Status checked = rpc::CheckKey("key", request->key()); !checked.ok()) {
    return ToGrpcStatus(checked);
  }
  absl::StatusOr<std::string> value = store_.Get(request->key(), WaitOf(*context, request->wait()));
  if (!value.ok()) return ToGrpcStatus(value.status());
  response->set_value(*std::move(value));
  return grpc::Status::OK;
}

}  // namespace rein::coordinator
