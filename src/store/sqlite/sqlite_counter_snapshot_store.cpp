#include "store/sqlite/sqlite_counter_snapshot_store.hpp"

#include <chrono>

#include "base/unix_time.hpp"
#include "store/sqlite/connection.hpp"
#include "store/sqlite/statement.hpp"

namespace relay::store {
namespace {

using sqlite::Stmt;
using sqlite::Transaction;

bool live(std::int64_t expire_at_ms, std::int64_t now) {
  return expire_at_ms == 0 || expire_at_ms > now;
}

}  // namespace

SqliteCounterSnapshotStore::SqliteCounterSnapshotStore(const std::string& db_path)
    : db_(sqlite::open_database(db_path)) {}

SqliteCounterSnapshotStore::~SqliteCounterSnapshotStore() {
  sqlite3_close(db_);
}

void SqliteCounterSnapshotStore::write(const std::vector<limits::CounterRow>& rows) {
  Transaction tx(db_, Transaction::Mode::kImmediate);
  Stmt ins(db_,
           "INSERT OR REPLACE INTO quota_counters (key, value, expire_at_ms) VALUES (?, ?, ?)");
  for (const limits::CounterRow& r : rows) {
    ins.bind(1, r.key).bind(2, r.value).bind(3, r.expire_at_ms);
    ins.step();
    ins.reset();
  }
  Stmt expired(db_, "DELETE FROM quota_counters WHERE expire_at_ms > 0 AND expire_at_ms <= ?");
  expired.bind(1, unix_now_ms());
  expired.step();
  tx.commit();
}

std::vector<limits::CounterRow> SqliteCounterSnapshotStore::read(std::string_view key_prefix,
                                                                 std::int64_t now_ms) {
  // A range scan on the primary key: keys compare bytewise (BINARY collation), so every key
  // with the prefix sorts at or after it, contiguously. No LIKE: '_' is a wildcard there and
  // tenant names contain it.
  std::vector<limits::CounterRow> out;
  Stmt q(db_, "SELECT key, value, expire_at_ms FROM quota_counters WHERE key >= ? ORDER BY key");
  q.bind(1, key_prefix);
  while (q.step()) {
    std::string key = q.text(0);
    if (!key.starts_with(key_prefix)) break;
    if (!live(q.int64(2), now_ms)) continue;
    out.push_back({std::move(key), q.int64(1), q.int64(2)});
  }
  return out;
}

}  // namespace relay::store
