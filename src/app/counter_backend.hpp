#pragma once
// Where tenant-limit counters live for serve: in this process (no [redis] url), or in Redis
// shared by every node, with this process's memory as the fail-open fallback. Each io thread
// gets its own Redis connection, on its own loop, so admission never crosses threads or takes
// a lock; the in-process store is shared by all threads (it is thread-safe).
#include <boost/asio/io_context.hpp>
#include <memory>
#include <optional>

#include "app/config.hpp"
#include "limits/fallback_counter_store.hpp"
#include "limits/in_process_counter_store.hpp"
#include "redis/url.hpp"

namespace relay::redis {
class Connection;
}

namespace relay::app {

// One io thread's view of the counters; keeps the connection and stores it uses alive.
class ThreadCounters {
 public:
  limits::CounterStore& store() { return *use_; }

 private:
  friend class CounterBackend;
  std::shared_ptr<redis::Connection> connection_;
  std::unique_ptr<limits::CounterStore> shared_;
  std::unique_ptr<limits::CounterStore> fallback_;
  limits::CounterStore* use_ = nullptr;
};

class CounterBackend {
 public:
  explicit CounterBackend(const Config& cfg);
  ~CounterBackend();

  bool shared() const { return !cfg_.redis.url.empty(); }
  // Counters in this process: all of them without Redis, the fail-open ones with it.
  limits::InProcessCounterStore& local() { return local_; }
  limits::FallbackStats& fallback_stats() { return stats_; }

  // Call before io.run(); the connection starts connecting once the loop runs. index names
  // the connection in log lines.
  ThreadCounters for_thread(boost::asio::io_context& io, int index);

 private:
  const Config& cfg_;
  std::optional<redis::Endpoint> endpoint_;  // set when shared()
  limits::InProcessCounterStore local_;
  limits::FallbackStats stats_;
};

}  // namespace relay::app
