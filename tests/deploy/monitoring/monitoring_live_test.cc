// Monitoring against a live run: `reinctl up` runs a small PPO run (metrics on free ports,
// file-SD targets in <output_dir>/prometheus/), rein-feedback runs beside it with a simulated
// crowd judging a small campaign, and Debian's real Prometheus, started through
// deploy/prometheus/serve.sh on a port picked at run time with the rules of
// deploy/prometheus/rules, scrapes them every second. Every query of every panel of
// deploy/grafana/rein-dashboard.json must return data over the run's lifetime, and every
// recording rule must have recorded a series.
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cctype>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/testing/subprocess.h"
#include "tests/e2e/local_run.h"

namespace rein::e2e {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

constexpr char kPrometheus[] = "/usr/bin/prometheus";
constexpr char kRun[] = "e2e";  // run.name of WriteConfig's config

std::string UrlEncode(const std::string& text) {
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += absl::StrCat("%", absl::Hex(c, absl::kZeroPad2));
    }
  }
  return out;
}

// GET http://127.0.0.1:port/path as HTTP/1.0: Go's server then sends the body as it is and
// closes (no chunked encoding, which common/testing/http.h does not decode). "" on failure;
// otherwise the body of a 200 reply.
std::string Http10Get(int port, const std::string& path) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return "";
  timeval timeout{10, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  std::string reply;
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
    const std::string request = absl::StrCat("GET ", path, " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n");
    if (send(fd, request.data(), request.size(), MSG_NOSIGNAL) == ssize_t(request.size())) {
      char buffer[65536];
      for (ssize_t n; (n = recv(fd, buffer, sizeof(buffer), 0)) > 0;) reply.append(buffer, n);
    }
  }
  close(fd);
  const size_t body = reply.find("\r\n\r\n");
  if (body == std::string::npos || reply.compare(0, 7, "HTTP/1.") != 0 ||
      reply.compare(8, 5, " 200 ") != 0)
    return "";
  return reply.substr(body + 4);
}

// Prometheus' HTTP API on 127.0.0.1:port; the "data" of a successful reply, or null.
Json ApiGet(int port, const std::string& path_and_query) {
  Json body = Json::parse(Http10Get(port, path_and_query), nullptr, false);
  if (body.is_discarded() || body.value("status", "") != "success") return nullptr;
  return body["data"];
}

// Kills every process of the run and reinctl up, whatever state the test ends in.
struct RunGuard {
  std::string run_dir;
  testing::Subprocess* up = nullptr;
  ~RunGuard() {
    if (up != nullptr) (void)up->Signal(SIGINT);  // a clean stop first
    if (up != nullptr && !up->Wait(absl::Seconds(20)).ok()) (void)up->Signal(SIGKILL);
    for (const auto& [name, pid] : Pids(run_dir)) kill(pid, SIGKILL);
  }
};

// Removes the test's scratch folder (declared first, so it goes after every process).
struct DirRemover {
  std::string dir;
  ~DirRemover() {
    std::error_code ignored;
    fs::remove_all(dir, ignored);
  }
};

// A process started for the test, killed at scope exit.
struct Killer {
  testing::Subprocess* process = nullptr;
  ~Killer() {
    if (process == nullptr) return;
    (void)process->Signal(SIGTERM);
    if (!process->Wait(absl::Seconds(10)).ok()) (void)process->Signal(SIGKILL);
  }
};

// The dashboard's panel queries with Grafana's variables replaced as Grafana would for this
// run: $run the run's name, $__rate_interval 4 scrape intervals, $__interval the step.
struct PanelQuery {
  std::string panel;
  std::string expr;
};

std::vector<PanelQuery> DashboardQueries() {
  std::ifstream in(testing::SourcePath("deploy/grafana/rein-dashboard.json"));
  const Json dashboard = Json::parse(in);
  std::vector<PanelQuery> queries;
  std::function<void(const Json&)> walk = [&](const Json& panels) {
    for (const Json& panel : panels) {
      if (panel.contains("panels")) walk(panel["panels"]);
      for (const Json& target : panel.value("targets", Json::array())) {
        std::string expr = target.at("expr");
        expr = absl::StrReplaceAll(
            expr,
            {{"${run}", kRun}, {"$run", kRun}, {"$__rate_interval", "4s"}, {"$__interval", "1s"}});
        queries.push_back(
            {absl::StrCat(panel.value("title", "?"), " [", target.value("refId", "?"), "]"), expr});
      }
    }
  };
  walk(dashboard.at("panels"));
  return queries;
}

// The `record:` names of deploy/prometheus/rules/*.yml (one per line, `- record: NAME`).
std::vector<std::string> RecordedNames() {
  std::vector<std::string> names;
  const std::regex record(R"(^\s*-\s*record:\s*(\S+)\s*$)");
  for (const auto& entry : fs::directory_iterator(testing::SourcePath("deploy/prometheus/rules"))) {
    if (entry.path().extension() != ".yml") continue;
    std::ifstream in(entry.path());
    for (std::string line; std::getline(in, line);) {
      std::smatch m;
      if (std::regex_match(line, m, record)) names.push_back(m[1]);
    }
  }
  return names;
}

// rein-feedback beside the run, and a simulated crowd judging a 4-item campaign through its
// HTTP API (leases, submissions, and a campaign status that sets the campaign gauges).
// Returns rein-feedback's metrics address.
std::string StartFeedbackAndJudge(const std::string& dir,
                                  std::unique_ptr<testing::Subprocess>& out) {
  const std::string fdir = dir + "/feedback";
  fs::create_directories(fdir);
  std::ofstream(fdir + "/admin.token") << "monitoring-test-admin-token\n";
  const std::string config = WriteConfig(
      fdir, 1,
      {{"feedback", "  store: sqlite:" + fdir + "/feedback.db\n  admin_token_file: " + fdir +
                        "/admin.token\n  submissions_per_minute: 0\n"}});
  auto feedback = testing::Subprocess::Start(
      {testing::BuiltBinary("rein-feedback"), "--config", config, "--port", "0"});
  REQUIRE(feedback.ok());
  out = *std::move(feedback);
  // The three announcements come in no fixed order: wait for all, then read them.
  std::map<std::string, std::string> at;
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (at.size() < 3) {
    (void)out->WaitForLine("\n", absl::Milliseconds(200));  // reads whatever arrived
    std::istringstream lines(out->output());
    for (std::string line; std::getline(lines, line);) {
      for (const char* marker : {" listening on ", " http on ", " metrics on "}) {
        if (size_t p = line.find(marker); p != std::string::npos) {
          at[marker] =
              std::string(absl::StripAsciiWhitespace(line.substr(p + std::strlen(marker))));
        }
      }
    }
    INFO(out->output());
    REQUIRE(absl::Now() < deadline);
  }
  const std::string grpc = at[" listening on "], http = at[" http on "];
  auto crowd = testing::RunCommand({testing::BuiltBinary("rein-demo"),
                                    "crowd",
                                    "--feedback-grpc",
                                    grpc,
                                    "--feedback-http",
                                    http,
                                    "--admin-token-file",
                                    fdir + "/admin.token",
                                    "--policy",
                                    WorldDir() + "/policy-init",
                                    "--prompts",
                                    WorldDir() + "/prompts.jsonl",
                                    "--max-new-tokens",
                                    "8",
                                    "--campaign",
                                    "monitoring",
                                    "--items",
                                    "4",
                                    "--overlap",
                                    "1",
                                    "--annotators",
                                    "3",
                                    "--gold-rate",
                                    "0",
                                    "--seed",
                                    "3"},
                                   "", absl::Minutes(2));
  REQUIRE(crowd.ok());
  INFO(crowd->stdout_text << crowd->stderr_text);
  REQUIRE(crowd->exit_code == 0);
  return at[" metrics on "];
}

TEST_CASE("Prometheus scrapes a live run: every dashboard query and recording rule has data") {
  if (!fs::exists(kPrometheus)) {
    WARN("SKIPPED: " << kPrometheus << " not installed (apt-get install prometheus)");
    return;
  }
  const std::string dir = testing::MakeTempDir("rein-monitoring");
  DirRemover remove_dir{dir};
  const std::string run_dir = dir + "/run";
  const std::string targets_dir = dir + "/runs/prometheus";  // <run.output_dir>/prometheus

  // rein-feedback first: its crowd is done before the run starts using the CPU.
  std::unique_ptr<testing::Subprocess> feedback;
  const std::string feedback_metrics = StartFeedbackAndJudge(dir, feedback);
  Killer feedback_killer{feedback.get()};
  fs::create_directories(targets_dir);
  std::ofstream(targets_dir + "/feedback.json")
      << Json::array(
             {{{"targets", {feedback_metrics}},
               {"labels",
                {{"rein_run", kRun}, {"rein_process", "feedback-0"}, {"rein_role", "feedback"}}}}})
             .dump(2);

  // Enough iterations that the run is still up while Prometheus is queried (it is paused).
  const std::string config = WriteConfig(dir, 500);
  const absl::Time started = absl::Now();
  auto up = StartUp(config, run_dir);
  RunGuard run_guard{run_dir, up.get()};

  const int port = testing::FreePort();
  auto prometheus = testing::Subprocess::Start(
      {testing::SourcePath("deploy/prometheus/serve.sh"), "--runs", dir + "/runs", "--port",
       std::to_string(port), "--data", dir + "/prometheus", "--scrape-interval", "1s", "--",
       "--log.level=warn"});
  REQUIRE(prometheus.ok());
  Killer prometheus_killer{prometheus->get()};

  // Every rule file loaded, every rule healthy.
  {
    const absl::Time deadline = absl::Now() + absl::Seconds(60);
    Json rules;
    while ((rules = ApiGet(port, "/api/v1/rules")).is_null()) {
      REQUIRE(absl::Now() < deadline);
      absl::SleepFor(absl::Milliseconds(200));
    }
    std::set<std::string> files;
    for (const Json& group : rules["groups"]) {
      files.insert(fs::path(group["file"].get<std::string>()).filename().string());
    }
    for (const auto& entry :
         fs::directory_iterator(testing::SourcePath("deploy/prometheus/rules"))) {
      if (entry.path().extension() != ".yml") continue;
      INFO("rule file " << entry.path() << " not loaded");
      CHECK(files.count(entry.path().filename().string()) == 1);
    }
  }

  // The run's targets (written by reinctl up once every worker registered) and rein-feedback,
  // every one of them up.
  const std::string run_targets =
      targets_dir + "/" + fs::path(run_dir).filename().string() + ".json";
  {
    const absl::Time deadline = absl::Now() + absl::Seconds(90);
    while (!fs::exists(run_targets)) {
      REQUIRE(absl::Now() < deadline);
      absl::SleepFor(absl::Milliseconds(200));
    }
    absl::SleepFor(absl::Milliseconds(100));  // let reinctl finish writing the small file
    const size_t expected = Json::parse(ReadFile(run_targets)).size() + 1;
    INFO("targets: " << ReadFile(run_targets));
    while (true) {
      const Json targets = ApiGet(port, "/api/v1/targets?state=active");
      size_t up_count = 0;
      if (!targets.is_null()) {
        for (const Json& t : targets["activeTargets"]) up_count += t.value("health", "") == "up";
      }
      if (up_count == expected) break;
      INFO("up " << up_count << " of " << expected << ": " << targets.dump());
      REQUIRE(absl::Now() < deadline);
      absl::SleepFor(absl::Milliseconds(250));
    }
  }

  // A few iterations under scrape, then pause so the processes stay up while we query.
  WaitForIterations(run_dir, 4);
  REQUIRE(Ctl({"pause", "--run", run_dir}).exit_code == 0);
  // Two more scrapes of the paused state, so every rate has samples on both sides.
  absl::SleepFor(absl::Seconds(3));

  const std::string range = absl::StrCat("&start=", absl::ToUnixSeconds(started) - 5,
                                         "&end=", absl::ToUnixSeconds(absl::Now()), "&step=1");
  for (const PanelQuery& q : DashboardQueries()) {
    const Json data = ApiGet(port, "/api/v1/query_range?query=" + UrlEncode(q.expr) + range);
    INFO("panel \"" << q.panel << "\": " << q.expr);
    REQUIRE(!data.is_null());  // a query Prometheus refuses
    size_t points = 0;
    for (const Json& series : data["result"]) points += series["values"].size();
    CHECK(points > 0);
  }

  // The check can fail: a series nobody exports has no data.
  {
    const Json data = ApiGet(port, "/api/v1/query_range?query=" +
                                       UrlEncode("rein_no_such_metric{rein_run=\"e2e\"}") + range);
    REQUIRE(!data.is_null());
    CHECK(data["result"].empty());
  }

  // The recording rules ran over the live data (evaluated every second).
  for (const std::string& name : RecordedNames()) {
    INFO("recording rule " << name);
    const absl::Time deadline = absl::Now() + absl::Seconds(20);
    while (true) {
      const Json data = ApiGet(port, "/api/v1/query_range?query=" + UrlEncode(name) + range);
      if (!data.is_null() && !data["result"].empty()) break;
      REQUIRE(absl::Now() < deadline);
      absl::SleepFor(absl::Milliseconds(500));
    }
  }

  // No alert fires on a healthy run (ReinProcessDown would after a minute of a target down).
  const Json alerts = ApiGet(port, "/api/v1/alerts");
  REQUIRE(!alerts.is_null());
  for (const Json& alert : alerts["alerts"]) {
    INFO(alert.dump());
    CHECK(alert.value("state", "") != "firing");
  }
}

// The provisioned data source has the uid the dashboard's datasource variable defaults to, and
// the dashboard provider is a file provider.
TEST_CASE("Grafana provisioning matches the dashboard") {
  std::ifstream in(testing::SourcePath("deploy/grafana/rein-dashboard.json"));
  const Json dashboard = Json::parse(in);
  std::string uid;
  for (const Json& variable : dashboard["templating"]["list"]) {
    if (variable.value("type", "") == "datasource") uid = variable["current"]["value"];
  }
  REQUIRE(!uid.empty());
  const std::string datasources =
      ReadFile(testing::SourcePath("deploy/grafana/provisioning/datasources/rein.yaml"));
  CHECK(std::regex_search(datasources, std::regex("\\n\\s*uid:\\s*" + uid + "\\s*\\n")));
  CHECK(std::regex_search(datasources, std::regex("\\n\\s*type:\\s*prometheus\\s*\\n")));
  const std::string dashboards =
      ReadFile(testing::SourcePath("deploy/grafana/provisioning/dashboards/rein.yaml"));
  CHECK(std::regex_search(dashboards, std::regex("\\n\\s*type:\\s*file\\s*\\n")));
  CHECK(std::regex_search(dashboards, std::regex("\\n\\s*path:\\s*\\S+")));
}

}  // namespace
}  // namespace rein::e2e
