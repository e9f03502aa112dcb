// The admit phase against the in-process counter store, on a fixed clock.
#include "relay/admit.hpp"

#include <gtest/gtest.h>

#include "counter_store_suite.hpp"
#include "limits/in_process_counter_store.hpp"

namespace relay {
namespace {

using limits::test::run;

// 2026-11-27 10:00:00 UTC
constexpr std::int64_t kNow = 1'795'773'600'000;

class AdmitTest : public ::testing::Test {
 protected:
  Admission admit_now(const store::TenantLimits& l, std::int64_t now = kNow) {
    store::SnapshotKey k;
    k.tenant_name = "team";
    k.limits = l;
    return run(io, admit(k, counters, {}, now));
  }
  void settle(Admission& a, std::int64_t tokens, std::int64_t now = kNow) {
    run(io, a.settle(counters, tokens, now));
  }
  std::int64_t counter(const std::string& key) { return counters.read_counter_now(key, kNow); }
  static const std::string* header(const Admission& a, std::string_view name) {
    return http::find_header(a.headers, name);
  }

  boost::asio::io_context io;
  limits::InProcessCounterStore counters;
};

TEST_F(AdmitTest, UnlimitedTenantIsAdmittedWithoutHeadersButCounted) {
  auto a = admit_now({});
  EXPECT_FALSE(a.refused);
  EXPECT_TRUE(a.headers.empty());
  settle(a, 100);
  EXPECT_EQ(counter("usage:team:day:2026-11-27:requests"), 1);
  EXPECT_EQ(counter("usage:team:day:2026-11-27:tokens"), 100);
  EXPECT_EQ(counter("usage:team:month:2026-11:tokens"), 100);
}

TEST_F(AdmitTest, RpsBurstThenRefusalWithRetryAfterAndHeaders) {
  store::TenantLimits l;
  l.rps = 3;
  for (int i = 0; i < 3; ++i) {
    auto a = admit_now(l);
    ASSERT_FALSE(a.refused) << i;
    EXPECT_EQ(*header(a, "x-ratelimit-limit-requests"), "3");
    EXPECT_EQ(*header(a, "x-ratelimit-remaining-requests"), std::to_string(2 - i));
  }
  auto r = admit_now(l);
  ASSERT_TRUE(r.refused);
  EXPECT_EQ(*r.refused, ErrorCode::kTenantRateLimited);
  EXPECT_EQ(r.retry_after_s, 1);
  EXPECT_EQ(*header(r, "x-ratelimit-remaining-requests"), "0");
  EXPECT_FALSE(admit_now(l, kNow + 1000).refused);
}

TEST_F(AdmitTest, HeadersDescribeThePerMinuteLimiterWhenBothAreSet) {
  store::TenantLimits l;
  l.rps = 10;
  l.rpm = 2;
  auto a = admit_now(l);
  EXPECT_EQ(*header(a, "x-ratelimit-limit-requests"), "2");
  EXPECT_EQ(*header(a, "x-ratelimit-reset-requests"), "30s");
  admit_now(l);
  auto r = admit_now(l);
  ASSERT_TRUE(r.refused);
  EXPECT_EQ(r.retry_after_s, 30);
}

TEST_F(AdmitTest, ConcurrencyLeaseHeldUntilSettleAndRefusalKeepsTheRate) {
  store::TenantLimits l;
  l.concurrency = 1;
  l.rps = 5;
  auto first = admit_now(l);
  ASSERT_FALSE(first.refused);
  auto second = admit_now(l);
  ASSERT_TRUE(second.refused);
  EXPECT_EQ(*second.refused, ErrorCode::kTenantConcurrencyLimited);
  EXPECT_EQ(second.retry_after_s, 1);
  // Refused before the rate limiter: the burst still has 4 of 5, and the headers say so.
  EXPECT_EQ(*header(second, "x-ratelimit-remaining-requests"), "4");
  settle(first, 0);
  auto third = admit_now(l);
  EXPECT_FALSE(third.refused);
  EXPECT_EQ(*header(third, "x-ratelimit-remaining-requests"), "3");
}

TEST_F(AdmitTest, QuotasRefuseUntilTheEndOfTheUtcPeriod) {
  store::TenantLimits l;
  l.daily_requests = 2;
  for (int i = 0; i < 2; ++i) {
    auto a = admit_now(l);
    ASSERT_FALSE(a.refused);
    settle(a, 0);
  }
  auto r = admit_now(l);
  ASSERT_TRUE(r.refused);
  EXPECT_EQ(*r.refused, ErrorCode::kTenantQuotaExceeded);
  EXPECT_EQ(r.retry_after_s, 14 * 3600);                        // 10:00 -> midnight
  EXPECT_FALSE(admit_now(l, kNow + 14 * 3600 * 1000).refused);  // a new day

  store::TenantLimits t;
  t.monthly_tokens = 1000;
  auto a = admit_now(t);
  settle(a, 1500);  // the request that crosses the limit is served...
  auto b = admit_now(t);
  ASSERT_TRUE(b.refused);                            // ...the next one is not
  EXPECT_EQ(b.retry_after_s, (4 * 24 - 10) * 3600);  // until 2026-12-01T00:00Z
}

TEST(AdmitTime, UtcPeriodsAndDurations) {
  EXPECT_EQ(utc_day(kNow), "2026-11-27");
  EXPECT_EQ(utc_month(kNow), "2026-11");
  EXPECT_EQ(utc_day_end_ms(kNow), kNow + 14 * 3600 * 1000);
  EXPECT_EQ(utc_month_end_ms(kNow), 1'796'083'200'000);  // 2026-12-01T00:00:00Z
  EXPECT_EQ(openai_duration(20), "20ms");
  EXPECT_EQ(openai_duration(1000), "1s");
  EXPECT_EQ(openai_duration(59'500), "59.5s");
  EXPECT_EQ(openai_duration(360'000), "6m0s");
}

}  // namespace
}  // namespace relay
