#pragma once
// Quota threshold alerts: a tenant's (or a key's) quota counter crossing 80 % and 100 % of its
// limit. Each crossing is one warn log line, one increment of codex_relay_quota_alerts_total and,
// when a webhook is set, one JSON event handed to it (docs/limits.md#quota-alerts). The admit
// phase reports every counter move (src/relay/admit.cpp); since the counter store's add returns
// the new value atomically, exactly one request (on any node) sees a given crossing.
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <tuple>

namespace relay {

struct QuotaCrossing {
  std::string tenant;
  std::string key_id;  // "" for the tenant's own quota
  std::string quota;   // "daily_requests" | "daily_tokens" | "monthly_tokens"
  int threshold = 0;   // 80 or 100
  std::int64_t used = 0;
  std::int64_t limit = 0;
  std::string period;  // "2026-11-27" or "2026-11"
};

// The webhook body: {"event":"quota_threshold",...,"at":"<RFC 3339 UTC>"}.
std::string crossing_json(const QuotaCrossing& c, std::int64_t at_unix_ms);

// The smallest count that reaches `pct` percent of `limit` (> 0): ceil(limit * pct / 100),
// without overflowing for limits near INT64_MAX.
std::int64_t threshold_count(std::int64_t limit, int pct);

class QuotaAlerts {
 public:
  // webhook: called for each crossing with its JSON body; must not block (may be empty).
  explicit QuotaAlerts(std::function<void(std::string json)> webhook = {});

  // A counter moved from `before` to `after` against `limit` (> 0): emits each threshold it
  // crossed (before < ceil(limit*pct/100) <= after), so a counter that jumps past both emits both.
  void on_count(std::string_view tenant, std::string_view key_id, std::string_view quota,
                std::int64_t before, std::int64_t after, std::int64_t limit,
                std::string_view period);

  void render_metrics(std::string& out) const;  // Prometheus text

  // Most distinct {tenant, quota, threshold} series; later tenants are counted as "other".
  static constexpr std::size_t kMaxSeries = 1000;

 private:
  void emit(const QuotaCrossing& c);

  std::function<void(std::string)> webhook_;
  mutable std::mutex mu_;
  std::map<std::tuple<std::string, std::string, int>, std::uint64_t> counts_;
};

}  // namespace relay
