#include "store/sqlite/sqlite_usage_store.hpp"

#include <algorithm>
#include <array>
#include <limits>
#include <map>
#include <tuple>

#include "store/sqlite/connection.hpp"
#include "store/sqlite/statement.hpp"
#include "store/usage_daily.hpp"

namespace relay::store {
namespace {

using records::UsageRecord;
using sqlite::Stmt;
using sqlite::Transaction;

constexpr const char* kColumns =
    "request_id, start_ms, node, region, tenant, key_id, account, egress, model, endpoint, "
    "stream, status, error_code, attempts, ttfb_ms, duration_ms, bytes_in, bytes_out, "
    "input_tokens, cached_tokens, output_tokens, reasoning_tokens, usage_incomplete, "
    "client_family";

// The texts are bound without a copy: `r` outlives the step that follows.
void bind_record(Stmt& s, const UsageRecord& r) {
  s.bind_static(1, r.request_id).bind(2, r.start_ms).bind_static(3, r.node);
  s.bind_static(4, r.region).bind_static(5, r.tenant).bind_static(6, r.key_id);
  s.bind_static(7, r.account).bind_static(8, r.egress).bind_static(9, r.model);
  s.bind_static(10, r.endpoint).bind(11, std::int64_t{r.stream});
  s.bind(12, r.status).bind_static(13, r.error_code).bind(14, r.attempts).bind(15, r.ttfb_ms);
  s.bind(16, r.duration_ms).bind(17, r.bytes_in).bind(18, r.bytes_out);
  s.bind(19, r.input_tokens).bind(20, r.cached_tokens).bind(21, r.output_tokens);
  s.bind(22, r.reasoning_tokens).bind(23, std::int64_t{r.usage_incomplete});
  s.bind_static(24, r.client_family);
}

UsageRecord read_record(const Stmt& q) {
  UsageRecord r;
  r.request_id = q.text(0);
  r.start_ms = q.int64(1);
  r.node = q.text(2);
  r.region = q.text(3);
  r.tenant = q.text(4);
  r.key_id = q.text(5);
  r.account = q.text(6);
  r.egress = q.text(7);
  r.model = q.text(8);
  r.endpoint = q.text(9);
  r.stream = q.int64(10) != 0;
  r.status = q.int64(11);
  r.error_code = q.text(12);
  r.attempts = q.int64(13);
  r.ttfb_ms = q.int64(14);
  r.duration_ms = q.int64(15);
  r.bytes_in = q.int64(16);
  r.bytes_out = q.int64(17);
  r.input_tokens = q.int64(18);
  r.cached_tokens = q.int64(19);
  r.output_tokens = q.int64(20);
  r.reasoning_tokens = q.int64(21);
  r.usage_incomplete = q.int64(22) != 0;
  r.client_family = q.text(23);
  return r;
}

// One upsert per group rather than per record: a batch is mostly a few tenants and models.
constexpr const char* kUpsertDaily =
    "INSERT INTO usage_daily (day, tenant, key_id, model, account, requests, errors, "
    "incomplete, input_tokens, cached_tokens, output_tokens, reasoning_tokens, bytes_in, "
    "bytes_out) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (day, tenant, key_id, model, account) DO UPDATE SET "
    "requests = requests + excluded.requests, errors = errors + excluded.errors, "
    "incomplete = incomplete + excluded.incomplete, "
    "input_tokens = input_tokens + excluded.input_tokens, "
    "cached_tokens = cached_tokens + excluded.cached_tokens, "
    "output_tokens = output_tokens + excluded.output_tokens, "
    "reasoning_tokens = reasoning_tokens + excluded.reasoning_tokens, "
    "bytes_in = bytes_in + excluded.bytes_in, bytes_out = bytes_out + excluded.bytes_out";

void upsert_daily(Stmt& up, const std::vector<UsageRecord>& records) {
  const auto groups = sum_daily(records);
  for (const auto& [key, sums] : groups) {
    const auto& [day, tenant, key_id, model, account] = key;
    up.bind(1, day).bind(2, tenant).bind(3, key_id).bind(4, model).bind(5, account);
    for (std::size_t i = 0; i < sums.size(); ++i) up.bind(static_cast<int>(i) + 6, sums[i]);
    up.step();
    up.reset();
  }
}

}  // namespace

SqliteUsageStore::SqliteUsageStore(const std::string& db_path)
    : db_(sqlite::open_database(db_path, sqlite::Threading::kCallerSerialized)) {
  try {
    sqlite::exec(db_, "PRAGMA synchronous=FULL");
  } catch (...) {
    sqlite3_close(db_);
    throw;
  }
}

SqliteUsageStore::~SqliteUsageStore() {
  insert_.reset();  // statements before the connection they belong to
  upsert_daily_.reset();
  offset_.reset();
  sqlite3_close(db_);
}

void SqliteUsageStore::append(const std::vector<UsageRecord>& records, std::string_view journal,
                              std::int64_t journal_offset) {
  std::lock_guard lk(mu_);
  if (!insert_) {
    insert_ = std::make_unique<Stmt>(
        db_,
        std::string("INSERT INTO usage_records (") + kColumns +
            ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    upsert_daily_ = std::make_unique<Stmt>(db_, kUpsertDaily);
    offset_ = std::make_unique<Stmt>(
        db_,
        "INSERT INTO journal_state (name, journal_offset) VALUES (?, ?) "
        "ON CONFLICT(name) DO UPDATE SET journal_offset = excluded.journal_offset");
  }
  // A statement left mid-step by a throw is reset before its next use.
  insert_->reset();
  upsert_daily_->reset();
  offset_->reset();
  Transaction tx(db_, Transaction::Mode::kImmediate);
  if (!records.empty()) {
    for (const UsageRecord& r : records) {
      bind_record(*insert_, r);
      insert_->step();
      insert_->reset();
    }
    insert_->clear_bindings();  // before the records' texts go
    upsert_daily(*upsert_daily_, records);
  }
  if (!journal.empty()) {
    offset_->bind(1, journal).bind(2, journal_offset);
    offset_->step();
    offset_->reset();
  }
  tx.commit();
}

std::int64_t SqliteUsageStore::journal_offset(std::string_view journal) {
  std::lock_guard lk(mu_);
  Stmt q(db_, "SELECT journal_offset FROM journal_state WHERE name = ?");
  q.bind(1, journal);
  return q.step() ? q.int64(0) : 0;
}

std::vector<UsageRecord> SqliteUsageStore::query(const UsageFilter& filter) {
  std::lock_guard lk(mu_);
  std::vector<UsageRecord> out;
  // Two texts rather than "(? = '' OR tenant = ?)", which would keep SQLite from using the
  // (tenant, start_ms) index.
  const bool one = !filter.tenant.empty();
  Stmt q(db_, std::string("SELECT ") + kColumns + " FROM usage_records WHERE " +
                  (one ? "tenant = ?4 AND " : "") +
                  "start_ms >= ?1 AND start_ms < ?2 ORDER BY start_ms, id LIMIT ?3");
  const auto max = static_cast<std::size_t>(std::numeric_limits<std::int64_t>::max());
  q.bind(1, filter.since_ms).bind(2, filter.until_ms);
  q.bind(3, static_cast<std::int64_t>(std::min(filter.limit, max)));
  if (one) q.bind(4, filter.tenant);
  while (q.step()) out.push_back(read_record(q));
  return out;
}

std::int64_t SqliteUsageStore::delete_older_than(std::int64_t cutoff_ms) {
  std::lock_guard lk(mu_);
  // In chunks, each its own transaction: the first run over a large backlog must not hold the
  // write lock for longer than the journal consumer's busy timeout.
  constexpr std::int64_t kChunk = 5000;
  Stmt del(db_,
           "DELETE FROM usage_records WHERE id IN (SELECT id FROM usage_records "
           "WHERE start_ms < ? LIMIT ?)");
  del.bind(1, cutoff_ms).bind(2, kChunk);
  std::int64_t total = 0;
  for (;;) {
    del.step();
    const std::int64_t n = sqlite3_changes64(db_);
    total += n;
    if (n < kChunk) return total;
    del.reset();
  }
}

std::vector<UsageTotals> SqliteUsageStore::totals(const TotalsFilter& filter, UsageGroup by) {
  std::lock_guard lk(mu_);
  const std::string col = group_column(by);
  std::string where;
  auto cond = [&where](const char* c) {
    where += (where.empty() ? " WHERE " : " AND ") + std::string(c);
  };
  if (!filter.tenant.empty()) cond("tenant = ?1");
  if (!filter.since_day.empty()) cond("day >= ?2");
  if (!filter.until_day.empty()) cond("day <= ?3");
  Stmt q(db_, "SELECT " + col +
                  ", SUM(requests), SUM(errors), SUM(incomplete), SUM(input_tokens), "
                  "SUM(cached_tokens), SUM(output_tokens), SUM(reasoning_tokens), SUM(bytes_in), "
                  "SUM(bytes_out) FROM usage_daily" +
                  where + " GROUP BY " + col + " ORDER BY " + col);
  if (!filter.tenant.empty()) q.bind(1, filter.tenant);
  if (!filter.since_day.empty()) q.bind(2, filter.since_day);
  if (!filter.until_day.empty()) q.bind(3, filter.until_day);
  std::vector<UsageTotals> out;
  while (q.step()) {
    UsageTotals t;
    t.group = q.text(0);
    std::int64_t* sums[] = {&t.requests,         &t.errors,        &t.incomplete,
                            &t.input_tokens,     &t.cached_tokens, &t.output_tokens,
                            &t.reasoning_tokens, &t.bytes_in,      &t.bytes_out};
    for (int i = 0; i < 9; ++i) *sums[i] = q.int64(i + 1);
    out.push_back(std::move(t));
  }
  return out;
}

std::int64_t SqliteUsageStore::delete_aggregates_before(std::string_view day) {
  std::lock_guard lk(mu_);
  Stmt del(db_, "DELETE FROM usage_daily WHERE day < ?");
  del.bind(1, day);
  del.step();
  return sqlite3_changes64(db_);
}

}  // namespace relay::store
