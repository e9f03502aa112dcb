#pragma once
// CounterStore: the hot, shared counters behind tenant admission — rate windows, concurrency
// leases, quota counters. Owned by its user, the admit phase (src/relay/admit.cpp) and settle.
// Backends: in-process (default, in_process_counter_store.*) and, for many nodes, Redis
// (redis_counter_store.*). Both pass the one shared suite in tests/unit/counter_store_suite.hpp.
// A backend that cannot answer (Redis down or too slow) throws Unavailable; what happens then
// is the deployment's choice (fallback_counter_store.hpp for fail-open, a 503 for fail-closed).
//
// Calls are awaitable so that a networked backend never blocks an io thread; the in-process
// backend completes at once. Times are unix milliseconds, passed in, so nodes sharing a
// backend agree and tests drive a fake clock.
#include <array>
#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace relay::limits {

class Unavailable : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct RateResult {
  bool allowed = true;
  std::int64_t limit = 0;           // the burst capacity (what x-ratelimit-limit reports)
  std::int64_t remaining = 0;       // requests still allowed right now, after this one
  std::int64_t reset_ms = 0;        // until the full capacity is back
  std::int64_t retry_after_ms = 0;  // when refused: until one request is allowed again
};

struct LeaseResult {
  bool acquired = true;
  std::int64_t in_use = 0;  // live leases after the call
};

struct CounterRow {
  std::string key;
  std::int64_t value = 0;
  std::int64_t expire_at_ms = 0;  // 0: never

  bool operator==(const CounterRow&) const = default;
};

// CounterStore's calls answered at once, by a store that never waits (the in-process one):
// through CounterStore each call is a coroutine of its own, a frame allocated and resumed, and
// the admit phase makes about ten per request.
class ImmediateCounterStore {
 public:
  virtual RateResult rate_now(std::string_view key, std::int64_t limit, std::int64_t period_ms,
                              std::int64_t burst, std::int64_t now_ms) = 0;
  virtual RateResult peek_rate_now(std::string_view key, std::int64_t limit, std::int64_t period_ms,
                                   std::int64_t burst, std::int64_t now_ms) = 0;
  virtual LeaseResult acquire_lease_now(std::string_view key, std::string_view lease_id,
                                        std::int64_t max, std::int64_t ttl_ms,
                                        std::int64_t now_ms) = 0;
  virtual void release_lease_now(std::string_view key, std::string_view lease_id) = 0;
  virtual std::int64_t read_counter_now(std::string_view key, std::int64_t now_ms) = 0;
  virtual std::int64_t add_counter_now(std::string_view key, std::int64_t delta,
                                       std::int64_t expire_at_ms, std::int64_t now_ms) = 0;

 protected:
  ~ImmediateCounterStore() = default;
};

class CounterStore {
 public:
  virtual ~CounterStore() = default;

  // The same store's immediate form, or nullptr when it may have to wait (a network store).
  virtual ImmediateCounterStore* immediate() { return nullptr; }

  // GCRA: `limit` requests per `period_ms`, with bursts of up to `burst` requests (burst >= 1).
  // Consumes one request when allowed; a refused request consumes nothing. The math, which
  // every backend must reproduce exactly, is gcra::decide (gcra.hpp). limit or period_ms < 1:
  // not limited (allowed, limit 0 reported, nothing stored).
  virtual boost::asio::awaitable<RateResult> rate(std::string_view key, std::int64_t limit,
                                                  std::int64_t period_ms, std::int64_t burst,
                                                  std::int64_t now_ms) = 0;

  // The same figures without consuming anything: `remaining` counts this request as not yet
  // made. For the headers of a response refused by another limit.
  virtual boost::asio::awaitable<RateResult> peek_rate(std::string_view key, std::int64_t limit,
                                                       std::int64_t period_ms, std::int64_t burst,
                                                       std::int64_t now_ms) = 0;

  // Concurrency: at most `max` live leases under `key`. A lease not renewed within `ttl_ms`
  // expires (its holder died); expired leases do not count. Acquiring a lease_id already held
  // refreshes it and counts once; renewing an expired or unknown lease does nothing (its slot
  // may be taken); releasing an unknown lease does nothing. max < 1: not limited (always
  // acquired, still recorded so in_use stays true).
  virtual boost::asio::awaitable<LeaseResult> acquire_lease(std::string_view key,
                                                            std::string_view lease_id,
                                                            std::int64_t max, std::int64_t ttl_ms,
                                                            std::int64_t now_ms) = 0;
  virtual boost::asio::awaitable<void> renew_lease(std::string_view key, std::string_view lease_id,
                                                   std::int64_t ttl_ms, std::int64_t now_ms) = 0;
  virtual boost::asio::awaitable<void> release_lease(std::string_view key,
                                                     std::string_view lease_id) = 0;

  // Quota counters: a missing or expired counter reads 0. add returns the new value; the
  // expiry is set when the counter is created.
  virtual boost::asio::awaitable<std::int64_t> read_counter(std::string_view key,
                                                            std::int64_t now_ms) = 0;
  virtual boost::asio::awaitable<std::int64_t> add_counter(std::string_view key, std::int64_t delta,
                                                           std::int64_t expire_at_ms,
                                                           std::int64_t now_ms) = 0;
};

// Key names, shared by every backend (docs/limits.md): rate:{tenant}:{window},
// lease:{tenant}, usage:{tenant}:{day|month}:{requests|tokens}.
std::string rate_key(std::string_view tenant, std::string_view window);
std::string lease_key(std::string_view tenant);
std::string usage_key(std::string_view tenant, std::string_view period, std::string_view what);

// usage_key built in place: admission and settle look up several per request, and nearly all
// are longer than a std::string holds without the heap. A key that does not fit (none does,
// with names of at most 64 bytes) is kept on the heap. Not copyable: it points into itself.
class UsageKey {
 public:
  UsageKey(std::string_view tenant, std::string_view period, std::string_view what);
  UsageKey(const UsageKey&) = delete;
  UsageKey& operator=(const UsageKey&) = delete;
  operator std::string_view() const { return view_; }  // NOLINT(google-explicit-constructor)

 private:
  std::array<char, 160> inline_;
  std::string heap_;
  std::string_view view_;
};

}  // namespace relay::limits
