#pragma once
// Chooses and opens the store backends for a Config: SQLite under data_dir (the embedded
// default), or, with store.backend = "postgres", the config and the usage records in PostgreSQL
// shared by every node. Health and the quota-counter snapshot stay in the node's own relay.db
// either way: they describe this process (cluster-wide counters and health live in Redis).
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

// Applies the configured backend's missing schema migrations and returns a line for the
// operator. Stores also migrate when they open; this is the explicit step to run once before
// restarting nodes on a new version (docs/operations.md). Throws like the openers.
std::string migrate(const app::Config& cfg);

}  // namespace relay::store
