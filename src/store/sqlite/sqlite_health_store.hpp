#pragma once
// HealthStore on relay.db, beside the config store but on its own connection, so serve's
// once-a-second health write never contends with the snapshot poller's connection.
//
// Events are bounded on every write: older than 30 days, or beyond the newest 100,000, they
// go (a flapping account must not grow the file without limit).
#include <sqlite3.h>

#include <cstdint>
#include <string>

#include "store/health_store.hpp"

namespace relay::store {

class SqliteHealthStore final : public HealthStore {
 public:
  static constexpr std::int64_t kEventRetentionMs = std::int64_t{30} * 24 * 3600 * 1000;
  static constexpr std::int64_t kMaxEvents = 100'000;

  // Opens (and, if needed, creates and migrates) the db. Throws StoreError. max_events is
  // lowered only by tests.
  explicit SqliteHealthStore(const std::string& db_path, std::int64_t max_events = kMaxEvents);
  ~SqliteHealthStore() override;
  SqliteHealthStore(const SqliteHealthStore&) = delete;
  SqliteHealthStore& operator=(const SqliteHealthStore&) = delete;

  void write(const std::vector<AccountHealthRow>& rows,
             const std::vector<AccountEvent>& events) override;
  std::vector<AccountHealthRow> read_health() override;  // by account name
  // The newest `limit` events, returned oldest first (log order).
  std::vector<AccountEvent> recent_events(std::size_t limit) override;

  void write_egress_health(const std::vector<EgressHealthRow>& rows) override;
  std::vector<EgressHealthRow> read_egress_health() override;

 private:
  sqlite3* db_ = nullptr;
  std::int64_t max_events_;
};

}  // namespace relay::store
