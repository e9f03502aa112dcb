#pragma once
// Fail-open for a shared CounterStore: each call goes to the shared store (Redis) and, when
// that throws Unavailable, is answered by this node's own in-process store instead. Limits
// then hold per node rather than across the deployment, which over-admits by at most the number
// of nodes for the length of the outage; the alternative (fail-closed) is to refuse limited
// tenants with 503 limits_unavailable, chosen with [redis] failure_mode (docs/limits.md).
//
// One outage gives one warning line when it starts and one info line when it ends, however
// many io threads and requests see it; FallbackStats counts the calls answered locally.
#include <atomic>
#include <cstdint>

#include "limits/counter_store.hpp"

namespace relay::limits {

class InProcessCounterStore;

struct FallbackStats {
  std::atomic<std::int64_t> local_answers{0};  // calls the shared store could not answer
  std::atomic<std::int64_t> outages{0};        // times the shared store went away
  std::atomic<bool> degraded{false};           // now answering locally
};

class FallbackCounterStore final : public CounterStore {
 public:
  FallbackCounterStore(CounterStore& shared, InProcessCounterStore& local, FallbackStats& stats)
      : shared_(shared), local_(local), stats_(stats) {}

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
  template <class Shared, class Local>
  auto either(Shared shared, Local local) -> boost::asio::awaitable<decltype(local())>;
  void failed(const Unavailable& e);
  void answered();

  CounterStore& shared_;
  InProcessCounterStore& local_;
  FallbackStats& stats_;
};

}  // namespace relay::limits
