#include "store/sqlite/sqlite_usage_store.hpp"

#include <gtest/gtest.h>

#include <memory>

#include "crypto/secret_box.hpp"
#include "sqlite_test_support.hpp"
#include "store/sqlite/sqlite_config_store.hpp"
#include "test_support.hpp"

namespace relay::store {
namespace {

using records::UsageRecord;
using test::raw_count;
using test::raw_exec;

UsageRecord rec(std::string id, std::string tenant, std::int64_t start_ms) {
  UsageRecord r;
  r.request_id = std::move(id);
  r.tenant = std::move(tenant);
  r.start_ms = start_ms;
  r.node = "node-1";
  r.region = "eu";
  r.key_id = "key_0123456789ab";
  r.account = "acct";
  r.egress = "squid";
  r.model = "gpt-5.5";
  r.endpoint = "/v1/responses";
  r.stream = true;
  r.status = 200;
  r.error_code = "upstream_timeout";
  r.attempts = 3;
  r.ttfb_ms = 120;
  r.duration_ms = 900;
  r.bytes_in = 1000;
  r.bytes_out = 2000;
  r.input_tokens = 50;
  r.cached_tokens = 40;
  r.output_tokens = 30;
  r.reasoning_tokens = 20;
  r.usage_incomplete = true;
  r.client_family = "codex_cli";
  return r;
}

std::vector<std::string> ids(const std::vector<UsageRecord>& rs) {
  std::vector<std::string> out;
  out.reserve(rs.size());
  for (const auto& r : rs) out.push_back(r.request_id);
  return out;
}

class SqliteUsageStoreTest : public ::testing::Test {
 protected:
  test::TempDir dir_;
  std::string db_ = dir_ / "relay.db";
};

TEST_F(SqliteUsageStoreTest, AppendStoresEveryFieldAndTheOffset) {
  SqliteUsageStore s(db_);
  EXPECT_EQ(s.journal_offset(), 0);
  const UsageRecord r = rec("req-1", "team-a", 1000);
  s.append({r}, 321);
  EXPECT_EQ(s.journal_offset(), 321);
  auto got = s.query({});
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0], r);  // every field, booleans and ttfb included

  s.append({}, 400);  // lines that did not decode still move the offset
  EXPECT_EQ(s.journal_offset(), 400);
  EXPECT_EQ(SqliteUsageStore(db_).journal_offset(), 400);  // it is on disk
  EXPECT_EQ(raw_count(db_, "SELECT COUNT(*) FROM usage_records"), 1);
}

TEST_F(SqliteUsageStoreTest, AFailedAppendStoresNeitherRecordsNorOffset) {
  SqliteUsageStore s(db_);
  s.append({rec("a", "t", 1)}, 10);
  // Make the second insert of the batch fail: the whole batch and its offset must roll back.
  raw_exec(db_,
           "CREATE TRIGGER fail_b BEFORE INSERT ON usage_records WHEN NEW.request_id = 'b' "
           "BEGIN SELECT RAISE(ABORT, 'injected'); END;");
  EXPECT_THROW(s.append({rec("x", "t", 2), rec("b", "t", 3)}, 20), StoreError);
  EXPECT_EQ(s.journal_offset(), 10);
  EXPECT_EQ(ids(s.query({})), (std::vector<std::string>{"a"}));
}

TEST_F(SqliteUsageStoreTest, QueryFiltersByTenantAndTimeOldestFirst) {
  SqliteUsageStore s(db_);
  s.append({rec("a3", "a", 300), rec("b1", "b", 100), rec("a1", "a", 100), rec("a2", "a", 200),
            rec("a4", "a", 400)},
           1);
  EXPECT_EQ(ids(s.query({})), (std::vector<std::string>{"b1", "a1", "a2", "a3", "a4"}));
  EXPECT_EQ(ids(s.query({.tenant = "a"})), (std::vector<std::string>{"a1", "a2", "a3", "a4"}));
  EXPECT_EQ(ids(s.query({.tenant = "b"})), (std::vector<std::string>{"b1"}));
  EXPECT_TRUE(s.query({.tenant = "c"}).empty());
  // since inclusive, until exclusive
  EXPECT_EQ(ids(s.query({.tenant = "a", .since_ms = 200, .until_ms = 400})),
            (std::vector<std::string>{"a2", "a3"}));
  EXPECT_EQ(ids(s.query({.since_ms = 100, .until_ms = 101})),
            (std::vector<std::string>{"b1", "a1"}));
  EXPECT_EQ(ids(s.query({.tenant = "a", .limit = 2})), (std::vector<std::string>{"a1", "a2"}));
  EXPECT_TRUE(s.query({.limit = 0}).empty());
}

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

TEST_F(SqliteUsageStoreTest, DeleteOlderThanAFixedCutoff) {
  SqliteUsageStore s(db_);
  s.append(
      {rec("old1", "a", 999), rec("old2", "b", 500), rec("edge", "a", 1000), rec("new", "a", 5000)},
      77);
  EXPECT_EQ(s.delete_older_than(1000), 2);  // strictly older: the record at 1000 stays
  EXPECT_EQ(ids(s.query({})), (std::vector<std::string>{"edge", "new"}));
  EXPECT_EQ(s.delete_older_than(1000), 0);
  EXPECT_EQ(s.journal_offset(), 77);  // retention never touches the journal's offset
}

TEST_F(SqliteUsageStoreTest, RecordWritesDoNotBumpTheConfigVersion) {
  auto box = std::make_shared<crypto::SecretBox>(std::string(32, '\x07'));
  SqliteConfigStore config(db_, box);
  config.add_tenant("team-a");
  const auto token = config.change_token();
  SqliteUsageStore s(db_);
  s.append({rec("a", "team-a", 1), rec("b", "team-a", 2)}, 5);
  s.delete_older_than(10);
  EXPECT_EQ(config.change_token(), token);
}

}  // namespace
}  // namespace relay::store
