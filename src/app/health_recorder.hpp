#pragma once
// Copies the pool's view of account health into the HealthStore about once a second, so
// `codex-relay account list` (another process) can show it, and appends state changes as
// events; likewise the egresses' states. Runs on the snapshot poller's thread, never on an io
// thread.
#include <chrono>
#include <memory>

#include "pool/account_pool.hpp"
#include "pool/egress_pool.hpp"
#include "store/health_store.hpp"

namespace relay::app {

class HealthRecorder {
 public:
  HealthRecorder(std::unique_ptr<store::HealthStore> store, pool::AccountPool& pool,
                 pool::EgressPool& egresses)
      : store_(std::move(store)), pool_(pool), egresses_(egresses) {}
  void tick();   // writes when a second has passed since the last write
  void flush();  // writes now (at shutdown, so the last changes are not lost)

 private:
  std::unique_ptr<store::HealthStore> store_;
  pool::AccountPool& pool_;
  pool::EgressPool& egresses_;
  std::chrono::steady_clock::time_point last_{};
};

}  // namespace relay::app
