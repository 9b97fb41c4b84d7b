// rein-feedback's HTTP API (services/feedback/http_api.h, http_admin.h) on the one HTTP stack
// (common/http), served on 127.0.0.1 exactly as rein-feedback serves it, over a SQLite store
// with two campaigns (a pairwise one and a ranking/rating/flag one) and a few items.
//
// httplib offers no way to run a route without a connection, so each input goes over a real
// loopback socket: it is one or more raw HTTP requests separated by lines "====", each sent on
// its own connection (then half-closed) and its reply read to the end. Before sending,
// placeholders are replaced: @TOKEN@ by a fresh annotator's bearer token (a new annotator per
// input, so that items never run out), @ADMIN@ by an admin's, @PAIRS@ / @RANKS@ by the
// campaigns' ids, @LEASE@ by the last lease id a reply of this input carried.
//
// Checked: every reply is a well-formed HTTP response whose status is not 500 (an exception or
// an unmapped error inside a handler); ASan/UBSan watch the server's threads. The store grows
// with every input, so it is rebuilt every kInputsPerWorld inputs; a crash may therefore need
// the inputs before it to reproduce, though a handler bug shows on its own input almost always.
#include <poll.h>
#include <prometheus/registry.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "common/http/http_server.h"
#include "common/sql/database.h"
#include "common/testing/raw_connection.h"
#include "services/feedback/feedback_store.h"
#include "services/feedback/http_api.h"
#include "services/feedback/quality_gate.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

using namespace rein::feedback;  // NOLINT: a fuzzer of this one component

// Each input's fresh annotator takes at most a few tasks; 50 items judged 100 times (the most a
// campaign allows) per campaign outlast a world.
constexpr int kInputsPerWorld = 1000;
constexpr int kItemsPerCampaign = 50;
// Longer than the server's own read and write timeouts (10 s), which end any request it waits on.
constexpr int kReplyTimeoutMs = 20'000;

template <typename T>
T OrDie(absl::StatusOr<T> value, const char* what) {
  if (!value.ok()) {
    std::fprintf(stderr, "fuzz: %s: %s\n", what, value.status().ToString().c_str());
    std::abort();
  }
  return *std::move(value);
}

Item MakeItem(int i, int responses) {
  Item item;
  item.external_id = absl::StrCat("item-", i);
  item.prompt = absl::StrCat("prompt ", i, " with **markdown**");
  for (int r = 0; r < responses; ++r) item.responses.push_back({absl::StrCat("response ", r), {}});
  if (i == 0) item.context = {{"user", "earlier turn"}, {"assistant", "earlier answer"}};
  return item;
}

// One store, API and server, and the ids the placeholders stand for.
class World {
 public:
  World() {
    static int generation = 0;
    const std::string path = absl::StrCat(rein::fuzz::ScratchDir(), "/feedback-", generation++);
    std::unique_ptr<rein::sql::Database> db =
        OrDie(rein::sql::OpenSqlite({.path = path + ".db"}), "open sqlite");
    store_ = OrDie(FeedbackStore::Open(std::move(db), {}), "open store");
    admin_token_ =
        OrDie(store_->CreateAnnotator("admin", AnnotatorRole::kAdmin, false), "admin").second;
    pairs_id_ = AddCampaign(
        "pairs", {QuestionType::kPairwise, QuestionType::kFlag, QuestionType::kComment}, 2);
    ranks_id_ = AddCampaign("ranks",
                            {QuestionType::kRanking, QuestionType::kRating, QuestionType::kFlag,
                             QuestionType::kCorrection},
                            3);
    gate_ = std::make_unique<QualityGate>(store_.get(), rein::feedback::quality::QualityOptions{});
    HttpApiOptions options;
    options.requests_per_minute = 0;  // the fuzzer is one very busy annotator
    api_ = std::make_unique<HttpApi>(
        store_.get(), gate_.get(), options, registry_, [this](const std::string& campaign) {
          return store_->GetCampaign(campaign).status().ok()
                     ? absl::StatusOr<std::string>("{}")
                     : absl::StatusOr<std::string>(absl::NotFoundError(campaign));
        });
    server_ = OrDie(rein::http::HttpServer::Start({.name = "fuzz", .threads = 2},
                                                  [this](httplib::Server& s) { api_->Install(s); }),
                    "start http");
  }
  ~World() { server_->Stop(); }

  int port() const { return server_->port(); }

  // Replaces the placeholders of one request.
  std::string Expand(const std::string& request, const std::string& token,
                     const std::string& lease) const {
    return absl::StrReplaceAll(request, {{"@TOKEN@", token},
                                         {"@ADMIN@", admin_token_},
                                         {"@PAIRS@", pairs_id_},
                                         {"@RANKS@", ranks_id_},
                                         {"@LEASE@", lease}});
  }

  std::string NewAnnotatorToken() {
    static int next = 0;
    return OrDie(
               store_->CreateAnnotator(absl::StrCat("a", next++), AnnotatorRole::kAnnotator, false),
               "annotator")
        .second;
  }

 private:
  std::string AddCampaign(const std::string& name, std::vector<QuestionType> questions,
                          int responses) {
    Campaign spec;
    spec.name = name;
    spec.guidelines_markdown = "# Judge\nPick *the better* one.";
    spec.questions = std::move(questions);
    spec.overlap = 100;
    const Campaign campaign = OrDie(store_->CreateCampaign(spec), "campaign");
    std::vector<Item> items;
    for (int i = 0; i < kItemsPerCampaign; ++i) items.push_back(MakeItem(i, responses));
    OrDie(store_->AddItems(campaign.id, std::move(items)), "items");
    return campaign.id;
  }

  prometheus::Registry registry_;
  std::unique_ptr<FeedbackStore> store_;
  std::unique_ptr<QualityGate> gate_;
  std::unique_ptr<HttpApi> api_;
  std::unique_ptr<rein::http::HttpServer> server_;
  std::string admin_token_;
  std::string pairs_id_;
  std::string ranks_id_;
};

// Sends `request` on a new connection, half-closes it and reads the reply to the end.
std::string Exchange(int port, const std::string& request) {
  rein::testing::RawConnection connection(port);
  if (!connection.connected()) std::perror("fuzz: connect to the feedback server");
  FUZZ_CHECK(connection.connected());
  // A reply may come (and the server close) before the whole request is read: then the send
  // fails, and the reply is still there to read.
  connection.Send(request);
  shutdown(connection.fd(), SHUT_WR);
  std::string reply;
  char buffer[16384];
  for (;;) {
    pollfd p = {.fd = connection.fd(), .events = POLLIN, .revents = 0};
    FUZZ_CHECK(poll(&p, 1, kReplyTimeoutMs) == 1);  // the server must answer or close
    const ssize_t n = recv(connection.fd(), buffer, sizeof(buffer), 0);
    if (n <= 0) break;
    reply.append(buffer, static_cast<size_t>(n));
  }
  return reply;
}

// Checks each reply in `replies` (several when the request was pipelined): the status line
// parses and is not a 500.
void CheckReplies(const std::string& replies) {
  for (size_t at = replies.find("HTTP/1.1 "); at != std::string::npos;
       at = replies.find("\r\nHTTP/1.1 ", at + 1)) {
    if (replies.compare(at, 2, "\r\n") == 0) at += 2;
    int status = 0;
    FUZZ_CHECK(absl::SimpleAtoi(replies.substr(at + 9, 3), &status));
    if (status == 500) std::fprintf(stderr, "fuzz: 500 reply:\n%s\n", replies.c_str());
    FUZZ_CHECK(status != 500);
  }
}

// The lease id a task reply carries, or `previous`.
std::string LeaseIn(const std::string& reply, const std::string& previous) {
  const size_t at = reply.find("\"lease_id\":\"");
  if (at == std::string::npos) return previous;
  const size_t begin = at + 12;
  const size_t end = reply.find('"', begin);
  return end == std::string::npos ? previous : reply.substr(begin, end - begin);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static std::unique_ptr<World> world;
  static int inputs = 0;
  if (world == nullptr || ++inputs % kInputsPerWorld == 0) {
    world.reset();
    world = std::make_unique<World>();
  }
  const std::string token = world->NewAnnotatorToken();
  std::string lease = "ls_none";
  for (absl::string_view part : absl::StrSplit(rein::fuzz::AsText(data, size), "\n====\n")) {
    const std::string reply =
        Exchange(world->port(), world->Expand(std::string(part), token, lease));
    CheckReplies(reply);
    lease = LeaseIn(reply, lease);
  }
  return 0;
}
