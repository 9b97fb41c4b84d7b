// reinctl feedback against a real rein-feedback process, both run as the user runs them.
#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/rpc/serve.h"
#include "common/testing/subprocess.h"

namespace rein::reinctl {
namespace {

using Json = nlohmann::json;
using testing::BuiltBinary;
using testing::CommandResult;

// A rein-feedback with a SQLite store and a known admin token in a scratch folder.
struct Server {
  std::string dir = testing::MakeTempDir("reinctl-feedback-");
  std::string token_file = dir + "/admin.token";
  std::unique_ptr<testing::Subprocess> process;
  std::string address;

  Server() {
    std::ofstream(token_file) << "reinctl-feedback-test-token-0123456789\n";
    const std::string config = dir + "/run.yaml";
    std::ofstream(config) << "run: {name: t}\n"
                          << "server: {drain_timeout: 2s}\n"
                          << "feedback:\n"
                          << "  store: \"sqlite:" << dir << "/f.db\"\n"
                          << "  admin_token_file: " << token_file << "\n"
                          << "  http_port: 0\n";
    auto started = testing::Subprocess::Start(
        {BuiltBinary("rein-feedback"), "--config=" + config, "--port=0"});
    REQUIRE(started.ok());
    process = *std::move(started);
    auto listening = process->WaitForLine(rpc::kListeningMarker, absl::Seconds(60));
    INFO(process->output());
    REQUIRE(listening.ok());
    address = *listening;
  }
  ~Server() {
    process.reset();  // stops rein-feedback before its store is deleted
    std::filesystem::remove_all(dir);
  }

  std::string Write(const std::string& name, const std::string& text) const {
    const std::string path = dir + "/" + name;
    std::ofstream(path) << text;
    return path;
  }

  // reinctl feedback <command> --feedback <address> --admin-token-file <token> <args...>
  CommandResult Run(const std::string& command, const std::vector<std::string>& args,
                    const std::string& token = "") const {
    std::vector<std::string> argv = {BuiltBinary("reinctl"),
                                     "feedback",
                                     command,
                                     "--feedback",
                                     address,
                                     "--admin-token-file",
                                     token.empty() ? token_file : token};
    argv.insert(argv.end(), args.begin(), args.end());
    auto result = testing::RunCommand(argv, "", absl::Seconds(120));
    REQUIRE(result.ok());
    return *result;
  }
};

Json StatusJson(const Server& server, const std::string& campaign) {
  CommandResult status = server.Run("status", {"--campaign", campaign, "--json"});
  INFO(status.stderr_text);
  REQUIRE(status.exit_code == 0);
  Json json = Json::parse(status.stdout_text, nullptr, false);
  REQUIRE(json.is_object());
  return json;
}

constexpr char kItems[] =
    R"({"prompt": "Name a colour.", "responses": ["Blue.", "A colour."], "id": "q1"})"
    "\n"
    R"({"prompt": "2+2?", "responses": [{"text": "4", "policy_version": 3, "model": "m", )"
    R"("seed": 7, "sampling": {"temperature": 0.7}, "synthetic": true}, "5"]})"
    "\n\n"
    R"({"messages": [{"role": "user", "content": "Hi"}], "responses": ["Hello!", "Go away."]})"
    "\n";

// HH-RLHF transcripts: the shared prefix is the prompt.
constexpr char kHh[] = R"({"chosen": "\n\nHuman: What is 2+2?\n\nAssistant: 4", )"
                       R"("rejected": "\n\nHuman: What is 2+2?\n\nAssistant: 5"})"
                       "\n"
                       R"({"chosen": "\n\nHuman: Capital of France?\n\nAssistant: Paris.", )"
                       R"("rejected": "\n\nHuman: Capital of France?\n\nAssistant: Lyon."})"
                       "\n";

TEST_CASE("reinctl feedback runs a campaign from creation to export") {
  Server server;
  const std::string guidelines = server.Write("guidelines.md", "# Pick the better answer\n");
  CommandResult create =
      server.Run("create", {"--name", "round-1", "--questions", "pairwise,flag,comment",
                            "--overlap", "2", "--gold-rate", "0.1", "--guidelines", guidelines});
  INFO(create.stderr_text);
  REQUIRE(create.exit_code == 0);
  const std::string id(absl::StripAsciiWhitespace(create.stdout_text));
  CHECK(!id.empty());
  CHECK(id.find('\n') == std::string::npos);

  const std::string items = server.Write("items.jsonl", kItems);
  CommandResult add = server.Run("add-items", {"--campaign", "round-1", "--file", items});
  INFO(add.stderr_text);
  CHECK(add.exit_code == 0);
  CHECK_THAT(add.stdout_text, Catch::Contains("added 3 of 3 items"));
  // Again: every item has an external id (given or from its content), so nothing is added twice.
  CommandResult again = server.Run("add-items", {"--campaign", id, "--file", items});
  CHECK(again.exit_code == 0);
  CHECK_THAT(again.stdout_text, Catch::Contains("added 0 of 3 items"));

  CommandResult invite = server.Run("invite", {"--name", "alice", "--role", "expert"});
  INFO(invite.stderr_text);
  CHECK(invite.exit_code == 0);
  CHECK_THAT(invite.stdout_text, Catch::Contains("#invite=") && Catch::Contains("token: ") &&
                                     Catch::Contains("shown only this once"));

  Json status = StatusJson(server, id);
  CHECK(status["campaign"]["name"] == "round-1");
  CHECK(status["campaign"]["overlap"] == 2);
  CHECK(status["items"] == 3);
  CHECK(status["judgements_submitted"] == 0);
  CommandResult table = server.Run("status", {"--campaign", "round-1"});
  CHECK(table.exit_code == 0);
  CHECK_THAT(table.stdout_text,
             Catch::Contains("campaign round-1") && Catch::Contains("3 (0 gold)"));

  const std::string out = server.dir + "/judgements.jsonl";
  CommandResult exported =
      server.Run("export", {"--campaign", id, "--format", "judgements", "--out", out});
  INFO(exported.stderr_text);
  CHECK(exported.exit_code == 0);
  CHECK_THAT(exported.stdout_text, Catch::Contains("wrote 0 records"));
  CHECK(std::filesystem::exists(out));
  CHECK(std::filesystem::file_size(out) == 0);

  const std::string hh = server.Write("hh.jsonl", kHh);
  CommandResult imported = server.Run("import", {"--campaign", id, "--file", hh, "--as-gold"});
  INFO(imported.stderr_text);
  CHECK(imported.exit_code == 0);
  CHECK_THAT(imported.stdout_text, Catch::Contains("imported 2 items as gold"));
  status = StatusJson(server, id);
  CHECK(status["items"] == 5);
  CHECK(status["gold_items"] == 2);

  CommandResult campaigns = server.Run("campaigns", {});
  CHECK(campaigns.exit_code == 0);
  CHECK_THAT(campaigns.stdout_text,
             Catch::Contains("round-1") && Catch::Contains(id) && Catch::Contains("active"));
  CommandResult paused = server.Run("pause", {"--annotator", "alice"});
  CHECK(paused.exit_code == 0);
  CHECK_THAT(paused.stdout_text, Catch::Contains("paused alice"));
  CommandResult annotators = server.Run("annotators", {});
  CHECK(annotators.exit_code == 0);
  CHECK_THAT(annotators.stdout_text, Catch::Contains("alice") && Catch::Contains("expert"));
  CommandResult closed = server.Run("close", {"--campaign", "round-1"});
  CHECK(closed.exit_code == 0);
  CHECK_THAT(closed.stdout_text, Catch::Contains("is closed"));
}

TEST_CASE("reinctl feedback fails with one clear line on bad input") {
  Server server;
  REQUIRE(server.Run("create", {"--name", "c", "--questions", "pairwise"}).exit_code == 0);

  CommandResult unknown = server.Run("status", {"--campaign", "no-such-campaign"});
  CHECK(unknown.exit_code == 1);
  CHECK_THAT(unknown.stderr_text, Catch::Contains("no-such-campaign"));

  const std::string bad = server.Write(
      "bad.jsonl", "{\"prompt\": \"p\", \"responses\": [\"a\", \"b\"]}\n{\"prompt\": \"p\",\n");
  CommandResult malformed = server.Run("add-items", {"--campaign", "c", "--file", bad});
  CHECK(malformed.exit_code == 1);
  CHECK_THAT(malformed.stderr_text, Catch::Contains("bad.jsonl:2: malformed JSON"));
  CHECK(StatusJson(server, "c")["items"] == 0);  // nothing of a bad file is stored

  const std::string wrong = server.Write("wrong.token", "not-the-token\n");
  CommandResult denied = server.Run("campaigns", {}, wrong);
  CHECK(denied.exit_code == 1);
  CHECK_THAT(absl::AsciiStrToLower(denied.stderr_text), Catch::Contains("unauthenticated"));
  CHECK(std::count(denied.stderr_text.begin(), denied.stderr_text.end(), '\n') == 1);

  CommandResult no_token = server.Run("campaigns", {}, server.dir + "/missing.token");
  CHECK(no_token.exit_code == 1);
  CHECK_THAT(no_token.stderr_text, Catch::Contains("missing.token"));

  CommandResult questions = server.Run("create", {"--name", "d", "--questions", "pairwise,vibes"});
  CHECK(questions.exit_code == 1);
  CHECK_THAT(questions.stderr_text, Catch::Contains("'vibes'"));

  const std::string hh = server.Write("hh.jsonl", kHh);
  CommandResult neither = server.Run("import", {"--campaign", "c", "--file", hh});
  CHECK(neither.exit_code == 1);
  CHECK_THAT(neither.stderr_text, Catch::Contains("--as-gold"));

  CommandResult format = server.Run(
      "export", {"--campaign", "c", "--format", "csv", "--out", server.dir + "/x.jsonl"});
  CHECK(format.exit_code == 1);
  CHECK_THAT(format.stderr_text, Catch::Contains("'csv'"));
  CHECK(!std::filesystem::exists(server.dir + "/x.jsonl"));

  CommandResult export_unknown = server.Run(
      "export", {"--campaign", "nope", "--format", "pairs", "--out", server.dir + "/y.jsonl"});
  CHECK(export_unknown.exit_code == 1);
  CHECK_THAT(export_unknown.stderr_text, Catch::Contains("nope"));
  CHECK(!std::filesystem::exists(server.dir + "/y.jsonl"));
}

// A byte-level BPE tokenizer over the tiny test models' 1000 ids: the 256 bytes (GPT-2's
// byte-to-character map), then "t256" .. "t999", no merges.
std::string WriteTinyTokenizer(const std::string& dir) {
  Json vocab = Json::object();
  int extra = 0;
  for (int b = 0; b < 256; ++b) {
    const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE;
    const int code = printable ? b : 256 + extra++;
    std::string utf8;
    if (code < 0x80) {
      utf8 = std::string(1, static_cast<char>(code));
    } else {
      utf8 = {static_cast<char>(0xC0 | (code >> 6)), static_cast<char>(0x80 | (code & 0x3F))};
    }
    vocab[utf8] = b;
  }
  for (int id = 256; id < 1000; ++id) vocab[absl::StrCat("t", id)] = id;
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/vocab.json") << vocab.dump();
  std::ofstream(dir + "/merges.txt") << "#version: 0.2\n";
  return dir;
}

TEST_CASE("reinctl feedback sample adds K sampled responses per prompt, once") {
  Server server;
  REQUIRE(server.Run("create", {"--name", "s", "--questions", "pairwise"}).exit_code == 0);
  const std::string tokenizer = WriteTinyTokenizer(server.dir + "/tokenizer");
  const std::string prompts = server.Write("prompts.jsonl",
                                           "{\"prompt\": \"hello\"}\n{\"prompt\": \"world\"}\n"
                                           "{\"prompt\": \"again\"}\n");
  const std::vector<std::string> args = {"--campaign",
                                         "s",
                                         "--prompts",
                                         prompts,
                                         "--policy",
                                         testing::SourcePath("tests/data/models/tiny-llama"),
                                         "--tokenizer",
                                         tokenizer,
                                         "--k",
                                         "2",
                                         "--max-new-tokens",
                                         "4",
                                         "--limit",
                                         "2"};
  CommandResult sampled = server.Run("sample", args);
  INFO(sampled.stderr_text);
  REQUIRE(sampled.exit_code == 0);
  CHECK_THAT(sampled.stdout_text, Catch::Contains("added 2 of 2 sampled items"));
  CHECK_THAT(sampled.stderr_text, Catch::Contains("sampled 2 of 2 prompts"));
  CommandResult again = server.Run("sample", args);
  CHECK(again.exit_code == 0);
  CHECK_THAT(again.stdout_text, Catch::Contains("added 0 of 2 sampled items"));
  CHECK(StatusJson(server, "s")["items"] == 2);

  std::vector<std::string> wrong = args;
  wrong[1] = "no-such-campaign";
  CommandResult unknown = server.Run("sample", wrong);
  CHECK(unknown.exit_code == 1);
  CHECK_THAT(unknown.stderr_text, Catch::Contains("no-such-campaign"));
  CommandResult rollout_without_tokenizer =
      server.Run("sample", {"--campaign", "s", "--prompts", prompts, "--rollout", "127.0.0.1:1"});
  CHECK(rollout_without_tokenizer.exit_code == 1);
  CHECK_THAT(rollout_without_tokenizer.stderr_text, Catch::Contains("--tokenizer"));
}

}  // namespace
}  // namespace rein::reinctl
