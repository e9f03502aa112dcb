#include "pool/account_health.hpp"

#include <algorithm>
#include <cmath>

namespace relay::pool {

namespace {
// A provider asking for more than this is more likely confused than right; the account is
// retried (half-open) after at most an hour.
constexpr Millis kMaxRetryAfter{3'600'000};
}  // namespace

std::string_view to_string(HealthState s) {
  switch (s) {
    case HealthState::kHealthy:
      return "healthy";
    case HealthState::kCooling:
      return "cooling";
    case HealthState::kHalfOpen:
      return "half_open";
    case HealthState::kDisabled:
      return "disabled";
  }
  return "unknown";
}

HealthState AccountHealth::state(TimePoint now) const {
  if (base_ == HealthState::kCooling && now >= cooling_until_) return HealthState::kHalfOpen;
  return base_;
}

bool AccountHealth::admits(TimePoint now) const {
  switch (state(now)) {
    case HealthState::kHealthy:
      return true;
    case HealthState::kHalfOpen:
      return !probe_in_flight_;
    default:
      return false;
  }
}

void AccountHealth::begin_probe(TimePoint now) {
  // Disabled accounts are probed too (when the pool is configured to), by the background job.
  auto s = state(now);
  if (s == HealthState::kHalfOpen || s == HealthState::kDisabled) probe_in_flight_ = true;
}

void AccountHealth::enable(TimePoint) {
  base_ = HealthState::kHealthy;
  cooling_until_ = {};
  consecutive_failures_ = 0;
  half_open_successes_ = 0;
  probe_in_flight_ = false;
  error_ewma_ = 0;  // a fresh start: old errors were about the credential that was replaced
}

void AccountHealth::record(const AttemptOutcome& outcome, TimePoint now) {
  const ClassPolicy& policy = cfg_->for_class(outcome.failure);
  const bool success = outcome.failure == FailureClass::kNone;
  const bool was_probe = probe_in_flight_;
  probe_in_flight_ = false;
  if (!success && !policy.penalize) return;  // the client's fault says nothing about the account

  const double alpha = cfg_->ewma_alpha;
  error_ewma_ = alpha * (success ? 0.0 : 1.0) + (1 - alpha) * decayed_errors(now);
  last_sample_ = now;
  if (outcome.ttfb) {
    const double ms = static_cast<double>(outcome.ttfb->count());
    ttfb_ewma_ms_ = ttfb_ewma_ms_ == 0 ? ms : alpha * ms + (1 - alpha) * ttfb_ewma_ms_;
  }

  const HealthState s = state(now);
  // Healing starts the error average afresh: the account has just proved itself, and an old
  // average would make it lose every power-of-two draw, so it would never win traffic back.
  auto heal = [&] { enable(now); };
  if (!success && outcome.after_commit) return;  // the score took it; no circuit to open
  if (success) {
    if (s == HealthState::kHealthy) {
      consecutive_failures_ = 0;
    } else if (s == HealthState::kHalfOpen) {
      // Any success in half-open counts, the probe's or a long request's that began earlier:
      // either way the account answered.
      if (++half_open_successes_ >= cfg_->half_open_successes) heal();
    } else if (s == HealthState::kDisabled && was_probe) {
      heal();  // the background probe shows the credential works again
    }
    return;  // a late success while cooling does not cut the window short
  }

  last_failure_ = outcome.failure;
  if (policy.disables) {
    base_ = HealthState::kDisabled;
    return;
  }
  if (s == HealthState::kCooling) {
    // Requests that were in flight when the window opened fail late; they must not escalate
    // the window as if each were a new failure. A longer Retry-After still extends it.
    if (outcome.failure == FailureClass::kRateLimited && outcome.retry_after)
      cooling_until_ =
          std::max(cooling_until_, now + std::min(*outcome.retry_after, kMaxRetryAfter));
    return;
  }
  if (s == HealthState::kDisabled) return;

  // Healthy or half-open: open the circuit for base * 2^(failures-1), capped.
  ++consecutive_failures_;
  Millis window = policy.base_cooldown;
  for (int i = 1; i < consecutive_failures_ && window > Millis{0} && window < policy.max_cooldown;
       ++i)
    window *= 2;
  window = std::min(window, policy.max_cooldown);
  if (outcome.failure == FailureClass::kRateLimited && outcome.retry_after)
    window = std::max(window, std::min(*outcome.retry_after, kMaxRetryAfter));
  base_ = HealthState::kCooling;
  cooling_until_ = now + window;
  half_open_successes_ = 0;
}

void AccountHealth::adopt_cooling(TimePoint until, Millis window, FailureClass cause) {
  if (base_ == HealthState::kDisabled) return;
  if (base_ == HealthState::kCooling && cooling_until_ >= until) return;
  const ClassPolicy& policy = cfg_->for_class(cause);
  int level = 1;
  for (Millis w = policy.base_cooldown; w > Millis{0} && w < window && w < policy.max_cooldown;
       w *= 2)
    ++level;
  consecutive_failures_ = std::max(consecutive_failures_, level);
  base_ = HealthState::kCooling;
  cooling_until_ = until;
  half_open_successes_ = 0;
  last_failure_ = cause;
}

void AccountHealth::adopt_disable(FailureClass cause) {
  base_ = HealthState::kDisabled;
  last_failure_ = cause;
}

double AccountHealth::decayed_errors(TimePoint now) const {
  if (error_ewma_ == 0 || now <= last_sample_ || cfg_->error_half_life.count() <= 0)
    return error_ewma_;
  const double halves = std::chrono::duration<double>(now - last_sample_).count() /
                        std::chrono::duration<double>(cfg_->error_half_life).count();
  return error_ewma_ * std::exp2(-halves);
}

double AccountHealth::score(TimePoint now) const {
  // score = max(1 - error_rate, 0.01) / (1 + ttfb_ms / 1000), halved while half-open.
  // Falls as errors or latency grow; never 0 for an account that can take traffic, so that 0
  // keeps meaning "cannot" (cooling, disabled).
  const HealthState s = state(now);
  if (s == HealthState::kCooling || s == HealthState::kDisabled) return 0;
  double v = std::max(1 - decayed_errors(now), 0.01) / (1 + ttfb_ewma_ms_ / 1000);
  return s == HealthState::kHalfOpen ? v / 2 : v;
}

}  // namespace relay::pool
