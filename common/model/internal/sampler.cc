#include "common/model/internal/sampler.h"

#include <ATen/ops/from_blob.h>
#include <ATen/ops/log_softmax.h>
#include <ATen/ops/searchsorted.h>

#include <limits>
#include <tuple>

#include "common/hash/stable_hash.h"

namespace rein::model::internal {
namespace {

using hash::SplitMix64;

void CopyOut(const at::Tensor& token_ids, const at::Tensor& token_logprobs, int64_t* tokens,
             float* logprobs) {
  at::Tensor ids = token_ids.to(at::kCPU, at::kLong).contiguous();
  at::Tensor lps = token_logprobs.to(at::kCPU, at::kFloat).contiguous();
  const int64_t n = ids.numel();
  std::copy_n(ids.data_ptr<int64_t>(), n, tokens);
  std::copy_n(lps.data_ptr<float>(), n, logprobs);
}

}  // namespace

double Uniform(uint64_t seed, int64_t index) {
  const uint64_t mixed =
      SplitMix64(SplitMix64(seed) ^ (static_cast<uint64_t>(index) * 0xD1B54A32D192ED03ULL));
  return static_cast<double>(mixed >> 40) * 0x1.0p-24;
}

void SampleRows(const at::Tensor& logits, const SamplingParams& params, const double* uniforms,
                int64_t* tokens, float* logprobs) {
  const int64_t n = logits.size(0), vocab = logits.size(1);
  if (params.temperature == 0.0f) {
    at::Tensor best = logits.argmax(-1, /*keepdim=*/true);
    CopyOut(best, at::log_softmax(logits, -1).gather(1, best), tokens, logprobs);
    return;
  }
  at::Tensor scores = params.temperature == 1.0f ? logits : logits.div(params.temperature);
  at::Tensor order;  // Vocabulary ids of the columns of `scores` when they are sorted.
  if (params.top_k > 0 && params.top_k < vocab) {
    std::tie(scores, order) = scores.topk(params.top_k, -1);  // Sorted, most likely first.
  }
  if (params.top_p < 1.0f) {
    if (!order.defined()) std::tie(scores, order) = scores.sort(-1, /*descending=*/true);
    at::Tensor probs = scores.softmax(-1);
    // Drop a token when the tokens before it already reach top_p (the first always stays).
    at::Tensor before = probs.cumsum(-1).sub_(probs);
    scores = scores.masked_fill(before.ge(params.top_p), -std::numeric_limits<float>::infinity());
  }
  at::Tensor logp = at::log_softmax(scores, -1);
  at::Tensor cdf = logp.exp().cumsum(-1);
  at::Tensor u = at::from_blob(const_cast<double*>(uniforms), {n, 1}, at::kDouble)
                     .to(cdf.device(), at::kFloat);
  at::Tensor target = u.mul_(cdf.narrow(1, cdf.size(1) - 1, 1));
  at::Tensor pick = at::searchsorted(cdf, target, /*out_int32=*/false, /*right=*/true)
                        .clamp_max_(cdf.size(1) - 1);
  // Past the last token of positive probability (rounding at the very top of the cdf), step back
  // to the first column holding that cumulative value: a token that can be sampled.
  pick = at::searchsorted(cdf, cdf.gather(1, pick), /*out_int32=*/false, /*right=*/false);
  at::Tensor token = order.defined() ? order.gather(1, pick) : pick;
  CopyOut(token, logp.gather(1, pick), tokens, logprobs);
}

}  // namespace rein::model::internal
