#pragma once
// Watches the config store and swaps in a new snapshot when it changed. Admin commands write
// the store from another process. SQLite: the change token is polled every 250 ms; PostgreSQL:
// the store wakes the poller on NOTIFY (and the token is re-read every 5 s regardless). Either
// way pick-up stays under a second, and a store that cannot be read leaves the last snapshot
// serving.
#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

#include "store/config_store.hpp"
#include "store/snapshot_source.hpp"

namespace relay::app {

class SnapshotPoller {
 public:
  SnapshotPoller(std::unique_ptr<store::ConfigStore> store, store::SnapshotSource& target)
      : store_(std::move(store)), target_(target) {}
  ~SnapshotPoller() { stop(); }

  void load_now();  // throws if the store cannot be read
  void start();
  void stop();

  // Set before start(); both run on the poller's thread.
  std::function<void(const store::Snapshot&)> on_snapshot;  // after each (re)load
  std::function<void()> on_tick;                            // every 250 ms or sooner

 private:
  void run();

  std::unique_ptr<store::ConfigStore> store_;
  store::SnapshotSource& target_;
  std::uint64_t token_ = 0;
  std::thread thread_;
  std::mutex mu_;
  bool stopping_ = false;  // seen within one wait_for_change (250 ms)
};

}  // namespace relay::app
