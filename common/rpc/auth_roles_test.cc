#include "common/rpc/auth_roles.h"

#include <catch2/catch.hpp>

namespace rein::rpc {
namespace {

TEST_CASE("role table: a worker cannot pause, set, stop, checkpoint, reload or restore") {
  for (const char* method :
       {"/rein.v1.Coordinator/Start", "/rein.v1.Coordinator/Pause", "/rein.v1.Coordinator/Resume",
        "/rein.v1.Coordinator/Stop", "/rein.v1.Coordinator/Set", "/rein.v1.Coordinator/Checkpoint",
        "/rein.v1.Reward/Reload", "/rein.v1.Learner/SaveCheckpoint", "/rein.v1.Learner/Restore",
        "/rein.v1.Feedback/CreateCampaign", "/rein.v1.Feedback/Export"}) {
    INFO(method);
    CHECK(RequiredRole(method) == AuthRole::kOperator);
    CHECK_FALSE(Allows(AuthRole::kWorker, method));
    CHECK(Allows(AuthRole::kOperator, method));
  }
}

TEST_CASE("role table: workers reach the data plane and the coordinator's registry and KV") {
  for (const char* method :
       {"/rein.v1.Coordinator/Register", "/rein.v1.Coordinator/KvSet", "/rein.v1.Coordinator/KvGet",
        "/rein.v1.Rollout/Generate", "/rein.v1.Rollout/LoadWeights", "/rein.v1.Reward/Score",
        "/rein.v1.Reference/LogProbs", "/rein.v1.Learner/Train", "/rein.v1.Learner/PushWeights",
        "/rein.v1.Learner/GetWeights"}) {
    INFO(method);
    CHECK(RequiredRole(method) == AuthRole::kWorker);
    CHECK(Allows(AuthRole::kWorker, method));
    CHECK(Allows(AuthRole::kOperator, method));
    CHECK_FALSE(Allows(AuthRole::kMonitor, method));
  }
}

TEST_CASE("role table: a monitor reads status and nothing else") {
  CHECK(Allows(AuthRole::kMonitor, "/rein.v1.Coordinator/Status"));
  CHECK(Allows(AuthRole::kMonitor, "/rein.v1.Feedback/GetCampaignStatus"));
  CHECK(Allows(AuthRole::kMonitor, "/rein.v1.Feedback/ListCampaigns"));
  CHECK_FALSE(Allows(AuthRole::kMonitor, "/rein.v1.Coordinator/Pause"));
  CHECK_FALSE(Allows(AuthRole::kMonitor, "/rein.v1.Coordinator/KvGet"));
  CHECK_FALSE(Allows(AuthRole::kMonitor, "/rein.v1.Feedback/UpdateCampaign"));
}

TEST_CASE("role table: unlisted methods and near misses need the operator") {
  CHECK(RequiredRole("/rein.testing.Echo/Echo") == AuthRole::kOperator);
  CHECK(RequiredRole("/rein.v1.Coordinator/Statusx") == AuthRole::kOperator);
  CHECK(RequiredRole("rein.v1.Coordinator/Status") == AuthRole::kOperator);
  CHECK(RequiredRole("") == AuthRole::kOperator);
}

TEST_CASE("role names round-trip") {
  for (AuthRole role : {AuthRole::kMonitor, AuthRole::kWorker, AuthRole::kOperator}) {
    CHECK(ParseAuthRole(AuthRoleName(role)) == role);
  }
  CHECK(std::string(AuthRoleName(AuthRole::kWorker)) == "worker");
  CHECK_FALSE(ParseAuthRole("admin").has_value());
}

}  // namespace
}  // namespace rein::rpc
