// FeedbackStore: reads of whole campaigns for quality figures and exports, each in one snapshot
// so that items, judgements and annotators agree with each other.
#include <set>

#include "absl/strings/str_cat.h"
#include "common/status/status_macros.h"
#include "services/feedback/feedback_store.h"
#include "services/feedback/store_codec.h"

namespace rein::feedback {

using sql::Connection;
using sql::Row;

absl::StatusOr<CampaignData> FeedbackStore::LoadCampaign(const std::string& campaign_id) {
  CampaignData data;
  const int64_t now = Now();
  const sql::TransactionFn txn = [&](Connection& c) -> absl::Status {
    data = CampaignData{};
    ASSIGN_OR_RETURN(std::vector<Row> campaigns,
                     c.Query(absl::StrCat("SELECT ", internal::kCampaignColumns,
                                          " FROM campaigns WHERE id = ? OR name = ?"),
                             {campaign_id, campaign_id}));
    if (campaigns.empty()) {
      return absl::NotFoundError(absl::StrCat("campaign '", campaign_id, "' not found"));
    }
    ASSIGN_OR_RETURN(data.campaign, internal::CampaignFromRow(campaigns[0]));
    const std::string& id = data.campaign.id;
    ASSIGN_OR_RETURN(std::vector<Row> items,
                     c.Query(absl::StrCat("SELECT ", internal::kItemColumns,
                                          " FROM items WHERE campaign_id = ? ORDER BY seq"),
                             {id}));
    for (const Row& row : items) {
      ASSIGN_OR_RETURN(Item item, internal::ItemFromRow(row));
      data.items.push_back(std::move(item));
    }
    ASSIGN_OR_RETURN(std::vector<Row> judgements,
                     c.Query(absl::StrCat("SELECT ", internal::kJudgementColumns,
                                          " FROM judgements j JOIN items i ON i.id = j.item_id "
                                          "WHERE j.campaign_id = ? ORDER BY j.created_us, j.id"),
                             {id}));
    for (const Row& row : judgements) {
      ASSIGN_OR_RETURN(Judgement j, internal::JudgementFromRow(row));
      data.judgements.push_back(std::move(j));
    }
    ASSIGN_OR_RETURN(
        std::vector<Row> annotators,
        c.Query(absl::StrCat("SELECT ", internal::kAnnotatorColumns,
                             " FROM annotators WHERE id IN (SELECT DISTINCT annotator_id FROM "
                             "judgements WHERE campaign_id = ?) ORDER BY created_us, id"),
                {id}));
    for (const Row& row : annotators) {
      ASSIGN_OR_RETURN(Annotator a, internal::AnnotatorFromRow(row));
      data.annotators.push_back(std::move(a));
    }
    ASSIGN_OR_RETURN(std::vector<Row> open,
                     c.Query("SELECT COUNT(*) FROM slots WHERE campaign_id = ? AND state = "
                             "'leased' AND expires_us >= ?",
                             {id, now}));
    data.leases_open = open.empty() ? 0 : static_cast<int>(open[0].Int(0));
    return absl::OkStatus();
  };
  RETURN_IF_ERROR(db_->Read(txn));
  return data;
}

absl::StatusOr<std::vector<std::pair<Item, Judgement>>> FeedbackStore::GoldJudgements(
    const std::string& annotator_id) {
  std::vector<std::pair<Item, Judgement>> out;
  const sql::TransactionFn txn = [&](Connection& c) -> absl::Status {
    out.clear();
    std::string item_columns;
    for (const char* column : {"id", "campaign_id", "external_id", "prompt", "context",
                               "responses", "gold", "gold_answer", "num_responses"}) {
      absl::StrAppend(&item_columns, item_columns.empty() ? "" : ", ", "i.", column);
    }
    ASSIGN_OR_RETURN(
        std::vector<Row> rows,
        c.Query(absl::StrCat("SELECT ", item_columns, ", ", internal::kJudgementColumns,
                             " FROM judgements j JOIN items i ON i.id = j.item_id WHERE "
                             "j.annotator_id = ? AND j.status = 'submitted' AND i.gold = 1 "
                             "ORDER BY j.created_us"),
                {annotator_id}));
    for (const Row& row : rows) {
      // The row is the item's 9 columns followed by the judgement's.
      std::vector<sql::Value> item_cells, judgement_cells;
      for (size_t i = 0; i < row.size(); ++i) {
        (i < 9 ? item_cells : judgement_cells).push_back(row.cell(i));
      }
      ASSIGN_OR_RETURN(Item item, internal::ItemFromRow(Row(std::move(item_cells))));
      ASSIGN_OR_RETURN(Judgement j, internal::JudgementFromRow(Row(std::move(judgement_cells))));
      out.emplace_back(std::move(item), std::move(j));
    }
    return absl::OkStatus();
  };
  RETURN_IF_ERROR(db_->Read(txn));
  return out;
}

}  // namespace rein::feedback
