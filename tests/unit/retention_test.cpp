#include "records/retention.hpp"

#include <gtest/gtest.h>
#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <thread>

#include "log_capture.hpp"
#include "sqlite_test_support.hpp"
#include "store/config_store.hpp"
#include "store/sqlite/sqlite_usage_store.hpp"
#include "test_support.hpp"

namespace relay::records {
namespace {

using namespace std::chrono_literals;
using store::SqliteUsageStore;
using store::UsageGroup;
using test::LogCapture;

constexpr std::int64_t kNow = 1'795'780'800'000;       // 2026-11-27T12:00:00Z
constexpr std::int64_t kMidnight = 1'795'737'600'000;  // 2026-11-27T00:00:00Z

UsageRecord rec(std::string id, std::int64_t start_ms) {
  UsageRecord r;
  r.request_id = std::move(id);
  r.start_ms = start_ms;
  r.tenant = "team-a";
  r.key_id = "key_0123456789ab";
  r.model = "gpt-5.5";
  r.status = 200;
  r.input_tokens = 10;
  return r;
}

std::vector<std::string> ids(store::UsageStore& s) {
  std::vector<std::string> out;
  for (const auto& r : s.query({})) out.push_back(r.request_id);
  return out;
}

std::vector<std::string> days(store::UsageStore& s) {
  std::vector<std::string> out;
  for (const auto& t : s.totals({}, UsageGroup::kDay)) out.push_back(t.group);
  return out;
}

bool wait_until(const std::function<bool()>& done) {
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

class RetentionTest : public ::testing::Test {
 protected:
  test::TempDir dir_;
  std::string db_ = dir_ / "relay.db";
  SqliteUsageStore store_{db_};
};

TEST_F(RetentionTest, RecordsGoOnceOlderThanExactlyRetentionDays) {
  const std::int64_t cutoff = kNow - 30 * kDayMs;
  store_.append(
      {rec("older", cutoff - 1), rec("edge", cutoff), rec("newer", cutoff + 1), rec("now", kNow)},
      "usage", 1);
  EXPECT_EQ(run_retention(store_, kNow, {}), (RetentionResult{1, 0}));
  EXPECT_EQ(ids(store_), (std::vector<std::string>{"edge", "newer", "now"}));
  EXPECT_EQ(run_retention(store_, kNow, {}), (RetentionResult{0, 0}));
  EXPECT_EQ(run_retention(store_, kNow + 1, {}), (RetentionResult{1, 0}));
  EXPECT_EQ(ids(store_), (std::vector<std::string>{"newer", "now"}));
}

TEST_F(RetentionTest, AggregatesOutliveTheRecords) {
  store_.append({rec("a", kNow - 31 * kDayMs), rec("b", kNow - 100 * kDayMs),
                 rec("c", kNow - 399 * kDayMs), rec("d", kNow - 399 * kDayMs + 1)},
                "usage", 1);
  EXPECT_EQ(run_retention(store_, kNow, {}), (RetentionResult{4, 0}));
  EXPECT_TRUE(ids(store_).empty());
  EXPECT_EQ(days(store_), (std::vector<std::string>{"2025-10-24", "2026-08-19", "2026-10-27"}));
  const auto totals = store_.totals({}, UsageGroup::kTenant);
  ASSERT_EQ(totals.size(), 1u);
  EXPECT_EQ(totals[0].requests, 4);
  EXPECT_EQ(totals[0].input_tokens, 40);
}

// The cutoff instant is 2025-10-23T12:00Z: that day's aggregate stays whole until the day is
// entirely older than 400 days, the day before goes.
TEST_F(RetentionTest, AggregatesGoByWholeDaysAfter400Days) {
  const std::int64_t day_start = kMidnight - 400 * kDayMs;  // 2025-10-23T00:00:00Z
  store_.append({rec("before", day_start - 1), rec("first", day_start),
                 rec("late", day_start + kDayMs - 1), rec("next", day_start + kDayMs)},
                "usage", 1);
  EXPECT_EQ(run_retention(store_, kNow, {}), (RetentionResult{4, 1}));
  EXPECT_EQ(days(store_), (std::vector<std::string>{"2025-10-23", "2025-10-24"}));
  EXPECT_EQ(store_.totals({}, UsageGroup::kDay)[0].requests, 2);
  // Half a day later the cutoff reaches the 24th: the 23rd goes.
  EXPECT_EQ(run_retention(store_, kNow + kDayMs / 2, {}), (RetentionResult{0, 1}));
  EXPECT_EQ(days(store_), (std::vector<std::string>{"2025-10-24"}));
}

TEST_F(RetentionTest, BothPeriodsAreConfigurable) {
  store_.append({rec("a", kNow - kDayMs - 1), rec("b", kNow - kDayMs), rec("c", kMidnight - 1),
                 rec("d", kMidnight - 2 * kDayMs - 1), rec("e", kMidnight - 2 * kDayMs)},
                "usage", 1);
  const RetentionPolicy policy{.retention_days = 1, .aggregate_retention_days = 2};
  // Records before 2026-11-26T12:00Z go (a, d, e); aggregates of the days before the 25th (d).
  EXPECT_EQ(run_retention(store_, kNow, policy), (RetentionResult{3, 1}));
  EXPECT_EQ(ids(store_), (std::vector<std::string>{"b", "c"}));
  EXPECT_EQ(days(store_), (std::vector<std::string>{"2026-11-25", "2026-11-26"}));
}

TEST_F(RetentionTest, JobRunsAtStartThenEveryIntervalOnItsOwnConnection) {
  LogCapture log;
  store_.append({rec("old", kNow - 31 * kDayMs), rec("recent", kNow - kDayMs)}, "usage", 1);
  std::atomic<std::int64_t> now{kNow};
  std::atomic<bool> other_thread{false};
  const auto test_thread = std::this_thread::get_id();
  RetentionJob job(
      [&] {
        other_thread = std::this_thread::get_id() != test_thread;
        return std::make_unique<SqliteUsageStore>(db_);
      },
      {}, 2ms, [&] { return now.load(); });
  ASSERT_TRUE(wait_until([&] { return job.runs() >= 1; }));
  EXPECT_TRUE(other_thread);
  EXPECT_EQ(ids(store_), (std::vector<std::string>{"recent"}));

  now = kNow + 30 * kDayMs;  // "recent" is now 31 days old
  const auto runs = job.runs();
  ASSERT_TRUE(wait_until([&] { return job.runs() >= runs + 2; }));  // one started after the move
  job.stop();
  EXPECT_TRUE(ids(store_).empty());
  EXPECT_EQ(store_.totals({}, UsageGroup::kDay).size(), 2u);

  // One info line per run that deleted something, counts only, nothing for the idle runs.
  const auto info = log.lines("info");
  ASSERT_EQ(info.size(), 2u);
  EXPECT_NE(info[0].find("deleted 1 records"), std::string::npos) << info[0];
  for (const auto& l : info) EXPECT_EQ(l.find("team-a"), std::string::npos) << l;
  EXPECT_TRUE(log.lines("warning").empty());
}

TEST_F(RetentionTest, JobStopWakesItAtOnceAndIsIdempotent) {
  std::atomic<std::int64_t> now{kNow};
  RetentionJob job([&] { return std::make_unique<SqliteUsageStore>(db_); }, {}, 24h,
                   [&] { return now.load(); });
  ASSERT_TRUE(wait_until([&] { return job.runs() >= 1; }));
  job.stop();  // would wait a day if the job slept through its interval
  job.stop();
  EXPECT_EQ(job.runs(), 1u);
  // A job stopped before its first run may or may not have run; either way it stops.
  RetentionJob quick([&] { return std::make_unique<SqliteUsageStore>(db_); }, {}, 24h,
                     [&] { return now.load(); });
  quick.stop();
  EXPECT_LE(quick.runs(), 1u);
}

TEST_F(RetentionTest, JobWarnsOnStoreErrorsAndKeepsRunning) {
  LogCapture log;
  store_.append({rec("old", kNow - 31 * kDayMs)}, "usage", 1);
  test::raw_exec(db_,
                 "CREATE TRIGGER no_delete BEFORE DELETE ON usage_records "
                 "BEGIN SELECT RAISE(ABORT, 'injected'); END;");
  std::atomic<int> opens{0};
  RetentionJob job(
      [&]() -> std::unique_ptr<store::UsageStore> {
        if (opens++ == 0) throw store::StoreError(store::StoreError::Kind::kIo, "cannot open");
        return std::make_unique<SqliteUsageStore>(db_);
      },
      {}, 2ms, [] { return kNow; });
  ASSERT_TRUE(wait_until([&] { return job.runs() >= 3; }));
  EXPECT_EQ(ids(store_), (std::vector<std::string>{"old"}));
  const auto warnings = log.lines("warning");
  ASSERT_GE(warnings.size(), 2u);
  EXPECT_NE(warnings[0].find("cannot open"), std::string::npos) << warnings[0];
  EXPECT_NE(warnings[1].find("injected"), std::string::npos) << warnings[1];

  test::raw_exec(db_, "DROP TRIGGER no_delete");
  ASSERT_TRUE(wait_until([&] { return ids(store_).empty(); }));
  job.stop();
  EXPECT_EQ(opens.load(), 2);  // the connection that failed a delete is kept, not reopened
}

}  // namespace
}  // namespace relay::records
