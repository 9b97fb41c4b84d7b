#include "services/learner/packed_batch.h"

#include <ATen/ops/empty.h>
#include <ATen/ops/zeros.h>

#include <algorithm>
#include <numeric>

#include "absl/strings/str_cat.h"
#include "services/learner/torch_guard.h"

namespace rein::learner {
namespace {

at::Tensor RowIndex(const std::vector<int64_t>& rows, c10::Device device) {
  return LongTensor(rows, device);
}

}  // namespace

at::Tensor LongTensor(const std::vector<int64_t>& values, c10::Device device) {
  at::Tensor t = at::empty({static_cast<int64_t>(values.size())}, at::kLong);
  std::copy(values.begin(), values.end(), t.data_ptr<int64_t>());
  return t.to(device);
}

at::Tensor FloatTensor(const std::vector<float>& values, c10::Device device) {
  at::Tensor t = at::empty({static_cast<int64_t>(values.size())}, at::kFloat);
  std::copy(values.begin(), values.end(), t.data_ptr<float>());
  return t.to(device);
}

int64_t PackedBatch::Tokens() const {
  return std::accumulate(lengths.begin(), lengths.end(), int64_t{0});
}

int64_t PackedBatch::ResponseTokens() const {
  return Tokens() - std::accumulate(prompt_lengths.begin(), prompt_lengths.end(), int64_t{0});
}

absl::Status CheckTokens(const TokenIds& prompt, const TokenIds& response,
                         const SequenceLimits& limits, absl::string_view what) {
  if (prompt.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": empty prompt_ids (the first response token needs a prompt token "
                           "to be predicted from)"));
  }
  if (response.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": empty response_ids"));
  }
  auto check_ids = [&](const TokenIds& ids,
                       absl::string_view field) -> absl::Status {
    for (int i = 0; i < ids.size(); ++i) {
      if (ids[i] < 0 || ids[i] >= limits.vocab_size) {
        return absl::InvalidArgumentError(absl::StrCat(what, ": ", field, "[", i, "] = ", ids[i],
                                                       " is outside the vocabulary [0, ",
                                                       limits.vocab_size, ")"));
      }
    }
    return absl::OkStatus();
  };
  if (absl::Status s = check_ids(prompt, "prompt_ids"); !s.ok()) return s;
  if (absl::Status s = check_ids(response, "response_ids"); !s.ok()) return s;
  const int64_t length = int64_t{prompt.size()} + response.size();
  if (limits.max_positions > 0 && length > limits.max_positions) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": ", length, " tokens (prompt + response) exceed the model's ",
                     limits.max_positions, " positions"));
  }
  return absl::OkStatus();
}

absl::StatusOr<PackedBatch> PackSequences(
    const std::vector<const TokenIds*>& prompts,
    const std::vector<const TokenIds*>& responses,
    c10::Device device) {
  if (prompts.empty() || prompts.size() != responses.size()) {
    return absl::InvalidArgumentError("PackSequences: no rows, or prompts and responses differ");
  }
  return GuardTorch("packing sequences", [&]() -> absl::StatusOr<PackedBatch> {
    PackedBatch batch;
    const int64_t rows = static_cast<int64_t>(prompts.size());
    int64_t width = 2;
    for (int64_t b = 0; b < rows; ++b) {
      batch.prompt_lengths.push_back(prompts[b]->size());
      batch.lengths.push_back(prompts[b]->size() + responses[b]->size());
      width = std::max(width, batch.lengths.back());
    }
    at::Tensor ids = at::zeros({rows, width}, at::kLong);
    at::Tensor attention = at::zeros({rows, width}, at::kLong);
    at::Tensor response = at::zeros({rows, width - 1}, at::kFloat);
    at::Tensor last = at::empty({rows}, at::kLong);
    auto ids_a = ids.accessor<int64_t, 2>();
    auto att_a = attention.accessor<int64_t, 2>();
    auto resp_a = response.accessor<float, 2>();
    auto last_a = last.accessor<int64_t, 1>();
    for (int64_t b = 0; b < rows; ++b) {
      int64_t t = 0;
      for (int32_t id : *prompts[b]) ids_a[b][t++] = id;
      for (int32_t id : *responses[b]) {
        ids_a[b][t] = id;
        resp_a[b][t - 1] = 1.0f;
        ++t;
      }
      for (int64_t i = 0; i < t; ++i) att_a[b][i] = 1;
      last_a[b] = t - 1;
    }
    batch.input_ids = ids.to(device);
    batch.attention_mask = attention.to(device);
    batch.response_mask = response.to(device);
    batch.last_index = last.to(device);
    return batch;
  });
}

absl::StatusOr<PackedBatch> SelectRows(const PackedBatch& batch, const std::vector<int64_t>& rows) {
  if (rows.empty()) return absl::InvalidArgumentError("SelectRows: no rows");
  return GuardTorch("selecting rows", [&]() -> absl::StatusOr<PackedBatch> {
    PackedBatch out;
    int64_t width = 2;
    for (int64_t r : rows) {
      out.lengths.push_back(batch.lengths.at(r));
      out.prompt_lengths.push_back(batch.prompt_lengths.at(r));
      width = std::max(width, batch.lengths[r]);
    }
    const at::Tensor index = RowIndex(rows, batch.input_ids.device());
    out.input_ids = batch.input_ids.index_select(0, index).narrow(1, 0, width);
    out.attention_mask = batch.attention_mask.index_select(0, index).narrow(1, 0, width);
    out.response_mask = batch.response_mask.index_select(0, index).narrow(1, 0, width - 1);
    out.last_index = batch.last_index.index_select(0, index);
    out.pack = batch.pack;
    return out;
  });
}

at::Tensor SelectTokenRows(const at::Tensor& per_token, const std::vector<int64_t>& rows,
                           const PackedBatch& selected) {
  return per_token.index_select(0, RowIndex(rows, per_token.device()))
      .narrow(1, 0, selected.width() - 1);
}

absl::StatusOr<at::Tensor> ScatterResponseValues(
    const PackedBatch& batch,
    const std::vector<const google::protobuf::RepeatedField<float>*>& values) {
  if (static_cast<int64_t>(values.size()) != batch.rows()) {
    return absl::InvalidArgumentError("ScatterResponseValues: one value list per row needed");
  }
  return GuardTorch("placing per-token values", [&]() -> absl::StatusOr<at::Tensor> {
    at::Tensor out = at::zeros({batch.rows(), batch.width() - 1}, at::kFloat);
    auto a = out.accessor<float, 2>();
    for (int64_t b = 0; b < batch.rows(); ++b) {
      const int64_t response = batch.lengths[b] - batch.prompt_lengths[b];
      if (values[b]->size() != response) {
        return absl::InvalidArgumentError(absl::StrCat("row ", b, ": ", values[b]->size(),
                                                       " values for ", response,
                                                       " response tokens"));
      }
      for (int64_t j = 0; j < response; ++j) a[b][batch.prompt_lengths[b] + j - 1] = (*values[b])[j];
    }
    return out.to(batch.input_ids.device());
  });
}

}  // namespace rein::learner
