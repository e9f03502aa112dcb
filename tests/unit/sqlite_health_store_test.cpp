#include "store/sqlite/sqlite_health_store.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <chrono>

#include "crypto/secret_box.hpp"
#include "store/sqlite/sqlite_config_store.hpp"
#include "test_support.hpp"

namespace relay::store {
namespace {

std::int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

AccountHealthRow row(std::int64_t id, std::string name, std::string state) {
  AccountHealthRow r;
  r.account_id = id;
  r.account_name = std::move(name);
  r.state = std::move(state);
  r.score = 0.75;
  r.error_rate = 0.125;
  r.ttfb_ms = 312.5;
  r.cooling_until_unix_ms = 1'700'000'000'123;
  r.requests = 40;
  r.input_tokens = 1000;
  r.cached_tokens = 640;
  r.last_failure = "server_error";
  r.updated_at_unix_ms = now_ms();
  return r;
}

AccountEvent event(std::string name, std::string from, std::string to, std::int64_t at) {
  return {1, std::move(name), std::move(from), std::move(to), "server_error", at};
}

class SqliteHealthStoreTest : public ::testing::Test {
 protected:
  test::TempDir dir_;
  std::string db_ = dir_ / "relay.db";
};

TEST_F(SqliteHealthStoreTest, WriteReplacesRowsAndReadsThemBack) {
  SqliteHealthStore s(db_);  // first to open a fresh file: it creates the schema itself
  EXPECT_TRUE(s.read_health().empty());
  s.write({row(2, "b", "cooling"), row(1, "a", "healthy")}, {});
  auto rows = s.read_health();
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].account_name, "a");
  const AccountHealthRow& b = rows[1];
  EXPECT_EQ(b.account_id, 2);
  EXPECT_EQ(b.state, "cooling");
  EXPECT_DOUBLE_EQ(b.score, 0.75);
  EXPECT_DOUBLE_EQ(b.error_rate, 0.125);
  EXPECT_DOUBLE_EQ(b.ttfb_ms, 312.5);
  EXPECT_EQ(b.cooling_until_unix_ms, 1'700'000'000'123);
  EXPECT_EQ(b.requests, 40);
  EXPECT_EQ(b.input_tokens, 1000);
  EXPECT_EQ(b.cached_tokens, 640);
  EXPECT_EQ(b.last_failure, "server_error");
  EXPECT_GT(b.updated_at_unix_ms, 0);

  // An account the pool no longer has disappears with the next write.
  s.write({row(1, "a", "half_open")}, {});
  rows = s.read_health();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].state, "half_open");
}

TEST_F(SqliteHealthStoreTest, EventsAppendAndComeBackNewestLimitOldestFirst) {
  SqliteHealthStore s(db_);
  const std::int64_t t = now_ms();
  s.write({}, {event("a", "healthy", "cooling", t - 3000),
               event("a", "cooling", "half_open", t - 2000)});
  s.write({}, {event("b", "healthy", "disabled", t - 1000)});
  auto all = s.recent_events(10);
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].to_state, "cooling");
  EXPECT_EQ(all[2].account_name, "b");
  EXPECT_EQ(all[2].from_state, "healthy");
  EXPECT_EQ(all[2].cause, "server_error");
  EXPECT_EQ(all[2].at_unix_ms, t - 1000);
  auto two = s.recent_events(2);
  ASSERT_EQ(two.size(), 2u);
  EXPECT_EQ(two[0].to_state, "half_open");
  EXPECT_EQ(two[1].to_state, "disabled");
  EXPECT_TRUE(s.recent_events(0).empty());
}

TEST_F(SqliteHealthStoreTest, EventsOlderThanThirtyDaysArePruned) {
  SqliteHealthStore s(db_);
  const std::int64_t t = now_ms();
  const std::int64_t day = 86'400'000;
  s.write({}, {event("a", "healthy", "cooling", t - 31 * day),
               event("a", "cooling", "half_open", t - 29 * day)});
  auto left = s.recent_events(10);
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(left[0].to_state, "half_open");
}

TEST_F(SqliteHealthStoreTest, EventCountIsCapped) {
  SqliteHealthStore s(db_, 10);
  const std::int64_t t = now_ms();
  std::vector<AccountEvent> many;
  for (int i = 0; i < 15; ++i) many.push_back(event("a", "healthy", "cooling", t - 15 + i));
  s.write({}, many);
  auto kept = s.recent_events(100);
  ASSERT_EQ(kept.size(), 10u);
  EXPECT_EQ(kept.front().at_unix_ms, many[5].at_unix_ms);  // the oldest five went
  EXPECT_EQ(kept.back().at_unix_ms, many.back().at_unix_ms);
  EXPECT_EQ(SqliteHealthStore(db_).recent_events(100).size(), 10u);  // default cap is far higher
}

TEST_F(SqliteHealthStoreTest, SharesTheFileWithTheConfigStore) {
  auto box = std::make_shared<crypto::SecretBox>(std::string(32, '\x07'));
  SqliteConfigStore config(db_, box);
  config.add_account({"main", "https://api.example.com/v1", "sk-x", {}, ""});
  SqliteHealthStore health(db_);
  const auto token = config.change_token();
  health.write({row(config.list_accounts().at(0).id, "main", "healthy")}, {});
  EXPECT_EQ(health.read_health().size(), 1u);
  EXPECT_EQ(config.list_accounts().size(), 1u);
  // Serve writes health every second; that must not look like a config change to the poller.
  EXPECT_EQ(config.change_token(), token);
  config.update_account("main", {.weight = 2});
  EXPECT_NE(config.change_token(), token);
}

// Serve replaces the egress states wholesale, like account health; the write is not a config
// change, and a row may name an egress that was removed meanwhile (no foreign key).
TEST_F(SqliteHealthStoreTest, EgressHealthIsReplacedWholesale) {
  auto box = std::make_shared<crypto::SecretBox>(std::string(32, '\x07'));
  SqliteConfigStore config(db_, box);
  SqliteHealthStore health(db_);
  EXPECT_TRUE(health.read_egress_health().empty());
  const auto token = config.change_token();
  health.write_egress_health({{7, "zeta", "a", "down", "proxy refused CONNECT: 407", 1000},
                              {3, "alpha", "b", "up", "", 2000}});
  auto rows = health.read_egress_health();
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].egress_name, "alpha");  // by name
  EXPECT_EQ(rows[0].egress_id, 3);
  EXPECT_EQ(rows[0].state, "up");
  EXPECT_EQ(rows[1].egress_id, 7);
  EXPECT_EQ(rows[1].account_name, "a");
  EXPECT_EQ(rows[1].state, "down");
  EXPECT_EQ(rows[1].last_error, "proxy refused CONNECT: 407");
  EXPECT_EQ(rows[1].updated_at_unix_ms, 1000);

  health.write_egress_health({{3, "alpha", "b", "down", "timeout", 3000}});
  rows = health.read_egress_health();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].last_error, "timeout");
  health.write_egress_health({});
  EXPECT_TRUE(health.read_egress_health().empty());
  // Account health is a separate table: one write leaves the other alone.
  health.write({row(1, "a", "healthy")}, {});
  health.write_egress_health({{3, "alpha", "b", "up", "", 4000}});
  EXPECT_EQ(health.read_health().size(), 1u);
  EXPECT_EQ(config.change_token(), token);
}

}  // namespace
}  // namespace relay::store
