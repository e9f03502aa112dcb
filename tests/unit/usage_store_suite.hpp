#pragma once
// The UsageStore contract (docs/records.md) as one test suite that every backend runs: SQLite
// (sqlite_usage_store_test.cpp) and PostgreSQL (pg_usage_store_test.cpp). A backend's test file
// defines a Backend type and instantiates the suite for it:
//
//   struct PgBackend {
//     static bool available();               // false skips the suite (no test server)
//     PgBackend();                           // fresh, empty storage of its own
//     std::unique_ptr<UsageStore> open();    // a store on it (each call its own connection)
//     void fail_inserts_of(const std::string& request_id);  // from now on, inserting it fails
//     void fail_aggregate_updates();         // from now on, adding to a usage_daily row fails
//     std::int64_t count(const std::string& table);         // rows in that table
//   };
//   INSTANTIATE_TYPED_TEST_SUITE_P(Pg, UsageStoreSuite, ::testing::Types<PgBackend>);
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "store/usage_store.hpp"

namespace relay::store::usage_suite {

using records::UsageRecord;

inline UsageRecord rec(std::string id, std::string tenant, std::int64_t start_ms) {
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

inline std::vector<std::string> ids(const std::vector<UsageRecord>& rs) {
  std::vector<std::string> out;
  out.reserve(rs.size());
  for (const auto& r : rs) out.push_back(r.request_id);
  return out;
}

inline std::string by_day(const UsageRecord& r) {
  return utc_day(r.start_ms);
}
inline std::string by_model(const UsageRecord& r) {
  return r.model;
}
inline std::string by_key(const UsageRecord& r) {
  return r.key_id;
}
inline std::string by_account(const UsageRecord& r) {
  return r.account;
}
inline std::string by_tenant(const UsageRecord& r) {
  return r.tenant;
}

// What totals() must return for these records, summed independently of any store.
inline std::vector<UsageTotals> expected_by(const std::vector<UsageRecord>& rs,
                                            std::string (*group)(const UsageRecord&)) {
  std::map<std::string, UsageTotals> by;
  for (const auto& r : rs) {
    UsageTotals& t = by[group(r)];
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
  std::vector<UsageTotals> out;
  out.reserve(by.size());
  for (const auto& [k, v] : by) out.push_back(v);
  return out;
}

inline constexpr std::int64_t kDay27 = 1'795'737'600'000;  // 2026-11-27T00:00:00Z

// Records over three UTC days (2026-11-26..28), two tenants, two models, keys and accounts,
// with statuses on both sides of 400, no status at all, and incomplete usage.
inline std::vector<UsageRecord> mixed_records() {
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

// The number of usage_daily rows these records make: one per (day, tenant, key, model, account).
inline std::int64_t daily_rows(const std::vector<UsageRecord>& rs) {
  std::map<std::string, int> keys;
  for (const auto& r : rs)
    keys[by_day(r) + "|" + r.tenant + "|" + r.key_id + "|" + r.model + "|" + r.account] = 1;
  return static_cast<std::int64_t>(keys.size());
}

template <class Backend>
class UsageStoreSuite : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!Backend::available()) GTEST_SKIP() << "backend not available (run through ctest)";
    backend_ = std::make_unique<Backend>();
    store_ = backend_->open();
  }
  void TearDown() override {
    store_.reset();  // before its storage goes
    backend_.reset();
  }

  std::unique_ptr<Backend> backend_;
  std::unique_ptr<UsageStore> store_;
};

TYPED_TEST_SUITE_P(UsageStoreSuite);

TYPED_TEST_P(UsageStoreSuite, AppendStoresEveryFieldAndTheOffset) {
  UsageStore& s = *this->store_;
  EXPECT_EQ(s.journal_offset("usage"), 0);
  const UsageRecord r = rec("req-1", "team-a", 1000);
  s.append({r}, "usage", 321);
  EXPECT_EQ(s.journal_offset("usage"), 321);
  EXPECT_EQ(s.journal_offset("other"), 0);  // each journal has its own offset
  auto got = s.query({});
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0], r);  // every field, booleans and ttfb included

  s.append({}, "usage", 400);  // lines that did not decode still move the offset
  EXPECT_EQ(s.journal_offset("usage"), 400);
  EXPECT_EQ(this->backend_->open()->journal_offset("usage"), 400);  // it is stored
  EXPECT_EQ(this->backend_->count("usage_records"), 1);
}

TYPED_TEST_P(UsageStoreSuite, AnEmptyJournalNameStoresRecordsWithoutAnOffset) {
  UsageStore& s = *this->store_;
  s.append({rec("a", "t", 1)}, "", 42);  // the cluster's stream consumer: no journal
  EXPECT_EQ(ids(s.query({})), (std::vector<std::string>{"a"}));
  EXPECT_EQ(s.totals({}, UsageGroup::kTenant).at(0).requests, 1);
  EXPECT_EQ(s.journal_offset(""), 0);
  EXPECT_EQ(this->backend_->count("journal_state"), 0);
}

TYPED_TEST_P(UsageStoreSuite, AFailedAppendStoresNeitherRecordsNorOffset) {
  UsageStore& s = *this->store_;
  s.append({rec("a", "t", 1)}, "usage", 10);
  // The second insert of the batch fails: the whole batch and its offset must roll back.
  this->backend_->fail_inserts_of("b");
  EXPECT_THROW(s.append({rec("x", "t", 2), rec("b", "t", 3)}, "usage", 20), StoreError);
  EXPECT_EQ(s.journal_offset("usage"), 10);
  EXPECT_EQ(ids(s.query({})), (std::vector<std::string>{"a"}));
  s.append({rec("x", "t", 2)}, "usage", 20);  // and the store still works
  EXPECT_EQ(ids(s.query({})), (std::vector<std::string>{"a", "x"}));
}

TYPED_TEST_P(UsageStoreSuite, QueryFiltersByTenantAndTimeOldestFirst) {
  UsageStore& s = *this->store_;
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

TYPED_TEST_P(UsageStoreSuite, DeleteOlderThanAFixedCutoff) {
  UsageStore& s = *this->store_;
  s.append(
      {rec("old1", "a", 999), rec("old2", "b", 500), rec("edge", "a", 1000), rec("new", "a", 5000)},
      "usage", 77);
  EXPECT_EQ(s.delete_older_than(1000), 2);  // strictly older: the record at 1000 stays
  EXPECT_EQ(ids(s.query({})), (std::vector<std::string>{"edge", "new"}));
  EXPECT_EQ(s.delete_older_than(1000), 0);
  EXPECT_EQ(s.journal_offset("usage"), 77);  // retention never touches the journal's offset
}

// Any int64 start_ms is stored, its day clamped as utc_day() clamps it, and retention reaches it.
TYPED_TEST_P(UsageStoreSuite, RecordsFarOutsideNormalDates) {
  UsageStore& s = *this->store_;
  constexpr std::int64_t kMin = std::numeric_limits<std::int64_t>::min();
  constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
  // (query()'s until_ms is exclusive and at most INT64_MAX: the latest record it can return.)
  const std::vector<UsageRecord> rs = {rec("min", "t", kMin), rec("neg", "t", -1),
                                       rec("max", "t", kMax - 1), rec("zero", "t", 0)};
  s.append(rs, "usage", 1);
  EXPECT_EQ(ids(s.query({.since_ms = kMin})),
            (std::vector<std::string>{"min", "neg", "zero", "max"}));
  EXPECT_EQ(s.totals({}, UsageGroup::kDay), expected_by(rs, by_day));
  EXPECT_EQ(s.totals({}, UsageGroup::kDay).front().group, "0000-01-01");
  EXPECT_EQ(s.totals({}, UsageGroup::kDay).back().group, "9999-12-31");
  EXPECT_EQ(s.delete_older_than(0), 2);
  EXPECT_EQ(s.delete_older_than(kMax - 1), 1);
  EXPECT_EQ(ids(s.query({.since_ms = kMin})), (std::vector<std::string>{"max"}));
}

TYPED_TEST_P(UsageStoreSuite, AppendKeepsDailyAggregatesForEveryGrouping) {
  UsageStore& s = *this->store_;
  const auto rs = mixed_records();
  // Several batches, so groups are both inserted and added to.
  s.append({rs.begin(), rs.begin() + 7}, "usage", 1);
  s.append({rs.begin() + 7, rs.begin() + 8}, "usage", 2);
  s.append({rs.begin() + 8, rs.end()}, "usage", 3);
  EXPECT_EQ(s.totals({}, UsageGroup::kDay), expected_by(rs, by_day));
  EXPECT_EQ(s.totals({}, UsageGroup::kModel), expected_by(rs, by_model));
  EXPECT_EQ(s.totals({}, UsageGroup::kKey), expected_by(rs, by_key));
  EXPECT_EQ(s.totals({}, UsageGroup::kAccount), expected_by(rs, by_account));
  EXPECT_EQ(s.totals({}, UsageGroup::kTenant), expected_by(rs, by_tenant));
  const auto days = s.totals({}, UsageGroup::kDay);
  ASSERT_EQ(days.size(), 3u);  // kDay27 - 1 is the 26th, kDay27 + 86'399'999 still the 27th
  EXPECT_EQ(days[0].group, "2026-11-26");
  EXPECT_EQ(days[2].group, "2026-11-28");
  EXPECT_EQ(this->backend_->count("usage_daily"), daily_rows(rs));  // never one per record
}

TYPED_TEST_P(UsageStoreSuite, TotalsFilterByTenantAndInclusiveDays) {
  UsageStore& s = *this->store_;
  const auto rs = mixed_records();
  s.append(rs, "usage", 1);
  std::vector<UsageRecord> a, a27, from27, to27;
  for (const auto& r : rs) {
    if (r.tenant == "team-a") a.push_back(r);
    if (r.tenant == "team-a" && by_day(r) == "2026-11-27") a27.push_back(r);
    if (by_day(r) >= "2026-11-27") from27.push_back(r);
    if (by_day(r) <= "2026-11-27") to27.push_back(r);
  }
  EXPECT_EQ(s.totals({.tenant = "team-a"}, UsageGroup::kModel), expected_by(a, by_model));
  EXPECT_EQ(s.totals({.tenant = "team-a", .since_day = "2026-11-27", .until_day = "2026-11-27"},
                     UsageGroup::kKey),
            expected_by(a27, by_key));
  EXPECT_EQ(s.totals({.since_day = "2026-11-27"}, UsageGroup::kTenant),
            expected_by(from27, by_tenant));
  EXPECT_EQ(s.totals({.until_day = "2026-11-27"}, UsageGroup::kDay), expected_by(to27, by_day));
  EXPECT_TRUE(s.totals({.tenant = "nobody"}, UsageGroup::kDay).empty());
  EXPECT_TRUE(s.totals({.since_day = "2026-11-29"}, UsageGroup::kDay).empty());
  EXPECT_TRUE(
      s.totals({.since_day = "2026-11-28", .until_day = "2026-11-27"}, UsageGroup::kDay).empty());
}

TYPED_TEST_P(UsageStoreSuite, AFailedAppendLeavesTheAggregatesAlone) {
  UsageStore& s = *this->store_;
  s.append({rec("a", "t", 1)}, "usage", 10);
  const auto before = s.totals({}, UsageGroup::kTenant);
  this->backend_->fail_aggregate_updates();
  EXPECT_THROW(s.append({rec("b", "t", 2)}, "usage", 20), StoreError);
  EXPECT_EQ(s.totals({}, UsageGroup::kTenant), before);
  EXPECT_EQ(ids(s.query({})), (std::vector<std::string>{"a"}));  // the records rolled back too
  EXPECT_EQ(s.journal_offset("usage"), 10);
}

TYPED_TEST_P(UsageStoreSuite, RetentionDeletesRecordsAndAggregatesSeparately) {
  UsageStore& s = *this->store_;
  const auto rs = mixed_records();
  s.append(rs, "usage", 1);
  const auto by_day_before = s.totals({}, UsageGroup::kDay);
  EXPECT_EQ(s.delete_older_than(std::numeric_limits<std::int64_t>::max()), 30);
  EXPECT_TRUE(s.query({}).empty());
  EXPECT_EQ(s.totals({}, UsageGroup::kDay), by_day_before);  // aggregates outlive records

  std::vector<UsageRecord> on26;
  for (const auto& r : rs)
    if (by_day(r) == "2026-11-26") on26.push_back(r);
  ASSERT_FALSE(on26.empty());
  EXPECT_EQ(s.delete_aggregates_before("2026-11-27"), daily_rows(on26));  // strictly before
  const auto left = s.totals({}, UsageGroup::kDay);
  ASSERT_EQ(left.size(), 2u);
  EXPECT_EQ(left[0].group, "2026-11-27");
  EXPECT_EQ(s.delete_aggregates_before("2026-11-27"), 0);
}

REGISTER_TYPED_TEST_SUITE_P(UsageStoreSuite, AppendStoresEveryFieldAndTheOffset,
                            AnEmptyJournalNameStoresRecordsWithoutAnOffset,
                            AFailedAppendStoresNeitherRecordsNorOffset,
                            QueryFiltersByTenantAndTimeOldestFirst, DeleteOlderThanAFixedCutoff,
                            RecordsFarOutsideNormalDates,
                            AppendKeepsDailyAggregatesForEveryGrouping,
                            TotalsFilterByTenantAndInclusiveDays,
                            AFailedAppendLeavesTheAggregatesAlone,
                            RetentionDeletesRecordsAndAggregatesSeparately);

}  // namespace relay::store::usage_suite
