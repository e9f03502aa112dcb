#include <gtest/gtest.h>

#include "pool/account_health.hpp"

namespace relay::pool {
namespace {

using namespace std::chrono_literals;

class AccountHealthTest : public ::testing::Test {
 protected:
  // A fake clock: tests move `now` by hand.
  TimePoint now = TimePoint{} + 1000h;
  PoolConfig cfg;

  static AttemptOutcome fail(FailureClass c, std::optional<Millis> retry_after = std::nullopt) {
    return {c, retry_after, std::nullopt};
  }
  static AttemptOutcome ok(std::optional<Millis> ttfb = std::nullopt) {
    return {FailureClass::kNone, std::nullopt, ttfb};
  }
  // Fails from healthy or half-open and returns the cooling window that opened.
  Millis fail_window(AccountHealth& h, FailureClass c = FailureClass::kServerError) {
    h.record(fail(c), now);
    EXPECT_EQ(h.state(now), HealthState::kCooling);
    return std::chrono::duration_cast<Millis>(h.cooling_until() - now);
  }
  // Moves the clock to the end of the current window: the account is half-open.
  void wait_out(const AccountHealth& h) { now = h.cooling_until(); }
};

TEST_F(AccountHealthTest, StartsHealthy) {
  AccountHealth h(cfg);
  EXPECT_EQ(h.state(now), HealthState::kHealthy);
  EXPECT_TRUE(h.admits(now));
  EXPECT_DOUBLE_EQ(h.score(now), 1.0);
  EXPECT_EQ(h.consecutive_failures(), 0);
  EXPECT_EQ(h.last_failure(), FailureClass::kNone);
}

TEST_F(AccountHealthTest, FailureCoolsThenWindowEndsInHalfOpen) {
  AccountHealth h(cfg);
  EXPECT_EQ(fail_window(h), 1000ms);  // kServerError base
  EXPECT_FALSE(h.admits(now));
  EXPECT_EQ(h.score(now), 0);
  EXPECT_EQ(h.last_failure(), FailureClass::kServerError);
  EXPECT_EQ(h.state(now + 999ms), HealthState::kCooling);
  EXPECT_EQ(h.state(now + 1000ms), HealthState::kHalfOpen);
  EXPECT_TRUE(h.admits(now + 1000ms));
}

TEST_F(AccountHealthTest, WindowDoublesPerConsecutiveFailureUpToTheCap) {
  AccountHealth h(cfg);
  const Millis want[] = {1s, 2s, 4s, 8s, 16s, 32s, 60s, 60s};
  for (Millis w : want) {
    EXPECT_EQ(fail_window(h), w);
    wait_out(h);
    ASSERT_EQ(h.state(now), HealthState::kHalfOpen);
    h.begin_probe(now);
  }
  EXPECT_EQ(h.consecutive_failures(), 8);
}

TEST_F(AccountHealthTest, ConfiguredPolicyIsUsed) {
  cfg.policy[static_cast<int>(FailureClass::kTimeout)] = {100ms, 250ms, false, true};
  AccountHealth h(cfg);
  for (Millis w : {100ms, 200ms, 250ms}) {
    EXPECT_EQ(fail_window(h, FailureClass::kTimeout), w);
    wait_out(h);
  }
}

TEST_F(AccountHealthTest, HalfOpenAdmitsOneProbeAtATimeAndHealsAfterNSuccesses) {
  AccountHealth h(cfg);  // half_open_successes = 2
  fail_window(h);
  wait_out(h);
  ASSERT_TRUE(h.admits(now));
  h.begin_probe(now);
  EXPECT_TRUE(h.probe_in_flight());
  EXPECT_FALSE(h.admits(now));  // the second request waits for the probe
  EXPECT_EQ(h.state(now), HealthState::kHalfOpen);
  h.record(ok(), now);
  EXPECT_FALSE(h.probe_in_flight());
  EXPECT_EQ(h.state(now), HealthState::kHalfOpen);  // one of two
  EXPECT_TRUE(h.admits(now));
  h.begin_probe(now);
  h.record(ok(), now);
  EXPECT_EQ(h.state(now), HealthState::kHealthy);
  EXPECT_EQ(h.consecutive_failures(), 0);
  // Healed: the next failure starts over at the base window.
  EXPECT_EQ(fail_window(h), 1000ms);
}

TEST_F(AccountHealthTest, OneSuccessHealsWhenConfigured) {
  cfg.half_open_successes = 1;
  AccountHealth h(cfg);
  fail_window(h);
  wait_out(h);
  h.begin_probe(now);
  h.record(ok(), now);
  EXPECT_EQ(h.state(now), HealthState::kHealthy);
}

TEST_F(AccountHealthTest, FailureInHalfOpenReopensWithALongerWindow) {
  AccountHealth h(cfg);
  fail_window(h);
  wait_out(h);
  h.begin_probe(now);
  h.record(ok(), now);  // one success is not enough
  h.begin_probe(now);
  EXPECT_EQ(fail_window(h), 2000ms);
  EXPECT_FALSE(h.probe_in_flight());
  EXPECT_EQ(h.consecutive_failures(), 2);
  wait_out(h);
  h.begin_probe(now);
  h.record(ok(), now);  // the success count restarted: still half-open
  EXPECT_EQ(h.state(now), HealthState::kHalfOpen);
}

TEST_F(AccountHealthTest, RetryAfterSetsTheRateLimitWindowEvenPastTheCap) {
  AccountHealth h(cfg);
  h.record(fail(FailureClass::kRateLimited, 10min), now);  // cap is 5 min
  EXPECT_EQ(h.cooling_until(), now + 10min);
  wait_out(h);
  h.record(fail(FailureClass::kRateLimited, 5h), now);  // absurd: capped at 1 h
  EXPECT_EQ(h.cooling_until(), now + 1h);
  wait_out(h);
  h.record(fail(FailureClass::kRateLimited, 10ms), now);  // shorter than the backoff: backoff
  EXPECT_EQ(h.cooling_until(), now + 4s);
}

TEST_F(AccountHealthTest, RetryAfterOnlyShapesRateLimitWindows) {
  AccountHealth h(cfg);
  h.record(fail(FailureClass::kServerError, 30s), now);
  EXPECT_EQ(h.cooling_until(), now + 1s);
}

TEST_F(AccountHealthTest, LateFailuresWhileCoolingDoNotEscalate) {
  AccountHealth h(cfg);
  fail_window(h);
  const TimePoint until = h.cooling_until();
  h.record(fail(FailureClass::kServerError), now + 100ms);  // in flight when the window opened
  h.record(ok(), now + 200ms);                              // nor does a late success end it early
  EXPECT_EQ(h.cooling_until(), until);
  EXPECT_EQ(h.consecutive_failures(), 1);
  EXPECT_EQ(h.state(now + 200ms), HealthState::kCooling);
  h.record(fail(FailureClass::kRateLimited, 20s), now + 300ms);  // a longer Retry-After extends
  EXPECT_EQ(h.cooling_until(), now + 300ms + 20s);
}

TEST_F(AccountHealthTest, CredentialFailureDisablesUntilEnabled) {
  AccountHealth h(cfg);
  h.record(fail(FailureClass::kAuth), now);
  EXPECT_EQ(h.state(now), HealthState::kDisabled);
  EXPECT_FALSE(h.admits(now));
  EXPECT_EQ(h.score(now), 0);
  now += 24h;
  EXPECT_EQ(h.state(now), HealthState::kDisabled);  // no window: it stays off
  h.record(ok(), now);  // a late success of an older request does not re-enable
  EXPECT_EQ(h.state(now), HealthState::kDisabled);
  h.enable(now);
  EXPECT_EQ(h.state(now), HealthState::kHealthy);
  EXPECT_TRUE(h.admits(now));
  EXPECT_EQ(h.consecutive_failures(), 0);
  EXPECT_EQ(h.error_rate(now), 0);
}

TEST_F(AccountHealthTest, CredentialFailureDisablesFromCoolingAndHalfOpen) {
  AccountHealth cooling(cfg), half_open(cfg);
  fail_window(cooling);
  cooling.record(fail(FailureClass::kAuth), now);
  EXPECT_EQ(cooling.state(now + 1h), HealthState::kDisabled);
  fail_window(half_open);
  wait_out(half_open);
  half_open.begin_probe(now);
  half_open.record(fail(FailureClass::kAuth), now);
  EXPECT_EQ(half_open.state(now + 1h), HealthState::kDisabled);
  EXPECT_EQ(half_open.last_failure(), FailureClass::kAuth);
}

TEST_F(AccountHealthTest, SuccessfulProbeReenablesADisabledAccount) {
  AccountHealth h(cfg);
  h.record(fail(FailureClass::kAuth), now);
  h.begin_probe(now);
  EXPECT_TRUE(h.probe_in_flight());
  EXPECT_FALSE(h.admits(now));
  h.record(fail(FailureClass::kAuth), now);  // still bad
  EXPECT_EQ(h.state(now), HealthState::kDisabled);
  EXPECT_FALSE(h.probe_in_flight());
  h.begin_probe(now);
  h.record(ok(), now);
  EXPECT_EQ(h.state(now), HealthState::kHealthy);
}

TEST_F(AccountHealthTest, EnableHealsCoolingToo) {
  AccountHealth h(cfg);
  fail_window(h);
  h.enable(now);
  EXPECT_EQ(h.state(now), HealthState::kHealthy);
  EXPECT_EQ(fail_window(h), 1000ms);
}

TEST_F(AccountHealthTest, ClientErrorsNeverPenalize) {
  AccountHealth h(cfg);
  for (int i = 0; i < 20; ++i) h.record(fail(FailureClass::kClientError), now);
  EXPECT_EQ(h.state(now), HealthState::kHealthy);
  EXPECT_EQ(h.error_rate(now), 0);
  EXPECT_EQ(h.consecutive_failures(), 0);
  EXPECT_EQ(h.last_failure(), FailureClass::kNone);
  // Nor in half-open: the probe ends, but it neither heals nor reopens.
  fail_window(h);
  wait_out(h);
  h.begin_probe(now);
  h.record(fail(FailureClass::kClientError), now);
  EXPECT_EQ(h.state(now), HealthState::kHalfOpen);
  EXPECT_TRUE(h.admits(now));
}

TEST_F(AccountHealthTest, MovingAverages) {
  AccountHealth h(cfg);  // alpha 0.2
  EXPECT_EQ(h.ttfb_ms(), 0);
  h.record(ok(100ms), now);
  EXPECT_DOUBLE_EQ(h.ttfb_ms(), 100);  // the first sample sets it
  h.record(ok(200ms), now);
  EXPECT_DOUBLE_EQ(h.ttfb_ms(), 120);
  h.record(ok(), now);  // no head: ttfb unchanged
  EXPECT_DOUBLE_EQ(h.ttfb_ms(), 120);
  EXPECT_DOUBLE_EQ(h.error_rate(now), 0);
  h.record(fail(FailureClass::kServerError), now);
  EXPECT_DOUBLE_EQ(h.error_rate(now), 0.2);
  h.record(fail(FailureClass::kClientError), now);
  EXPECT_DOUBLE_EQ(h.error_rate(now), 0.2);
  h.record(ok(), now);  // late success while cooling still feeds the average
  EXPECT_DOUBLE_EQ(h.error_rate(now), 0.16);
}

TEST_F(AccountHealthTest, ScoreFallsWithErrorsAndLatencyAndHalvesInHalfOpen) {
  cfg.error_half_life = Millis{0};  // exact figures: no decay while the window passes
  AccountHealth fast(cfg), slow(cfg);
  fast.record(ok(0ms), now);
  slow.record(ok(1000ms), now);
  EXPECT_DOUBLE_EQ(fast.score(now), 1.0);
  EXPECT_DOUBLE_EQ(slow.score(now), 0.5);

  AccountHealth flaky(cfg);
  flaky.record(fail(FailureClass::kServerError), now);  // error rate 0.2
  EXPECT_EQ(flaky.score(now), 0);                       // cooling
  wait_out(flaky);
  EXPECT_DOUBLE_EQ(flaky.score(now), 0.8 / 2);  // half-open
  flaky.begin_probe(now);
  flaky.record(ok(), now);
  flaky.begin_probe(now);
  flaky.record(ok(), now);
  EXPECT_EQ(flaky.state(now), HealthState::kHealthy);
  // Healed: a fresh start, so it competes with the fast account on equal terms again.
  EXPECT_DOUBLE_EQ(flaky.score(now), fast.score(now));
}

TEST_F(AccountHealthTest, ErrorAverageFadesWithoutSamples) {
  cfg.error_half_life = Millis{30'000};
  AccountHealth h(cfg);
  AttemptOutcome cut = fail(FailureClass::kServerError);
  cut.after_commit = true;  // lowers the score without cooling, so the score stays readable
  for (int i = 0; i < 5; ++i) h.record(cut, now);
  const double fresh = h.score(now);
  EXPECT_LT(fresh, 0.7);
  now += Millis{30'000};
  EXPECT_NEAR(1 - h.score(now), (1 - fresh) / 2, 1e-9);  // one half-life: half the errors
  now += Millis{300'000};
  EXPECT_NEAR(h.score(now), 1.0, 0.001);
}

TEST_F(AccountHealthTest, FailureAfterCommitLowersScoreButOpensNoCircuit) {
  AccountHealth h(cfg);
  AttemptOutcome cut = fail(FailureClass::kServerError);
  cut.after_commit = true;
  h.record(cut, now);
  EXPECT_EQ(h.state(now), HealthState::kHealthy);
  EXPECT_TRUE(h.admits(now));
  EXPECT_LT(h.score(now), 1.0);
  EXPECT_EQ(h.consecutive_failures(), 0);
}

TEST_F(AccountHealthTest, StateNames) {
  EXPECT_EQ(to_string(HealthState::kHealthy), "healthy");
  EXPECT_EQ(to_string(HealthState::kCooling), "cooling");
  EXPECT_EQ(to_string(HealthState::kHalfOpen), "half_open");
  EXPECT_EQ(to_string(HealthState::kDisabled), "disabled");
}

}  // namespace
}  // namespace relay::pool
