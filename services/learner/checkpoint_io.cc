#include "services/learner/checkpoint_io.h"

#include <ATen/ops/scalar_tensor.h>

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/checkpoint/safetensors.h"
#include "common/config/enum_names.h"
#include "common/files/file_util.h"
#include "common/log/log.h"
#include "common/model/lora.h"
#include "common/status/status_macros.h"
#include "services/learner/torch_guard.h"

namespace rein::learner {
namespace {

namespace fs = std::filesystem;

constexpr const char* kManifest = kLearnerCheckpointMarker;
constexpr char kOptimizer[] = "optimizer.safetensors";
constexpr char kPolicyDir[] = "policy";
constexpr char kCriticDir[] = "critic";
constexpr const char* kTokenizerFiles[] = {"tokenizer.json", "tokenizer_config.json"};

// `content` as the file `path`, written under a temporary name, fsynced and renamed into place.
absl::Status WriteFileSynced(const std::string& path, const std::string& content) {
  return files::WriteFileAtomically(
      path, [&](int fd) { return files::WriteAll(fd, content.data(), content.size(), path); });
}

void AppendParamState(const std::string& prefix, size_t i, const rl::AdamWParamState& s,
                      std::vector<std::pair<std::string, at::Tensor>>& out) {
  const std::string base = absl::StrCat(prefix, "/", i, "/");
  out.emplace_back(base + "exp_avg", s.exp_avg.detach().to(at::kCPU).contiguous());
  out.emplace_back(base + "exp_avg_sq", s.exp_avg_sq.detach().to(at::kCPU).contiguous());
  out.emplace_back(base + "step",
                   at::scalar_tensor(s.step, at::TensorOptions().dtype(at::kLong)));
}

// The optimizer's state by parameter index. Sharded, it is gathered from the owners (every rank
// takes part), and only `keep` ranks collect it.
absl::Status AppendOptimizerTensors(rl::AdamW& optimizer, OptimizerShard* shard, bool keep,
                                    const std::string& prefix,
                                    std::vector<std::pair<std::string, at::Tensor>>& out) {
  if (shard != nullptr) {
    return shard->Gather([&](size_t i, const rl::AdamWParamState& s) {
      if (keep) AppendParamState(prefix, i, s, out);
    });
  }
  for (size_t i = 0; i < optimizer.parameters().size(); ++i) {
    if (std::optional<rl::AdamWParamState> s = optimizer.ParamState(i)) {
      AppendParamState(prefix, i, *s, out);
    }
    // A bf16 parameter's float32 master: the model's weights are it rounded.
    if (const at::Tensor& master = optimizer.master(i); master.defined()) {
      out.emplace_back(absl::StrCat(prefix, "/", i, "/master"),
                       master.detach().to(at::kCPU).contiguous());
    }
  }
  return absl::OkStatus();
}

absl::Status RestoreOptimizer(const checkpoint::SafetensorsFile& file, const std::string& prefix,
                              rl::AdamW& optimizer) {
  const std::vector<at::Tensor>& params = optimizer.parameters();
  for (size_t i = 0; i < params.size(); ++i) {
    const std::string base = absl::StrCat(prefix, "/", i, "/");
    if (file.contains(base + "master")) {
      ASSIGN_OR_RETURN(at::Tensor master, file.Get(base + "master"));
      RETURN_IF_ERROR(optimizer.SetMaster(i, master));
    }
    if (!file.contains(base + "step")) continue;
    ASSIGN_OR_RETURN(at::Tensor exp_avg, file.Get(base + "exp_avg"));
    ASSIGN_OR_RETURN(at::Tensor exp_avg_sq, file.Get(base + "exp_avg_sq"));
    ASSIGN_OR_RETURN(at::Tensor step, file.Get(base + "step"));
    if (exp_avg.sizes() != params[i].sizes() || exp_avg_sq.sizes() != params[i].sizes()) {
      return absl::InvalidArgumentError(
          absl::StrCat(file.path(), ": ", base, "exp_avg has shape ", exp_avg.sizes().size(),
                       "-d not matching parameter ", i, " of the ", prefix));
    }
    // Moments live beside the master (float32) where there is one.
    const at::TensorOptions like =
        (optimizer.master(i).defined() ? optimizer.master(i) : params[i]).options();
    optimizer.SetParamState(i, {.step = step.item<int64_t>(),
                                .exp_avg = exp_avg.to(like).clone(),
                                .exp_avg_sq = exp_avg_sq.to(like).clone()});
  }
  return absl::OkStatus();
}

nlohmann::json Manifest(const LearnerState& state) {
  const LearnerProgress& p = state.progress();
  std::ostringstream rng;
  rng << state.rng();
  nlohmann::json m = {
      {"format_version", kCheckpointFormatVersion},
      {"mode", std::string(config::EnumName(state.mode()))},
      {"step", p.optimizer_steps},
      {"policy_version", p.policy_version},
      {"last_iteration", p.last_iteration},
      {"peak_learning_rate", p.peak_learning_rate},
      {"kl_coef", p.kl_coef},
      {"schedule",
       {{"position", p.optimizer_steps},
        {"decay", std::string(config::EnumName(state.options().learner.schedule))},
        {"warmup_steps", state.options().learner.warmup_steps},
        {"total_steps", state.ScheduleSteps()},
        {"next_learning_rate", state.NextLearningRate()}}},
      {"rng_state", rng.str()},
      {"has_critic", state.critic() != nullptr},
  };
  if (const rl::RewardNormalizer* n = state.reward_normalizer(); n != nullptr) {
    m["reward_normalizer"] = {{"count", n->moments().count},
                              {"mean", n->moments().mean},
                              {"m2", n->moments().m2}};
  }
  return m;
}

absl::Status WriteInto(LearnerState& state, const std::string& tmp,
                       const std::vector<std::pair<std::string, at::Tensor>>& optimizer) {
  const std::string policy_dir = absl::StrCat(tmp, "/", kPolicyDir);
  RETURN_IF_ERROR(state.policy().Save(policy_dir));
  // A LoRA policy: PEFT's adapter files beside the base, which CausalLM::Load picks up.
  if (state.policy().lora()) {
    RETURN_IF_ERROR(
        model::SaveLoraAdapter(state.policy(), policy_dir, state.options().model.policy));
  }
  for (const char* name : kTokenizerFiles) {
    const fs::path source = fs::path(state.options().model.policy) / name;
    std::error_code ec;
    if (!fs::is_regular_file(source, ec)) continue;
    ASSIGN_OR_RETURN(std::string content, files::ReadFile(source.string()));
    RETURN_IF_ERROR(WriteFileSynced(absl::StrCat(policy_dir, "/", name), content));
  }
  RETURN_IF_ERROR(files::FsyncDir(policy_dir));
  if (state.critic() != nullptr) {
    RETURN_IF_ERROR(state.critic()->Save(absl::StrCat(tmp, "/", kCriticDir)));
  }
  RETURN_IF_ERROR(checkpoint::WriteSafetensors(absl::StrCat(tmp, "/", kOptimizer), optimizer,
                                               {{"format", "rein-learner-optimizer"}}));
  RETURN_IF_ERROR(
      WriteFileSynced(absl::StrCat(tmp, "/", kManifest), Manifest(state).dump(2) + "\n"));
  return files::FsyncDir(tmp);
}

absl::StatusOr<nlohmann::json> ReadManifest(const std::string& dir) {
  const std::string path = absl::StrCat(dir, "/", kManifest);
  ASSIGN_OR_RETURN(std::string text, files::ReadFile(path));
  nlohmann::json m = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (m.is_discarded() || !m.is_object()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": not a JSON object"));
  }
  return m;
}

}  // namespace

absl::Status SaveLearnerCheckpoint(LearnerState& state, const std::string& dir) {
  // The optimizer state first, before anything that could fail on this rank alone: sharded,
  // every rank sends its part, and a rank that left early would stall the others.
  const bool writes = state.policy_shard() == nullptr || state.rank() == 0;
  std::vector<std::pair<std::string, at::Tensor>> optimizer;
  const absl::Status collected = GuardTorch("optimizer state", [&]() -> absl::Status {
    RETURN_IF_ERROR(AppendOptimizerTensors(state.policy_optimizer(), state.policy_shard(), writes,
                                           "policy", optimizer));
    if (state.critic_optimizer() == nullptr) return absl::OkStatus();
    return AppendOptimizerTensors(*state.critic_optimizer(), state.critic_shard(), writes,
                                  "critic", optimizer);
  });
  RETURN_IF_ERROR(collected);
  if (!writes) return absl::OkStatus();
  if (dir.empty()) return absl::InvalidArgumentError("directory: empty");
  const fs::path target = fs::absolute(fs::path(dir)).lexically_normal();
  const fs::path parent = target.parent_path();
  std::error_code ec;
  fs::create_directories(parent, ec);
  if (ec) {
    return absl::InternalError(absl::StrCat("creating ", parent.string(), ": ", ec.message()));
  }
  // Built beside the target and swapped in whole: `dir` never shows a partial checkpoint, and
  // an older one of the same name stays until the new one is complete.
  ASSIGN_OR_RETURN(const std::string tmp, files::MakeTempSiblingDir(target.string()));
  absl::Status written = WriteInto(state, tmp, optimizer);
  if (written.ok()) written = files::MoveDirIntoPlace(tmp, target.string(), kManifest);
  if (!written.ok()) {
    fs::remove_all(tmp, ec);
    return written;
  }
  REIN_LOG(INFO, "learner") << "checkpoint " << target.string() << " (step "
                            << state.progress().optimizer_steps << ", policy version "
                            << state.progress().policy_version << ")";
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<LearnerState>> LoadLearnerCheckpoint(
    const std::string& dir, const LearnerOptions& options) {
  ASSIGN_OR_RETURN(nlohmann::json m, ReadManifest(dir));
  const std::string where = absl::StrCat(dir, "/", kManifest);
  try {
    if (m.value("format_version", 0) != kCheckpointFormatVersion) {
      return absl::InvalidArgumentError(absl::StrCat(where, ": format_version ",
                                                     m.value("format_version", 0),
                                                     ", this learner reads ",
                                                     kCheckpointFormatVersion));
    }
    const std::string mode = m.at("mode").get<std::string>();
    if (mode != config::EnumName(options.learner.mode)) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": a ", mode, " checkpoint, but learner.mode is ",
                       config::EnumName(options.learner.mode)));
    }
    const bool reward_model = config::TrainsScalarHead(options.learner.mode);
    ASSIGN_OR_RETURN(auto policy,
                     LoadLearnerModel(options.model, absl::StrCat(dir, "/", kPolicyDir),
                                      reward_model ? model::Heads::kScalar : model::Heads::kLm,
                                      options.cuda_device));
    std::unique_ptr<model::CausalLM> critic;
    if (options.learner.mode == config::LearnerMode::kPpo) {
      ASSIGN_OR_RETURN(critic, LoadLearnerModel(options.model, absl::StrCat(dir, "/", kCriticDir),
                                                model::Heads::kScalar, options.cuda_device));
    }
    ASSIGN_OR_RETURN(std::unique_ptr<LearnerState> state,
                     LearnerState::FromModels(options, std::move(policy), std::move(critic)));
    LearnerProgress& p = state->progress();
    RETURN_IF_ERROR(state->SetPeakLearningRate(m.at("peak_learning_rate").get<double>()));
    p.optimizer_steps = m.at("step").get<int64_t>();
    p.policy_version = m.at("policy_version").get<uint64_t>();
    p.last_iteration = m.at("last_iteration").get<uint64_t>();
    p.kl_coef = m.at("kl_coef").get<double>();
    std::istringstream rng(m.at("rng_state").get<std::string>());
    rng >> state->rng();
    if (rng.fail()) return absl::InvalidArgumentError(absl::StrCat(where, ": bad rng_state"));
    if (rl::RewardNormalizer* n = state->reward_normalizer();
        n != nullptr && m.contains("reward_normalizer")) {
      const nlohmann::json& r = m.at("reward_normalizer");
      RETURN_IF_ERROR(n->Restore({.count = r.at("count").get<int64_t>(),
                                  .mean = r.at("mean").get<double>(),
                                  .m2 = r.at("m2").get<double>()}));
    }
    ASSIGN_OR_RETURN(auto file,
                     checkpoint::SafetensorsFile::Open(absl::StrCat(dir, "/", kOptimizer)));
    const absl::Status restored = GuardTorch("restoring optimizer state", [&]() -> absl::Status {
      RETURN_IF_ERROR(RestoreOptimizer(*file, "policy", state->policy_optimizer()));
      if (state->critic_optimizer() == nullptr) return absl::OkStatus();
      return RestoreOptimizer(*file, "critic", *state->critic_optimizer());
    });
    RETURN_IF_ERROR(restored);
    REIN_LOG(INFO, "learner") << "resumed from " << dir << " at step " << p.optimizer_steps
                              << ", policy version " << p.policy_version << ", iteration "
                              << p.last_iteration;
    return state;
  } catch (const nlohmann::json::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(where, ": ", e.what()));
  }
}

}  // namespace rein::learner
