#pragma once
// StreamConsumer: moves the cluster's usage records from the Redis stream that every node's
// RedisStreamSink forwards to (<prefix>records) into the UsageStore (PostgreSQL), as one member
// of the consumer group "usage-writers" (docs/records.md, "Cluster: Redis Streams"). Every node
// runs one; the group shares the entries out among them.
//
// At-least-once: an entry is acknowledged, and deleted from the stream, only after the
// transaction holding its record has committed, so the stream holds exactly what may not be in
// the store yet. An entry read but never acknowledged (the store failed, the node died) is read
// again: by this consumer first (its own pending entries), or by any consumer once it has been
// idle claim_idle (XAUTOCLAIM). The store is idempotent per (request_id, start_ms), so a record
// delivered twice is stored and counted once. An entry that does not decode is logged (its id,
// never its content), counted as skipped and acknowledged.
//
// Failures never lose an entry: on a Redis or store error the batch stays pending, the store is
// reopened on the next try, and the thread backs off (100 ms doubling to 2 s).
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "redis/blocking_client.hpp"
#include "store/usage_store.hpp"

namespace relay::records {

struct StreamConsumerOptions {
  std::size_t batch_size = 500;  // entries per read, and records per store transaction
  // How long an entry stays with a consumer that read it and did not acknowledge it before
  // another one takes it over; longer than a batch can take to store.
  std::chrono::milliseconds claim_idle{30000};
  std::chrono::milliseconds idle_sleep{50};  // between polls when the stream is empty
  std::chrono::milliseconds backoff_min{100};
  std::chrono::milliseconds backoff_max{2000};
  redis::ConnectionOptions redis{.call_timeout = std::chrono::milliseconds(2000),
                                 .name = "redis-usage-stream"};
};

struct StreamConsumerStats {
  std::uint64_t consumed = 0;  // records committed to the store (a redelivered one again)
  std::uint64_t skipped = 0;   // entries that did not decode
  std::uint64_t failures = 0;  // rounds that failed on Redis or the store
  std::int64_t lag = 0;        // entries in the stream (not yet stored), as last read
};

class StreamConsumer {
 public:
  static constexpr const char* kGroup = "usage-writers";

  // Starts the thread; nothing here touches the network. open_store is called on that thread,
  // for the first batch and again after a store failure.
  StreamConsumer(redis::Endpoint endpoint, std::string key_prefix, std::string consumer_name,
                 std::function<std::unique_ptr<store::UsageStore>()> open_store,
                 StreamConsumerOptions opts = {});
  ~StreamConsumer();  // stop()
  StreamConsumer(const StreamConsumer&) = delete;
  StreamConsumer& operator=(const StreamConsumer&) = delete;

  // Lets the batch in hand finish (stored and acknowledged, or left pending), then joins.
  // Idempotent.
  void stop();

  StreamConsumerStats stats() const;
  std::int64_t lag() const { return lag_; }

 private:
  struct Entry;

  void run();
  bool step();  // true when it handled any entry
  void ensure_group();
  std::size_t handle(const redis::Reply& entries);  // returns how many there were
  store::UsageStore& store();
  bool wait(std::chrono::milliseconds d);  // false when stopping

  redis::Endpoint endpoint_;
  std::string stream_;
  std::string consumer_;
  std::function<std::unique_ptr<store::UsageStore>()> open_store_;
  StreamConsumerOptions opts_;

  // The thread's own.
  std::unique_ptr<redis::BlockingClient> redis_;
  std::unique_ptr<store::UsageStore> store_;
  bool group_ready_ = false;
  bool own_pending_ = true;  // this consumer may hold entries read but not acknowledged
  std::string claim_cursor_ = "0-0";
  std::chrono::steady_clock::time_point next_claim_{};

  std::atomic<std::uint64_t> consumed_{0}, skipped_{0}, failures_{0};
  std::atomic<std::int64_t> lag_{0};

  std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::once_flag stopped_;
  std::thread thread_;
};

}  // namespace relay::records
