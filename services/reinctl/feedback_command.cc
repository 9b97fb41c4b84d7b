#include "services/reinctl/feedback_command.h"

#include <sys/stat.h>

#include <cstdio>
#include <exception>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "common/files/file_util.h"
#include "common/rpc/client.h"
#include "common/status/grpc_status.h"
#include "common/status/status_macros.h"
#include "rein/v1/feedback.grpc.pb.h"
#include "services/reinctl/command_util.h"
#include "services/reinctl/feedback_client.h"
#include "services/reinctl/feedback_format.h"
#include "services/reinctl/feedback_items.h"
#include "services/reinctl/feedback_sample.h"

namespace rein::reinctl {
namespace {

using rein::v1::Feedback;

// Items per AddItems call, and the bytes one call may carry: well under the server's
// server.max_message_bytes (64 MiB by default) even for long transcripts.
constexpr int kItemsPerCall = 500;
constexpr size_t kBytesPerCall = size_t{8} << 20;
// Import sends the whole file in one message, which the server's default message limit bounds.
constexpr int64_t kMaxImportBytes = int64_t{64} << 20;

// Sends `items` in calls of at most kItemsPerCall items and kBytesPerCall bytes. `lines[i]` is
// the input line of items[i], for errors. Returns how many were new.
absl::StatusOr<int64_t> AddInBatches(const FeedbackClient& client, const std::string& campaign,
                                     const std::vector<rein::v1::Item>& items,
                                     const std::vector<int>& lines, const std::string& source) {
  int64_t added = 0;
  size_t begin = 0;
  while (begin < items.size()) {
    rein::v1::AddItemsRequest request;
    request.set_campaign(campaign);
    size_t bytes = 0, end = begin;
    while (end < items.size() && end - begin < kItemsPerCall &&
           (end == begin || bytes + items[end].ByteSizeLong() <= kBytesPerCall)) {
      bytes += items[end].ByteSizeLong();
      *request.add_items() = items[end++];
    }
    rein::v1::AddItemsResponse response;
    grpc::Status status = client.stub->AddItems(client.Context().get(), request, &response);
    if (!status.ok()) {
      absl::Status error = client.Error(status, "AddItems");
      // The service names an item by its index in the call ("items[3].responses: ..."); say
      // which input line that is.
      const std::string message(error.message());
      const size_t at = message.find("items[");
      int index = -1;
      if (at != std::string::npos && !lines.empty() &&
          absl::SimpleAtoi(message.substr(at + 6, message.find(']', at) - at - 6), &index) &&
          index >= 0 && begin + index < end) {
        return absl::Status(error.code(),
                            absl::StrCat(source, ":", lines[begin + index], ": ", message));
      }
      return error;
    }
    added += response.added();
    begin = end;
    if (items.size() > kItemsPerCall) {
      std::fprintf(stderr, "sent %zu of %zu items\n", begin, items.size());
    }
  }
  return added;
}

// --- create ---

struct CreateFlags {
  std::string name;
  std::string questions;
  int overlap = 3;
  double gold_rate = 0.1;
  std::string guidelines;
  std::string min_role = "annotator";
};

absl::Status Create(const FeedbackTarget& target, const CreateFlags& flags) {
  rein::v1::CreateCampaignRequest request;
  request.set_name(flags.name);
  absl::StatusOr<std::vector<rein::v1::QuestionType>> questions = ParseQuestions(flags.questions);
  if (!questions.ok())
    return absl::InvalidArgumentError(absl::StrCat("--questions: ", questions.status().message()));
  for (rein::v1::QuestionType q : *questions) request.add_questions(q);
  request.set_overlap(flags.overlap);
  request.set_gold_rate(flags.gold_rate);
  absl::StatusOr<rein::v1::AnnotatorRole> min_role = ParseRole(flags.min_role);
  if (!min_role.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("--min-role: ", min_role.status().message()));
  }
  request.set_min_role(*min_role);
  if (!flags.guidelines.empty()) {
    ASSIGN_OR_RETURN(std::string markdown, files::ReadFile(flags.guidelines));
    request.set_guidelines_markdown(std::move(markdown));
  }
  ASSIGN_OR_RETURN(FeedbackClient client, Connect(target));
  rein::v1::Campaign campaign;
  grpc::Status status = client.stub->CreateCampaign(client.Context().get(), request, &campaign);
  if (!status.ok()) return client.Error(status, "CreateCampaign");
  std::printf("%s\n", campaign.id().c_str());
  return absl::OkStatus();
}

// --- add-items ---

absl::Status AddItems(const FeedbackTarget& target, const std::string& campaign, const std::string& file) {
  // Every line is checked before anything is sent, so a malformed file stores nothing.
  std::vector<rein::v1::Item> items;
  std::vector<int> lines;
  RETURN_IF_ERROR(ForEachJsonLine(file, [&](const nlohmann::json& record, int line) {
    absl::StatusOr<rein::v1::Item> item = ParseItem(record);
    if (!item.ok()) return item.status();
    items.push_back(*std::move(item));
    lines.push_back(line);
    return absl::OkStatus();
  }));
  if (items.empty()) return absl::InvalidArgumentError(absl::StrCat("'", file, "' holds no item"));
  ASSIGN_OR_RETURN(FeedbackClient client, Connect(target));
  ASSIGN_OR_RETURN(const int64_t added, AddInBatches(client, campaign, items, lines, file));
  std::printf("added %lld of %zu items (%lld already in the campaign)\n",
              static_cast<long long>(added), items.size(),
              static_cast<long long>(items.size() - added));
  return absl::OkStatus();
}

// --- sample ---

struct SampleFlags {
  std::string campaign;
  SampleOptions options;
  std::string rollout_token_file;
  std::string generate_timeout = "10m";
};

absl::Status Sample(const FeedbackTarget& target, SampleFlags flags) {
  if (!absl::ParseDuration(flags.generate_timeout, &flags.options.generate_timeout) ||
      flags.options.generate_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(absl::StrCat("--generate-timeout: '", flags.generate_timeout,
                                                   "' is not a positive duration"));
  }
  if (!flags.rollout_token_file.empty()) {
    ASSIGN_OR_RETURN(std::string token, files::ReadFile(flags.rollout_token_file));
    flags.options.rollout_client.auth_token = std::string(absl::StripAsciiWhitespace(token));
  }
  ASSIGN_OR_RETURN(FeedbackClient client, Connect(target));
  // Fail on a wrong campaign before loading a model and sampling the first batch.
  rein::v1::ListCampaignsResponse campaigns;
  grpc::Status listed = client.stub->ListCampaigns(client.Context().get(),
                                                   rein::v1::ListCampaignsRequest(), &campaigns);
  if (!listed.ok()) return client.Error(listed, "ListCampaigns");
  const rein::v1::Campaign* campaign = nullptr;
  for (const rein::v1::Campaign& c : campaigns.campaigns()) {
    if (c.id() == flags.campaign || c.name() == flags.campaign) campaign = &c;
  }
  if (campaign == nullptr) {
    return absl::NotFoundError(absl::StrCat("no campaign '", flags.campaign, "' on ",
                                            client.address,
                                            " (`reinctl feedback campaigns` lists them)"));
  }
  for (int q : campaign->questions()) {
    if (q == rein::v1::QUESTION_TYPE_PAIRWISE && flags.options.k != 2) {
      return absl::InvalidArgumentError(
          absl::StrCat("campaign '", campaign->name(),
                       "' asks the pairwise question, which compares exactly "
                       "2 responses: use --k 2 (not ",
                       flags.options.k, ")"));
    }
  }
  int64_t added = 0, sampled = 0;
  RETURN_IF_ERROR(SampleItems(
      flags.options,
      [&](std::vector<rein::v1::Item> items, size_t done, size_t total) -> absl::Status {
        ASSIGN_OR_RETURN(const int64_t n, AddInBatches(client, flags.campaign, items, {},
                                                       flags.options.prompts_path));
        added += n;
        sampled += static_cast<int64_t>(items.size());
        std::fprintf(stderr, "sampled %zu of %zu prompts (%lld new items)\n", done, total,
                     static_cast<long long>(added));
        return absl::OkStatus();
      }));
  std::printf("added %lld of %lld sampled items (%lld already in the campaign)\n",
              static_cast<long long>(added), static_cast<long long>(sampled),
              static_cast<long long>(sampled - added));
  return absl::OkStatus();
}

// --- invite, annotators, pause, unpause ---

struct InviteFlags {
  std::string name;
  std::string role = "annotator";
  bool synthetic = false;
};

absl::Status Invite(const FeedbackTarget& target, const InviteFlags& flags) {
  rein::v1::CreateAnnotatorRequest request;
  request.set_name(flags.name);
  absl::StatusOr<rein::v1::AnnotatorRole> role = ParseRole(flags.role);
  if (!role.ok())
    return absl::InvalidArgumentError(absl::StrCat("--role: ", role.status().message()));
  request.set_role(*role);
  request.set_synthetic(flags.synthetic);
  ASSIGN_OR_RETURN(FeedbackClient client, Connect(target));
  rein::v1::CreateAnnotatorResponse response;
  grpc::Status status = client.stub->CreateAnnotator(client.Context().get(), request, &response);
  if (!status.ok()) return client.Error(status, "CreateAnnotator");
  const rein::v1::Annotator& a = response.annotator();
  std::printf("invited %s as %s%s (%s)\n", a.name().c_str(), RoleName(a.role()).c_str(),
              a.synthetic() ? ", synthetic" : "", a.id().c_str());
  std::printf("invite link: %s\n", response.invite_url().c_str());
  std::printf("token: %s\n", response.token().c_str());
  std::printf("The token is shown only this once (the server keeps a hash): send the link now.\n");
  return absl::OkStatus();
}

absl::Status Annotators(const FeedbackTarget& target) {
  ASSIGN_OR_RETURN(FeedbackClient client, Connect(target));
  rein::v1::ListAnnotatorsResponse response;
  grpc::Status status = client.stub->ListAnnotators(client.Context().get(),
                                                    rein::v1::ListAnnotatorsRequest(), &response);
  if (!status.ok()) return client.Error(status, "ListAnnotators");
  if (response.annotators().empty()) {
    std::printf("no annotators (`reinctl feedback invite --name NAME` adds one)\n");
  } else {
    std::printf("%s", FormatAnnotators(response).c_str());
  }
  return absl::OkStatus();
}

absl::Status SetPaused(const FeedbackTarget& target, const std::string& annotator, bool paused) {
  ASSIGN_OR_RETURN(FeedbackClient client, Connect(target));
  rein::v1::SetAnnotatorPausedRequest request;
  request.set_annotator(annotator);
  request.set_paused(paused);
  rein::v1::Annotator response;
  grpc::Status status = client.stub->SetAnnotatorPaused(client.Context().get(), request, &response);
  if (!status.ok()) return client.Error(status, "SetAnnotatorPaused");
  std::printf("%s %s (%s)\n", response.paused() ? "paused" : "unpaused", response.name().c_str(),
              response.id().c_str());
  return absl::OkStatus();
}

// --- status, campaigns, close / pause-campaign / resume-campaign ---

absl::Status Status(const FeedbackTarget& target, const std::string& campaign, bool json) {
  ASSIGN_OR_RETURN(FeedbackClient client, Connect(target));
  rein::v1::GetCampaignStatusRequest request;
  request.set_campaign(campaign);
  rein::v1::CampaignStatus response;
  grpc::Status status = client.stub->GetCampaignStatus(client.Context().get(), request, &response);
  if (!status.ok()) return client.Error(status, "GetCampaignStatus");
  if (json) {
    ASSIGN_OR_RETURN(const std::string text, CampaignStatusJson(response));
    std::printf("%s", text.c_str());
  } else {
    std::printf("%s", FormatCampaignStatus(response).c_str());
  }
  return absl::OkStatus();
}

absl::Status Campaigns(const FeedbackTarget& target) {
  ASSIGN_OR_RETURN(FeedbackClient client, Connect(target));
  rein::v1::ListCampaignsResponse response;
  grpc::Status status = client.stub->ListCampaigns(client.Context().get(),
                                                   rein::v1::ListCampaignsRequest(), &response);
  if (!status.ok()) return client.Error(status, "ListCampaigns");
  if (response.campaigns().empty()) {
    std::printf("no campaigns (`reinctl feedback create` makes one)\n");
  } else {
    std::printf("%s", FormatCampaigns(response).c_str());
  }
  return absl::OkStatus();
}

absl::Status SetState(const FeedbackTarget& target, const std::string& campaign,
                      rein::v1::CampaignState state) {
  ASSIGN_OR_RETURN(FeedbackClient client, Connect(target));
  rein::v1::UpdateCampaignRequest request;
  request.set_campaign(campaign);
  request.set_state(state);
  rein::v1::Campaign response;
  grpc::Status status = client.stub->UpdateCampaign(client.Context().get(), request, &response);
  if (!status.ok()) return client.Error(status, "UpdateCampaign");
  std::printf("campaign %s (%s) is %s\n", response.name().c_str(), response.id().c_str(),
              StateName(response.state()).c_str());
  return absl::OkStatus();
}

// --- export, import ---

struct ExportFlags {
  std::string campaign;
  std::string format;
  std::string out;
  std::string aggregation = "majority";
  bool include_synthetic = false;
  double synthetic_weight = 0;
  double min_agreement = 0;
};

absl::Status Export(const FeedbackTarget& target, const ExportFlags& flags) {
  rein::v1::ExportRequest request;
  request.set_campaign(flags.campaign);
  absl::StatusOr<rein::v1::ExportFormat> format = ParseExportFormat(flags.format);
  if (!format.ok())
    return absl::InvalidArgumentError(absl::StrCat("--format: ", format.status().message()));
  request.set_format(*format);
  absl::StatusOr<rein::v1::Aggregation> aggregation = ParseAggregation(flags.aggregation);
  if (!aggregation.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--aggregation: ", aggregation.status().message()));
  }
  request.set_aggregation(*aggregation);
  request.set_include_synthetic(flags.include_synthetic);
  request.set_synthetic_weight(flags.synthetic_weight);
  request.set_min_agreement(flags.min_agreement);
  ASSIGN_OR_RETURN(FeedbackClient client, Connect(target));
  rein::v1::ExportChunk last;
  // The stream goes into a temporary file renamed into place only once the server has said it
  // is complete, so --out never holds half an export (and an old one survives a failure).
  const absl::Status written = files::WriteFileAtomically(flags.out, [&](int fd) -> absl::Status {
    auto context = client.Context();
    std::unique_ptr<grpc::ClientReader<rein::v1::ExportChunk>> reader =
        client.stub->Export(context.get(), request);
    rein::v1::ExportChunk chunk;
    while (reader->Read(&chunk)) {
      RETURN_IF_ERROR(files::WriteAll(fd, chunk.jsonl().data(), chunk.jsonl().size(), flags.out));
      last = chunk;
    }
    grpc::Status status = reader->Finish();
    if (!status.ok()) return client.Error(status, "Export");
    return absl::OkStatus();
  });
  if (!written.ok()) return written;
  std::printf("wrote %d records to %s (%d items left out)\n", last.records(), flags.out.c_str(),
              last.items_left_out());
  return absl::OkStatus();
}

struct ImportFlags {
  std::string campaign;
  std::string file;
  bool as_gold = false;
  std::string prior_annotator;
};

absl::Status Import(const FeedbackTarget& target, const ImportFlags& flags) {
  if (flags.as_gold == !flags.prior_annotator.empty()) {
    return absl::InvalidArgumentError(
        "give --as-gold (pairs become gold items) or --prior-annotator NAME (pairs become items "
        "with a prior judgement by NAME), not both");
  }
  struct stat info;
  if (stat(flags.file.c_str(), &info) != 0) return files::ErrnoError(errno, "stat", flags.file);
  if (info.st_size > kMaxImportBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "'", flags.file, "' is ", info.st_size >> 20,
        " MiB; Import takes at most 64 MiB in one "
        "call (the server's message limit): split the file (e.g. split -l 100000) and import "
        "each part"));
  }
  ASSIGN_OR_RETURN(std::string jsonl, files::ReadFile(flags.file));
  rein::v1::ImportRequest request;
  request.set_campaign(flags.campaign);
  request.set_format(rein::v1::IMPORT_FORMAT_PREFERENCES);
  request.set_jsonl(std::move(jsonl));
  request.set_as_gold(flags.as_gold);
  request.set_prior_annotator(flags.prior_annotator);
  ASSIGN_OR_RETURN(FeedbackClient client, Connect(target));
  rein::v1::ImportResponse response;
  grpc::Status status = client.stub->Import(client.Context().get(), request, &response);
  if (!status.ok()) return client.Error(status, "Import");
  std::printf("imported %d items%s (%d prior judgements)\n", response.items(),
              flags.as_gold ? " as gold" : "", response.judgements());
  return absl::OkStatus();
}

}  // namespace

void AddFeedbackCommands(CLI::App& app) {
  auto target = std::make_shared<FeedbackTarget>();
  CLI::App* group = app.add_subcommand(
      "feedback", "Human-feedback campaigns on a rein-feedback server (admin gRPC)");
  group->require_subcommand(1);
  auto campaign = std::make_shared<std::string>();
  auto add_campaign = [campaign](CLI::App* command) {
    command->add_option("--campaign", *campaign, "Campaign id or name")->required();
  };

  auto create = std::make_shared<CreateFlags>();
  CLI::App* c = group->add_subcommand("create", "Create a campaign; prints its id");
  AddTargetOptions(c, *target);
  c->add_option("--name", create->name, "Unique campaign name")->required();
  c->add_option("--questions", create->questions,
                "Comma-separated: pairwise, ranking, rating, flag, comment, correction")
      ->required();
  c->add_option("--overlap", create->overlap, "Judgements per item, by different annotators")
      ->capture_default_str();
  c->add_option("--gold-rate", create->gold_rate, "Share of tasks that are gold items, [0, 1)")
      ->capture_default_str();
  c->add_option("--guidelines", create->guidelines, "Guidelines for annotators (Markdown file)");
  c->add_option("--min-role", create->min_role,
                "Who may judge: annotator (everyone), expert (experts and admins) or admin")
      ->capture_default_str();
  OnRun(c, "create", [target, create] { return Create(*target, *create); });

  auto file = std::make_shared<std::string>();
  CLI::App* add = group->add_subcommand(
      "add-items", "Add items from JSON Lines ({\"prompt\", \"responses\", ...} per line)");
  AddTargetOptions(add, *target);
  add_campaign(add);
  add->add_option("--file", *file, "Items file (JSON Lines)")->required();
  OnRun(add, "add-items", [target, campaign, file] { return AddItems(*target, *campaign, *file); });

  auto sample = std::make_shared<SampleFlags>();
  SampleOptions& so = sample->options;
  CLI::App* s = group->add_subcommand(
      "sample", "Sample K responses per prompt from a policy and add them as items");
  AddTargetOptions(s, *target);
  s->add_option("--campaign", sample->campaign, "Campaign id or name")->required();
  s->add_option("--prompts", so.prompts_path, "Prompts, JSON Lines {\"prompt\"} or {\"messages\"}")
      ->required();
  s->add_option("--policy", so.policy_dir, "Policy folder (Hugging Face), run in this process");
  s->add_option("--rollout", so.rollout_address, "Or: a rein-rollout service's host:port");
  s->add_option("--tokenizer", so.tokenizer_dir, "Tokenizer folder (default: --policy)");
  s->add_option("--device", so.device, "Where --policy runs: cpu, cuda, cuda:N")
      ->capture_default_str();
  s->add_option("--rollout-token-file", sample->rollout_token_file,
                "File holding the rollout service's bearer token, if it needs one");
  s->add_option("--generate-timeout", sample->generate_timeout,
                "Deadline of each rollout Generate call (a batch of prompts)")
      ->capture_default_str();
  s->add_option("--k", so.k, "Responses per prompt (2..16)")->capture_default_str();
  s->add_option("--max-new-tokens", so.max_new_tokens, "Most tokens per response")
      ->capture_default_str();
  s->add_option("--temperature", so.temperature, "Sampling temperature (0 = greedy)")
      ->capture_default_str();
  s->add_option("--top-p", so.top_p, "Nucleus sampling threshold in (0, 1]")->capture_default_str();
  s->add_option("--seed", so.seed, "Base seed; the same seed re-adds nothing")
      ->capture_default_str();
  s->add_option("--limit", so.limit, "Sample the first N prompts only (0 = all)");
  s->add_option("--policy-version", so.policy_version,
                "Policy version recorded for --policy responses (a rollout reports its own)")
      ->capture_default_str();
  OnRun(s, "sample", [target, sample] { return Sample(*target, *sample); });

  auto invite = std::make_shared<InviteFlags>();
  CLI::App* i = group->add_subcommand("invite", "Create an annotator; prints the invite link");
  AddTargetOptions(i, *target);
  i->add_option("--name", invite->name, "Unique annotator name")->required();
  i->add_option("--role", invite->role, "annotator, expert or admin")->capture_default_str();
  i->add_flag("--synthetic", invite->synthetic, "A program (model judge), not a person");
  OnRun(i, "invite", [target, invite] { return Invite(*target, *invite); });

  auto json = std::make_shared<bool>(false);
  CLI::App* st = group->add_subcommand(
      "status", "Progress and quality: items, judgements, position bias, alpha, annotators");
  AddTargetOptions(st, *target);
  add_campaign(st);
  st->add_flag("--json", *json, "Print the CampaignStatus message as JSON");
  OnRun(st, "status", [target, campaign, json] { return Status(*target, *campaign, *json); });

  auto exp = std::make_shared<ExportFlags>();
  CLI::App* e = group->add_subcommand(
      "export", "Write aggregated judgements as JSON Lines (written atomically)");
  AddTargetOptions(e, *target);
  e->add_option("--campaign", exp->campaign, "Campaign id or name")->required();
  e->add_option("--format", exp->format, "pairs, rankings, ratings, unpaired, sft or judgements")
      ->required();
  e->add_option("--out", exp->out, "File to write (replaced if it exists)")->required();
  e->add_option("--aggregation", exp->aggregation, "majority or reliability")
      ->capture_default_str();
  e->add_flag("--include-synthetic", exp->include_synthetic, "Count synthetic annotators' votes");
  e->add_option("--synthetic-weight", exp->synthetic_weight,
                "Weight of a synthetic vote (0 = 1) with --include-synthetic");
  e->add_option("--min-agreement", exp->min_agreement,
                "Leave out items whose winner got less than this share of the votes");
  OnRun(e, "export", [target, exp] { return Export(*target, *exp); });

  auto imp = std::make_shared<ImportFlags>();
  CLI::App* im = group->add_subcommand(
      "import", "Import preference pairs (TRL or HH-RLHF JSON Lines, at most 64 MiB)");
  AddTargetOptions(im, *target);
  im->add_option("--campaign", imp->campaign, "Campaign id or name")->required();
  im->add_option("--file", imp->file, "Preferences file (JSON Lines)")->required();
  im->add_flag("--as-gold", imp->as_gold, "Pairs become gold items (\"chosen\" is the answer)");
  im->add_option("--prior-annotator", imp->prior_annotator,
                 "Or: pairs become items judged once by this annotator (created if missing)");
  OnRun(im, "import", [target, imp] { return Import(*target, *imp); });

  CLI::App* an = group->add_subcommand("annotators", "List annotators");
  AddTargetOptions(an, *target);
  OnRun(an, "annotators", [target] { return Annotators(*target); });

  auto annotator = std::make_shared<std::string>();
  for (const bool paused : {true, false}) {
    const std::string name = paused ? "pause" : "unpause";
    CLI::App* p =
        group->add_subcommand(name, paused ? "Pause an annotator (no new tasks; judgements kept)"
                                           : "Unpause an annotator");
    AddTargetOptions(p, *target);
    p->add_option("--annotator", *annotator, "Annotator id or name")->required();
    OnRun(p, name, [target, annotator, paused] { return SetPaused(*target, *annotator, paused); });
  }

  CLI::App* list = group->add_subcommand("campaigns", "List campaigns");
  AddTargetOptions(list, *target);
  OnRun(list, "campaigns", [target] { return Campaigns(*target); });

  struct StateCommand {
    const char* name;
    const char* help;
    rein::v1::CampaignState state;
  };
  for (const StateCommand& sc :
       {StateCommand{"close", "Close a campaign: no new tasks, no submissions",
                     rein::v1::CAMPAIGN_STATE_CLOSED},
        StateCommand{"pause-campaign", "Pause a campaign: no new tasks",
                     rein::v1::CAMPAIGN_STATE_PAUSED},
        StateCommand{"resume-campaign", "Make a paused campaign active again",
                     rein::v1::CAMPAIGN_STATE_ACTIVE}}) {
    CLI::App* command = group->add_subcommand(sc.name, sc.help);
    AddTargetOptions(command, *target);
    add_campaign(command);
    const rein::v1::CampaignState state = sc.state;
    OnRun(command, sc.name,
          [target, campaign, state] { return SetState(*target, *campaign, state); });
  }
}

}  // namespace rein::reinctl
