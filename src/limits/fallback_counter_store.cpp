#include "limits/fallback_counter_store.hpp"

#include <spdlog/spdlog.h>

#include "limits/in_process_counter_store.hpp"

// C++20 forbids co_await inside a catch block, so a call notes the failure there and asks the
// local store after it.
namespace relay::limits {

namespace asio = boost::asio;

void FallbackCounterStore::failed(const Unavailable& e) {
  stats_.local_answers.fetch_add(1, std::memory_order_relaxed);
  if (!stats_.degraded.exchange(true)) {
    stats_.outages.fetch_add(1, std::memory_order_relaxed);
    spdlog::warn(
        "limits: redis unavailable ({}); fail-open: admitting with this node's local limits "
        "until it is back",
        e.what());
  }
}

void FallbackCounterStore::answered() {
  if (stats_.degraded.load(std::memory_order_relaxed) && stats_.degraded.exchange(false))
    spdlog::info("limits: redis answers again; shared limits apply");
}

// Asks the shared store; when it cannot answer, the local one. The two calls are lambdas that
// hold copies of the caller's arguments: the caller returns before this coroutine runs. (A key
// is a string_view into the awaiting caller's string, which lives until the result is in.)
template <class Shared, class Local>
auto FallbackCounterStore::either(Shared shared, Local local)
    -> asio::awaitable<decltype(local())> {
  try {
    auto r = co_await shared();
    answered();
    co_return r;
  } catch (const Unavailable& e) {
    failed(e);
  }
  co_return local();
}

asio::awaitable<RateResult> FallbackCounterStore::rate(std::string_view key, std::int64_t limit,
                                                       std::int64_t period_ms, std::int64_t burst,
                                                       std::int64_t now_ms) {
  return either([=, this] { return shared_.rate(key, limit, period_ms, burst, now_ms); },
                [=, this] { return local_.rate_now(key, limit, period_ms, burst, now_ms); });
}

asio::awaitable<RateResult> FallbackCounterStore::peek_rate(std::string_view key,
                                                            std::int64_t limit,
                                                            std::int64_t period_ms,
                                                            std::int64_t burst,
                                                            std::int64_t now_ms) {
  return either([=, this] { return shared_.peek_rate(key, limit, period_ms, burst, now_ms); },
                [=, this] { return local_.peek_rate_now(key, limit, period_ms, burst, now_ms); });
}

asio::awaitable<LeaseResult> FallbackCounterStore::acquire_lease(std::string_view key,
                                                                 std::string_view lease_id,
                                                                 std::int64_t max,
                                                                 std::int64_t ttl_ms,
                                                                 std::int64_t now_ms) {
  return either([=, this] { return shared_.acquire_lease(key, lease_id, max, ttl_ms, now_ms); },
                [=, this] { return local_.acquire_lease_now(key, lease_id, max, ttl_ms, now_ms); });
}

asio::awaitable<void> FallbackCounterStore::renew_lease(std::string_view key,
                                                        std::string_view lease_id,
                                                        std::int64_t ttl_ms, std::int64_t now_ms) {
  // A lease taken locally during an outage is renewed locally too (renewing an unknown lease
  // does nothing, so asking both is safe).
  local_.renew_lease_now(key, lease_id, ttl_ms, now_ms);
  try {
    co_await shared_.renew_lease(key, lease_id, ttl_ms, now_ms);
    answered();
  } catch (const Unavailable& e) {
    failed(e);
  }
}

asio::awaitable<void> FallbackCounterStore::release_lease(std::string_view key,
                                                          std::string_view lease_id) {
  local_.release_lease_now(key, lease_id);
  try {
    co_await shared_.release_lease(key, lease_id);
    answered();
  } catch (const Unavailable& e) {
    failed(e);  // a lease left in Redis expires after its TTL
  }
}

asio::awaitable<std::int64_t> FallbackCounterStore::read_counter(std::string_view key,
                                                                 std::int64_t now_ms) {
  return either([=, this] { return shared_.read_counter(key, now_ms); },
                [=, this] { return local_.read_counter_now(key, now_ms); });
}

asio::awaitable<std::int64_t> FallbackCounterStore::add_counter(std::string_view key,
                                                                std::int64_t delta,
                                                                std::int64_t expire_at_ms,
                                                                std::int64_t now_ms) {
  return either([=, this] { return shared_.add_counter(key, delta, expire_at_ms, now_ms); },
                [=, this] { return local_.add_counter_now(key, delta, expire_at_ms, now_ms); });
}

}  // namespace relay::limits
