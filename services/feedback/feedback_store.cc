// FeedbackStore: opening, campaigns, items, annotators and credentials. Task assignment is in
// task_assignment.cc, bulk reads for quality and export in store_reads.cc.
#include "services/feedback/feedback_store.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <map>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "common/status/status_macros.h"
#include "services/feedback/schema.h"
#include "services/feedback/store_codec.h"

namespace rein::feedback {
namespace {

using sql::Connection;
using sql::Row;
using sql::Value;

// External ids looked up per statement when adding items.
constexpr size_t kLookupChunk = 256;

// The ids of the campaign's items that carry these external ids, in chunks of kLookupChunk: one
// statement per chunk rather than one per item. (Per item, a prepared lookup whose generic plan
// was made while the campaign was empty kept scanning the whole table: minutes for 50,000.)
absl::StatusOr<std::map<std::string, std::string>> ExistingExternalIds(
    Connection& c, const std::string& campaign_id, const std::vector<Item>& items) {
  std::vector<std::string> wanted;
  for (const Item& item : items) {
    if (!item.external_id.empty()) wanted.push_back(item.external_id);
  }
  std::map<std::string, std::string> found;
  for (size_t begin = 0; begin < wanted.size(); begin += kLookupChunk) {
    const size_t end = std::min(wanted.size(), begin + kLookupChunk);
    std::vector<Value> params = {campaign_id};
    std::string placeholders;
    for (size_t i = begin; i < end; ++i) {
      absl::StrAppend(&placeholders, i == begin ? "?" : ", ?");
      params.push_back(wanted[i]);
    }
    ASSIGN_OR_RETURN(std::vector<Row> rows,
                     c.Query(absl::StrCat("SELECT external_id, id FROM items WHERE campaign_id = ? "
                                          "AND external_id IN (",
                                          placeholders, ")"),
                             params));
    for (const Row& row : rows) found[row.Text(0)] = row.Text(1);
  }
  return found;
}

Value Bool(bool b) { return int64_t{b ? 1 : 0}; }

absl::StatusOr<std::optional<Campaign>> FindCampaign(Connection& c, const std::string& id_or_name) {
  ASSIGN_OR_RETURN(std::vector<Row> rows,
                   c.Query(absl::StrCat("SELECT ", internal::kCampaignColumns,
                                        " FROM campaigns WHERE id = ? OR name = ?"),
                           {id_or_name, id_or_name}));
  if (rows.empty()) return std::nullopt;
  ASSIGN_OR_RETURN(Campaign campaign, internal::CampaignFromRow(rows[0]));
  return campaign;
}

absl::StatusOr<Campaign> RequireCampaign(Connection& c, const std::string& id_or_name) {
  ASSIGN_OR_RETURN(std::optional<Campaign> campaign, FindCampaign(c, id_or_name));
  if (!campaign) return absl::NotFoundError(absl::StrCat("campaign '", id_or_name, "' not found"));
  return *campaign;
}

absl::StatusOr<Annotator> RequireAnnotator(Connection& c, const std::string& id_or_name) {
  ASSIGN_OR_RETURN(std::vector<Row> rows,
                   c.Query(absl::StrCat("SELECT ", internal::kAnnotatorColumns,
                                        " FROM annotators WHERE id = ? OR name = ?"),
                           {id_or_name, id_or_name}));
  if (rows.empty()) {
    return absl::NotFoundError(absl::StrCat("annotator '", id_or_name, "' not found"));
  }
  return internal::AnnotatorFromRow(rows[0]);
}

// A gold item must say the answer to at least one judged question the campaign asks, and
// only to questions it asks.
absl::Status ValidateGoldAnswer(const Item& item, const Campaign& campaign,
                                const std::string& field) {
  const Answers& a = item.gold_answer;
  auto asks = [&](QuestionType q) {
    return std::find(campaign.questions.begin(), campaign.questions.end(), q) !=
           campaign.questions.end();
  };
  const bool any = a.pairwise.has_value() || !a.ranks.empty() || !a.ratings.empty() ||
                   !a.flags.empty();
  if (!any) {
    return absl::InvalidArgumentError(absl::StrCat(field, ".gold_answer: a gold item needs the "
                                                   "answer to pairwise, ranking, rating or flag"));
  }
  const size_t k = item.responses.size();
  if (a.pairwise && !asks(QuestionType::kPairwise)) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ".gold_answer.pairwise: the campaign does not ask it"));
  }
  if (!a.ranks.empty() && (!asks(QuestionType::kRanking) || a.ranks.size() != k)) {
    return absl::InvalidArgumentError(absl::StrCat(field, ".gold_answer.ranks: not asked or not ",
                                                   k, " ranks"));
  }
  if (!a.ratings.empty() && (!asks(QuestionType::kRating) || a.ratings.size() != k)) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ".gold_answer.ratings: not asked or not ", k, " ratings"));
  }
  if (!a.flags.empty() && (!asks(QuestionType::kFlag) || a.flags.size() != k)) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ".gold_answer.flags: not asked or not ", k, " flags"));
  }
  return absl::OkStatus();
}

}  // namespace

std::string HashSecret(const std::string& secret) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(secret.data(), secret.size(), digest, &length, EVP_sha256(), nullptr);
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(digest), length));
}

std::string NewSecret() {
  unsigned char bytes[32];
  // RAND_bytes draws from the OS; it fails only if the OS has no entropy source at all, which
  // no supported system lacks. Abort rather than hand out a guessable token.
  if (RAND_bytes(bytes, sizeof(bytes)) != 1) std::abort();
  return absl::WebSafeBase64Escape(
      absl::string_view(reinterpret_cast<const char*>(bytes), sizeof(bytes)));
}

std::string NewId(const char* prefix) {
  unsigned char bytes[8];
  if (RAND_bytes(bytes, sizeof(bytes)) != 1) std::abort();
  return absl::StrCat(prefix, "_",
                      absl::BytesToHexString(absl::string_view(
                          reinterpret_cast<const char*>(bytes), sizeof(bytes))));
}

absl::StatusOr<Answers> ToItemOrder(const Answers& by_position,
                                    const std::vector<int>& shown_order) {
  const size_t k = shown_order.size();
  Answers out = by_position;
  auto permute = [&](const auto& in, auto& dst, const char* field) -> absl::Status {
    if (in.empty()) return absl::OkStatus();
    if (in.size() != k) {
      return absl::InvalidArgumentError(
          absl::StrCat("answers.", field, ": ", in.size(), " values for ", k, " responses"));
    }
    for (size_t p = 0; p < k; ++p) dst[shown_order[p]] = in[p];
    return absl::OkStatus();
  };
  RETURN_IF_ERROR(permute(by_position.ranks, out.ranks, "ranks"));
  RETURN_IF_ERROR(permute(by_position.ratings, out.ratings, "ratings"));
  RETURN_IF_ERROR(permute(by_position.flags, out.flags, "flags"));
  if (by_position.pairwise == PairwiseChoice::kA || by_position.pairwise == PairwiseChoice::kB) {
    if (k != 2) return absl::InvalidArgumentError("answers.pairwise: the item has not 2 responses");
    const int shown_winner = by_position.pairwise == PairwiseChoice::kA ? 0 : 1;
    out.pairwise = shown_order[shown_winner] == 0 ? PairwiseChoice::kA : PairwiseChoice::kB;
  }
  return out;
}

FeedbackStore::FeedbackStore(std::unique_ptr<sql::Database> db, FeedbackStoreOptions options)
    : db_(std::move(db)), options_(std::move(options)) {}

absl::StatusOr<std::unique_ptr<FeedbackStore>> FeedbackStore::Open(
    std::unique_ptr<sql::Database> db, FeedbackStoreOptions options) {
  if (db == nullptr) return absl::InvalidArgumentError("FeedbackStore: no database");
  if (options.max_open_leases < 1) {
    return absl::InvalidArgumentError("max_open_leases: must be >= 1");
  }
  if (options.lease_duration <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("lease_duration: must be positive");
  }
  RETURN_IF_ERROR(Migrate(*db).status());
  return std::unique_ptr<FeedbackStore>(new FeedbackStore(std::move(db), std::move(options)));
}

int64_t FeedbackStore::Now() const {
  return options_.now_us ? options_.now_us() : absl::ToUnixMicros(absl::Now());
}

absl::StatusOr<Campaign> FeedbackStore::CreateCampaign(const Campaign& spec) {
  RETURN_IF_ERROR(internal::ValidateCampaign(spec));
  Campaign campaign = spec;
  campaign.id = NewId("cp");
  campaign.guideline_version = 1;
  campaign.state = CampaignState::kActive;
  campaign.created_us = Now();
  absl::Status status = db_->Write([&](Connection& c) -> absl::Status {
    return c
        .Exec(absl::StrCat("INSERT INTO campaigns (", internal::kCampaignColumns,
                           ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"),
              {campaign.id, campaign.name, campaign.guidelines_markdown,
               int64_t{campaign.guideline_version}, internal::QuestionsToJson(campaign.questions),
               int64_t{campaign.overlap}, campaign.gold_rate, std::string(Name(campaign.state)),
               campaign.created_us, std::string(Name(campaign.min_role))})
        .status();
  });
  if (absl::IsAlreadyExists(status)) {
    return absl::AlreadyExistsError(absl::StrCat("name: a campaign '", spec.name, "' exists"));
  }
  RETURN_IF_ERROR(status);
  return campaign;
}

absl::StatusOr<Campaign> FeedbackStore::GetCampaign(const std::string& id_or_name) {
  Campaign campaign;
  const sql::TransactionFn txn = [&](Connection& c) -> absl::Status {
    ASSIGN_OR_RETURN(campaign, RequireCampaign(c, id_or_name));
    return absl::OkStatus();
  };
  RETURN_IF_ERROR(db_->Read(txn));
  return campaign;
}

absl::StatusOr<std::vector<Campaign>> FeedbackStore::ListCampaigns() {
  std::vector<Campaign> campaigns;
  const sql::TransactionFn txn = [&](Connection& c) -> absl::Status {
    campaigns.clear();
    ASSIGN_OR_RETURN(std::vector<Row> rows,
                     c.Query(absl::StrCat("SELECT ", internal::kCampaignColumns,
                                          " FROM campaigns ORDER BY created_us, id"),
                             {}));
    for (const Row& row : rows) {
      ASSIGN_OR_RETURN(Campaign campaign, internal::CampaignFromRow(row));
      campaigns.push_back(std::move(campaign));
    }
    return absl::OkStatus();
  };
  RETURN_IF_ERROR(db_->Read(txn));
  return campaigns;
}

absl::StatusOr<Campaign> FeedbackStore::UpdateCampaign(
    const std::string& id_or_name, const std::optional<std::string>& guidelines,
    std::optional<CampaignState> state) {
  if (guidelines && guidelines->size() > (1 << 20)) {
    return absl::InvalidArgumentError("guidelines_markdown: longer than 1 MiB");
  }
  Campaign campaign;
  const sql::TransactionFn txn = [&](Connection& c) -> absl::Status {
    ASSIGN_OR_RETURN(campaign, RequireCampaign(c, id_or_name));
    if (guidelines && *guidelines != campaign.guidelines_markdown) {
      campaign.guidelines_markdown = *guidelines;
      ++campaign.guideline_version;
    }
    if (state) campaign.state = *state;
    return c
        .Exec("UPDATE campaigns SET guidelines = ?, guideline_version = ?, state = ? WHERE id = ?",
              {campaign.guidelines_markdown, int64_t{campaign.guideline_version},
               std::string(Name(campaign.state)), campaign.id})
        .status();
  };
  RETURN_IF_ERROR(db_->Write(txn));
  return campaign;
}

absl::StatusOr<AddItemsResult> FeedbackStore::AddItems(const std::string& campaign_id,
                                                       std::vector<Item> items) {
  ASSIGN_OR_RETURN(Campaign campaign, GetCampaign(campaign_id));
  for (size_t i = 0; i < items.size(); ++i) {
    const std::string field = absl::StrCat("items[", i, "]");
    RETURN_IF_ERROR(internal::ValidateItem(items[i], campaign, field));
    if (items[i].gold) RETURN_IF_ERROR(ValidateGoldAnswer(items[i], campaign, field));
  }
  AddItemsResult result;
  const int64_t now = Now();
  const sql::TransactionFn txn = [&](Connection& c) -> absl::Status {
    result = AddItemsResult{};
    ASSIGN_OR_RETURN(std::vector<Row> top,
                     c.Query("SELECT MAX(seq) FROM items WHERE campaign_id = ?", {campaign.id}));
    int64_t seq = top.empty() || top[0].IsNull(0) ? 0 : top[0].Int(0);
    // Also records the items this call adds, so that a repeated external id is added once.
    ASSIGN_OR_RETURN(auto by_external_id, ExistingExternalIds(c, campaign.id, items));
    for (const Item& item : items) {
      if (!item.external_id.empty()) {
        if (auto it = by_external_id.find(item.external_id); it != by_external_id.end()) {
          result.item_ids.push_back(it->second);
          continue;
        }
      }
      const std::string id = NewId("it");
      if (!item.external_id.empty()) by_external_id[item.external_id] = id;
      ++seq;
      RETURN_IF_ERROR(
          c.Exec("INSERT INTO items (id, campaign_id, seq, external_id, prompt, context, "
                 "responses, num_responses, gold, gold_answer, created_us) "
                 "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                 {id, campaign.id, seq,
                  item.external_id.empty() ? Value{} : Value{item.external_id}, item.prompt,
                  internal::ContextToJson(item.context), internal::ResponsesToJson(item.responses),
                  static_cast<int64_t>(item.responses.size()), Bool(item.gold),
                  item.gold ? internal::StoredAnswersToJson(item.gold_answer) : std::string("{}"),
                  now})
              .status());
      if (!item.gold) {
        for (int slot = 0; slot < campaign.overlap; ++slot) {
          RETURN_IF_ERROR(
              c.Exec("INSERT INTO slots (id, item_id, campaign_id, seq, slot_no, gold, state, "
                     "expires_us, leased_us, shown) VALUES (?, ?, ?, ?, ?, 0, 'open', 0, 0, '[]')",
                     {NewId("sl"), id, campaign.id, seq, int64_t{slot}})
                  .status());
        }
      }
      result.item_ids.push_back(id);
      ++result.added;
    }
    return absl::OkStatus();
  };
  RETURN_IF_ERROR(db_->Write(txn));
  return result;
}

absl::StatusOr<std::pair<Annotator, std::string>> FeedbackStore::CreateAnnotator(
    const std::string& name, AnnotatorRole role, bool synthetic) {
  if (name.empty() || name.size() > 200) {
    return absl::InvalidArgumentError("name: must be 1..200 characters");
  }
  Annotator annotator{NewId("an"), name, role, synthetic, false, Now()};
  std::string token = NewSecret();
  absl::Status status = db_->Write([&](Connection& c) -> absl::Status {
    return c
        .Exec(absl::StrCat("INSERT INTO annotators (", internal::kAnnotatorColumns,
                           ", token_hash) VALUES (?, ?, ?, ?, ?, ?, ?)"),
              {annotator.id, annotator.name, std::string(Name(role)), Bool(synthetic), Bool(false),
               annotator.created_us, HashSecret(token)})
        .status();
  });
  if (absl::IsAlreadyExists(status)) {
    return absl::AlreadyExistsError(absl::StrCat("name: an annotator '", name, "' exists"));
  }
  RETURN_IF_ERROR(status);
  return std::make_pair(annotator, token);
}

absl::StatusOr<Annotator> FeedbackStore::GetAnnotator(const std::string& id_or_name) {
  Annotator annotator;
  const sql::TransactionFn txn = [&](Connection& c) -> absl::Status {
    ASSIGN_OR_RETURN(annotator, RequireAnnotator(c, id_or_name));
    return absl::OkStatus();
  };
  RETURN_IF_ERROR(db_->Read(txn));
  return annotator;
}

absl::StatusOr<std::vector<Annotator>> FeedbackStore::ListAnnotators() {
  std::vector<Annotator> annotators;
  const sql::TransactionFn txn = [&](Connection& c) -> absl::Status {
    annotators.clear();
    ASSIGN_OR_RETURN(std::vector<Row> rows,
                     c.Query(absl::StrCat("SELECT ", internal::kAnnotatorColumns,
                                          " FROM annotators ORDER BY created_us, id"),
                             {}));
    for (const Row& row : rows) {
      ASSIGN_OR_RETURN(Annotator a, internal::AnnotatorFromRow(row));
      annotators.push_back(std::move(a));
    }
    return absl::OkStatus();
  };
  RETURN_IF_ERROR(db_->Read(txn));
  return annotators;
}

absl::StatusOr<Annotator> FeedbackStore::SetAnnotatorPaused(const std::string& id_or_name,
                                                            bool paused) {
  Annotator annotator;
  const sql::TransactionFn txn = [&](Connection& c) -> absl::Status {
    ASSIGN_OR_RETURN(annotator, RequireAnnotator(c, id_or_name));
    annotator.paused = paused;
    return c.Exec("UPDATE annotators SET paused = ? WHERE id = ?", {Bool(paused), annotator.id})
        .status();
  };
  RETURN_IF_ERROR(db_->Write(txn));
  return annotator;
}

absl::StatusOr<Annotator> FeedbackStore::AuthenticateToken(const std::string& token) {
  std::optional<Annotator> annotator;
  if (token.empty() || token.size() > 256) return absl::UnauthenticatedError("unknown token");
  const sql::TransactionFn txn = [&](Connection& c) -> absl::Status {
    ASSIGN_OR_RETURN(std::vector<Row> rows,
                     c.Query(absl::StrCat("SELECT ", internal::kAnnotatorColumns,
                                          " FROM annotators WHERE token_hash = ?"),
                             {HashSecret(token)}));
    if (rows.empty()) return absl::OkStatus();
    ASSIGN_OR_RETURN(annotator, internal::AnnotatorFromRow(rows[0]));
    return absl::OkStatus();
  };
  RETURN_IF_ERROR(db_->Read(txn));
  if (!annotator) return absl::UnauthenticatedError("unknown token");
  return *annotator;
}

absl::StatusOr<Session> FeedbackStore::CreateSession(const std::string& annotator_id,
                                                     absl::Duration lifetime) {
  Session session{NewSecret(), NewSecret(), Now() + absl::ToInt64Microseconds(lifetime)};
  const sql::TransactionFn txn = [&](Connection& c) -> absl::Status {
    // Expired sessions of anyone are swept here, so the table never grows without bound.
    RETURN_IF_ERROR(c.Exec("DELETE FROM sessions WHERE expires_us < ?", {Now()}).status());
    return c
        .Exec("INSERT INTO sessions (token_hash, annotator_id, csrf_token, expires_us) "
              "VALUES (?, ?, ?, ?)",
              {HashSecret(session.token), annotator_id, session.csrf_token, session.expires_us})
        .status();
  };
  RETURN_IF_ERROR(db_->Write(txn));
  return session;
}

absl::StatusOr<SessionAnnotator> FeedbackStore::AuthenticateSession(
    const std::string& session_token) {
  std::optional<SessionAnnotator> found;
  if (session_token.empty() || session_token.size() > 256) {
    return absl::UnauthenticatedError("no session");
  }
  const sql::TransactionFn txn = [&](Connection& c) -> absl::Status {
    ASSIGN_OR_RETURN(
        std::vector<Row> rows,
        c.Query("SELECT a.id, a.name, a.role, a.synthetic, a.paused, a.created_us, s.csrf_token "
                "FROM sessions s JOIN annotators a ON a.id = s.annotator_id "
                "WHERE s.token_hash = ? AND s.expires_us >= ?",
                {HashSecret(session_token), Now()}));
    if (rows.empty()) return absl::OkStatus();
    ASSIGN_OR_RETURN(Annotator a, internal::AnnotatorFromRow(rows[0]));
    found = SessionAnnotator{std::move(a), rows[0].Text(6)};
    return absl::OkStatus();
  };
  RETURN_IF_ERROR(db_->Read(txn));
  if (!found) return absl::UnauthenticatedError("session unknown or expired: log in again");
  return *found;
}

absl::Status FeedbackStore::DeleteSession(const std::string& session_token) {
  return db_->Write([&](Connection& c) -> absl::Status {
    return c.Exec("DELETE FROM sessions WHERE token_hash = ?", {HashSecret(session_token)})
        .status();
  });
}

}  // namespace rein::feedback
