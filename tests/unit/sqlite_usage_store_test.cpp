#include "store/sqlite/sqlite_usage_store.hpp"

#include <gtest/gtest.h>

#include <limits>
#include <map>
#include <memory>

#include "crypto/secret_box.hpp"
#include "sqlite_test_support.hpp"
#include "store/sqlite/migrations.hpp"
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
  EXPECT_EQ(s.journal_offset("usage"), 0);
  const UsageRecord r = rec("req-1", "team-a", 1000);
  s.append({r}, "usage", 321);
  EXPECT_EQ(s.journal_offset("usage"), 321);
  auto got = s.query({});
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0], r);  // every field, booleans and ttfb included

  s.append({}, "usage", 400);  // lines that did not decode still move the offset
  EXPECT_EQ(s.journal_offset("usage"), 400);
  EXPECT_EQ(SqliteUsageStore(db_).journal_offset("usage"), 400);  // it is on disk
  EXPECT_EQ(raw_count(db_, "SELECT COUNT(*) FROM usage_records"), 1);
}

TEST_F(SqliteUsageStoreTest, AFailedAppendStoresNeitherRecordsNorOffset) {
  SqliteUsageStore s(db_);
  s.append({rec("a", "t", 1)}, "usage", 10);
  // Make the second insert of the batch fail: the whole batch and its offset must roll back.
  raw_exec(db_,
           "CREATE TRIGGER fail_b BEFORE INSERT ON usage_records WHEN NEW.request_id = 'b' "
           "BEGIN SELECT RAISE(ABORT, 'injected'); END;");
  EXPECT_THROW(s.append({rec("x", "t", 2), rec("b", "t", 3)}, "usage", 20), StoreError);
  EXPECT_EQ(s.journal_offset("usage"), 10);
  EXPECT_EQ(ids(s.query({})), (std::vector<std::string>{"a"}));
}

TEST_F(SqliteUsageStoreTest, QueryFiltersByTenantAndTimeOldestFirst) {
  SqliteUsageStore s(db_);
  s.append({rec("a3", "a", 300), rec("b1", "b", 100), rec("a1", "a", 100), rec("a2", "a", 200),
            rec("a4", "a", 400)},
           "usage", 1);
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
      "usage", 77);
  EXPECT_EQ(s.delete_older_than(1000), 2);  // strictly older: the record at 1000 stays
  EXPECT_EQ(ids(s.query({})), (std::vector<std::string>{"edge", "new"}));
  EXPECT_EQ(s.delete_older_than(1000), 0);
  EXPECT_EQ(s.journal_offset("usage"), 77);  // retention never touches the journal's offset
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
  EXPECT_EQ(utc_day(std::numeric_limits<std::int64_t>::max()), "9999-12-31");
  EXPECT_EQ(utc_day(std::numeric_limits<std::int64_t>::min()), "0000-01-01");
}

// What usage_daily must hold for these records, summed independently of the store.
std::map<std::string, UsageTotals> expected_by(const std::vector<UsageRecord>& rs,
                                               std::string (*group)(const UsageRecord&)) {
  std::map<std::string, UsageTotals> out;
  for (const auto& r : rs) {
    UsageTotals& t = out[group(r)];
    t.group = group(r);
    t.requests += 1;
    t.errors += r.status >= 400 || r.status == 0;
    t.incomplete += r.usage_incomplete;
    t.input_tokens += r.input_tokens;
    t.cached_tokens += r.cached_tokens;
    t.output_tokens += r.output_tokens;
    t.reasoning_tokens += r.reasoning_tokens;
    t.bytes_in += r.bytes_in;
    t.bytes_out += r.bytes_out;
  }
  return out;
}

std::vector<UsageTotals> values_of(const std::map<std::string, UsageTotals>& m) {
  std::vector<UsageTotals> out;
  out.reserve(m.size());
  for (const auto& [k, v] : m) out.push_back(v);
  return out;
}

// Records over three UTC days (2026-11-26..28), two tenants, two models, keys and accounts,
// with statuses on both sides of 400, no status at all, and incomplete usage.
std::vector<UsageRecord> mixed_records() {
  constexpr std::int64_t kDay27 = 1'795'737'600'000;
  std::vector<UsageRecord> rs;
  const std::int64_t starts[] = {kDay27 - 1, kDay27, kDay27 + 5, kDay27 + 86'399'999,
                                 kDay27 + 86'400'000};
  const std::int64_t statuses[] = {200, 399, 400, 0, 503, 429};
  for (std::int64_t i = 0; i < 30; ++i) {
    UsageRecord r = rec("r" + std::to_string(i), i % 3 == 0 ? "team-b" : "team-a", starts[i % 5]);
    r.model = i % 2 == 0 ? "gpt-5.5" : "gpt-5.5-mini";
    r.key_id = i % 4 == 0 ? "key_000000000001" : "key_000000000002";
    r.account = i % 7 == 0 ? "" : "acct-" + std::to_string(i % 2);
    r.status = statuses[i % 6];
    r.usage_incomplete = i % 5 == 1;
    r.input_tokens = 100 + i;
    r.cached_tokens = i;
    r.output_tokens = 10 * i;
    r.reasoning_tokens = i / 2;
    r.bytes_in = 1000 + i;
    r.bytes_out = 7 * i;
    rs.push_back(r);
  }
  return rs;
}

std::string by_day(const UsageRecord& r) {
  return utc_day(r.start_ms);
}
std::string by_model(const UsageRecord& r) {
  return r.model;
}
std::string by_key(const UsageRecord& r) {
  return r.key_id;
}
std::string by_account(const UsageRecord& r) {
  return r.account;
}
std::string by_tenant(const UsageRecord& r) {
  return r.tenant;
}

TEST_F(SqliteUsageStoreTest, AppendKeepsDailyAggregatesForEveryGrouping) {
  SqliteUsageStore s(db_);
  const auto rs = mixed_records();
  // Several batches, so groups are both inserted and added to.
  s.append({rs.begin(), rs.begin() + 7}, "usage", 1);
  s.append({rs.begin() + 7, rs.begin() + 8}, "usage", 2);
  s.append({rs.begin() + 8, rs.end()}, "usage", 3);
  EXPECT_EQ(s.totals({}, UsageGroup::kDay), values_of(expected_by(rs, by_day)));
  EXPECT_EQ(s.totals({}, UsageGroup::kModel), values_of(expected_by(rs, by_model)));
  EXPECT_EQ(s.totals({}, UsageGroup::kKey), values_of(expected_by(rs, by_key)));
  EXPECT_EQ(s.totals({}, UsageGroup::kAccount), values_of(expected_by(rs, by_account)));
  EXPECT_EQ(s.totals({}, UsageGroup::kTenant), values_of(expected_by(rs, by_tenant)));
  const auto days = s.totals({}, UsageGroup::kDay);
  ASSERT_EQ(days.size(), 3u);  // kDay27 - 1 is the 26th, kDay27 + 86'399'999 still the 27th
  EXPECT_EQ(days[0].group, "2026-11-26");
  EXPECT_EQ(days[2].group, "2026-11-28");
  // One row per (day, tenant, key, model, account), never one per record.
  std::map<std::string, int> keys;
  for (const auto& r : rs)
    keys[by_day(r) + "|" + r.tenant + "|" + r.key_id + "|" + r.model + "|" + r.account] = 1;
  EXPECT_EQ(raw_count(db_, "SELECT COUNT(*) FROM usage_daily"),
            static_cast<std::int64_t>(keys.size()));
}

TEST_F(SqliteUsageStoreTest, TotalsFilterByTenantAndInclusiveDays) {
  SqliteUsageStore s(db_);
  const auto rs = mixed_records();
  s.append(rs, "usage", 1);
  std::vector<UsageRecord> a, a27, from27, to27;
  for (const auto& r : rs) {
    if (r.tenant == "team-a") a.push_back(r);
    if (r.tenant == "team-a" && by_day(r) == "2026-11-27") a27.push_back(r);
    if (by_day(r) >= "2026-11-27") from27.push_back(r);
    if (by_day(r) <= "2026-11-27") to27.push_back(r);
  }
  EXPECT_EQ(s.totals({.tenant = "team-a"}, UsageGroup::kModel),
            values_of(expected_by(a, by_model)));
  EXPECT_EQ(s.totals({.tenant = "team-a", .since_day = "2026-11-27", .until_day = "2026-11-27"},
                     UsageGroup::kKey),
            values_of(expected_by(a27, by_key)));
  EXPECT_EQ(s.totals({.since_day = "2026-11-27"}, UsageGroup::kTenant),
            values_of(expected_by(from27, by_tenant)));
  EXPECT_EQ(s.totals({.until_day = "2026-11-27"}, UsageGroup::kDay),
            values_of(expected_by(to27, by_day)));
  EXPECT_TRUE(s.totals({.tenant = "nobody"}, UsageGroup::kDay).empty());
  EXPECT_TRUE(s.totals({.since_day = "2026-11-29"}, UsageGroup::kDay).empty());
  EXPECT_TRUE(
      s.totals({.since_day = "2026-11-28", .until_day = "2026-11-27"}, UsageGroup::kDay).empty());
}

TEST_F(SqliteUsageStoreTest, AFailedAppendLeavesTheAggregatesAlone) {
  SqliteUsageStore s(db_);
  s.append({rec("a", "t", 1)}, "usage", 10);
  const auto before = s.totals({}, UsageGroup::kTenant);
  raw_exec(db_,
           "CREATE TRIGGER fail_daily BEFORE UPDATE ON usage_daily "
           "BEGIN SELECT RAISE(ABORT, 'injected'); END;");
  EXPECT_THROW(s.append({rec("b", "t", 2)}, "usage", 20), StoreError);
  EXPECT_EQ(s.totals({}, UsageGroup::kTenant), before);
  EXPECT_EQ(ids(s.query({})), (std::vector<std::string>{"a"}));  // the records rolled back too
  EXPECT_EQ(s.journal_offset("usage"), 10);
}

TEST_F(SqliteUsageStoreTest, RetentionDeletesRecordsAndAggregatesSeparately) {
  SqliteUsageStore s(db_);
  const auto rs = mixed_records();
  s.append(rs, "usage", 1);
  const auto by_day_before = s.totals({}, UsageGroup::kDay);
  EXPECT_EQ(s.delete_older_than(std::numeric_limits<std::int64_t>::max()), 30);
  EXPECT_TRUE(s.query({}).empty());
  EXPECT_EQ(s.totals({}, UsageGroup::kDay), by_day_before);  // aggregates outlive records

  const std::int64_t rows26 =
      raw_count(db_, "SELECT COUNT(*) FROM usage_daily WHERE day = '2026-11-26'");
  ASSERT_GT(rows26, 0);
  EXPECT_EQ(s.delete_aggregates_before("2026-11-27"), rows26);  // strictly before
  const auto left = s.totals({}, UsageGroup::kDay);
  ASSERT_EQ(left.size(), 2u);
  EXPECT_EQ(left[0].group, "2026-11-27");
  EXPECT_EQ(s.delete_aggregates_before("2026-11-27"), 0);
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
  EXPECT_EQ(s.totals({}, UsageGroup::kDay), values_of(expected_by(rs, by_day)));
  EXPECT_EQ(s.totals({}, UsageGroup::kAccount), values_of(expected_by(rs, by_account)));
  s.append({rs[3]}, "usage", 2);  // later appends add to the backfilled rows
  rs.push_back(rs[3]);
  EXPECT_EQ(s.totals({}, UsageGroup::kDay), values_of(expected_by(rs, by_day)));
}

}  // namespace
}  // namespace relay::store
