// Bad TokenSequence batches, shared by the hostile tests of the services that score sequences
// (rein-reward, rein-reference): each is a valid batch of one sequence, edited.
#ifndef REIN_TESTS_HOSTILE_TOKEN_SEQUENCES_H_
#define REIN_TESTS_HOSTILE_TOKEN_SEQUENCES_H_

#include <google/protobuf/repeated_field.h>

#include <functional>
#include <limits>
#include <string>
#include <tuple>
#include <vector>

#include "rein/v1/common.pb.h"
#include "tests/hostile/hostile_client.h"

namespace rein::testing {

using Sequences = google::protobuf::RepeatedPtrField<rein::v1::TokenSequence>;

inline void AddValidSequence(Sequences& sequences) {
  rein::v1::TokenSequence* s = sequences.Add();
  s->set_sequence_id(1);
  s->add_prompt_ids(5);
  s->add_prompt_ids(6);
  s->add_response_ids(7);
  s->add_response_ids(8);
}

// (what, expected code, edit) for a service of capacity 4 and a context of 128 tokens.
inline std::vector<std::tuple<std::string, grpc::StatusCode, std::function<void(Sequences&)>>>
BadSequenceEdits() {
  using grpc::StatusCode;
  return {
      {"no sequences", StatusCode::INVALID_ARGUMENT, [](Sequences& s) { s.Clear(); }},
      {"17 sequences for capacity 4", StatusCode::RESOURCE_EXHAUSTED,
       [](Sequences& s) {
         for (int i = 0; i < 16; ++i) AddValidSequence(s);
       }},
      {"empty response", StatusCode::INVALID_ARGUMENT,
       [](Sequences& s) { s[0].clear_response_ids(); }},
      {"prompt id -1", StatusCode::INVALID_ARGUMENT, [](Sequences& s) { s[0].add_prompt_ids(-1); }},
      {"response id 2^31 - 1", StatusCode::INVALID_ARGUMENT,
       [](Sequences& s) { s[0].add_response_ids(std::numeric_limits<int32_t>::max()); }},
      {"longer than the context", StatusCode::INVALID_ARGUMENT,
       [](Sequences& s) {
         for (int i = 0; i < 500; ++i) s[0].add_response_ids(9);
       }},
      {"sequence_id 2^64 - 1 with an id outside the vocabulary", StatusCode::INVALID_ARGUMENT,
       [](Sequences& s) {
         s[0].set_sequence_id(std::numeric_limits<uint64_t>::max());
         s[0].add_response_ids(1 << 30);
       }},
      {"a message over the server's limit", StatusCode::RESOURCE_EXHAUSTED,
       [](Sequences& s) { FillOverMessageLimit(s[0].mutable_response_ids()); }},
  };
}

}  // namespace rein::testing

#endif  // REIN_TESTS_HOSTILE_TOKEN_SEQUENCES_H_
