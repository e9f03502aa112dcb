#pragma once
// UsageStore on relay.db, on its own connection (the consumer thread's), so record batches
// never contend with the snapshot poller's or the health recorder's connection.
//
// This connection commits with synchronous=FULL (the others use NORMAL): a batch's commit
// moves the journal offset past its lines, and the journal may be rotated away after that, so
// the commit must be on disk before it returns, power loss included.
#include <sqlite3.h>

#include <memory>
#include <mutex>
#include <string>

#include "store/usage_store.hpp"

namespace relay::store {

namespace sqlite {
class Stmt;
}

class SqliteUsageStore final : public UsageStore {
 public:
  // Opens (and, if needed, creates and migrates) the db. Throws StoreError.
  explicit SqliteUsageStore(const std::string& db_path);
  ~SqliteUsageStore() override;
  SqliteUsageStore(const SqliteUsageStore&) = delete;
  SqliteUsageStore& operator=(const SqliteUsageStore&) = delete;

  void append(const std::vector<records::UsageRecord>& records, std::string_view journal,
              std::int64_t journal_offset) override;
  std::int64_t journal_offset(std::string_view journal) override;
  std::vector<records::UsageRecord> query(const UsageFilter& filter) override;
  std::int64_t delete_older_than(std::int64_t cutoff_ms) override;
  std::vector<UsageTotals> totals(const TotalsFilter& filter, UsageGroup by) override;
  std::int64_t delete_aggregates_before(std::string_view day) override;

 private:
  sqlite3* db_ = nullptr;
  // Every call holds mu_, so the connection needs no lock of SQLite's own
  // (Threading::kCallerSerialized).
  std::mutex mu_;
  // append's statements, prepared once: the consumer commits tens of batches a second, and
  // parsing the SQL again for each was about 7 % of its time (perf, W1).
  std::unique_ptr<sqlite::Stmt> insert_, upsert_daily_, offset_;
};

}  // namespace relay::store
