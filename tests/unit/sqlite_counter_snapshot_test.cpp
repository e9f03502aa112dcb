#include <gtest/gtest.h>
#include <sqlite3.h>

#include <chrono>
#include <string>
#include <vector>

#include "sqlite_test_support.hpp"
#include "store/sqlite/sqlite_counter_snapshot_store.hpp"
#include "store/sqlite/sqlite_health_store.hpp"
#include "test_support.hpp"

namespace relay::store {
namespace {

using limits::CounterRow;

std::int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

using relay::test::raw_count;

std::vector<std::string> keys(const std::vector<CounterRow>& rows) {
  std::vector<std::string> out;
  out.reserve(rows.size());
  for (const auto& r : rows) out.push_back(r.key);
  return out;
}

class SqliteCounterSnapshotTest : public ::testing::Test {
 protected:
  test::TempDir dir_;
  std::string db_ = dir_ / "relay.db";
  const std::int64_t now_ = now_ms();
  const std::int64_t later_ = now_ + std::int64_t{24} * 3600 * 1000;
};

TEST_F(SqliteCounterSnapshotTest, WriteThenReadRoundTrips) {
  SqliteCounterSnapshotStore s(db_);
  EXPECT_TRUE(s.read("", now_).empty());
  s.write({{"usage:team-a:day:2030-01-01:requests", 12, later_},
           {"usage:team-a:month:2030-01:tokens", 5'000'000'000, 0}});
  auto rows = s.read("", now_);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].key, "usage:team-a:day:2030-01-01:requests");  // ordered by key
  EXPECT_EQ(rows[0].value, 12);
  EXPECT_EQ(rows[0].expire_at_ms, later_);
  EXPECT_EQ(rows[1].key, "usage:team-a:month:2030-01:tokens");
  EXPECT_EQ(rows[1].value, 5'000'000'000);
  EXPECT_EQ(rows[1].expire_at_ms, 0);

  // Another connection (the CLI, or serve after a restart) sees the same.
  SqliteCounterSnapshotStore other(db_);
  EXPECT_EQ(keys(other.read("", now_)), keys(rows));
}

TEST_F(SqliteCounterSnapshotTest, WriteUpsertsAndLeavesOtherRowsAlone) {
  SqliteCounterSnapshotStore s(db_);
  s.write({{"usage:a:day:2030-01-01:requests", 1, later_},
           {"usage:a:day:2030-01-01:tokens", 100, later_}});
  s.write({{"usage:a:day:2030-01-01:requests", 2, later_ + 1}});
  s.write({});  // an empty flush is fine
  auto rows = s.read("", now_);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].key, "usage:a:day:2030-01-01:requests");
  EXPECT_EQ(rows[0].value, 2);
  EXPECT_EQ(rows[0].expire_at_ms, later_ + 1);
  EXPECT_EQ(rows[1].value, 100);  // not in the second write: kept
}

TEST_F(SqliteCounterSnapshotTest, ReadFiltersByPrefixExactly) {
  SqliteCounterSnapshotStore s(db_);
  // '_' and '%' would be LIKE wildcards; "team" must not pick up "team-a" or "team_b".
  s.write({{"usage:team:day:2030-01-01:requests", 1, 0},
           {"usage:team-a:day:2030-01-01:requests", 2, 0},
           {"usage:team_b:day:2030-01-01:requests", 3, 0},
           {"usage:teamXb:day:2030-01-01:requests", 4, 0},
           {"rate:team:rps", 5, 0},
           {"usage:tean:day:2030-01-01:requests", 6, 0}});
  EXPECT_EQ(keys(s.read("usage:team:", now_)),
            (std::vector<std::string>{"usage:team:day:2030-01-01:requests"}));
  EXPECT_EQ(keys(s.read("usage:team_b:", now_)),
            (std::vector<std::string>{"usage:team_b:day:2030-01-01:requests"}));
  EXPECT_EQ(s.read("usage:team", now_).size(), 4u);  // team, team-a, team_b, teamXb
  EXPECT_EQ(s.read("usage:", now_).size(), 5u);
  EXPECT_EQ(s.read("", now_).size(), 6u);
  EXPECT_TRUE(s.read("usage:nobody:", now_).empty());
  EXPECT_TRUE(s.read("zzz", now_).empty());
}

TEST_F(SqliteCounterSnapshotTest, ExpiredRowsAreNotReadAndAreDeletedOnWrite) {
  SqliteCounterSnapshotStore s(db_);
  s.write({{"a", 1, now_ + 1000}, {"b", 2, 0}, {"c", 3, now_ + 5000}});
  // read() judges expiry by the time it is given: at or after expire_at_ms a row is gone.
  EXPECT_EQ(keys(s.read("", now_)), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(keys(s.read("", now_ + 1000)), (std::vector<std::string>{"b", "c"}));
  EXPECT_EQ(keys(s.read("", now_ + 10'000)), (std::vector<std::string>{"b"}));
  EXPECT_EQ(raw_count(db_, "SELECT COUNT(*) FROM quota_counters"), 3);

  // write() deletes what the wall clock says has expired, including rows it was just given.
  s.write({{"old", 9, 1}, {"d", 4, now_ + 60'000}});
  EXPECT_EQ(raw_count(db_, "SELECT COUNT(*) FROM quota_counters WHERE key = 'old'"), 0);
  EXPECT_EQ(raw_count(db_, "SELECT COUNT(*) FROM quota_counters"), 4);
  EXPECT_EQ(raw_count(db_, "SELECT value FROM quota_counters WHERE key = 'b'"), 2);  // 0: never
}

TEST_F(SqliteCounterSnapshotTest, SharesTheFileWithTheOtherStores) {
  SqliteHealthStore health(db_);
  SqliteCounterSnapshotStore s(db_);
  health.write({}, {});
  s.write({{"usage:a:month:2030-01:tokens", 7, 0}});
  EXPECT_EQ(s.read("usage:a:", now_).at(0).value, 7);
  EXPECT_EQ(raw_count(db_, "SELECT COUNT(*) FROM tenants"), 0);
}

}  // namespace
}  // namespace relay::store
