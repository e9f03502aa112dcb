#pragma once
// Watches the config store and swaps in a new snapshot when it changed. Admin commands write
// the store from another process; the poll interval (250 ms) keeps pick-up under a second.
#include <atomic>
#include <condition_variable>
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
  std::function<void()> on_tick;                            // every poll (250 ms)

 private:
  void run();

  std::unique_ptr<store::ConfigStore> store_;
  store::SnapshotSource& target_;
  std::uint64_t token_ = 0;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
};

}  // namespace relay::app
