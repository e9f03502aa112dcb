#include "store/postgres/pg_usage_store.hpp"

#include <algorithm>
#include <limits>
#include <optional>

#include "store/postgres/migrations.hpp"
#include "store/postgres/partitions.hpp"
#include "store/postgres/usage_rows.hpp"
#include "store/usage_daily.hpp"

namespace relay::store {
using pg::saturated;
using records::UsageRecord;

PgUsageStore::PgUsageStore(const std::string& conninfo) : conn_(conninfo) {
  pg::migrate(conn_);
}

void PgUsageStore::ensure_partitions(const std::vector<UsageRecord>& records) {
  std::set<std::int64_t> missing;
  for (const UsageRecord& r : records)
    if (const std::int64_t d = pg::partition_day(r.start_ms); !partitions_.contains(d))
      missing.insert(d);
  if (missing.empty()) return;
  // In a transaction of its own, under a lock that every creator takes: a second process
  // creating the same day waits, then finds the table there (IF NOT EXISTS) instead of
  // failing on the catalog's unique index. Not inside append's transaction, which would hold
  // the lock (and the parent table's lock) for the whole batch.
  pg::Transaction tx(conn_);
  conn_.exec("SELECT pg_advisory_xact_lock($1)", {std::string(pg::kPartitionLock)});
  for (std::int64_t d : missing) conn_.exec(pg::create_partition_sql(d));
  tx.commit();
  partitions_.insert(missing.begin(), missing.end());
}

void PgUsageStore::append(const std::vector<UsageRecord>& records, std::string_view journal,
                          std::int64_t journal_offset) {
  // A partition this store made may have been dropped since by retention (in this process or
  // another one) when an old day's record arrives late: the insert then finds no partition
  // (23514), and one more try, with the partitions looked up afresh, creates it again.
  for (int attempt = 0;; ++attempt) {
    try {
      append_once(records, journal, journal_offset);
      return;
    } catch (const pg::Error& e) {
      partitions_.clear();
      if (attempt > 0 || e.sqlstate() != "23514") throw;
    } catch (...) {
      partitions_.clear();
      throw;
    }
  }
}

void PgUsageStore::append_once(const std::vector<UsageRecord>& records, std::string_view journal,
                               std::int64_t journal_offset) {
  ensure_partitions(records);
  pg::Transaction tx(conn_);
  // Only the rows that were not there yet come back, and only they are added to usage_daily.
  std::vector<UsageRecord> inserted;
  for (std::size_t at = 0; at < records.size(); at += pg::kRowsPerStatement) {
    const std::size_t n = std::min(pg::kRowsPerStatement, records.size() - at);
    std::vector<std::string> params;
    params.reserve(n * pg::kColumnCount);
    for (std::size_t i = at; i < at + n; ++i) pg::push_record(params, records[i]);
    const pg::Result got = conn_.exec(
        "INSERT INTO usage_records (" + std::string(pg::kColumns) + ") VALUES " +
            pg::placeholders(n, pg::kColumnCount) +
            " ON CONFLICT (request_id, start_ms) DO NOTHING RETURNING " + std::string(pg::kColumns),
        params);
    for (int row = 0; row < got.rows(); ++row) inserted.push_back(pg::read_record(got, row));
  }
  pg::upsert_daily(conn_, inserted);
  if (!journal.empty())
    conn_.exec(
        "INSERT INTO journal_state (name, journal_offset) VALUES ($1, $2) ON CONFLICT (name) "
        "DO UPDATE SET journal_offset = EXCLUDED.journal_offset",
        {std::string(journal), std::to_string(journal_offset)});
  tx.commit();
}

std::int64_t PgUsageStore::journal_offset(std::string_view journal) {
  const pg::Result r = conn_.exec("SELECT journal_offset FROM journal_state WHERE name = $1",
                                  {std::string(journal)});
  return r.rows() > 0 ? r.int64(0, 0) : 0;
}

std::vector<UsageRecord> PgUsageStore::query(const UsageFilter& filter) {
  const bool one = !filter.tenant.empty();
  const auto max = static_cast<std::size_t>(std::numeric_limits<std::int64_t>::max());
  std::vector<std::string> params = {std::to_string(filter.since_ms),
                                     std::to_string(filter.until_ms),
                                     std::to_string(std::min(filter.limit, max))};
  if (one) params.push_back(filter.tenant);
  const pg::Result r =
      conn_.exec("SELECT " + std::string(pg::kColumns) + " FROM usage_records WHERE " +
                     (one ? "tenant = $4 AND " : "") +
                     "start_ms >= $1 AND start_ms < $2 ORDER BY start_ms, id "
                     "LIMIT $3",
                 params);
  std::vector<UsageRecord> out;
  out.reserve(static_cast<std::size_t>(r.rows()));
  for (int row = 0; row < r.rows(); ++row) out.push_back(pg::read_record(r, row));
  return out;
}

std::int64_t PgUsageStore::delete_older_than(std::int64_t cutoff_ms) {
  std::int64_t total = 0;
  // Whole days first: a partition that ends at or before the cutoff is counted and dropped, each
  // in a short transaction of its own. The parent is locked before the count so that no append
  // adds a row between the count and the drop (and in the order appends lock: parent first).
  const pg::Result parts = conn_.exec(
      "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
      "WHERE i.inhparent = 'usage_records'::regclass ORDER BY c.relname");
  for (int row = 0; row < parts.rows(); ++row) {
    const std::string name(parts.text(row, 0));
    const std::optional<std::int64_t> day = pg::day_of_partition(name);
    if (!day) continue;
    const std::optional<std::int64_t> end = pg::partition_end_ms(*day);
    if (!end || *end > cutoff_ms) continue;
    pg::Transaction tx(conn_);
    conn_.exec("LOCK TABLE usage_records IN ACCESS EXCLUSIVE MODE");
    const std::int64_t n = conn_.exec("SELECT COUNT(*) FROM " + name).int64(0, 0);
    conn_.exec("DROP TABLE " + name);
    tx.commit();
    partitions_.erase(*day);
    total += n;
  }
  // Then the rows before the cutoff within its own day (partition pruning keeps it to that one).
  total += conn_.exec("DELETE FROM usage_records WHERE start_ms < $1", {std::to_string(cutoff_ms)})
               .affected();
  return total;
}

std::vector<UsageTotals> PgUsageStore::totals(const TotalsFilter& filter, UsageGroup by) {
  const std::string col = group_column(by);
  std::vector<std::string> params;
  std::string where;
  const auto cond = [&](const char* c, const std::string& v) {
    params.push_back(v);
    where += (where.empty() ? " WHERE " : " AND ") + std::string(c) + " $" +
             std::to_string(params.size());
  };
  if (!filter.tenant.empty()) cond("tenant =", filter.tenant);
  if (!filter.since_day.empty()) cond("day >=", filter.since_day);
  if (!filter.until_day.empty()) cond("day <=", filter.until_day);
  std::string sums;
  for (std::string_view c : kDailySumColumns)
    sums += ", " + saturated("SUM(" + std::string(c) + ")");
  const pg::Result r = conn_.exec(
      "SELECT " + col + sums + " FROM usage_daily" + where + " GROUP BY 1 ORDER BY 1", params);
  std::vector<UsageTotals> out;
  out.reserve(static_cast<std::size_t>(r.rows()));
  for (int row = 0; row < r.rows(); ++row) {
    UsageTotals t;
    t.group = std::string(r.text(row, 0));
    std::int64_t* fields[] = {&t.requests,         &t.errors,        &t.incomplete,
                              &t.input_tokens,     &t.cached_tokens, &t.output_tokens,
                              &t.reasoning_tokens, &t.bytes_in,      &t.bytes_out};
    for (int i = 0; i < 9; ++i) *fields[i] = r.int64(row, i + 1);
    out.push_back(std::move(t));
  }
  return out;
}

std::int64_t PgUsageStore::delete_aggregates_before(std::string_view day) {
  return conn_.exec("DELETE FROM usage_daily WHERE day < $1", {std::string(day)}).affected();
}

}  // namespace relay::store
