#pragma once
// The CounterStore on Redis, shared by every node of a deployment. Each call is one atomic
// Lua script (or one plain command) on the calling io thread's own connection, so admission
// costs one round trip per limiter and never a lock.
//
// Data layout (docs/limits.md), every key under the configured prefix:
//   rate:{tenant}:{s|m}       string: the GCRA TAT in microseconds; PX = its useful life
//   lease:{tenant}            sorted set: lease id -> expiry (unix ms)
//   usage:{tenant}:{period}:{what}  hash: v = count, e = expiry (unix ms, 0 = never)
// Expiry is judged by the now_ms each call passes in, like the in-process store; Redis' own
// TTLs (set with a margin) only collect garbage. The GCRA script mirrors gcra::decide line by
// line: same names, units and rounding (gcra.hpp explains why doubles give the same integers).
//
// Errors: Redis unreachable, slow (more than the connection's call timeout) or answering
// nonsense throws Unavailable. Nothing here retries: admission must answer quickly.
#include <memory>
#include <string>

#include "limits/counter_store.hpp"

namespace relay::redis {
class Connection;
}

namespace relay::limits {

class RedisCounterStore final : public CounterStore {
 public:
  RedisCounterStore(std::shared_ptr<redis::Connection> connection, std::string key_prefix);
  ~RedisCounterStore() override;
  RedisCounterStore(const RedisCounterStore&) = delete;
  RedisCounterStore& operator=(const RedisCounterStore&) = delete;

  boost::asio::awaitable<RateResult> rate(std::string_view key, std::int64_t limit,
                                          std::int64_t period_ms, std::int64_t burst,
                                          std::int64_t now_ms) override;
  boost::asio::awaitable<RateResult> peek_rate(std::string_view key, std::int64_t limit,
                                               std::int64_t period_ms, std::int64_t burst,
                                               std::int64_t now_ms) override;
  boost::asio::awaitable<LeaseResult> acquire_lease(std::string_view key, std::string_view lease_id,
                                                    std::int64_t max, std::int64_t ttl_ms,
                                                    std::int64_t now_ms) override;
  boost::asio::awaitable<void> renew_lease(std::string_view key, std::string_view lease_id,
                                           std::int64_t ttl_ms, std::int64_t now_ms) override;
  boost::asio::awaitable<void> release_lease(std::string_view key,
                                             std::string_view lease_id) override;
  boost::asio::awaitable<std::int64_t> read_counter(std::string_view key,
                                                    std::int64_t now_ms) override;
  boost::asio::awaitable<std::int64_t> add_counter(std::string_view key, std::int64_t delta,
                                                   std::int64_t expire_at_ms,
                                                   std::int64_t now_ms) override;

 private:
  boost::asio::awaitable<RateResult> gcra(std::string_view key, std::int64_t limit,
                                          std::int64_t period_ms, std::int64_t burst,
                                          std::int64_t now_ms, bool consume);

  std::shared_ptr<redis::Connection> conn_;
  std::string prefix_;
};

}  // namespace relay::limits
