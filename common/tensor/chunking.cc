#include "common/tensor/chunking.h"

#include <algorithm>
#include <limits>

#include "absl/memory/memory.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/log/log.h"
#include "common/status/status_macros.h"
#include "common/tensor/internal/checksum.h"
#include "common/tensor/internal/tensor_spec.h"

namespace rein::tensor {
namespace {

using rein::v1::TensorChunk;

// ---- Sender ----

// Checks everything the receiver would reject about the set itself, so that a bad set fails
// before its first chunk is on the wire rather than after gigabytes of it.
absl::Status CheckSet(absl::Span<const NamedTensor> tensors, const SplitOptions& options) {
  if (options.chunk_bytes <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("chunk_bytes must be positive, got ", options.chunk_bytes));
  }
  if (tensors.empty()) {
    return absl::InvalidArgumentError("tensor set is empty; a stream needs at least one tensor");
  }
  if (tensors.size() > std::numeric_limits<uint32_t>::max()) {
    return absl::InvalidArgumentError(
        absl::StrCat("tensor set has ", tensors.size(), " tensors, more than tensor_count holds"));
  }
  absl::flat_hash_set<absl::string_view> names;  // Views into `tensors`, which outlives this.
  for (size_t i = 0; i < tensors.size(); ++i) {
    const auto& [name, t] = tensors[i];
    const std::string field = absl::StrCat("tensors[", i, "] '", absl::CHexEscape(name), "'");
    if (name.empty()) return absl::InvalidArgumentError(absl::StrCat(field, ": empty name"));
    if (!names.insert(name).second) {
      return absl::InvalidArgumentError(absl::StrCat(field, ": duplicate name"));
    }
    RETURN_IF_ERROR(internal::CheckEncodable(t, field));
  }
  return absl::OkStatus();
}

// Emits the chunks of one tensor through `sink`, reusing `chunk` (whose stream-wide fields are
// already set) so that its data buffer keeps its capacity from chunk to chunk.
absl::Status SplitOne(uint32_t index, const NamedTensor& named, int64_t chunk_bytes,
                      TensorChunk& chunk, ChunkSink sink) {
  const std::string field = absl::StrCat("tensors[", index, "]");
  ASSIGN_OR_RETURN(at::Tensor dense, internal::ToContiguousCpu(named.second, field));
  ASSIGN_OR_RETURN(rein::v1::DType dtype, ToProtoDType(dense.scalar_type()));
  chunk.set_tensor_index(index);
  chunk.set_tensor_name(named.first);
  chunk.set_dtype(dtype);
  chunk.mutable_shape()->Assign(dense.sizes().begin(), dense.sizes().end());
  const uint64_t total = dense.nbytes();
  chunk.set_total_bytes(total);

  const char* bytes = static_cast<const char*>(dense.data_ptr());
  uint64_t offset = 0;
  do {  // At least once: a 0-byte tensor still sends one (empty) chunk.
    const uint64_t n = std::min(static_cast<uint64_t>(chunk_bytes), total - offset);
    // Not set_data(ptr, n), which copies twice in protobuf 3.21 (see codec.cc).
    chunk.set_checksum(internal::AssignAndChecksum(bytes + offset, n, chunk.mutable_data()));
    chunk.set_offset(offset);
    RETURN_IF_ERROR(sink(chunk));
    offset += n;
  } while (offset < total);
  return absl::OkStatus();
}

// ---- Receiver ----

// Names come off the wire: escape them and bound their length before they reach a message.
std::string Printable(absl::string_view name) {
  constexpr size_t kMaxShown = 200;
  if (name.size() <= kMaxShown) return absl::CHexEscape(name);
  return absl::StrCat(absl::CHexEscape(name.substr(0, kMaxShown)), "...");
}

// "tensor 3 'w' offset 4096: " — where in the stream `chunk` claims to be.
std::string Where(const TensorChunk& chunk) {
  return absl::StrCat("tensor ", chunk.tensor_index(), " '", Printable(chunk.tensor_name()),
                      "' offset ", chunk.offset(), ": ");
}

absl::Status Invalid(const TensorChunk& chunk, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(Where(chunk), what));
}

absl::Status Lost(const TensorChunk& chunk, absl::string_view what) {
  return absl::DataLossError(absl::StrCat(Where(chunk), what));
}

// `status` with the chunk's position in front of its message, same code.
absl::Status Located(const TensorChunk& chunk, const absl::Status& status) {
  return absl::Status(status.code(), absl::StrCat(Where(chunk), status.message()));
}

}  // namespace

absl::Status SplitTensorSet(uint64_t policy_version, absl::Span<const NamedTensor> tensors,
                            const SplitOptions& options, ChunkSink sink) {
  RETURN_IF_ERROR(CheckSet(tensors, options));
  TensorChunk chunk;  // One message for the whole stream; see SplitOne.
  chunk.set_policy_version(policy_version);
  chunk.set_tensor_count(static_cast<uint32_t>(tensors.size()));
  for (size_t i = 0; i < tensors.size(); ++i) {
    RETURN_IF_ERROR(
        SplitOne(static_cast<uint32_t>(i), tensors[i], options.chunk_bytes, chunk, sink));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<ChunkAssembler>> ChunkAssembler::Create(
    const AssemblerOptions& options, TensorSet recycled) {
  if (options.max_total_bytes <= 0 || options.max_chunk_bytes <= 0 || options.max_tensors <= 0 ||
      options.decode_limits.max_elements <= 0) {
    return absl::InvalidArgumentError(
        "AssemblerOptions: max_total_bytes, max_chunk_bytes, max_tensors and "
        "decode_limits.max_elements must all be positive");
  }
  return absl::WrapUnique(new ChunkAssembler(options, std::move(recycled)));
}

absl::Status ChunkAssembler::Add(const TensorChunk& chunk) {
  if (!error_.ok()) return error_;
  if (absl::Status status = AddUnpoisoned(chunk); !status.ok()) return Poison(std::move(status));
  return absl::OkStatus();
}

absl::Status ChunkAssembler::AddUnpoisoned(const TensorChunk& chunk) {
  RETURN_IF_ERROR(CheckStream(chunk));
  RETURN_IF_ERROR(RouteToTensor(chunk));
  return AppendData(chunk);
}

// The first chunk fixes the stream header; every later one must repeat it.
absl::Status ChunkAssembler::CheckStream(const TensorChunk& chunk) {
  if (!started_) {
    if (chunk.tensor_count() == 0) return Invalid(chunk, "tensor_count is 0");
    if (chunk.tensor_count() > options_.max_tensors) {
      return Invalid(chunk, absl::StrCat("tensor_count ", chunk.tensor_count(),
                                         " exceeds max_tensors ", options_.max_tensors));
    }
    started_ = true;
    policy_version_ = chunk.policy_version();
    tensor_count_ = chunk.tensor_count();
    tensors_.reserve(tensor_count_);
    return absl::OkStatus();
  }
  if (chunk.policy_version() != policy_version_) {
    return Invalid(chunk, absl::StrCat("policy_version changed from ", policy_version_, " to ",
                                       chunk.policy_version(), " mid-stream"));
  }
  if (chunk.tensor_count() != tensor_count_) {
    return Invalid(chunk, absl::StrCat("tensor_count changed from ", tensor_count_, " to ",
                                       chunk.tensor_count(), " mid-stream"));
  }
  return absl::OkStatus();
}

// Decides whether `chunk` continues the open tensor or begins the next one; anything else is
// a fault: forwards means something went missing, backwards means a duplicate or reordering.
absl::Status ChunkAssembler::RouteToTensor(const TensorChunk& chunk) {
  const uint32_t index = chunk.tensor_index();
  if (index >= tensor_count_) {
    return Invalid(chunk, absl::StrCat("tensor_index out of range (tensor_count ",
                                       tensor_count_, ")"));
  }
  const auto begun = static_cast<uint32_t>(tensors_.size());
  if (open_) {
    const uint32_t current = begun - 1;
    if (index == current) return CheckSameTensor(chunk);
    if (index > current) {
      return Lost(chunk, absl::StrCat("tensor ", current, " '",
                                      Printable(tensors_.back().first), "' is incomplete (",
                                      next_offset_, " of ", open_total_bytes_,
                                      " bytes received): missing chunk"));
    }
    return Invalid(chunk, absl::StrCat("tensor ", index,
                                       " is already complete: duplicated or reordered chunk"));
  }
  if (index == begun) return BeginTensor(chunk);
  if (index > begun) {
    return Lost(chunk, absl::StrCat("expected tensor ", begun, ": missing or reordered tensor"));
  }
  return Invalid(chunk, absl::StrCat("tensor ", index,
                                     " is already complete: duplicated or reordered chunk"));
}

// Validates a tensor's metadata from its first chunk and allocates its final storage.
absl::Status ChunkAssembler::BeginTensor(const TensorChunk& chunk) {
  const std::string& name = chunk.tensor_name();
  if (name.empty()) return Invalid(chunk, "empty tensor_name");
  if (names_.contains(name)) return Invalid(chunk, "duplicate tensor_name");
  absl::StatusOr<internal::TensorSpec> spec = internal::ValidateSpec(
      chunk.dtype(), absl::MakeConstSpan(chunk.shape().data(), chunk.shape().size()),
      options_.decode_limits, "chunk");
  if (!spec.ok()) return Located(chunk, spec.status());
  if (chunk.total_bytes() != static_cast<uint64_t>(spec->nbytes)) {
    return Invalid(chunk, absl::StrCat("total_bytes ", chunk.total_bytes(), ", expected ",
                                       spec->nbytes, " (numel ", spec->numel, " x itemsize ",
                                       spec->itemsize, ")"));
  }
  if (spec->nbytes > options_.max_total_bytes - staged_bytes_) {
    return Invalid(chunk, absl::StrCat("set grows to ", staged_bytes_ + spec->nbytes,
                                       " bytes, above max_total_bytes ",
                                       options_.max_total_bytes));
  }
  absl::StatusOr<at::Tensor> tensor =
      TakeRecycled(tensors_.size(), name, spec->scalar_type, spec->shape);
  if (!tensor->defined()) tensor = internal::AllocateTensor(*spec, "chunk");
  if (!tensor.ok()) return Located(chunk, tensor.status());

  names_.insert(name);
  tensors_.emplace_back(name, *std::move(tensor));
  staged_bytes_ += spec->nbytes;
  open_ = true;
  open_dtype_ = spec->dtype;
  open_shape_ = std::move(spec->shape);
  open_total_bytes_ = chunk.total_bytes();
  next_offset_ = 0;
  return absl::OkStatus();
}

at::Tensor ChunkAssembler::TakeRecycled(size_t index, const std::string& name,
                                        at::ScalarType type, absl::Span<const int64_t> shape) {
  if (index >= recycled_.size()) return at::Tensor();
  auto& [old_name, old] = recycled_[index];
  // Exclusive ownership (use_count 1: only recycled_ holds the storage) is what makes writing
  // into it safe: no reader can see the bytes change.
  bool fits = old_name == name && old.defined() && old.device().is_cpu() &&
              old.scalar_type() == type && old.is_contiguous() &&
              old.sizes() == at::IntArrayRef(shape.data(), shape.size()) &&
              old.storage().use_count() == 1 && old.storage_offset() == 0;
  at::Tensor taken = fits ? std::move(old) : at::Tensor();
  old = at::Tensor();  // Release what is not reused as soon as possible.
  return taken;
}

// Every chunk repeats its tensor's metadata; a change means two tensors are being mixed up.
absl::Status ChunkAssembler::CheckSameTensor(const TensorChunk& chunk) const {
  if (chunk.tensor_name() != tensors_.back().first) {
    return Invalid(chunk, absl::StrCat("tensor_name changed from '",
                                       Printable(tensors_.back().first), "'"));
  }
  if (chunk.dtype() != open_dtype_) {
    return Invalid(chunk, absl::StrCat("dtype changed from ", rein::v1::DType_Name(open_dtype_),
                                       " to ", static_cast<int>(chunk.dtype())));
  }
  if (!std::equal(chunk.shape().begin(), chunk.shape().end(), open_shape_.begin(),
                  open_shape_.end())) {
    return Invalid(chunk, absl::StrCat("shape changed from [", absl::StrJoin(open_shape_, ","),
                                       "] to [", absl::StrJoin(chunk.shape(), ","), "]"));
  }
  if (chunk.total_bytes() != open_total_bytes_) {
    return Invalid(chunk, absl::StrCat("total_bytes changed from ", open_total_bytes_, " to ",
                                       chunk.total_bytes()));
  }
  return absl::OkStatus();
}

// Checks the chunk's place, then copies its data into the open tensor (the one copy on the
// receiving side) while verifying its checksum.
absl::Status ChunkAssembler::AppendData(const TensorChunk& chunk) {
  const std::string& data = chunk.data();
  if (data.size() > static_cast<uint64_t>(options_.max_chunk_bytes)) {
    return Invalid(chunk, absl::StrCat("chunk of ", data.size(),
                                       " bytes exceeds max_chunk_bytes ",
                                       options_.max_chunk_bytes));
  }
  if (chunk.offset() > next_offset_) {
    return Lost(chunk, absl::StrCat("missing chunk: expected offset ", next_offset_));
  }
  if (chunk.offset() < next_offset_) {
    return Invalid(chunk, absl::StrCat("duplicated or overlapping chunk: expected offset ",
                                       next_offset_));
  }
  if (data.size() > open_total_bytes_ - next_offset_) {
    return Invalid(chunk, absl::StrCat("chunk of ", data.size(), " bytes runs past total_bytes ",
                                       open_total_bytes_));
  }
  if (data.empty() && open_total_bytes_ > 0) {
    return Invalid(chunk, "empty chunk in a non-empty tensor");
  }
  // Copies before the checksum is known, to read the chunk once; a mismatch poisons the
  // assembler, so the damaged tensor is freed, never returned.
  char* dest = static_cast<char*>(tensors_.back().second.data_ptr()) + next_offset_;
  const uint64_t hash = internal::CopyAndChecksum(data.data(), data.size(), dest);
  if (hash != chunk.checksum()) {
    return Lost(chunk, absl::StrCat("checksum mismatch: chunk says ",
                                    absl::Hex(chunk.checksum(), absl::kZeroPad16),
                                    ", data hashes to ", absl::Hex(hash, absl::kZeroPad16)));
  }
  next_offset_ += data.size();
  bytes_received_ += static_cast<int64_t>(data.size());
  if (next_offset_ == open_total_bytes_) open_ = false;
  return absl::OkStatus();
}

absl::StatusOr<TensorSet> ChunkAssembler::Finish() {
  if (!error_.ok()) return error_;
  if (absl::Status status = FinishUnpoisoned(); !status.ok()) return Poison(std::move(status));
  TensorSet set;
  set.policy_version = policy_version_;
  set.tensors = std::move(tensors_);
  REIN_LOG(DEBUG, "tensor") << "assembled policy version " << set.policy_version << ": "
                            << set.tensors.size() << " tensors, " << bytes_received_ << " bytes";
  // Not an error in the stream, but the assembler has nothing left to give.
  error_ = absl::FailedPreconditionError("ChunkAssembler::Finish() already returned the set");
  names_.clear();
  return set;
}

absl::Status ChunkAssembler::FinishUnpoisoned() {
  if (!started_) return absl::DataLossError("stream ended before its first chunk");
  if (open_) {
    return absl::DataLossError(absl::StrCat(
        "stream ended inside tensor ", tensors_.size() - 1, " '",
        Printable(tensors_.back().first), "' at offset ", next_offset_, " of ",
        open_total_bytes_, " bytes"));
  }
  if (tensors_.size() < tensor_count_) {
    return absl::DataLossError(absl::StrCat("stream ended after ", tensors_.size(), " of ",
                                            tensor_count_, " tensors: tensor ", tensors_.size(),
                                            " never arrived"));
  }
  return absl::OkStatus();
}

absl::Status ChunkAssembler::Poison(absl::Status status) {
  error_ = status;
  // Free the staged tensors now rather than when the assembler is destroyed.
  std::vector<NamedTensor>().swap(tensors_);
  names_.clear();
  open_ = false;
  return status;
}

}  // namespace rein::tensor
