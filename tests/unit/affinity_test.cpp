#include <gtest/gtest.h>

#include "pool/affinity.hpp"

namespace relay::pool {
namespace {

using namespace std::chrono_literals;

const TimePoint t0 = TimePoint{} + 1000h;

TEST(Affinity, BindsAndReplaces) {
  Affinity a(1h, 10);
  EXPECT_EQ(a.get("s1", t0), std::nullopt);
  a.bind("s1", 7, t0);
  EXPECT_EQ(a.get("s1", t0), 7);
  a.bind("s1", 9, t0);
  EXPECT_EQ(a.get("s1", t0), 9);
  EXPECT_EQ(a.size(), 1u);
  EXPECT_EQ(a.get("s2", t0), std::nullopt);
}

TEST(Affinity, ExpiresAfterTtlAndGetRefreshes) {
  Affinity a(1000ms, 10);
  a.bind("s1", 1, t0);
  EXPECT_EQ(a.get("s1", t0 + 999ms), 1);   // refreshed: now lives until t0 + 1999 ms
  EXPECT_EQ(a.get("s1", t0 + 1998ms), 1);  // past the original TTL, alive thanks to the refresh
  EXPECT_EQ(a.get("s1", t0 + 2997ms), 1);
  EXPECT_EQ(a.get("s1", t0 + 3997ms), std::nullopt);  // a full TTL unused
  EXPECT_EQ(a.size(), 0u);                            // and removed
}

TEST(Affinity, BindRefreshesTtl) {
  Affinity a(1000ms, 10);
  a.bind("s1", 1, t0);
  a.bind("s1", 2, t0 + 900ms);
  EXPECT_EQ(a.get("s1", t0 + 1500ms), 2);
}

TEST(Affinity, EvictsLeastRecentlyUsedPastTheBound) {
  Affinity a(1h, 3);
  a.bind("a", 1, t0);
  a.bind("b", 2, t0);
  a.bind("c", 3, t0);
  EXPECT_EQ(a.get("a", t0), 1);  // a is now the most recent; b the least
  a.bind("d", 4, t0);
  EXPECT_EQ(a.size(), 3u);
  EXPECT_EQ(a.get("b", t0), std::nullopt);
  EXPECT_EQ(a.get("a", t0), 1);
  EXPECT_EQ(a.get("c", t0), 3);
  EXPECT_EQ(a.get("d", t0), 4);
}

TEST(Affinity, BindDropsExpiredEntries) {
  Affinity a(1000ms, 10);
  a.bind("old1", 1, t0);
  a.bind("old2", 2, t0 + 100ms);
  a.bind("new", 3, t0 + 1050ms);  // old1 expired, old2 not yet
  EXPECT_EQ(a.size(), 2u);
  EXPECT_EQ(a.get("old2", t0 + 1050ms), 2);
}

}  // namespace
}  // namespace relay::pool
