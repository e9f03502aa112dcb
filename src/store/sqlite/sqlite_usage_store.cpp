#include "store/sqlite/sqlite_usage_store.hpp"

#include <algorithm>
#include <limits>

#include "store/sqlite/connection.hpp"
#include "store/sqlite/statement.hpp"

namespace relay::store {
namespace {

using records::UsageRecord;
using sqlite::Stmt;
using sqlite::Transaction;

// The one journal whose offset this store keeps (journal_state has room for more).
constexpr const char* kJournal = "usage";

constexpr const char* kColumns =
    "request_id, start_ms, node, region, tenant, key_id, account, egress, model, endpoint, "
    "stream, status, error_code, attempts, ttfb_ms, duration_ms, bytes_in, bytes_out, "
    "input_tokens, cached_tokens, output_tokens, reasoning_tokens, usage_incomplete, "
    "client_family";

void bind_record(Stmt& s, const UsageRecord& r) {
  s.bind(1, r.request_id).bind(2, r.start_ms).bind(3, r.node).bind(4, r.region);
  s.bind(5, r.tenant).bind(6, r.key_id).bind(7, r.account).bind(8, r.egress);
  s.bind(9, r.model).bind(10, r.endpoint).bind(11, std::int64_t{r.stream});
  s.bind(12, r.status).bind(13, r.error_code).bind(14, r.attempts).bind(15, r.ttfb_ms);
  s.bind(16, r.duration_ms).bind(17, r.bytes_in).bind(18, r.bytes_out);
  s.bind(19, r.input_tokens).bind(20, r.cached_tokens).bind(21, r.output_tokens);
  s.bind(22, r.reasoning_tokens).bind(23, std::int64_t{r.usage_incomplete});
  s.bind(24, r.client_family);
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

}  // namespace

SqliteUsageStore::SqliteUsageStore(const std::string& db_path)
    : db_(sqlite::open_database(db_path)) {
  try {
    sqlite::exec(db_, "PRAGMA synchronous=FULL");
  } catch (...) {
    sqlite3_close(db_);
    throw;
  }
}

SqliteUsageStore::~SqliteUsageStore() {
  sqlite3_close(db_);
}

void SqliteUsageStore::append(const std::vector<UsageRecord>& records,
                              std::int64_t journal_offset) {
  Transaction tx(db_, Transaction::Mode::kImmediate);
  if (!records.empty()) {
    Stmt ins(db_, std::string("INSERT INTO usage_records (") + kColumns +
                      ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
                      "?, ?)");
    for (const UsageRecord& r : records) {
      bind_record(ins, r);
      ins.step();
      ins.reset();
    }
  }
  Stmt off(db_,
           "INSERT INTO journal_state (name, journal_offset) VALUES (?, ?) "
           "ON CONFLICT(name) DO UPDATE SET journal_offset = excluded.journal_offset");
  off.bind(1, kJournal).bind(2, journal_offset);
  off.step();
  tx.commit();
}

std::int64_t SqliteUsageStore::journal_offset() {
  Stmt q(db_, "SELECT journal_offset FROM journal_state WHERE name = ?");
  q.bind(1, kJournal);
  return q.step() ? q.int64(0) : 0;
}

std::vector<UsageRecord> SqliteUsageStore::query(const UsageFilter& filter) {
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
  Stmt del(db_, "DELETE FROM usage_records WHERE start_ms < ?");
  del.bind(1, cutoff_ms);
  del.step();
  return sqlite3_changes64(db_);
}

}  // namespace relay::store
