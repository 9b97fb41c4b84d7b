#include "common/model/generator.h"

#include <ATen/ops/arange.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/tensor.h>
#include <ATen/ops/zeros.h>
#include <c10/core/InferenceMode.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "absl/strings/str_cat.h"
#include "common/model/internal/errors.h"
#include "common/model/internal/sampler.h"
#include "common/model/internal/transformer.h"
#include "common/status/status_macros.h"

namespace rein::model {

const char* FinishReasonName(FinishReason reason) {
  return reason == FinishReason::kStop ? "stop" : "length";
}

// The state of one Generate call. Invariant: the requests being decoded occupy cache slots
// 0 .. active_.size() - 1, in the order of active_; slot k holds active_[k].length positions.
class Generator::Run {
 public:
  Run(const internal::Transformer& impl, KvCache* cache, const GeneratorOptions& generator,
      const GenerateOptions& options, const std::vector<GenerationRequest>& requests,
      std::set<int64_t> stop)
      : impl_(impl),
        cache_(cache),
        generator_(generator),
        options_(options),
        requests_(requests),
        stop_(std::move(stop)),
        results_(requests.size()) {}

  absl::StatusOr<std::vector<GenerationResult>> Execute() {
    absl::Status status = internal::TorchCall("generate", [&]() -> absl::Status {
      c10::InferenceMode inference;
      // The cache may have fewer slots than max_batch_size: it is sized for this call.
      const int64_t slots = cache_ != nullptr ? cache_->slots() : generator_.max_batch_size;
      ids_host_ = at::empty({slots}, at::kLong);
      positions_host_ = at::empty({slots}, at::kLong);
      uniforms_.resize(static_cast<size_t>(slots));
      sampled_.resize(static_cast<size_t>(slots));
      sampled_logprobs_.resize(static_cast<size_t>(slots));
      while (queued_ < requests_.size() || !active_.empty()) {
        if (options_.keep_going) RETURN_IF_ERROR(options_.keep_going());
        const size_t first_new = active_.size();
        while (static_cast<int64_t>(active_.size()) < slots && queued_ < requests_.size()) {
          active_.push_back({queued_++, 0, 0, false});
        }
        if (cache_ == nullptr) {
          RecomputeStep();
        } else {
          if (active_.size() > first_new) Prefill(first_new);
          RETURN_IF_ERROR(RemoveFinished());
          if (!active_.empty()) DecodeStep();
        }
        RETURN_IF_ERROR(RemoveFinished());
      }
      return absl::OkStatus();
    });
    if (!status.ok()) return status;
    return std::move(results_);
  }

 private:
  struct Slot {
    size_t request;
    int64_t length;   // Positions in the cache.
    int64_t pending;  // Last sampled token, not yet in the cache.
    bool done;
  };

  const std::vector<int64_t>& Prompt(const Slot& slot) const {
    return requests_[slot.request].prompt;
  }

  // Samples one token for each of `rows` consecutive active slots from `logits` [rows, V].
  void SampleAndRecord(size_t first, int64_t rows, const at::Tensor& logits) {
    for (int64_t k = 0; k < rows; ++k) {
      const Slot& slot = active_[first + static_cast<size_t>(k)];
      uniforms_[static_cast<size_t>(k)] =
          internal::Uniform(requests_[slot.request].seed,
                            static_cast<int64_t>(results_[slot.request].output_ids.size()));
    }
    const int64_t sampleable = generator_.sampleable_vocab_size;
    internal::SampleRows(sampleable < logits.size(1) ? logits.narrow(1, 0, sampleable) : logits,
                         options_.sampling, uniforms_.data(), sampled_.data(),
                         sampled_logprobs_.data());
    for (int64_t k = 0; k < rows; ++k) {
      Slot& slot = active_[first + static_cast<size_t>(k)];
      GenerationResult& result = results_[slot.request];
      const int64_t token = sampled_[static_cast<size_t>(k)];
      result.output_ids.push_back(token);
      result.logprobs.push_back(sampled_logprobs_[static_cast<size_t>(k)]);
      slot.pending = token;
      if (stop_.count(token) > 0) {
        result.finish_reason = FinishReason::kStop;
        slot.done = true;
      } else if (static_cast<int64_t>(result.output_ids.size()) >= options_.max_new_tokens) {
        result.finish_reason = FinishReason::kLength;
        slot.done = true;
      }
    }
  }

  // Hidden states of the given (row, position) pairs of `hidden` [rows, T, H] -> [n, H].
  static at::Tensor Gather(const at::Tensor& hidden, const std::vector<int64_t>& flat_index) {
    const int64_t width = hidden.size(2);
    return hidden.reshape({-1, width})
        .index_select(0, at::tensor(flat_index, at::kLong).to(hidden.device()));
  }

  // Prefills the prompts of active_[first..] (slots of the same index) and samples their first
  // tokens, in groups of at most max_prefill_tokens padded tokens.
  void Prefill(size_t first) {
    size_t i = first;
    while (i < active_.size()) {
      int64_t longest = static_cast<int64_t>(Prompt(active_[i]).size());
      size_t j = i + 1;
      for (; j < active_.size(); ++j) {
        const int64_t longer = std::max(longest, static_cast<int64_t>(Prompt(active_[j]).size()));
        if (longer * static_cast<int64_t>(j - i + 1) > generator_.max_prefill_tokens) break;
        longest = longer;
      }
      const int64_t rows = static_cast<int64_t>(j - i);
      std::vector<int64_t> ids(static_cast<size_t>(rows * longest), 0), last;
      for (int64_t r = 0; r < rows; ++r) {
        const std::vector<int64_t>& prompt = Prompt(active_[i + static_cast<size_t>(r)]);
        std::copy(prompt.begin(), prompt.end(), ids.begin() + r * longest);
        last.push_back(r * longest + static_cast<int64_t>(prompt.size()) - 1);
      }
      const at::TensorOptions options = at::TensorOptions().dtype(at::kLong).device(impl_.device());
      internal::CacheStep step;
      step.cache = cache_;
      step.cache_lengths = at::zeros({rows}, options);
      step.first_slot = static_cast<int64_t>(i);
      step.max_cache_length = 0;
      at::Tensor hidden =
          impl_.ForwardCached(at::tensor(ids, at::kLong).view({rows, longest}).to(impl_.device()),
                              at::arange(longest, options).expand({rows, longest}), step);
      SampleAndRecord(i, rows, impl_.LmLogits(Gather(hidden, last)));
      for (size_t k = i; k < j; ++k)
        active_[k].length = static_cast<int64_t>(Prompt(active_[k]).size());
      i = j;
    }
  }

  // Feeds every active slot's pending token and samples the next.
  void DecodeStep() {
    const int64_t n = static_cast<int64_t>(active_.size());
    int64_t* ids = ids_host_.data_ptr<int64_t>();
    int64_t* positions = positions_host_.data_ptr<int64_t>();
    int64_t longest = 0;
    for (int64_t k = 0; k < n; ++k) {
      const Slot& slot = active_[static_cast<size_t>(k)];
      ids[k] = slot.pending;
      positions[k] = slot.length;  // Unpadded prompts: cache index == position.
      longest = std::max(longest, slot.length);
    }
    at::Tensor id_tensor = ids_host_.narrow(0, 0, n).to(impl_.device());
    at::Tensor position_tensor = positions_host_.narrow(0, 0, n).to(impl_.device());
    internal::CacheStep step;
    step.cache = cache_;
    step.cache_lengths = position_tensor;
    step.first_slot = 0;
    step.max_cache_length = longest;
    at::Tensor hidden =
        impl_.ForwardCached(id_tensor.view({n, 1}), position_tensor.view({n, 1}), step);
    for (Slot& slot : active_) ++slot.length;
    SampleAndRecord(0, n, impl_.LmLogits(hidden.view({n, hidden.size(2)})));
  }

  // Without a cache: runs every active sequence (prompt + output so far) in full.
  void RecomputeStep() {
    const int64_t n = static_cast<int64_t>(active_.size());
    int64_t longest = 0;
    for (const Slot& slot : active_) {
      longest = std::max(longest, static_cast<int64_t>(Prompt(slot).size() +
                                                       results_[slot.request].output_ids.size()));
    }
    std::vector<int64_t> ids(static_cast<size_t>(n * longest), 0), mask(ids.size(), 0), last;
    for (int64_t r = 0; r < n; ++r) {
      const Slot& slot = active_[static_cast<size_t>(r)];
      auto row = ids.begin() + r * longest;
      row = std::copy(Prompt(slot).begin(), Prompt(slot).end(), row);
      const std::vector<int64_t>& out = results_[slot.request].output_ids;
      std::copy(out.begin(), out.end(), row);
      const int64_t length = static_cast<int64_t>(Prompt(slot).size() + out.size());
      std::fill_n(mask.begin() + r * longest, length, 1);
      last.push_back(r * longest + length - 1);
    }
    const at::TensorOptions options = at::TensorOptions().dtype(at::kLong).device(impl_.device());
    at::Tensor hidden =
        impl_.Forward(at::tensor(ids, at::kLong).view({n, longest}).to(impl_.device()),
                      at::arange(longest, options).expand({n, longest}),
                      at::tensor(mask, at::kLong).view({n, longest}).to(impl_.device()));
    SampleAndRecord(0, n, impl_.LmLogits(Gather(hidden, last)));
  }

  // Drops finished requests, moving the last active request into each freed slot.
  absl::Status RemoveFinished() {
    for (size_t k = active_.size(); k-- > 0;) {
      if (!active_[k].done) continue;
      const size_t last = active_.size() - 1;
      if (k != last) {
        if (cache_ != nullptr) {
          RETURN_IF_ERROR(cache_->CopySlot(static_cast<int64_t>(last), static_cast<int64_t>(k),
                                           active_[last].length));
        }
        active_[k] = active_[last];
      }
      active_.pop_back();
    }
    return absl::OkStatus();
  }

  const internal::Transformer& impl_;
  KvCache* cache_;  // Null without a KV cache.
  const GeneratorOptions& generator_;
  const GenerateOptions& options_;
  const std::vector<GenerationRequest>& requests_;
  const std::set<int64_t> stop_;
  std::vector<GenerationResult> results_;
  std::vector<Slot> active_;
  size_t queued_ = 0;                     // Requests taken from the queue so far.
  at::Tensor ids_host_, positions_host_;  // [max_batch_size] int64, CPU: decode inputs.
  std::vector<double> uniforms_;
  std::vector<int64_t> sampled_;
  std::vector<float> sampled_logprobs_;
};

Generator::Generator(const CausalLM& model, const GeneratorOptions& options)
    : model_(model), options_(options) {}
Generator::~Generator() = default;

absl::StatusOr<std::unique_ptr<Generator>> Generator::Create(const CausalLM& model,
                                                             const GeneratorOptions& options) {
  if (!model.has_lm_head()) return absl::FailedPreconditionError("the model has no LM head");
  if (options.max_batch_size <= 0 || options.max_sequence_length <= 0 ||
      options.max_prefill_tokens <= 0) {
    return absl::InvalidArgumentError(
        "max_batch_size, max_sequence_length and max_prefill_tokens must be positive");
  }
  const int64_t vocab = model.config().vocab_size;
  if (options.sampleable_vocab_size < 0 || options.sampleable_vocab_size > vocab) {
    return absl::InvalidArgumentError(absl::StrCat(
        "sampleable_vocab_size ", options.sampleable_vocab_size, " is outside [0, ", vocab,
        "] (the model's vocabulary)"));
  }
  GeneratorOptions resolved = options;
  if (resolved.sampleable_vocab_size == 0) resolved.sampleable_vocab_size = vocab;
  if (model.config().family == Family::kGpt2) {
    resolved.max_sequence_length =
        std::min(resolved.max_sequence_length, model.config().max_position_embeddings);
  }
  return std::unique_ptr<Generator>(new Generator(model, resolved));
}

int64_t Generator::cache_bytes() {
  absl::MutexLock lock(&mu_);
  return cache_ != nullptr ? cache_->bytes() : 0;
}

absl::Status Generator::FitCache(int64_t slots, int64_t length) {
  if (cache_ != nullptr && cache_->slots() >= slots && cache_->capacity() >= length &&
      cache_->slots() * cache_->capacity() <= 2 * slots * length) {
    return absl::OkStatus();  // reused: no allocation on the steady path
  }
  cache_.reset();  // before the new one: never two caches at once
  ASSIGN_OR_RETURN(cache_, model_.NewKvCache(slots, length));
  return absl::OkStatus();
}

absl::StatusOr<std::vector<GenerationResult>> Generator::Generate(
    const std::vector<GenerationRequest>& requests, const GenerateOptions& options) {
  const SamplingParams& s = options.sampling;
  if (options.max_new_tokens < 1) return absl::InvalidArgumentError("max_new_tokens must be >= 1");
  if (!std::isfinite(s.temperature) || s.temperature < 0) {
    return absl::InvalidArgumentError("temperature must be finite and >= 0");
  }
  if (s.top_k < 0) return absl::InvalidArgumentError("top_k must be >= 0");
  if (!(s.top_p > 0.0f && s.top_p <= 1.0f)) {
    return absl::InvalidArgumentError("top_p must be in (0, 1]");
  }
  const ModelConfig& config = model_.config();
  int64_t longest = 0;  // positions the longest request caches
  for (size_t i = 0; i < requests.size(); ++i) {
    const std::vector<int64_t>& prompt = requests[i].prompt;
    if (prompt.empty())
      return absl::InvalidArgumentError(absl::StrCat("request ", i, ": empty prompt"));
    for (int64_t id : prompt) {
      if (id < 0 || id >= config.vocab_size) {
        return absl::InvalidArgumentError(absl::StrCat("request ", i, ": token id ", id,
                                                       " is outside [0, ", config.vocab_size, ")"));
      }
    }
    const int64_t needed = static_cast<int64_t>(prompt.size()) + options.max_new_tokens - 1;
    if (needed > options_.max_sequence_length) {
      return absl::InvalidArgumentError(absl::StrCat(
          "request ", i, ": prompt of ", prompt.size(), " tokens + max_new_tokens ",
          options.max_new_tokens, " exceeds max_sequence_length ", options_.max_sequence_length));
    }
    longest = std::max(longest, needed);
  }
  std::set<int64_t> stop(options.stop_token_ids.begin(), options.stop_token_ids.end());
  if (options.stop_at_eos) stop.insert(config.eos_token_ids.begin(), config.eos_token_ids.end());
  absl::MutexLock lock(&mu_);
  if (options_.use_kv_cache && !requests.empty()) {
    const int64_t slots =
        std::min<int64_t>(options_.max_batch_size, static_cast<int64_t>(requests.size()));
    RETURN_IF_ERROR(FitCache(slots, std::max<int64_t>(longest, 1)));
  }
  Run run(internal::ModelAccess::Get(model_), cache_.get(), options_, options, requests,
          std::move(stop));
  return run.Execute();
}

}  // namespace rein::model
