// GCRA math on a fake clock: the formulas of src/limits/gcra.hpp, checked against counts and
// instants worked out by hand, and against long simulated runs.
#include "limits/gcra.hpp"

#include <gtest/gtest.h>

#include <cstdint>

namespace relay::limits::gcra {
namespace {

// A key under steady pressure: one request every `step_ms` from `start_ms` until `end_ms`
// (exclusive), storing the TAT as a backend would. Returns how many were admitted.
std::int64_t hammer(std::int64_t limit, std::int64_t period_ms, std::int64_t burst,
                    std::int64_t start_ms, std::int64_t end_ms, std::int64_t step_ms,
                    std::int64_t& tat_us) {
  std::int64_t admitted = 0;
  for (std::int64_t now = start_ms; now < end_ms; now += step_ms) {
    const Decision d = decide(tat_us, now, limit, period_ms, burst);
    if (d.allowed) ++admitted;
    tat_us = d.tat_us;
  }
  return admitted;
}

TEST(GcraTest, EmissionIntervalRoundsUpToWholeMicroseconds) {
  EXPECT_EQ(emission_interval_us(10, 1000), 100'000);
  EXPECT_EQ(emission_interval_us(7, 60'000), 8'571'429);  // 8571428.57..., rounded up
  EXPECT_EQ(emission_interval_us(3, 1000), 333'334);
  EXPECT_EQ(emission_interval_us(5'000'000, 1000), 1);  // faster than 1/us: at least 1 us
  EXPECT_EQ(emission_interval_us(0, 1000), 0);
  EXPECT_EQ(emission_interval_us(10, 0), 0);
}

TEST(GcraTest, FreshKeyAdmitsTheBurstAtOnceThenRefusesWithExactRetryAfter) {
  // 10 rps, burst 5: T = 100 ms, tau = 400 ms.
  std::int64_t tat = 0;
  const std::int64_t now = 1'000'000;
  for (std::int64_t i = 0; i < 5; ++i) {
    const Decision d = decide(tat, now, 10, 1000, 5);
    ASSERT_TRUE(d.allowed) << "request " << i;
    EXPECT_EQ(d.limit, 5);
    EXPECT_EQ(d.remaining, 4 - i);
    EXPECT_EQ(d.reset_ms, (i + 1) * 100);  // each request adds one T until the burst is back
    EXPECT_EQ(d.retry_after_ms, 0);
    tat = d.tat_us;
  }
  const Decision refused = decide(tat, now, 10, 1000, 5);
  EXPECT_FALSE(refused.allowed);
  EXPECT_EQ(refused.remaining, 0);
  EXPECT_EQ(refused.reset_ms, 500);
  EXPECT_EQ(refused.retry_after_ms, 100);
  EXPECT_EQ(refused.tat_us, tat);  // a refusal consumes nothing

  // One millisecond early is still too early; exactly retry_after later passes.
  EXPECT_FALSE(decide(tat, now + 99, 10, 1000, 5).allowed);
  const Decision later = decide(tat, now + 100, 10, 1000, 5);
  EXPECT_TRUE(later.allowed);
  EXPECT_EQ(later.remaining, 0);
}

TEST(GcraTest, BurstOfOneSpacesRequestsByTheEmissionInterval) {
  std::int64_t tat = 0;
  const Decision first = decide(tat, 0, 2, 1000, 1);
  ASSERT_TRUE(first.allowed);
  EXPECT_EQ(first.limit, 1);
  EXPECT_EQ(first.remaining, 0);
  EXPECT_EQ(first.reset_ms, 500);
  tat = first.tat_us;
  const Decision second = decide(tat, 200, 2, 1000, 1);
  EXPECT_FALSE(second.allowed);
  EXPECT_EQ(second.retry_after_ms, 300);
  EXPECT_TRUE(decide(tat, 500, 2, 1000, 1).allowed);
}

TEST(GcraTest, RetryAfterRoundsUpSoWaitingItOutAlwaysPasses) {
  // 3 rps: T = 333334 us; after one request the next is due at 333.334 ms.
  const Decision first = decide(0, 0, 3, 1000, 1);
  const Decision refused = decide(first.tat_us, 0, 3, 1000, 1);
  ASSERT_FALSE(refused.allowed);
  EXPECT_EQ(refused.retry_after_ms, 334);
  EXPECT_FALSE(decide(first.tat_us, 333, 3, 1000, 1).allowed);
  EXPECT_TRUE(decide(first.tat_us, 334, 3, 1000, 1).allowed);
}

TEST(GcraTest, PartlyRecoveredBurstReportsRemainingAndReset) {
  // 10 rps, burst 5, all five used at t=0 (TAT = 500 ms). At t=250 ms two and a half T have
  // passed: this request and one more pass, the one after that does not.
  std::int64_t tat = 0;
  for (int i = 0; i < 5; ++i) tat = decide(tat, 0, 10, 1000, 5).tat_us;
  const Decision d = decide(tat, 250, 10, 1000, 5);
  ASSERT_TRUE(d.allowed);
  EXPECT_EQ(d.remaining, 1);
  EXPECT_EQ(d.reset_ms, 350);  // new TAT 600 ms
  const Decision next = decide(d.tat_us, 250, 10, 1000, 5);
  ASSERT_TRUE(next.allowed);
  EXPECT_EQ(next.remaining, 0);
  const Decision refused = decide(next.tat_us, 250, 10, 1000, 5);
  EXPECT_FALSE(refused.allowed);
  EXPECT_EQ(refused.retry_after_ms, 50);  // TAT 700 - tau 400 = 300 ms
}

TEST(GcraTest, IdleKeyGetsItsFullBurstBack) {
  std::int64_t tat = 0;
  for (int i = 0; i < 5; ++i) tat = decide(tat, 0, 10, 1000, 5).tat_us;
  EXPECT_FALSE(decide(tat, 0, 10, 1000, 5).allowed);
  // At the reset instant (TAT = 500 ms) all five are available again, not more.
  std::int64_t admitted = 0;
  for (int i = 0; i < 10; ++i) {
    const Decision d = decide(tat, 500, 10, 1000, 5);
    if (d.allowed) ++admitted;
    tat = d.tat_us;
  }
  EXPECT_EQ(admitted, 5);
}

TEST(GcraTest, TenRpsOverTenSecondsAdmitsOneHundredPlusBurstMinusOne) {
  for (std::int64_t burst : {1, 5, 20}) {
    std::int64_t tat = 0;
    const std::int64_t start = 1'764'000'000'000;  // a realistic unix-ms clock
    // A client retrying every millisecond for 10 s.
    const std::int64_t admitted = hammer(10, 1000, burst, start, start + 10'000, 1, tat);
    EXPECT_NEAR(admitted, std::int64_t{10} * 10 + burst - 1, 1) << "burst " << burst;
  }
}

TEST(GcraTest, SteadyPressureAdmitsExactlyTheLimitPerPeriodInTheLongRun) {
  struct Case {
    std::int64_t limit, period_ms, burst, step_ms, duration_ms;
  };
  // Includes intervals that are not whole milliseconds (60 s / 7, 1 s / 3) and a request spacing
  // that does not divide the interval.
  for (const Case c : {Case{10, 1000, 1, 1, 600'000}, Case{7, 60'000, 3, 1, 3'600'000},
                       Case{3, 1000, 2, 7, 600'000}, Case{100, 1000, 10, 1, 60'000},
                       Case{1000, 60'000, 50, 13, 3'600'000}}) {
    std::int64_t tat = 0;
    const std::int64_t admitted =
        hammer(c.limit, c.period_ms, c.burst, 0, c.duration_ms, c.step_ms, tat);
    const std::int64_t expected = c.limit * c.duration_ms / c.period_ms + c.burst - 1;
    EXPECT_NEAR(admitted, expected, 1)
        << c.limit << "/" << c.period_ms << "ms burst " << c.burst << " step " << c.step_ms;
    EXPECT_LE(admitted, expected + 1);
  }
}

TEST(GcraTest, RequestsBelowTheRateAreAllAdmitted) {
  std::int64_t tat = 0;
  // 10 rps allowed, one request every 150 ms: never refused, even with burst 1.
  EXPECT_EQ(hammer(10, 1000, 1, 0, 60'000, 150, tat), 400);
}

TEST(GcraTest, RefusalsDoNotDelayTheNextAdmission) {
  // A client hammering while refused gets the same admissions as one that waits politely.
  std::int64_t polite = 0;
  std::int64_t rude = 0;
  const std::int64_t polite_admitted = hammer(5, 1000, 1, 0, 10'000, 200, polite);
  const std::int64_t rude_admitted = hammer(5, 1000, 1, 0, 10'000, 1, rude);
  EXPECT_EQ(polite_admitted, 50);
  EXPECT_EQ(rude_admitted, 50);
}

TEST(GcraTest, ClockSkewBetweenNodesDoesNotRaiseTheRate) {
  // Two nodes share one TAT; node B's clock runs 40 ms behind node A's. Both hammer.
  std::int64_t tat = 0;
  std::int64_t admitted = 0;
  for (std::int64_t now = 0; now < 60'000; ++now) {
    for (std::int64_t node_now : {now, now - 40}) {
      const Decision d = decide(tat, node_now, 10, 1000, 3);
      if (d.allowed) ++admitted;
      tat = d.tat_us;
    }
  }
  EXPECT_NEAR(admitted, std::int64_t{10} * 60 + 3 - 1, 1);
}

TEST(GcraTest, NonPositiveLimitOrPeriodIsNotLimited) {
  for (int i = 0; i < 3; ++i) {
    const Decision d = decide(42, 1000, 0, 1000, 5);
    EXPECT_TRUE(d.allowed);
    EXPECT_EQ(d.limit, 0);
    EXPECT_EQ(d.tat_us, 42);  // nothing to store
  }
  EXPECT_TRUE(decide(0, 1000, 10, 0, 5).allowed);
  EXPECT_EQ(decide(0, 1000, 10, -5, 5).limit, 0);
}

TEST(GcraTest, BurstBelowOneMeansOne) {
  const Decision first = decide(0, 0, 10, 1000, 0);
  EXPECT_TRUE(first.allowed);
  EXPECT_EQ(first.limit, 1);
  EXPECT_FALSE(decide(first.tat_us, 0, 10, 1000, 0).allowed);
}

TEST(GcraTest, HugeParametersStayWithinBoundsWithoutOverflow) {
  // A yearly limit with an absurd burst: tau is capped, nothing wraps around.
  const std::int64_t now = 1'764'000'000'000;
  const Decision d = decide(0, now, 1, std::int64_t{365} * 24 * 3600 * 1000, std::int64_t{1} << 40);
  EXPECT_TRUE(d.allowed);
  EXPECT_GT(d.limit, 1);
  EXPECT_GE(d.remaining, 0);
  EXPECT_LT(d.tat_us - now * 1000, std::int64_t{2} * kMaxSpanUs);
  EXPECT_GT(d.reset_ms, 0);
}

}  // namespace
}  // namespace relay::limits::gcra
