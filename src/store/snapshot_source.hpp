#pragma once
// Where io threads get the current config snapshot. The poller swaps in a new one; a request
// holds the pointer it started with, so a swap never changes a request half way.
#include <atomic>
#include <memory>

#include "store/snapshot.hpp"

namespace relay::store {

class SnapshotSource {
 public:
  SnapshotSource() : current_(std::make_shared<const Snapshot>()) {}
  SnapshotPtr get() const { return current_.load(std::memory_order_acquire); }
  void set(SnapshotPtr s) { current_.store(std::move(s), std::memory_order_release); }

 private:
  std::atomic<SnapshotPtr> current_;
};

}  // namespace relay::store
