// Egress choice and egress health: region preference, spreading, failure and recovery.
#include "pool/egress_pool.hpp"

#include <gtest/gtest.h>

#include <map>

namespace relay::pool {
namespace {

using namespace std::chrono_literals;

store::SnapshotEgress egress(std::int64_t id, std::string name, std::string region) {
  store::SnapshotEgress e;
  e.id = id;
  e.name = std::move(name);
  e.url = "http://127.0.0.1:" + std::to_string(3000 + id);
  e.region = std::move(region);
  return e;
}

class EgressPoolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store::SnapshotAccount a;
    a.id = 1;
    a.name = "a";
    a.egresses = {egress(11, "a-eu", "eu"), egress(12, "a-us", "us"), egress(13, "a-eu2", "eu")};
    store::SnapshotAccount b;
    b.id = 2;
    b.name = "b";
    snap.accounts = {a, b};
  }
  const store::SnapshotAccount& a() const { return snap.accounts[0]; }
  const store::SnapshotAccount& direct() const { return snap.accounts[1]; }

  store::Snapshot snap;
  EgressPool::TimePoint now = EgressPool::Clock::now();
};

TEST_F(EgressPoolTest, AnAccountWithoutEgressesGoesDirect) {
  EgressPool pool("eu", 10s);
  pool.sync(snap);
  auto r = pool.choose(direct(), {}, now);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->id, 0);
  EXPECT_TRUE(r->proxy.empty());
  EXPECT_TRUE(pool.usable(direct(), now));
}

TEST_F(EgressPoolTest, ThisRegionFirstAndSpreadOverItsEgresses) {
  EgressPool pool("eu", 10s);
  pool.sync(snap);
  std::map<std::string, int> picks;
  for (int i = 0; i < 10; ++i) ++picks[pool.choose(a(), {}, now)->name];
  EXPECT_EQ(picks["a-eu"], 5);
  EXPECT_EQ(picks["a-eu2"], 5);
  EXPECT_EQ(picks.count("a-us"), 0u);

  EgressPool us("us", 10s);
  us.sync(snap);
  EXPECT_EQ(us.choose(a(), {}, now)->name, "a-us");
  EXPECT_EQ(us.choose(a(), {}, now)->name, "a-us");
}

TEST_F(EgressPoolTest, HealthComesBeforeRegion) {
  EgressPool pool("eu", 10s);
  pool.sync(snap);
  pool.record(11, false, "connection refused");
  pool.record(13, false, "connection refused");
  for (int i = 0; i < 3; ++i) EXPECT_EQ(pool.choose(a(), {}, now)->name, "a-us");
  pool.record(13, true, {});
  EXPECT_EQ(pool.choose(a(), {}, now)->name, "a-eu2");
}

TEST_F(EgressPoolTest, AllDownMakesTheAccountUnavailableUntilOneRecovers) {
  EgressPool pool("", 10s);
  pool.sync(snap);
  for (std::int64_t id : {11, 12, 13}) pool.record(id, false, "refused");
  EXPECT_FALSE(pool.choose(a(), {}, now));
  EXPECT_FALSE(pool.usable(a(), now));
  EXPECT_EQ(pool.unavailable_accounts(now), std::vector<std::int64_t>{1});
  auto st = pool.status();
  ASSERT_EQ(st.size(), 3u);
  EXPECT_FALSE(st[0].up);
  EXPECT_EQ(st[0].last_error, "refused");

  // A down egress gets a real request again once down_retry has passed.
  EXPECT_TRUE(pool.usable(a(), now + 11s));
  pool.record(12, true, {});
  EXPECT_TRUE(pool.usable(a(), now));
  EXPECT_EQ(pool.choose(a(), {}, now)->name, "a-us");
  EXPECT_TRUE(pool.unavailable_accounts(now).empty());
}

TEST_F(EgressPoolTest, ExcludedEgressesAreSkippedForThisRequest) {
  EgressPool pool("eu", 10s);
  pool.sync(snap);
  const std::vector<std::int64_t> failed{11, 13};
  EXPECT_EQ(pool.choose(a(), failed, now)->name, "a-us");
  const std::vector<std::int64_t> all{11, 12, 13};
  EXPECT_FALSE(pool.choose(a(), all, now));
  EXPECT_TRUE(pool.usable(a(), now));  // only this request ran out of them
}

TEST_F(EgressPoolTest, SyncKeepsTheStateOfKeptEgressesAndForgetsRemovedOnes) {
  EgressPool pool("eu", 10s);
  pool.sync(snap);
  pool.record(11, false, "refused");
  snap.accounts[0].egresses.pop_back();  // a-eu2 removed
  pool.sync(snap);
  auto st = pool.status();
  ASSERT_EQ(st.size(), 2u);
  EXPECT_EQ(st[0].name, "a-eu");
  EXPECT_FALSE(st[0].up);
  EXPECT_EQ(pool.choose(a(), {}, now)->name, "a-us");
}

}  // namespace
}  // namespace relay::pool
