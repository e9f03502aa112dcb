#pragma once
// Phase 3, admit: the rate limits (GCRA, per second and per minute), quotas (requests per UTC
// day, tokens per UTC day and month) and concurrency (a lease held until settle, renewed while
// the request lives, expiring if the node dies) of the request's tenant and, on top, of its key.
// A request must pass both; a limit of 0 does not limit. Refusals are 429s with Retry-After
// (docs/limits.md).
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

class QuotaAlerts;

struct AdmitOptions {
  std::int64_t lease_ttl_ms = 60'000;
  // Told of every quota counter move that has a limit (admit's request count, settle's
  // tokens); not owned, must outlive every Admission made with it. nullptr: no alerts.
  QuotaAlerts* alerts = nullptr;
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
  http::Headers headers;  // x-ratelimit-*-requests, on every response under a rate limit

  // Ends the leases (if any) and charges the request's tokens to the tenant's and key's quotas.
  boost::asio::awaitable<void> settle(limits::CounterStore& counters, std::int64_t tokens,
                                      std::int64_t now_ms);
  ~Admission();

  std::string tenant;
  store::TenantLimits limits;
  std::string key_id;
  std::string key_scope;  // counter_scope(tenant, key id); empty for a key without an id
  store::TenantLimits key_limits;
  QuotaAlerts* alerts = nullptr;  // AdmitOptions::alerts, for settle's token counts
  struct LeaseKeeper;
  std::shared_ptr<LeaseKeeper> lease;  // renews the leases (tenant's, key's) until settle
};

boost::asio::awaitable<Admission> admit(const store::SnapshotKey& key,
                                        limits::CounterStore& counters, const AdmitOptions& opts,
                                        std::int64_t now_ms);

// True when the tenant or the key has any limit set; a request with none is never refused.
bool any_limit_set(const store::SnapshotKey& key);

// A key's name in counter keys, in place of the tenant's: "team-a/key_3f9a1c2b7d40". Neither
// part can hold '/' or ':' (store::is_valid_name, the key id format), so it never collides with
// a tenant's name or runs into the other fields of a counter key.
std::string counter_scope(std::string_view tenant, std::string_view key_id);

// UTC period names used in quota keys: "2026-11-27", "2026-11"; and when they end.
std::string utc_day(std::int64_t now_ms);
std::string utc_month(std::int64_t now_ms);
std::int64_t utc_day_end_ms(std::int64_t now_ms);
std::int64_t utc_month_end_ms(std::int64_t now_ms);
// OpenAI's duration style for x-ratelimit-reset-*: "20ms", "1s", "59.5s", "6m0s".
std::string openai_duration(std::int64_t ms);

}  // namespace relay
