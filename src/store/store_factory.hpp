#pragma once
// Chooses and opens the store backends for a Config. Today: SQLite under data_dir.
#include <memory>

#include "app/config.hpp"
#include "store/config_store.hpp"
#include "store/counter_snapshot_store.hpp"
#include "store/health_store.hpp"
#include "store/usage_store.hpp"

namespace relay::store {

// Creates data_dir (mode 0700) if missing, loads the master key (see crypto::load_master_key)
// and opens <data_dir>/relay.db. Throws std::runtime_error / StoreError with operator text.
std::unique_ptr<ConfigStore> open_config_store(const app::Config& cfg);

// Opens <data_dir>/relay.db for account health; needs no master key (it holds no secrets).
std::unique_ptr<HealthStore> open_health_store(const app::Config& cfg);

// Opens <data_dir>/relay.db for the quota-counter snapshot (no secrets, no master key): serve
// flushes its in-process quota counters there and restores them at start; `tenant show` reads
// them.
std::unique_ptr<CounterSnapshotStore> open_counter_snapshot_store(const app::Config& cfg);

// Opens <data_dir>/relay.db for the metadata records (no secrets, no master key), for the
// EventQueue's consumer and for reports (docs/records.md).
std::unique_ptr<UsageStore> open_usage_store(const app::Config& cfg);

}  // namespace relay::store
