#pragma once
// Account health shared by the nodes of a cluster through Redis, so that an account one node
// saw fail is cooling (or disabled) on every node, not tried again by each in turn. Runs on
// the snapshot poller's thread (tick() every 250 ms); never on an io thread.
//
// One key per account, <prefix>health:<account id>, holds the strongest cooling window and the
// newest disable any node reported (docs/pool.md, "Shared health"). Each tick sends this
// node's new verdicts (AccountPool::local_verdicts) and reads every account's key, in one
// round trip, and adopts what is stronger than the local view (AccountPool::adopt_shared).
// Redis down: each node keeps its own health, as on a single node.
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>

#include "pool/account_pool.hpp"
#include "redis/blocking_client.hpp"

namespace relay::app {

class SharedHealth {
 public:
  // opts.call_timeout is raised to at least 100 ms, and the connect wait capped at it, so that
  // one tick blocks the poller thread for at most about twice that.
  SharedHealth(redis::Endpoint endpoint, std::string key_prefix, pool::AccountPool& pool,
               redis::ConnectionOptions opts);
  ~SharedHealth();

  // Never throws. During an outage Redis is tried at most once a second, and the outage is
  // logged once, when it starts, and when it ends.
  void tick();

  // For metrics; read from any thread.
  std::uint64_t published() const { return published_.load(std::memory_order_relaxed); }
  std::uint64_t adopted() const { return adopted_.load(std::memory_order_relaxed); }
  std::uint64_t failures() const { return failures_.load(std::memory_order_relaxed); }

 private:
  void exchange(pool::TimePoint now);

  std::string prefix_;
  pool::AccountPool& pool_;
  std::unique_ptr<redis::BlockingClient> client_;
  // Per account, the verdict Redis last acknowledged from this node: not sent again.
  std::unordered_map<std::int64_t, pool::SharedVerdict> sent_;
  bool down_ = false;
  pool::TimePoint next_try_{};
  std::atomic<std::uint64_t> published_{0}, adopted_{0}, failures_{0};
};

}  // namespace relay::app
