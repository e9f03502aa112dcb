// The SQLite UsageStore: the shared contract suite (usage_store_suite.hpp), then what only this
// backend has: its query plan, relay.db's config version, chunked retention and the upgrade
// from schema version 7.
#include "store/sqlite/sqlite_usage_store.hpp"

#include <gtest/gtest.h>

#include <limits>
#include <memory>

#include "crypto/secret_box.hpp"
#include "sqlite_test_support.hpp"
#include "store/sqlite/migrations.hpp"
#include "store/sqlite/sqlite_config_store.hpp"
#include "test_support.hpp"
#include "usage_store_suite.hpp"

namespace relay::store {
namespace {

using records::UsageRecord;
using test::raw_count;
using test::raw_exec;
using usage_suite::by_account;
using usage_suite::by_day;
using usage_suite::expected_by;
using usage_suite::mixed_records;
using usage_suite::rec;

// A fresh relay.db in a temp dir per test.
struct SqliteBackend {
  static bool available() { return true; }
  std::unique_ptr<UsageStore> open() { return std::make_unique<SqliteUsageStore>(db); }
  void fail_inserts_of(const std::string& request_id) {
    raw_exec(db,
             "CREATE TRIGGER fail_insert BEFORE INSERT ON usage_records WHEN NEW.request_id = '" +
                 request_id + "' BEGIN SELECT RAISE(ABORT, 'injected'); END;");
  }
  void fail_aggregate_updates() {
    raw_exec(db,
             "CREATE TRIGGER fail_daily BEFORE UPDATE ON usage_daily "
             "BEGIN SELECT RAISE(ABORT, 'injected'); END;");
  }
  std::int64_t count(const std::string& table) {
    return raw_count(db, "SELECT COUNT(*) FROM " + table);
  }

  test::TempDir dir;
  std::string db = dir / "relay.db";
};

}  // namespace

namespace usage_suite {
INSTANTIATE_TYPED_TEST_SUITE_P(Sqlite, UsageStoreSuite, ::testing::Types<SqliteBackend>);
}  // namespace usage_suite

namespace {

class SqliteUsageStoreTest : public ::testing::Test {
 protected:
  test::TempDir dir_;
  std::string db_ = dir_ / "relay.db";
};

TEST_F(SqliteUsageStoreTest, QueryByTenantUsesTheTenantIndex) {
  SqliteUsageStore s(db_);
  sqlite3* h = nullptr;
  ASSERT_EQ(sqlite3_open(db_.c_str(), &h), SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(h,
                               "EXPLAIN QUERY PLAN SELECT * FROM usage_records WHERE tenant = 'a' "
                               "AND start_ms >= 1 AND start_ms < 2 ORDER BY start_ms, id",
                               -1, &st, nullptr),
            SQLITE_OK);
  std::string plan;
  while (sqlite3_step(st) == SQLITE_ROW)
    plan += reinterpret_cast<const char*>(sqlite3_column_text(st, 3)) + std::string("\n");
  sqlite3_finalize(st);
  sqlite3_close(h);
  EXPECT_NE(plan.find("usage_records_tenant_start_ms"), std::string::npos) << plan;
}

TEST_F(SqliteUsageStoreTest, RecordWritesDoNotBumpTheConfigVersion) {
  auto box = std::make_shared<crypto::SecretBox>(std::string(32, '\x07'));
  SqliteConfigStore config(db_, box);
  config.add_tenant("team-a");
  const auto token = config.change_token();
  SqliteUsageStore s(db_);
  s.append({rec("a", "team-a", 1), rec("b", "team-a", 2)}, "usage", 5);
  s.delete_older_than(10);
  s.delete_aggregates_before("9999-12-31");
  EXPECT_EQ(config.change_token(), token);
}

TEST(UtcDayTest, FloorsToTheUtcDayAndClampsToFourDigitYears) {
  EXPECT_EQ(utc_day(0), "1970-01-01");
  EXPECT_EQ(utc_day(86'399'999), "1970-01-01");
  EXPECT_EQ(utc_day(86'400'000), "1970-01-02");
  EXPECT_EQ(utc_day(-1), "1969-12-31");
  EXPECT_EQ(utc_day(1'795'737'600'000), "2026-11-27");  // 2026-11-27T00:00:00Z
  EXPECT_EQ(utc_day(1'795'737'599'999), "2026-11-26");
  EXPECT_EQ(utc_day(1'767'571'200'000), "2026-01-05");
  EXPECT_EQ(utc_day(-62'135'596'800'000), "0001-01-01");
  EXPECT_EQ(utc_day(std::numeric_limits<std::int64_t>::max()), "9999-12-31");
  EXPECT_EQ(utc_day(std::numeric_limits<std::int64_t>::min()), "0000-01-01");
}

TEST_F(SqliteUsageStoreTest, DeleteOlderThanDeletesMoreThanOneChunk) {
  SqliteUsageStore s(db_);
  std::vector<UsageRecord> rs;
  rs.reserve(12'345);
  for (int i = 0; i < 12'345; ++i) rs.push_back(rec("r" + std::to_string(i), "t", i));
  s.append(rs, "usage", 1);
  EXPECT_EQ(s.delete_older_than(12'000), 12'000);
  EXPECT_EQ(raw_count(db_, "SELECT COUNT(*) FROM usage_records"), 345);
  EXPECT_EQ(raw_count(db_, "SELECT MIN(start_ms) FROM usage_records"), 12'000);
}

// A db written by the previous release (schema version 7) gets usage_daily filled from the
// records it already holds, with the days append() would give them.
TEST_F(SqliteUsageStoreTest, UpgradeFromVersion7BackfillsTheAggregates) {
  auto migrations = sqlite::config_migrations();
  ASSERT_GE(migrations.size(), 8u);
  ASSERT_EQ(migrations[7].version, 8);
  std::string sql;
  for (std::size_t i = 0; i < 7; ++i) sql += migrations[i].sql;
  raw_exec(db_, sql +
                    "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, "
                    "applied_at INTEGER NOT NULL);"
                    "INSERT INTO schema_migrations VALUES (1, 0), (2, 0), (3, 0), (4, 0), (5, 0), "
                    "(6, 0), (7, 0);");
  auto rs = mixed_records();
  rs[0].start_ms = std::numeric_limits<std::int64_t>::max();
  rs[1].start_ms = 86'399'999;
  rs[2].start_ms = 86'400'000;
  {
    // Through a second db with the current schema, then copied row for row into the old one.
    test::TempDir other;
    SqliteUsageStore tmp(other / "relay.db");
    tmp.append(rs, "usage", 1);
    raw_exec(db_, "ATTACH '" + other / "relay.db" +
                      "' AS o; INSERT INTO usage_records SELECT * FROM o.usage_records;");
  }
  ASSERT_EQ(raw_count(db_, "SELECT COUNT(*) FROM usage_records"), 30);
  SqliteUsageStore s(db_);
  EXPECT_EQ(raw_count(db_, "SELECT MAX(version) FROM schema_migrations"),
            migrations.back().version);
  EXPECT_EQ(s.totals({}, UsageGroup::kDay), (expected_by(rs, by_day)));
  EXPECT_EQ(s.totals({}, UsageGroup::kAccount), (expected_by(rs, by_account)));
  s.append({rs[3]}, "usage", 2);  // later appends add to the backfilled rows
  rs.push_back(rs[3]);
  EXPECT_EQ(s.totals({}, UsageGroup::kDay), (expected_by(rs, by_day)));
}

}  // namespace
}  // namespace relay::store
