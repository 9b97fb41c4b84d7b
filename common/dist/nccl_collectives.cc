#include "common/dist/nccl_collectives.h"

#include <torch/csrc/distributed/c10d/Store.hpp>
#if REIN_TORCH_CUDA
#include <c10/cuda/CUDAStream.h>
#endif

#include <exception>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/dist/nccl_communicator.h"
#include "common/status/status_macros.h"

namespace rein::dist {
namespace {

constexpr char kIdKey[] = "rein/nccl_id";

absl::StatusOr<NcclType> TypeOf(const at::Tensor& tensor) {
  switch (tensor.scalar_type()) {
    case at::kFloat: return NcclType::kFloat32;
    case at::kHalf: return NcclType::kFloat16;
    case at::kBFloat16: return NcclType::kBFloat16;
    case at::kDouble: return NcclType::kFloat64;
    case at::kInt: return NcclType::kInt32;
    case at::kLong: return NcclType::kInt64;
    default: break;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("NCCL collectives do not take ", c10::toString(tensor.scalar_type())));
}

// The stream whose queued kernels write `tensor`: LibTorch's current stream on its device.
void* ProducerStream(const at::Tensor& tensor) {
#if REIN_TORCH_CUDA
  return c10::cuda::getCurrentCUDAStream(tensor.device().index()).stream();
#else
  (void)tensor;  // A CPU-only LibTorch makes no CUDA tensors; this is never reached with one.
  return nullptr;
#endif
}

class NcclCollectives final : public Communicator {
 public:
  explicit NcclCollectives(std::unique_ptr<NcclCommunicator> comm) : comm_(std::move(comm)) {}
  int rank() const override { return comm_->rank(); }
  int world_size() const override { return comm_->world_size(); }
  std::string backend() const override { return "nccl"; }

  absl::StatusOr<std::unique_ptr<PendingCollective>> AllReduceAsync(at::Tensor tensor,
                                                                    ReduceOp op) override {
    RETURN_IF_ERROR(CheckTensor(tensor));
    ASSIGN_OR_RETURN(NcclType type, TypeOf(tensor));
    if (op != ReduceOp::kSum && op != ReduceOp::kAverage) {
      return absl::UnimplementedError("NCCL min/max all-reduce is not wired up");
    }
    absl::Status done = comm_->AllReduce(tensor.data_ptr(), static_cast<size_t>(tensor.numel()),
                                         type, op == ReduceOp::kAverage, ProducerStream(tensor));
    class Done final : public PendingCollective {
     public:
      explicit Done(absl::Status status) : status_(std::move(status)) {}
      absl::Status Wait() override { return status_; }

     private:
      absl::Status status_;
    };
    return std::unique_ptr<PendingCollective>(new Done(std::move(done)));
  }

  absl::Status Broadcast(at::Tensor tensor, int root) override {
    RETURN_IF_ERROR(CheckTensor(tensor));
    ASSIGN_OR_RETURN(NcclType type, TypeOf(tensor));
    return comm_->Broadcast(tensor.data_ptr(), static_cast<size_t>(tensor.numel()), type, root,
                            ProducerStream(tensor));
  }

  absl::Status Barrier() override { return comm_->Barrier(); }

 private:
  absl::Status CheckTensor(const at::Tensor& tensor) const {
    if (!tensor.defined() || !tensor.is_cuda() || !tensor.is_contiguous()) {
      return absl::InvalidArgumentError(
          absl::StrCat("rank ", rank(), ": NCCL collectives need a contiguous CUDA tensor"));
    }
    return absl::OkStatus();
  }

  std::unique_ptr<NcclCommunicator> comm_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Communicator>> CreateNcclCommunicator(
    const NcclGroupOptions& options, const StorePtr& store) {
  NcclOptions nccl;
  nccl.rank = options.rank;
  nccl.world_size = options.world_size;
  nccl.device = options.device;
  nccl.timeout = options.timeout;
  try {
    if (options.rank == 0) {
      ASSIGN_OR_RETURN(nccl.unique_id, NewNcclUniqueId());
      store->set(kIdKey, std::vector<uint8_t>(nccl.unique_id.begin(), nccl.unique_id.end()));
    } else {
      std::vector<uint8_t> id = store->get(kIdKey);
      nccl.unique_id.assign(id.begin(), id.end());
    }
  } catch (const std::exception& e) {
    return absl::DeadlineExceededError(absl::StrCat(
        "rank ", options.rank, ": exchanging the NCCL id through the store failed: ", e.what()));
  }
  ASSIGN_OR_RETURN(std::unique_ptr<NcclCommunicator> comm, NcclCommunicator::Create(nccl));
  return std::unique_ptr<Communicator>(new NcclCollectives(std::move(comm)));
}

}  // namespace rein::dist
