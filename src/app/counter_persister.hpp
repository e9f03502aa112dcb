#pragma once
// Embedded mode keeps quota counters in process memory; this copies them into relay.db about
// once a second and loads them back at start, so a restart does not reset a tenant's daily or
// monthly usage, and `codex-relay tenant show` (another process) can read it.
#include <chrono>
#include <memory>

#include "limits/in_process_counter_store.hpp"
#include "store/counter_snapshot_store.hpp"

namespace relay::app {

class CounterPersister {
 public:
  CounterPersister(std::unique_ptr<store::CounterSnapshotStore> store,
                   limits::InProcessCounterStore& counters)
      : store_(std::move(store)), counters_(counters) {}
  void restore();  // at start, before serving
  void tick();     // writes when a second has passed since the last write
  void flush();    // writes now (at shutdown)

 private:
  std::unique_ptr<store::CounterSnapshotStore> store_;
  limits::InProcessCounterStore& counters_;
  std::chrono::steady_clock::time_point last_{};
};

}  // namespace relay::app
