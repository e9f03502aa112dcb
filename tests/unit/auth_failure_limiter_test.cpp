#include "limits/auth_failure_limiter.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

namespace relay::limits {
namespace {

constexpr std::int64_t kT0 = 1'700'000'000'000;  // ms

AuthFailureSettings settings(std::int64_t burst, std::int64_t per_minute,
                             std::size_t max_addresses = 65536) {
  return {burst, per_minute, max_addresses};
}

TEST(AuthFailureLimiter, BurstOfFailuresThenRefusedWithAWait) {
  AuthFailureLimiter limiter(settings(3, 6));  // one more every 10 s
  for (int i = 0; i < 3; ++i) EXPECT_EQ(limiter.note_failure("10.0.0.1", kT0), 0) << i;
  EXPECT_GT(limiter.blocked_for_ms("10.0.0.1", kT0), 0);
  const std::int64_t wait = limiter.note_failure("10.0.0.1", kT0);
  EXPECT_GT(wait, 0);
  EXPECT_LE(wait, 10'000);
  EXPECT_EQ(limiter.refused(), 1u);
  // Waiting that long lets exactly one more failure through as a 401.
  EXPECT_EQ(limiter.blocked_for_ms("10.0.0.1", kT0 + wait), 0);
  EXPECT_EQ(limiter.note_failure("10.0.0.1", kT0 + wait), 0);
  EXPECT_GT(limiter.note_failure("10.0.0.1", kT0 + wait), 0);
}

TEST(AuthFailureLimiter, FullBurstBackAfterTheWindow) {
  AuthFailureLimiter limiter(settings(2, 60));
  EXPECT_EQ(limiter.note_failure("10.0.0.1", kT0), 0);
  EXPECT_EQ(limiter.note_failure("10.0.0.1", kT0), 0);
  EXPECT_GT(limiter.note_failure("10.0.0.1", kT0), 0);
  EXPECT_EQ(limiter.note_failure("10.0.0.1", kT0 + 2'000), 0);
  EXPECT_EQ(limiter.note_failure("10.0.0.1", kT0 + 2'000), 0);
}

TEST(AuthFailureLimiter, OtherAddressesAreNotAffected) {
  AuthFailureLimiter limiter(settings(1, 1));
  EXPECT_EQ(limiter.note_failure("10.0.0.1", kT0), 0);
  EXPECT_GT(limiter.note_failure("10.0.0.1", kT0), 0);
  EXPECT_EQ(limiter.blocked_for_ms("10.0.0.2", kT0), 0);
  EXPECT_EQ(limiter.note_failure("10.0.0.2", kT0), 0);
  EXPECT_EQ(limiter.note_failure("2001:db8::1", kT0), 0);
}

TEST(AuthFailureLimiter, Ipv6IsLimitedByItsSlash64AndMappedIpv4AsIpv4) {
  AuthFailureLimiter limiter(settings(1, 1));
  EXPECT_EQ(limiter.note_failure("2001:db8:1:2::1", kT0), 0);
  EXPECT_GT(limiter.note_failure("2001:db8:1:2:ffff::9", kT0), 0);  // same /64
  EXPECT_EQ(limiter.note_failure("2001:db8:1:3::1", kT0), 0);       // next /64
  EXPECT_EQ(limiter.note_failure("192.0.2.7", kT0), 0);
  EXPECT_GT(limiter.note_failure("::ffff:192.0.2.7", kT0), 0);
}

TEST(AuthFailureLimiter, AddressGroups) {
  EXPECT_EQ(address_group("192.0.2.7"), address_group("::ffff:192.0.2.7"));
  EXPECT_EQ(address_group("2001:db8::1"), address_group("2001:db8::2"));
  EXPECT_NE(address_group("2001:db8::1"), address_group("2001:db8:0:1::1"));
  EXPECT_NE(address_group("192.0.2.7"), address_group("192.0.2.8"));
  EXPECT_EQ(address_group(""), address_group(""));
  EXPECT_LE(address_group(std::string(10'000, 'x')).size(), 66u);
}

TEST(AuthFailureLimiter, ZeroTurnsItOff) {
  for (auto s : {settings(0, 10), settings(10, 0)}) {
    AuthFailureLimiter limiter(s);
    EXPECT_FALSE(limiter.enabled());
    for (int i = 0; i < 100; ++i) EXPECT_EQ(limiter.note_failure("10.0.0.1", kT0), 0);
    EXPECT_EQ(limiter.tracked(), 0u);
  }
}

TEST(AuthFailureLimiter, MemoryIsBoundedUnderAFloodFromManyAddresses) {
  AuthFailureLimiter limiter(settings(1, 1, 160));  // 10 per shard
  for (int i = 0; i < 5000; ++i)
    limiter.note_failure("10.1." + std::to_string(i / 256) + "." + std::to_string(i % 256), kT0);
  EXPECT_LE(limiter.tracked(), 160u);
  EXPECT_GT(limiter.tracked(), 0u);
}

TEST(AuthFailureLimiter, CountsExactlyAcrossThreads) {
  AuthFailureLimiter limiter(settings(1000, 1));
  std::vector<std::thread> threads;
  threads.reserve(4);
  std::atomic<int> tolerated{0};
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 500; ++i)
        if (limiter.note_failure("10.0.0.1", kT0) == 0) tolerated.fetch_add(1);
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(tolerated.load(), 1000);
  EXPECT_EQ(limiter.refused(), 1000u);
}

}  // namespace
}  // namespace relay::limits
