#pragma once
// CounterSnapshotStore on relay.db (table quota_counters), on its own connection like the
// health store, so serve's once-a-second flush never contends with the snapshot poller. The
// table carries no config_version trigger: these writes never make serve reload its config.
#include <sqlite3.h>

#include <string>

#include "store/counter_snapshot_store.hpp"

namespace relay::store {

class SqliteCounterSnapshotStore final : public CounterSnapshotStore {
 public:
  // Opens (and, if needed, creates and migrates) the db. Throws StoreError.
  explicit SqliteCounterSnapshotStore(const std::string& db_path);
  ~SqliteCounterSnapshotStore() override;
  SqliteCounterSnapshotStore(const SqliteCounterSnapshotStore&) = delete;
  SqliteCounterSnapshotStore& operator=(const SqliteCounterSnapshotStore&) = delete;

  void write(const std::vector<limits::CounterRow>& rows) override;
  std::vector<limits::CounterRow> read(std::string_view key_prefix, std::int64_t now_ms) override;

 private:
  sqlite3* db_ = nullptr;
};

}  // namespace relay::store
