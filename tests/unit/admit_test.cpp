// The admit phase against the in-process counter store, on a fixed clock.
#include "relay/admit.hpp"

#include <gtest/gtest.h>

#include <regex>
#include <vector>

#include "counter_store_suite.hpp"
#include "limits/in_process_counter_store.hpp"
#include "relay/quota_alerts.hpp"

namespace relay {
namespace {

using limits::test::run;

// 2026-11-27 10:00:00 UTC
constexpr std::int64_t kNow = 1'795'773'600'000;

// The in-process store through its awaitable calls only (no immediate()), as a network store
// is used: every test runs both ways, so the admit phase's two paths answer alike.
class AwaitedOnly final : public limits::CounterStore {
 public:
  explicit AwaitedOnly(limits::InProcessCounterStore& real) : real_(real) {}
  boost::asio::awaitable<limits::RateResult> rate(std::string_view k, std::int64_t l,
                                                  std::int64_t p, std::int64_t b,
                                                  std::int64_t now) override {
    return real_.rate(k, l, p, b, now);
  }
  boost::asio::awaitable<limits::RateResult> peek_rate(std::string_view k, std::int64_t l,
                                                       std::int64_t p, std::int64_t b,
                                                       std::int64_t now) override {
    return real_.peek_rate(k, l, p, b, now);
  }
  boost::asio::awaitable<limits::LeaseResult> acquire_lease(std::string_view k, std::string_view id,
                                                            std::int64_t m, std::int64_t ttl,
                                                            std::int64_t now) override {
    return real_.acquire_lease(k, id, m, ttl, now);
  }
  boost::asio::awaitable<void> renew_lease(std::string_view k, std::string_view id,
                                           std::int64_t ttl, std::int64_t now) override {
    return real_.renew_lease(k, id, ttl, now);
  }
  boost::asio::awaitable<void> release_lease(std::string_view k, std::string_view id) override {
    return real_.release_lease(k, id);
  }
  boost::asio::awaitable<std::int64_t> read_counter(std::string_view k, std::int64_t now) override {
    return real_.read_counter(k, now);
  }
  boost::asio::awaitable<std::int64_t> add_counter(std::string_view k, std::int64_t d,
                                                   std::int64_t exp, std::int64_t now) override {
    return real_.add_counter(k, d, exp, now);
  }

 private:
  limits::InProcessCounterStore& real_;
};

// Parameter: true runs admit and settle through AwaitedOnly, false on the store's immediate path.
class AdmitTest : public ::testing::TestWithParam<bool> {
 protected:
  limits::CounterStore& store() {
    if (GetParam()) return awaited;
    return counters;
  }
  Admission admit_now(const store::TenantLimits& l, std::int64_t now = kNow) {
    store::SnapshotKey k;
    k.tenant_name = "team";
    k.limits = l;
    return run(io, admit(k, store(), {}, now));
  }
  void settle(Admission& a, std::int64_t tokens, std::int64_t now = kNow) {
    run(io, a.settle(store(), tokens, now));
  }
  // A request with key `id` of tenant "team": the tenant's limits and the key's own.
  Admission admit_key(const std::string& id, const store::TenantLimits& tenant,
                      const store::TenantLimits& key, std::int64_t now = kNow) {
    store::SnapshotKey k;
    k.key_id = id;
    k.tenant_name = "team";
    k.limits = tenant;
    k.key_limits = key;
    return run(io, admit(k, store(), {}, now));
  }
  std::int64_t counter(const std::string& key) { return counters.read_counter_now(key, kNow); }
  // Live leases under a lease key (the probe takes none: max 0 does not limit).
  std::int64_t leases(const std::string& key) {
    auto n = counters.acquire_lease_now(key, "probe", 0, 1000, kNow).in_use - 1;
    counters.release_lease_now(key, "probe");
    return n;
  }
  // Requests the limiter would still admit right now.
  std::int64_t rate_left(const std::string& key, std::int64_t limit, std::int64_t period_ms) {
    return counters.peek_rate_now(key, limit, period_ms, limit, kNow).remaining;
  }
  static const std::string* header(const Admission& a, std::string_view name) {
    return http::find_header(a.headers, name);
  }

  boost::asio::io_context io;
  limits::InProcessCounterStore counters;
  AwaitedOnly awaited{counters};
};

TEST_P(AdmitTest, UnlimitedTenantIsAdmittedWithoutHeadersButCounted) {
  auto a = admit_now({});
  EXPECT_FALSE(a.refused);
  EXPECT_TRUE(a.headers.empty());
  settle(a, 100);
  EXPECT_EQ(counter("usage:team:day:2026-11-27:requests"), 1);
  EXPECT_EQ(counter("usage:team:day:2026-11-27:tokens"), 100);
  EXPECT_EQ(counter("usage:team:month:2026-11:tokens"), 100);
}

TEST_P(AdmitTest, RpsBurstThenRefusalWithRetryAfterAndHeaders) {
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

TEST_P(AdmitTest, HeadersDescribeThePerMinuteLimiterWhenBothAreSet) {
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

TEST_P(AdmitTest, ConcurrencyLeaseHeldUntilSettleAndRefusalKeepsTheRate) {
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

TEST_P(AdmitTest, QuotasRefuseUntilTheEndOfTheUtcPeriod) {
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
  EXPECT_EQ(r.retry_after_s, 14 * 3600);                                      // 10:00 -> midnight
  EXPECT_FALSE(admit_now(l, kNow + std::int64_t{14} * 3600 * 1000).refused);  // a new day

  store::TenantLimits t;
  t.monthly_tokens = 1000;
  auto a = admit_now(t);
  settle(a, 1500);  // the request that crosses the limit is served...
  auto b = admit_now(t);
  ASSERT_TRUE(b.refused);                            // ...the next one is not
  EXPECT_EQ(b.retry_after_s, (4 * 24 - 10) * 3600);  // until 2026-12-01T00:00Z
}

// ---- limits per key, on top of the tenant's

TEST(AdmitScope, KeyScopeNamesTheTenantAndTheKey) {
  EXPECT_EQ(counter_scope("team-a", "key_3f9a1c2b7d40"), "team-a/key_3f9a1c2b7d40");
  EXPECT_EQ(limits::rate_key(counter_scope("team-a", "key_3f9a1c2b7d40"), "s"),
            "rate:team-a/key_3f9a1c2b7d40:s");
  EXPECT_EQ(limits::lease_key("team-a"), "lease:team-a");
  EXPECT_EQ(limits::usage_key("team-a", "2026-11", "tokens"), "usage:team-a:2026-11:tokens");
  EXPECT_EQ(limits::usage_key("", "", ""), "usage:::");
}

// UsageKey builds the same text in place, and on the heap when it does not fit its buffer.
TEST(AdmitScope, UsageKeysInPlaceSpellTheSameAsUsageKey) {
  const std::string scope = counter_scope(std::string(64, 't'), "key_3f9a1c2b7d40");
  const std::string huge(300, 'h');
  for (const std::string& tenant : {std::string("team-a"), scope, huge, std::string()}) {
    const limits::UsageKey k(tenant, "2026-11-27", "requests");
    EXPECT_EQ(std::string_view(k), limits::usage_key(tenant, "2026-11-27", "requests"));
  }
}

TEST(AdmitScope, AnyLimitSetLooksAtTheTenantAndTheKey) {
  store::SnapshotKey k;
  EXPECT_FALSE(any_limit_set(k));
  k.key_limits.monthly_tokens = 1;
  EXPECT_TRUE(any_limit_set(k));
  k.key_limits = {};
  k.limits.concurrency = 1;
  EXPECT_TRUE(any_limit_set(k));
}

store::TenantLimits with_rps(std::int64_t rps) {
  store::TenantLimits l;
  l.rps = rps;
  return l;
}

TEST_P(AdmitTest, KeyRateRefusesWhileTheTenantAllowsAndSpendsNothingOfTheTenant) {
  const store::TenantLimits tenant = with_rps(10), key = with_rps(2);
  for (int i = 0; i < 2; ++i) ASSERT_FALSE(admit_key("key_a", tenant, key).refused) << i;
  auto r = admit_key("key_a", tenant, key);
  ASSERT_TRUE(r.refused);
  EXPECT_EQ(*r.refused, ErrorCode::kTenantRateLimited);
  EXPECT_EQ(r.message, "Rate limit reached for this key: 2 requests per second.");
  EXPECT_EQ(r.retry_after_s, 1);
  EXPECT_EQ(*header(r, "x-ratelimit-limit-requests"), "2");
  EXPECT_EQ(*header(r, "x-ratelimit-remaining-requests"), "0");
  // Hammering the key's limit leaves the tenant's budget and its request count alone.
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(admit_key("key_a", tenant, key).refused);
  EXPECT_EQ(rate_left("rate:team:s", 10, 1000), 8);
  EXPECT_EQ(counter("usage:team:day:2026-11-27:requests"), 2);
  EXPECT_EQ(counter("usage:team/key_a:day:2026-11-27:requests"), 2);
  // The tenant's other key is not limited by key_a's limit.
  for (int i = 0; i < 8; ++i) EXPECT_FALSE(admit_key("key_b", tenant, {}).refused) << i;
  auto b = admit_key("key_b", tenant, {});
  ASSERT_TRUE(b.refused);
  EXPECT_EQ(b.message, "Rate limit reached for this tenant: 10 requests per second.");
}

TEST_P(AdmitTest, TenantLimitIsSharedByItsKeys) {
  store::TenantLimits tenant;
  tenant.rpm = 3;
  ASSERT_FALSE(admit_key("key_a", tenant, {}).refused);
  ASSERT_FALSE(admit_key("key_a", tenant, {}).refused);
  auto b = admit_key("key_b", tenant, with_rps(5));
  ASSERT_FALSE(b.refused);
  EXPECT_EQ(*header(b, "x-ratelimit-limit-requests"), "3");  // the tenant's: 0 left, key's 4
  EXPECT_EQ(*header(b, "x-ratelimit-remaining-requests"), "0");
  auto refused = admit_key("key_b", tenant, with_rps(5));
  ASSERT_TRUE(refused.refused);
  EXPECT_EQ(refused.message, "Rate limit reached for this tenant: 3 requests per minute.");
  EXPECT_EQ(refused.retry_after_s, 20);
  // The tenant refused it before the key's limiter was consumed.
  EXPECT_EQ(rate_left("rate:team/key_b:s", 5, 1000), 4);
}

TEST_P(AdmitTest, KeyConcurrencyHoldsBothLeasesAndARefusalGivesTheTenantsBack) {
  store::TenantLimits tenant, key;
  tenant.concurrency = 2;
  key.concurrency = 1;
  auto a1 = admit_key("key_a", tenant, key);
  ASSERT_FALSE(a1.refused);
  EXPECT_EQ(leases("lease:team"), 1);
  EXPECT_EQ(leases("lease:team/key_a"), 1);
  auto a2 = admit_key("key_a", tenant, key);
  ASSERT_TRUE(a2.refused);
  EXPECT_EQ(*a2.refused, ErrorCode::kTenantConcurrencyLimited);
  EXPECT_EQ(a2.message, "This key already has 1 requests in flight, its limit.");
  EXPECT_EQ(leases("lease:team"), 1);  // the refused request's tenant slot is back
  auto b1 = admit_key("key_b", tenant, {});
  ASSERT_FALSE(b1.refused);
  auto b2 = admit_key("key_b", tenant, {});
  ASSERT_TRUE(b2.refused);
  EXPECT_EQ(b2.message, "This tenant already has 2 requests in flight, its limit.");
  EXPECT_EQ(leases("lease:team/key_b"), 0);  // unlimited key: no lease of its own

  settle(a1, 0);
  EXPECT_EQ(leases("lease:team"), 1);
  EXPECT_EQ(leases("lease:team/key_a"), 0);
  auto a3 = admit_key("key_a", tenant, key);
  EXPECT_FALSE(a3.refused);
  settle(a3, 0);
  settle(b1, 0);
  EXPECT_EQ(leases("lease:team"), 0);
}

TEST_P(AdmitTest, KeyQuotasAreCheckedAfterTheTenantsAndChargedToBoth) {
  store::TenantLimits tenant, key;
  tenant.daily_tokens = 1000;
  key.daily_requests = 2;
  key.monthly_tokens = 300;
  auto a = admit_key("key_a", tenant, key);
  ASSERT_FALSE(a.refused);
  settle(a, 100);
  auto b = admit_key("key_a", tenant, key);
  ASSERT_FALSE(b.refused);
  settle(b, 250);  // crosses the key's monthly tokens
  auto c = admit_key("key_a", tenant, key);
  ASSERT_TRUE(c.refused);
  EXPECT_EQ(*c.refused, ErrorCode::kTenantQuotaExceeded);
  EXPECT_EQ(c.message,
            "This key's daily request quota (2) is used up; it resets at the end of the UTC "
            "period.");
  EXPECT_EQ(c.retry_after_s, 14 * 3600);
  EXPECT_EQ(counter("usage:team/key_a:day:2026-11-27:requests"), 2);  // the refusal is not
  EXPECT_EQ(counter("usage:team/key_a:day:2026-11-27:tokens"), 350);
  EXPECT_EQ(counter("usage:team/key_a:month:2026-11:tokens"), 350);
  EXPECT_EQ(counter("usage:team:day:2026-11-27:tokens"), 350);
  EXPECT_EQ(counter("usage:team:month:2026-11:tokens"), 350);

  // A new day: the daily request quota is back, the monthly token quota is not.
  auto d = admit_key("key_a", tenant, key, kNow + std::int64_t{14} * 3600 * 1000);
  ASSERT_TRUE(d.refused);
  EXPECT_NE(d.message.find("This key's monthly token quota (300)"), std::string::npos);
  // Another key of the tenant is only held to the tenant's quota, which is checked first.
  auto other = admit_key("key_b", tenant, {});
  ASSERT_FALSE(other.refused);
  settle(other, 700);
  auto over = admit_key("key_a", tenant, key);
  ASSERT_TRUE(over.refused);
  EXPECT_NE(over.message.find("This tenant's daily token quota (1000)"), std::string::npos);
}

TEST_P(AdmitTest, HeadersDescribeTheLimiterWithTheFewestLeft) {
  store::TenantLimits tenant;
  tenant.rpm = 100;
  store::TenantLimits key = with_rps(3);
  auto a = admit_key("key_a", tenant, key);
  EXPECT_EQ(*header(a, "x-ratelimit-limit-requests"), "3");
  EXPECT_EQ(*header(a, "x-ratelimit-remaining-requests"), "2");
  EXPECT_EQ(*header(a, "x-ratelimit-reset-requests"), "334ms");

  // The tenant is tighter for key_b: its per-minute figures.
  key.rpm = 1000;
  key.rps = 200;
  auto b = admit_key("key_b", tenant, key);
  EXPECT_EQ(*header(b, "x-ratelimit-limit-requests"), "100");
  EXPECT_EQ(*header(b, "x-ratelimit-remaining-requests"), "98");

  // A refusal for a key quota peeks at all of them, and shows the tightest too.
  store::TenantLimits quota = with_rps(4);
  quota.daily_requests = 1;
  ASSERT_FALSE(admit_key("key_c", with_rps(20), quota).refused);
  auto c = admit_key("key_c", with_rps(20), quota);
  ASSERT_TRUE(c.refused);
  EXPECT_EQ(*c.refused, ErrorCode::kTenantQuotaExceeded);
  EXPECT_EQ(*header(c, "x-ratelimit-limit-requests"), "4");
  EXPECT_EQ(*header(c, "x-ratelimit-remaining-requests"), "3");  // peeked: nothing consumed
}

TEST_P(AdmitTest, ARefusedRequestConsumesNothing) {
  store::TenantLimits tenant, key;
  tenant.rps = 5;
  tenant.concurrency = 3;
  key.rps = 1;
  key.concurrency = 2;
  auto first = admit_key("key_a", tenant, key);
  ASSERT_FALSE(first.refused);
  auto by_rate = admit_key("key_a", tenant, key);
  ASSERT_TRUE(by_rate.refused);
  EXPECT_EQ(*by_rate.refused, ErrorCode::kTenantRateLimited);
  EXPECT_EQ(rate_left("rate:team:s", 5, 1000), 4);  // only the first request's
  EXPECT_EQ(leases("lease:team"), 1);
  EXPECT_EQ(leases("lease:team/key_a"), 1);
  EXPECT_EQ(counter("usage:team:day:2026-11-27:requests"), 1);
  EXPECT_EQ(counter("usage:team/key_a:day:2026-11-27:requests"), 1);
  settle(by_rate, 500);  // a refusal has nothing to charge
  EXPECT_EQ(counter("usage:team:day:2026-11-27:tokens"), 0);
  EXPECT_EQ(counter("usage:team/key_a:day:2026-11-27:tokens"), 0);
  settle(first, 0);
  EXPECT_EQ(leases("lease:team"), 0);
  EXPECT_EQ(leases("lease:team/key_a"), 0);
}

TEST_P(AdmitTest, UnlimitedKeyIsCountedPerKey) {
  auto a = admit_key("key_a", {}, {});
  EXPECT_FALSE(a.refused);
  EXPECT_TRUE(a.headers.empty());
  settle(a, 42);
  EXPECT_EQ(counter("usage:team/key_a:day:2026-11-27:requests"), 1);
  EXPECT_EQ(counter("usage:team/key_a:day:2026-11-27:tokens"), 42);
  EXPECT_EQ(counter("usage:team/key_a:month:2026-11:tokens"), 42);
  EXPECT_EQ(counter("usage:team:month:2026-11:tokens"), 42);
}

// Reads that lag behind the counts, as when another node admitted the same tenant between this
// request's quota read and its count.
class StaleReadCounters final : public limits::CounterStore {
 public:
  explicit StaleReadCounters(limits::InProcessCounterStore& real) : real_(real) {}
  boost::asio::awaitable<limits::RateResult> rate(std::string_view k, std::int64_t l,
                                                  std::int64_t p, std::int64_t b,
                                                  std::int64_t now) override {
    return real_.rate(k, l, p, b, now);
  }
  boost::asio::awaitable<limits::RateResult> peek_rate(std::string_view k, std::int64_t l,
                                                       std::int64_t p, std::int64_t b,
                                                       std::int64_t now) override {
    return real_.peek_rate(k, l, p, b, now);
  }
  boost::asio::awaitable<limits::LeaseResult> acquire_lease(std::string_view k, std::string_view id,
                                                            std::int64_t m, std::int64_t ttl,
                                                            std::int64_t now) override {
    return real_.acquire_lease(k, id, m, ttl, now);
  }
  boost::asio::awaitable<void> renew_lease(std::string_view k, std::string_view id,
                                           std::int64_t ttl, std::int64_t now) override {
    return real_.renew_lease(k, id, ttl, now);
  }
  boost::asio::awaitable<void> release_lease(std::string_view k, std::string_view id) override {
    return real_.release_lease(k, id);
  }
  boost::asio::awaitable<std::int64_t> read_counter(std::string_view /*k*/,
                                                    std::int64_t /*now*/) override {
    co_return 0;
  }
  boost::asio::awaitable<std::int64_t> add_counter(std::string_view k, std::int64_t d,
                                                   std::int64_t exp, std::int64_t now) override {
    return real_.add_counter(k, d, exp, now);
  }

 private:
  limits::InProcessCounterStore& real_;
};

TEST_P(AdmitTest, DailyRequestQuotaHoldsWhenTheReadIsStale) {
  store::TenantLimits l;
  l.daily_requests = 2;
  l.concurrency = 5;
  StaleReadCounters stale(counters);
  store::SnapshotKey k;
  k.key_id = "key_000000000001";
  k.tenant_name = "team";
  k.limits = l;
  for (int i = 0; i < 2; ++i) ASSERT_FALSE(run(io, admit(k, stale, {}, kNow)).refused) << i;
  // The read says 0 used; the count says 3 > 2: refused, and every count taken back.
  auto r = run(io, admit(k, stale, {}, kNow));
  ASSERT_TRUE(r.refused);
  EXPECT_EQ(*r.refused, ErrorCode::kTenantQuotaExceeded);
  EXPECT_EQ(r.retry_after_s, 14 * 3600);  // 10:00 to midnight UTC
  EXPECT_EQ(counter("usage:team:day:2026-11-27:requests"), 2);
  EXPECT_EQ(counter("usage:team/key_000000000001:day:2026-11-27:requests"), 2);
  EXPECT_EQ(leases("lease:team"), 2);  // the two admitted ones; the refused one gave its back
}

// ---- quota alerts: admit reports the request count, settle the tokens

class AdmitAlertsTest : public AdmitTest {
 protected:
  AdmitAlertsTest() { opts.alerts = &alerts; }
  Admission admit_alerting(const std::string& key_id, const store::TenantLimits& tenant,
                           const store::TenantLimits& key = {},
                           limits::CounterStore* store = nullptr) {
    store::SnapshotKey k;
    k.key_id = key_id;
    k.tenant_name = "team";
    k.limits = tenant;
    k.key_limits = key;
    return run(io, admit(k, store ? *store : AdmitTest::store(), opts, kNow));
  }
  // The webhook bodies so far, each as "quota threshold used/limit key_id period".
  std::vector<std::string> events() const {
    static const std::regex kBody(
        R"re(\{"event":"quota_threshold","tenant":"team","key_id":"([^"]*)","quota":"([a-z_]+)",)re"
        R"re("threshold":(\d+),"used":(\d+),"limit":(\d+),"period":"([^"]+)","at":"[^"]+"\})re");
    std::vector<std::string> out;
    for (const std::string& b : bodies) {
      std::smatch m;
      if (!std::regex_match(b, m, kBody)) {
        out.push_back("unexpected body: " + b);
        continue;
      }
      out.push_back(m[2].str() + " " + m[3].str() + " " + m[4].str() + "/" + m[5].str() + " " +
                    (m[1].length() ? m[1].str() : "-") + " " + m[6].str());
    }
    return out;
  }
  using Events = std::vector<std::string>;

  std::vector<std::string> bodies;
  QuotaAlerts alerts{[this](std::string j) { bodies.push_back(std::move(j)); }};
  AdmitOptions opts;
};

TEST_P(AdmitAlertsTest, DailyRequestsAlertAtTheFourthAndFifthOfFiveAndNotOnARefusal) {
  store::TenantLimits l;
  l.daily_requests = 5;
  for (int i = 1; i <= 3; ++i) {
    auto a = admit_alerting("", l);
    ASSERT_FALSE(a.refused) << i;
    settle(a, 10);
  }
  EXPECT_EQ(events(), Events{});
  auto fourth = admit_alerting("", l);
  ASSERT_FALSE(fourth.refused);
  EXPECT_EQ(events(), Events{"daily_requests 80 4/5 - 2026-11-27"});
  auto fifth = admit_alerting("", l);
  ASSERT_FALSE(fifth.refused);
  EXPECT_EQ(events(),
            (Events{"daily_requests 80 4/5 - 2026-11-27", "daily_requests 100 5/5 - 2026-11-27"}));
  auto sixth = admit_alerting("", l);
  ASSERT_TRUE(sixth.refused);
  settle(sixth, 1000);
  EXPECT_EQ(bodies.size(), 2u);
}

TEST_P(AdmitAlertsTest, TokensJumpingFromTenToOneHundredTwentyPercentEmitBoth) {
  store::TenantLimits l;
  l.daily_tokens = 1000;
  l.monthly_tokens = 100'000;  // 1.2 % of it: nothing
  auto a = admit_alerting("", l);
  settle(a, 100);
  EXPECT_EQ(events(), Events{});
  auto b = admit_alerting("", l);
  ASSERT_FALSE(b.refused);
  settle(b, 1100);
  EXPECT_EQ(events(), (Events{"daily_tokens 80 1200/1000 - 2026-11-27",
                              "daily_tokens 100 1200/1000 - 2026-11-27"}));
  // Without a pointer to alerts, admission stays silent.
  store::SnapshotKey k;
  k.tenant_name = "team";
  k.limits.monthly_tokens = 10;
  auto quiet = run(io, admit(k, store(), {}, kNow));
  settle(quiet, 1);
  EXPECT_EQ(bodies.size(), 2u);
}

TEST_P(AdmitAlertsTest, KeyQuotaAlertsCarryTheKeyId) {
  store::TenantLimits key;
  key.daily_requests = 2;
  key.monthly_tokens = 100;
  auto a = admit_alerting("key_a", {}, key);
  settle(a, 50);
  EXPECT_EQ(events(), Events{});
  auto b = admit_alerting("key_a", {}, key);  // 2 of 2: 80 % and 100 % at once
  ASSERT_FALSE(b.refused);
  settle(b, 35);  // 85 of 100 tokens
  EXPECT_EQ(events(), (Events{"daily_requests 80 2/2 key_a 2026-11-27",
                              "daily_requests 100 2/2 key_a 2026-11-27",
                              "monthly_tokens 80 85/100 key_a 2026-11"}));
}

TEST_P(AdmitAlertsTest, ACountTakenBackByALaterRefusalEmitsNothing) {
  store::TenantLimits tenant, key;
  tenant.daily_requests = 2;
  key.daily_requests = 1;
  StaleReadCounters stale(counters);
  ASSERT_FALSE(admit_alerting("key_a", tenant, key, &stale).refused);
  EXPECT_EQ(events(), (Events{"daily_requests 80 1/1 key_a 2026-11-27",
                              "daily_requests 100 1/1 key_a 2026-11-27"}));
  // The stale read lets it through to the count: the tenant's count reaches 2 of 2, then the
  // key's count refuses it and the tenant's is taken back.
  auto refused = admit_alerting("key_a", tenant, key, &stale);
  ASSERT_TRUE(refused.refused);
  EXPECT_EQ(bodies.size(), 2u);
  // The request that keeps the tenant's second slot is the one that crosses.
  ASSERT_FALSE(admit_alerting("key_b", tenant, {}, &stale).refused);
  EXPECT_EQ(events().size(), 4u);
  EXPECT_EQ(events().at(2), "daily_requests 80 2/2 - 2026-11-27");
  EXPECT_EQ(events().at(3), "daily_requests 100 2/2 - 2026-11-27");
}

TEST(AdmitTime, UtcPeriodsAndDurations) {
  EXPECT_EQ(utc_day(kNow), "2026-11-27");
  EXPECT_EQ(utc_month(kNow), "2026-11");
  EXPECT_EQ(utc_day_end_ms(kNow), kNow + std::int64_t{14} * 3600 * 1000);
  EXPECT_EQ(utc_month_end_ms(kNow), 1'796'083'200'000);  // 2026-12-01T00:00:00Z
  EXPECT_EQ(openai_duration(20), "20ms");
  EXPECT_EQ(openai_duration(1000), "1s");
  EXPECT_EQ(openai_duration(59'500), "59.5s");
  EXPECT_EQ(openai_duration(360'000), "6m0s");
}

INSTANTIATE_TEST_SUITE_P(StorePaths, AdmitTest, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "Awaited" : "Immediate"; });
INSTANTIATE_TEST_SUITE_P(StorePaths, AdmitAlertsTest, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "Awaited" : "Immediate"; });

}  // namespace
}  // namespace relay
