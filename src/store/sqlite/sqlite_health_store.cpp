#include "store/sqlite/sqlite_health_store.hpp"

#include <algorithm>
#include <chrono>
#include <limits>

#include "base/unix_time.hpp"
#include "store/sqlite/connection.hpp"
#include "store/sqlite/statement.hpp"

namespace relay::store {
namespace {

using sqlite::Stmt;
using sqlite::Transaction;

}  // namespace

SqliteHealthStore::SqliteHealthStore(const std::string& db_path, std::int64_t max_events)
    : db_(sqlite::open_database(db_path)), max_events_(max_events) {}

SqliteHealthStore::~SqliteHealthStore() {
  sqlite3_close(db_);
}

void SqliteHealthStore::write(const std::vector<AccountHealthRow>& rows,
                              const std::vector<AccountEvent>& events) {
  Transaction tx(db_, Transaction::Mode::kImmediate);
  sqlite::exec(db_, "DELETE FROM account_health");
  Stmt ins(db_,
           "INSERT OR REPLACE INTO account_health (account_id, account_name, state, score, "
           "error_rate, ttfb_ms, cooling_until_ms, requests, input_tokens, cached_tokens, "
           "last_failure, updated_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
  for (const AccountHealthRow& r : rows) {
    ins.bind(1, r.account_id).bind(2, r.account_name).bind(3, r.state);
    ins.bind_double(4, r.score).bind_double(5, r.error_rate).bind_double(6, r.ttfb_ms);
    ins.bind(7, r.cooling_until_unix_ms).bind(8, r.requests).bind(9, r.input_tokens);
    ins.bind(10, r.cached_tokens).bind(11, r.last_failure).bind(12, r.updated_at_unix_ms);
    ins.step();
    ins.reset();
  }
  if (!events.empty()) {
    Stmt ev(db_,
            "INSERT INTO account_events (account_id, account_name, from_state, to_state, cause, "
            "at_ms) VALUES (?, ?, ?, ?, ?, ?)");
    for (const AccountEvent& e : events) {
      ev.bind(1, e.account_id).bind(2, e.account_name).bind(3, e.from_state);
      ev.bind(4, e.to_state).bind(5, e.cause).bind(6, e.at_unix_ms);
      ev.step();
      ev.reset();
    }
  }
  Stmt old(db_, "DELETE FROM account_events WHERE at_ms < ?");
  old.bind(1, unix_now_ms() - kEventRetentionMs);
  old.step();
  Stmt excess(db_,
              "DELETE FROM account_events WHERE id <= "
              "(SELECT id FROM account_events ORDER BY id DESC LIMIT 1 OFFSET ?)");
  excess.bind(1, max_events_);
  excess.step();
  tx.commit();
}

std::vector<AccountHealthRow> SqliteHealthStore::read_health() {
  std::vector<AccountHealthRow> out;
  Stmt q(db_,
         "SELECT account_id, account_name, state, score, error_rate, ttfb_ms, cooling_until_ms, "
         "requests, input_tokens, cached_tokens, last_failure, updated_at_ms "
         "FROM account_health ORDER BY account_name");
  while (q.step())
    out.push_back({q.int64(0), q.text(1), q.text(2), q.real(3), q.real(4), q.real(5), q.int64(6),
                   q.int64(7), q.int64(8), q.int64(9), q.text(10), q.int64(11)});
  return out;
}

std::vector<AccountEvent> SqliteHealthStore::recent_events(std::size_t limit) {
  std::vector<AccountEvent> out;
  Stmt q(db_,
         "SELECT account_id, account_name, from_state, to_state, cause, at_ms "
         "FROM account_events ORDER BY at_ms DESC, id DESC LIMIT ?");
  const auto max = static_cast<std::size_t>(std::numeric_limits<std::int64_t>::max());
  q.bind(1, static_cast<std::int64_t>(std::min(limit, max)));
  while (q.step())
    out.push_back({q.int64(0), q.text(1), q.text(2), q.text(3), q.text(4), q.int64(5)});
  std::reverse(out.begin(), out.end());
  return out;
}

void SqliteHealthStore::write_egress_health(const std::vector<EgressHealthRow>& rows) {
  Transaction tx(db_, Transaction::Mode::kImmediate);
  sqlite::exec(db_, "DELETE FROM egress_health");
  Stmt ins(db_,
           "INSERT OR REPLACE INTO egress_health (egress_id, egress_name, account_name, state, "
           "last_error, updated_at_ms) VALUES (?, ?, ?, ?, ?, ?)");
  for (const EgressHealthRow& r : rows) {
    ins.bind(1, r.egress_id).bind(2, r.egress_name).bind(3, r.account_name).bind(4, r.state);
    ins.bind(5, r.last_error).bind(6, r.updated_at_unix_ms);
    ins.step();
    ins.reset();
  }
  tx.commit();
}

std::vector<EgressHealthRow> SqliteHealthStore::read_egress_health() {
  std::vector<EgressHealthRow> out;
  Stmt q(db_,
         "SELECT egress_id, egress_name, account_name, state, last_error, updated_at_ms "
         "FROM egress_health ORDER BY egress_name");
  while (q.step())
    out.push_back({q.int64(0), q.text(1), q.text(2), q.text(3), q.text(4), q.int64(5)});
  return out;
}

}  // namespace relay::store
