// Token sampling for Generator: one token per row of a logits matrix, each row with its own
// uniform random number, so a row's result never depends on the other rows.
#ifndef REIN_COMMON_MODEL_INTERNAL_SAMPLER_H_
#define REIN_COMMON_MODEL_INTERNAL_SAMPLER_H_

#include <ATen/core/Tensor.h>

#include <cstdint>

#include "common/model/generator.h"

namespace rein::model::internal {

// A uniform number in [0, 1 - 2^-24] determined by (seed, index) alone (SplitMix64 mixing).
double Uniform(uint64_t seed, int64_t index);

// Samples from `logits` [n, V] (float32) under `params`. `uniforms` holds n values from
// Uniform(). Writes n tokens and their log-probs under the distribution sampled from.
void SampleRows(const at::Tensor& logits, const SamplingParams& params, const double* uniforms,
                int64_t* tokens, float* logprobs);

}  // namespace rein::model::internal

#endif  // REIN_COMMON_MODEL_INTERNAL_SAMPLER_H_
