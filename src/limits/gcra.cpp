#include "limits/gcra.hpp"

#include <algorithm>

// The formulas, their rounding and their bounds are documented in gcra.hpp; keep the two and
// the Redis Lua mirror in step.
namespace relay::limits::gcra {
namespace {

std::int64_t ceil_div(std::int64_t a, std::int64_t b) {
  return a / b + (a % b > 0 ? 1 : 0);
}

std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  return a / b - (a % b < 0 ? 1 : 0);
}

}  // namespace

std::int64_t emission_interval_us(std::int64_t limit, std::int64_t period_ms) {
  if (limit < 1 || period_ms < 1) return 0;
  const std::int64_t period_us = std::min(period_ms, kMaxSpanUs / 1000) * 1000;
  return std::max<std::int64_t>(1, ceil_div(period_us, limit));
}

Decision decide(std::int64_t stored_tat_us, std::int64_t now_ms, std::int64_t limit,
                std::int64_t period_ms, std::int64_t burst) {
  Decision d;
  const std::int64_t t = emission_interval_us(limit, period_ms);
  if (t == 0) {
    d.tat_us = stored_tat_us;
    return d;
  }
  // Burst is clamped so that tau stays within kMaxSpanUs (no overflow, exact in doubles).
  burst = std::clamp<std::int64_t>(burst, 1, kMaxSpanUs / t + 1);
  const std::int64_t tau = t * (burst - 1);
  const std::int64_t now = now_ms * 1000;

  const std::int64_t tat = std::max(stored_tat_us, now);
  d.allowed = tat - tau <= now;
  const std::int64_t new_tat = d.allowed ? tat + t : tat;
  d.tat_us = d.allowed ? new_tat : stored_tat_us;
  d.limit = burst;
  d.remaining = std::max<std::int64_t>(0, floor_div(t * burst - (new_tat - now), t));
  d.reset_ms = ceil_div(new_tat - now, 1000);
  d.retry_after_ms = d.allowed ? 0 : ceil_div(tat - tau - now, 1000);
  return d;
}

}  // namespace relay::limits::gcra
