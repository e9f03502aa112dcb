#pragma once
// One account's health: a circuit breaker with exponential cool-down plus moving averages.
//
//   healthy --failure--> cooling(until) --window over--> half-open --N successes--> healthy
//                 ^                                        |
//                 +------------- failure (longer window) --+
//   any --credential failure--> disabled --operator enable / successful probe--> healthy
//
// Not thread-safe: the pool guards it. Time is passed in, so tests drive a fake clock.
#include <cstdint>
#include <string_view>

#include "pool/outcome.hpp"
#include "pool/pool_config.hpp"

namespace relay::pool {

enum class HealthState { kHealthy, kCooling, kHalfOpen, kDisabled };
std::string_view to_string(HealthState s);

class AccountHealth {
 public:
  explicit AccountHealth(const PoolConfig& cfg) : cfg_(&cfg) {}

  // The state at `now`; a cooling window that has ended reads as half-open.
  HealthState state(TimePoint now) const;
  // May a request be sent now? Healthy: yes. Half-open: only while no probe is in flight
  // (the caller then calls begin_probe). Cooling, disabled: no.
  bool admits(TimePoint now) const;
  void begin_probe(TimePoint now);  // half-open: the one request let through is in flight
  void record(const AttemptOutcome& outcome, TimePoint now);
  void enable(TimePoint now);  // operator or probe: back to healthy, counters reset
  // Another node's verdict (AccountPool::adopt_shared). Cooling until `until` never shortens a
  // window and does nothing to a disabled account. `window` is the whole window the other node
  // opened: the consecutive-failure count becomes at least the level that opens such a window,
  // so a failure here after it ends escalates as it would on that node.
  void adopt_cooling(TimePoint until, Millis window, FailureClass cause);
  void adopt_disable(FailureClass cause);

  TimePoint cooling_until() const { return cooling_until_; }
  int consecutive_failures() const { return consecutive_failures_; }
  double error_rate(TimePoint now) const { return decayed_errors(now); }  // 0..1
  double ttfb_ms() const { return ttfb_ewma_ms_; }  // 0 until the first sample
  // Higher is better; 0 for an account that cannot take traffic.
  double score(TimePoint now) const;
  FailureClass last_failure() const { return last_failure_; }
  bool probe_in_flight() const { return probe_in_flight_; }
  // The trial request given in half-open ended without a verdict (it never reached the
  // account): the next request may be the trial.
  void cancel_probe() { probe_in_flight_ = false; }

 private:
  const PoolConfig* cfg_;
  HealthState base_ = HealthState::kHealthy;  // kHealthy, kCooling or kDisabled
  TimePoint cooling_until_{};
  int consecutive_failures_ = 0;
  int half_open_successes_ = 0;
  bool probe_in_flight_ = false;
  double error_ewma_ = 0;
  TimePoint last_sample_{};
  double decayed_errors(TimePoint now) const;
  double ttfb_ewma_ms_ = 0;
  FailureClass last_failure_ = FailureClass::kNone;
};

}  // namespace relay::pool
