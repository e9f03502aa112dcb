#pragma once
// Phase 3, admit: the tenant's rate limits (GCRA, per second and per minute), its quotas
// (requests per UTC day, tokens per UTC day and month) and its concurrency (a lease held until
// settle, renewed while the request lives, expiring if the node dies). A tenant without a limit
// is not limited. Refusals are 429s with Retry-After (docs/limits.md).
#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "http/message.hpp"
#include "limits/counter_store.hpp"
#include "relay/errors.hpp"
#include "store/snapshot.hpp"

namespace relay {

struct AdmitOptions {
  std::int64_t lease_ttl_ms = 60'000;
};

// What admission decided, and what settle must undo or charge.
class Admission {
 public:
  Admission() = default;
  // Moves only: a copy's destructor would stop the lease keeper the original still needs.
  Admission(Admission&&) noexcept = default;
  Admission& operator=(Admission&&) noexcept = default;
  Admission(const Admission&) = delete;
  Admission& operator=(const Admission&) = delete;

  std::optional<ErrorCode> refused;
  int retry_after_s = 0;
  std::string message;
  http::Headers headers;  // x-ratelimit-*-requests, on every response to a limited tenant

  // Ends the lease (if any) and charges the request's tokens to the tenant's quotas.
  boost::asio::awaitable<void> settle(limits::CounterStore& counters, std::int64_t tokens,
                                      std::int64_t now_ms);
  ~Admission();

  std::string tenant;
  store::TenantLimits limits;
  struct LeaseKeeper;
  std::shared_ptr<LeaseKeeper> lease;  // renews the lease until settle
};

boost::asio::awaitable<Admission> admit(const store::SnapshotKey& key,
                                        limits::CounterStore& counters, const AdmitOptions& opts,
                                        std::int64_t now_ms);

// UTC period names used in quota keys: "2026-11-27", "2026-11"; and when they end.
std::string utc_day(std::int64_t now_ms);
std::string utc_month(std::int64_t now_ms);
std::int64_t utc_day_end_ms(std::int64_t now_ms);
std::int64_t utc_month_end_ms(std::int64_t now_ms);
// OpenAI's duration style for x-ratelimit-reset-*: "20ms", "1s", "59.5s", "6m0s".
std::string openai_duration(std::int64_t ms);

}  // namespace relay
