#include "common/dist/gloo_communicator.h"

#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/Store.hpp>

#include <atomic>
#include <chrono>
#include <exception>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/function_ref.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"

namespace rein::dist {
namespace {

std::chrono::milliseconds ToMillis(absl::Duration d) {
  return std::chrono::milliseconds(absl::ToInt64Milliseconds(d));
}

std::vector<uint8_t> Bytes(absl::string_view text) {
  return std::vector<uint8_t>(text.begin(), text.end());
}

std::string FailedKey(int rank) { return absl::StrCat("rein/failed/", rank); }
std::string JoinedKey(int rank) { return absl::StrCat("rein/joined/", rank); }

// The ranks other than `self` whose `key_of(rank)` does not appear in `store` within `grace`
// (all waits share one deadline). An unreachable store is reported in `store_error`.
std::vector<int> SilentRanks(c10d::Store& store, int self, int world_size, absl::Duration grace,
                             std::string (*key_of)(int), std::string& store_error) {
  std::vector<int> silent;
  const absl::Time deadline = absl::Now() + grace;
  for (int k = 0; k < world_size; ++k) {
    if (k == self) continue;
    const absl::Duration left = std::max(absl::Milliseconds(1), deadline - absl::Now());
    try {
      store.wait({key_of(k)}, ToMillis(left));
    } catch (const std::exception& e) {
      const std::string what = e.what();
      if (what.find("imeout") == std::string::npos && what.find("imed out") == std::string::npos &&
          store_error.empty()) {
        store_error = what.substr(0, what.find('\n'));
      }
      silent.push_back(k);
    }
  }
  return silent;
}

std::string FirstLine(const std::exception& e) {
  std::string what = e.what();
  return what.substr(0, what.find('\n'));
}

class GlooCommunicator final : public Communicator {
 public:
  GlooCommunicator(const GlooOptions& options, StorePtr store,
                   c10::intrusive_ptr<c10d::ProcessGroupGloo> group)
      : options_(options), store_(std::move(store)), group_(std::move(group)) {}

  int rank() const override { return options_.rank; }
  int world_size() const override { return options_.world_size; }
  std::string backend() const override { return "gloo"; }

  absl::StatusOr<std::unique_ptr<PendingCollective>> AllReduceAsync(at::Tensor tensor,
                                                                    ReduceOp op) override;
  absl::Status Broadcast(at::Tensor tensor, int root) override;
  absl::Status Barrier() override;

  // Turns the exception of collective `what` into the group's error, once: the first failure
  // runs the diagnosis and breaks the communicator; later ones return the same error.
  absl::Status Fail(absl::string_view what, const std::exception& e, absl::Time started);
  absl::Status CheckUsable() const;
  absl::Duration timeout() const { return options_.timeout; }

 private:
  using Starter = absl::FunctionRef<c10::intrusive_ptr<c10d::Work>()>;
  // Starts a collective (serialised, numbered); the work or the error.
  absl::StatusOr<c10::intrusive_ptr<c10d::Work>> Start(absl::string_view what, Starter start,
                                                       std::string& label);

  const GlooOptions options_;
  StorePtr store_;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> group_;
  absl::Mutex start_mu_;
  uint64_t sequence_ ABSL_GUARDED_BY(start_mu_) = 0;
  mutable absl::Mutex error_mu_;
  absl::Status broken_ ABSL_GUARDED_BY(error_mu_);
};

// Gloo (c10d's, LibTorch 1.13) has no bfloat16 or float16: such a tensor goes through a float32
// copy, which the collective works on and Wait rounds back into it. Broadcasts stay exact; sums
// are taken in float32, then rounded once.
bool NeedsFloatStaging(const at::Tensor& t) {
  return t.scalar_type() == at::kBFloat16 || t.scalar_type() == at::kHalf;
}

at::Tensor Staged(const at::Tensor& t) { return NeedsFloatStaging(t) ? t.to(at::kFloat) : t; }

class GlooPending final : public PendingCollective {
 public:
  // `tensor` is what the collective ran on; `target`, if defined, is the tensor it stands in for.
  GlooPending(GlooCommunicator* comm, c10::intrusive_ptr<c10d::Work> work, at::Tensor tensor,
              bool average, std::string label, at::Tensor target = at::Tensor())
      : comm_(comm), work_(std::move(work)), tensor_(std::move(tensor)), average_(average),
        label_(std::move(label)), started_(absl::Now()), target_(std::move(target)) {}

  absl::Status Wait() override {
    try {
      // Gloo's own timeout (the group's) normally fires first, with the transport's message.
      if (!work_->wait(ToMillis(comm_->timeout() + absl::Seconds(5)))) {
        throw std::runtime_error("timed out waiting for the collective");
      }
      if (average_) tensor_.div_(comm_->world_size());
      if (target_.defined() && !target_.is_same(tensor_)) target_.copy_(tensor_);
      return absl::OkStatus();
    } catch (const std::exception& e) {
      return comm_->Fail(label_, e, started_);
    }
  }

 private:
  GlooCommunicator* comm_;
  c10::intrusive_ptr<c10d::Work> work_;
  at::Tensor tensor_;
  bool average_;
  std::string label_;
  absl::Time started_;
  at::Tensor target_;
};

absl::Status GlooCommunicator::CheckUsable() const {
  absl::MutexLock lock(&error_mu_);
  if (broken_.ok()) return absl::OkStatus();
  return absl::FailedPreconditionError(
      absl::StrCat("rank ", options_.rank, ": the Gloo group is broken by an earlier failure (",
                   broken_.message(), ")"));
}

absl::Status GlooCommunicator::Fail(absl::string_view what, const std::exception& e,
                                    absl::Time started) {
  {
    absl::MutexLock lock(&error_mu_);
    if (!broken_.ok()) return broken_;
  }
  const std::string cause = FirstLine(e);
  const absl::Duration waited = absl::Now() - started;
  std::string store_error;
  std::vector<int> silent;
  try {
    store_->set(FailedKey(options_.rank), Bytes(cause));
    silent = SilentRanks(*store_, options_.rank, options_.world_size, options_.diagnosis_grace,
                         &FailedKey, store_error);
  } catch (const std::exception& store_failure) {
    store_error = FirstLine(store_failure);
  }
  std::string diagnosis;
  if (!store_error.empty()) {
    diagnosis = absl::StrCat("; the rendezvous store is unreachable too (", store_error,
                             "), so the rank that hosts it (rank 0 for MASTER_ADDR) may be gone");
  } else if (!silent.empty()) {
    diagnosis = absl::StrCat("; rank(s) ", absl::StrJoin(silent, ", "),
                             " did not arrive (no failure report from them within ",
                             absl::FormatDuration(options_.diagnosis_grace),
                             ": dead, hung or partitioned)");
  } else {
    diagnosis = "; every other rank reported a failure of its own";
  }
  absl::Status status = absl::UnavailableError(absl::StrCat(
      "rank ", options_.rank, " of ", options_.world_size, ": Gloo ", what, " failed after ",
      absl::FormatDuration(absl::Trunc(waited, absl::Milliseconds(1))), ": ", cause, diagnosis));
  if (cause.find("imeout") != std::string::npos || cause.find("imed out") != std::string::npos) {
    status = absl::DeadlineExceededError(status.message());
  }
  absl::MutexLock lock(&error_mu_);
  if (broken_.ok()) broken_ = status;
  return broken_;
}

absl::StatusOr<c10::intrusive_ptr<c10d::Work>> GlooCommunicator::Start(absl::string_view what,
                                                                       Starter start,
                                                                       std::string& label) {
  if (absl::Status usable = CheckUsable(); !usable.ok()) return usable;
  const absl::Time started = absl::Now();
  absl::MutexLock lock(&start_mu_);
  label = absl::StrCat(what, " #", ++sequence_);
  try {
    return start();
  } catch (const std::exception& e) {
    return Fail(label, e, started);
  }
}

absl::StatusOr<std::unique_ptr<PendingCollective>> GlooCommunicator::AllReduceAsync(
    at::Tensor tensor, ReduceOp op) {
  if (!tensor.defined() || !tensor.is_contiguous() || tensor.device().type() != c10::kCPU) {
    return absl::InvalidArgumentError(
        absl::StrCat("rank ", options_.rank, ": Gloo all-reduce needs a contiguous CPU tensor"));
  }
  c10d::AllreduceOptions opts;
  switch (op) {
    case ReduceOp::kSum:
    case ReduceOp::kAverage: opts.reduceOp = c10d::ReduceOp::SUM; break;
    case ReduceOp::kMin: opts.reduceOp = c10d::ReduceOp::MIN; break;
    case ReduceOp::kMax: opts.reduceOp = c10d::ReduceOp::MAX; break;
  }
  opts.timeout = ToMillis(options_.timeout);
  std::string label;
  const std::string what = absl::StrCat("all-reduce of ", tensor.numel(), " ",
                                        c10::toString(tensor.scalar_type()));
  const at::Tensor staged = Staged(tensor);
  absl::StatusOr<c10::intrusive_ptr<c10d::Work>> work = Start(
      what,
      [&] {
        std::vector<at::Tensor> tensors = {staged};
        return group_->allreduce(tensors, opts);
      },
      label);
  if (!work.ok()) return work.status();
  return std::unique_ptr<PendingCollective>(new GlooPending(
      this, *std::move(work), staged, op == ReduceOp::kAverage, std::move(label), tensor));
}

absl::Status GlooCommunicator::Broadcast(at::Tensor tensor, int root) {
  if (root < 0 || root >= options_.world_size) {
    return absl::InvalidArgumentError(absl::StrCat("broadcast root ", root, " not a rank"));
  }
  if (!tensor.defined() || !tensor.is_contiguous() || tensor.device().type() != c10::kCPU) {
    return absl::InvalidArgumentError(
        absl::StrCat("rank ", options_.rank, ": Gloo broadcast needs a contiguous CPU tensor"));
  }
  c10d::BroadcastOptions opts;
  opts.rootRank = root;
  opts.timeout = ToMillis(options_.timeout);
  std::string label;
  const at::Tensor staged = Staged(tensor);
  absl::StatusOr<c10::intrusive_ptr<c10d::Work>> work = Start(
      absl::StrCat("broadcast from rank ", root),
      [&] {
        std::vector<at::Tensor> tensors = {staged};
        return group_->broadcast(tensors, opts);
      },
      label);
  if (!work.ok()) return work.status();
  return GlooPending(this, *std::move(work), staged, false, label, tensor).Wait();
}

absl::Status GlooCommunicator::Barrier() {
  c10d::BarrierOptions opts;
  opts.timeout = ToMillis(options_.timeout);
  std::string label;
  absl::StatusOr<c10::intrusive_ptr<c10d::Work>> work =
      Start("barrier", [&] { return group_->barrier(opts); }, label);
  if (!work.ok()) return work.status();
  return GlooPending(this, *std::move(work), at::Tensor(), false, label).Wait();
}

std::shared_ptr<::gloo::transport::Device> MakeDevice(const GlooOptions& options) {
  if (!options.interface.empty()) {
    return c10d::ProcessGroupGloo::createDeviceForInterface(options.interface);
  }
  if (!options.hostname.empty()) {
    return c10d::ProcessGroupGloo::createDeviceForHostname(options.hostname);
  }
  return c10d::ProcessGroupGloo::createDefaultDevice();
}

}  // namespace

absl::StatusOr<std::unique_ptr<Communicator>> CreateGlooCommunicator(const GlooOptions& options,
                                                                     const StorePtr& store) {
  if (options.world_size < 1 || options.rank < 0 || options.rank >= options.world_size) {
    return absl::InvalidArgumentError(
        absl::StrCat("rank ", options.rank, " is not in a world of ", options.world_size));
  }
  if (!store) return absl::InvalidArgumentError("CreateGlooCommunicator: no store");
  if (options.timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("CreateGlooCommunicator: timeout must be > 0");
  }
  const absl::Time started = absl::Now();
  try {
    store->set(JoinedKey(options.rank), Bytes("1"));
    auto gloo_options = c10d::ProcessGroupGloo::Options::create(ToMillis(options.timeout));
    gloo_options->devices.push_back(MakeDevice(options));
    gloo_options->threads = std::max(1, options.threads);
    auto group = c10::make_intrusive<c10d::ProcessGroupGloo>(store, options.rank,
                                                             options.world_size, gloo_options);
    return std::unique_ptr<Communicator>(new GlooCommunicator(options, store, std::move(group)));
  } catch (const std::exception& e) {
    std::string store_error;
    std::vector<int> missing;
    try {
      missing = SilentRanks(*store, options.rank, options.world_size, absl::Milliseconds(1),
                            &JoinedKey, store_error);
    } catch (const std::exception& store_failure) {
      store_error = FirstLine(store_failure);
    }
    std::string detail;
    if (!missing.empty()) {
      detail = absl::StrCat("; rank(s) ", absl::StrJoin(missing, ", "), " never joined");
    } else if (!store_error.empty()) {
      detail = absl::StrCat("; rendezvous store: ", store_error);
    }
    return absl::DeadlineExceededError(absl::StrCat(
        "rank ", options.rank, " of ", options.world_size, ": forming the Gloo group failed after ",
        absl::FormatDuration(absl::Trunc(absl::Now() - started, absl::Milliseconds(1))), ": ",
        FirstLine(e), detail));
  }
}

}  // namespace rein::dist
