#include "relay/quota_alerts.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <ctime>
#include <iterator>

#include "base/unix_time.hpp"
#include "relay/errors.hpp"

namespace relay {

namespace {

std::string rfc3339_utc(std::int64_t unix_ms) {
  const auto t = static_cast<std::time_t>(unix_ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  return fmt::format("{}.{:03}Z", buf, unix_ms % 1000);
}

// Tenant names are restricted to safe characters (store::is_valid_name), but the exposition
// format must stay parseable whatever a label holds.
std::string prometheus_label(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

}  // namespace

std::string crossing_json(const QuotaCrossing& c, std::int64_t at_unix_ms) {
  return fmt::format(
      R"({{"event":"quota_threshold","tenant":"{}","key_id":"{}","quota":"{}","threshold":{},)"
      R"("used":{},"limit":{},"period":"{}","at":"{}"}})",
      json_escape(c.tenant), json_escape(c.key_id), json_escape(c.quota), c.threshold, c.used,
      c.limit, json_escape(c.period), rfc3339_utc(at_unix_ms));
}

std::int64_t threshold_count(std::int64_t limit, int pct) {
  return limit / 100 * pct + (limit % 100 * pct + 99) / 100;
}

QuotaAlerts::QuotaAlerts(std::function<void(std::string json)> webhook)
    : webhook_(std::move(webhook)) {}

void QuotaAlerts::on_count(std::string_view tenant, std::string_view key_id, std::string_view quota,
                           std::int64_t before, std::int64_t after, std::int64_t limit,
                           std::string_view period) {
  if (limit <= 0) return;
  for (int pct : {80, 100}) {
    const std::int64_t at = threshold_count(limit, pct);
    if (before < at && at <= after)
      emit({std::string(tenant), std::string(key_id), std::string(quota), pct, after, limit,
            std::string(period)});
  }
}

void QuotaAlerts::emit(const QuotaCrossing& c) {
  spdlog::warn("quota threshold: tenant={} key={} quota={} threshold={} used={} limit={} period={}",
               c.tenant, c.key_id.empty() ? "-" : c.key_id, c.quota, c.threshold, c.used, c.limit,
               c.period);
  {
    std::lock_guard lock(mu_);
    auto series = std::make_tuple(c.tenant, c.quota, c.threshold);
    if (counts_.size() >= kMaxSeries && !counts_.contains(series)) std::get<0>(series) = "other";
    ++counts_[std::move(series)];
  }
  if (webhook_) webhook_(crossing_json(c, unix_now_ms()));
}

void QuotaAlerts::render_metrics(std::string& out) const {
  out +=
      "# HELP codex_relay_quota_alerts_total Quota threshold crossings (80 and 100 percent) by "
      "tenant, quota and threshold; a key's quota counts under its tenant.\n"
      "# TYPE codex_relay_quota_alerts_total counter\n";
  std::lock_guard lock(mu_);
  for (const auto& [series, n] : counts_)
    fmt::format_to(std::back_inserter(out),
                   "codex_relay_quota_alerts_total{{tenant=\"{}\",quota=\"{}\",threshold=\"{}\"}} "
                   "{}\n",
                   prometheus_label(std::get<0>(series)), prometheus_label(std::get<1>(series)),
                   std::get<2>(series), n);
}

}  // namespace relay
