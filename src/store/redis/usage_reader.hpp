#pragma once
// `tenant show` with [redis]: quota counters live in Redis, not in relay.db, so the CLI reads
// them there (live figures, not a snapshot). Read-only: write() is refused, since only serve
// counts usage.
#include <memory>

#include "app/config.hpp"
#include "store/counter_snapshot_store.hpp"

namespace relay::store {

// Throws std::runtime_error with a clear message when Redis cannot be reached.
std::unique_ptr<CounterSnapshotStore> open_redis_usage_reader(const app::Config& cfg);

}  // namespace relay::store
