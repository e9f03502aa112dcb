#include "metrics/request_metrics.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <string_view>
#include <vector>

namespace relay::metrics {

namespace {

// From a 5 ms first byte to a 5 minute reasoning stream.
std::vector<double> latency_buckets() {
  return {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300};
}

// Two stream values plus the slot every family keeps for "other".
constexpr std::size_t kStreamMaxSeries = 3;

double seconds(std::int64_t ms) {
  return static_cast<double>(std::max<std::int64_t>(ms, 0)) / 1000.0;
}

}  // namespace

RequestMetrics::RequestMetrics()
    : responses_("codex_relay_responses_total",
                 "Requests by the HTTP status sent to the client (0: none was sent) and the "
                 "relay's error code (empty: none).",
                 {"status", "code"}, kResponsesMaxSeries),
      ttfb_("codex_relay_ttfb_seconds",
            "Time from accepting a request to the first byte sent to its client.", {"stream"},
            latency_buckets(), kStreamMaxSeries),
      duration_("codex_relay_request_duration_seconds",
                "Time from accepting a request to the end of its response.", {"stream"},
                latency_buckets(), kStreamMaxSeries),
      tokens_("codex_relay_tokens_total",
              "Tokens reported by the provider, by tenant, requested model and kind (cached is "
              "part of input, reasoning part of output).",
              {"tenant", "model", "kind"}, kTokensMaxSeries),
      usage_incomplete_("codex_relay_usage_incomplete_total",
                        "Responses that ended without their usage, so their tokens are what was "
                        "seen, possibly none.",
                        {"tenant"}, kUsageIncompleteMaxSeries) {}

void RequestMetrics::observe(const records::UsageRecord& r) {
  const std::string status = std::to_string(r.status);
  responses_.add({status, r.error_code});

  const std::string_view stream = r.stream ? "true" : "false";
  if (r.ttfb_ms >= 0) ttfb_.observe({stream}, seconds(r.ttfb_ms));
  duration_.observe({stream}, seconds(r.duration_ms));

  // Zero counts make no series: a refused request must not take a slot under the cap.
  const std::array<std::pair<std::string_view, std::int64_t>, 4> tokens{{
      {"input", r.input_tokens},
      {"cached", r.cached_tokens},
      {"output", r.output_tokens},
      {"reasoning", r.reasoning_tokens},
  }};
  for (const auto& [kind, count] : tokens)
    if (count > 0) tokens_.add({r.tenant, r.model, kind}, static_cast<double>(count));

  if (r.usage_incomplete) usage_incomplete_.add({r.tenant});
}

void RequestMetrics::render(std::string& out) const {
  responses_.render(out);
  ttfb_.render(out);
  duration_.render(out);
  tokens_.render(out);
  usage_incomplete_.render(out);
}

}  // namespace relay::metrics
