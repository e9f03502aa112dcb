#pragma once
// UsageStore on PostgreSQL (the cluster backend, issue 7; docs/records.md "PostgreSQL (cluster)
// backend"): the same contract as SqliteUsageStore, on usage_records partitioned by UTC day.
//
// Unlike the SQLite store, which relies on the journal's exactly-once delivery, append() is
// idempotent per record: a record whose (request_id, start_ms) is already stored is skipped and
// not counted again in the daily aggregates, because the cluster's event queue redelivers.
//
// Synchronous, one connection, not thread-safe: each thread that uses the store (the journal's
// consumer, the retention thread) opens its own.
#include <cstdint>
#include <set>
#include <string>

#include "store/postgres/connection.hpp"
#include "store/usage_store.hpp"

namespace relay::store {

class PgUsageStore final : public UsageStore {
 public:
  // Connects (conninfo: a postgresql:// URI or key=value string) and applies the missing schema
  // migrations. Throws StoreError.
  explicit PgUsageStore(const std::string& conninfo);

  void append(const std::vector<records::UsageRecord>& records, std::string_view journal,
              std::int64_t journal_offset) override;
  std::int64_t journal_offset(std::string_view journal) override;
  std::vector<records::UsageRecord> query(const UsageFilter& filter) override;
  std::int64_t delete_older_than(std::int64_t cutoff_ms) override;
  std::vector<UsageTotals> totals(const TotalsFilter& filter, UsageGroup by) override;
  std::int64_t delete_aggregates_before(std::string_view day) override;

 private:
  void append_once(const std::vector<records::UsageRecord>& records, std::string_view journal,
                   std::int64_t journal_offset);
  void ensure_partitions(const std::vector<records::UsageRecord>& records);

  pg::Connection conn_;
  // Days (since the epoch) whose partition this store knows to exist. Cleared when an append
  // fails, since another process's retention may have dropped one.
  std::set<std::int64_t> partitions_;
};

}  // namespace relay::store
