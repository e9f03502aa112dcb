// The SQLite ConfigStore: the shared contract suites (config_store_suite.hpp,
// config_store_egress_suite.hpp), then what only this backend has: its file, WAL and locks,
// the upgrades from earlier schema versions, and the default wait_for_change.
#include "store/sqlite/sqlite_config_store.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include <chrono>
#include <cstdlib>
#include <functional>

#include "config_store_egress_suite.hpp"
#include "config_store_suite.hpp"
#include "sqlite_test_support.hpp"
#include "store/sqlite/migrations.hpp"
#include "store/sqlite/sqlite_counter_snapshot_store.hpp"
#include "store/sqlite/sqlite_health_store.hpp"
#include "test_support.hpp"

namespace relay::store {
namespace {

using Kind = StoreError::Kind;
using config_suite::kHashA;
using config_suite::kind_of;
using relay::test::raw_count;
using relay::test::raw_exec;

std::string hex(std::string_view bytes) {
  std::string out;
  for (unsigned char c : bytes) out += fmt::format("{:02x}", c);
  return out;
}

// A fresh relay.db in a temp dir per test.
struct SqliteConfigBackend {
  static bool available() { return true; }
  std::unique_ptr<ConfigStore> open(std::shared_ptr<crypto::SecretBox> box) {
    return std::make_unique<SqliteConfigStore>(db, std::move(box));
  }
  // foreign_keys is per connection; the store's own connections have it on.
  void exec(const std::string& sql) { raw_exec(db, "PRAGMA foreign_keys = ON; " + sql); }
  bool try_exec(const std::string& sql) {
    sqlite3* h = nullptr;
    sqlite3_open(db.c_str(), &h);
    const bool ok = sqlite3_exec(h, sql.c_str(), nullptr, nullptr, nullptr) == SQLITE_OK;
    sqlite3_close(h);
    return ok;
  }
  std::int64_t count(const std::string& sql) { return raw_count(db, sql); }
  static std::string blob(std::string_view bytes) { return "x'" + hex(bytes) + "'"; }

  test::TempDir dir;
  std::string db = dir / "relay.db";
};

}  // namespace

namespace config_suite {
INSTANTIATE_TYPED_TEST_SUITE_P(SqliteConfig, ConfigStoreSuite,
                               ::testing::Types<SqliteConfigBackend>);
INSTANTIATE_TYPED_TEST_SUITE_P(SqliteConfig, ConfigStoreEgressSuite,
                               ::testing::Types<SqliteConfigBackend>);
}  // namespace config_suite

namespace {

class SqliteConfigStoreTest : public ::testing::Test {
 protected:
  std::unique_ptr<SqliteConfigStore> open(const std::shared_ptr<crypto::SecretBox>& b = nullptr) {
    return std::make_unique<SqliteConfigStore>(db_, b ? b : box_);
  }
  NewAccount account(const std::string& name, const std::string& cred = "sk-test-credential") {
    return {name, "https://api.example.com/v1", cred, {"gpt-5.5", "gpt-5.5-mini"}, ""};
  }

  test::TempDir dir_;
  std::string db_ = dir_ / "relay.db";
  std::shared_ptr<crypto::SecretBox> box_ =
      std::make_shared<crypto::SecretBox>(std::string(32, '\x07'));
};

TEST_F(SqliteConfigStoreTest, MigrationsRunOnceAndDataSurvivesReopen) {
  open()->add_tenant("team-a");
  auto store = open();
  EXPECT_EQ(raw_count(db_, "SELECT COUNT(*) FROM schema_migrations"),
            static_cast<std::int64_t>(sqlite::config_migrations().size()));
  ASSERT_EQ(store->list_tenants().size(), 1u);
  sqlite3* h = nullptr;
  sqlite3_open(db_.c_str(), &h);
  sqlite3_stmt* s = nullptr;
  sqlite3_prepare_v2(h, "PRAGMA journal_mode", -1, &s, nullptr);
  ASSERT_EQ(sqlite3_step(s), SQLITE_ROW);
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(s, 0)), "wal");
  sqlite3_finalize(s);
  sqlite3_close(h);
}

TEST_F(SqliteConfigStoreTest, DbFileIsPrivate) {
  open();
  struct stat st {};
  ASSERT_EQ(::stat(db_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(SqliteConfigStoreTest, NewerSchemaIsRefused) {
  open();
  raw_exec(db_, "INSERT INTO schema_migrations VALUES (999, 0)");
  try {
    open();
    FAIL() << "opened a db from the future";
  } catch (const StoreError& e) {
    EXPECT_EQ(e.kind(), Kind::kInvalid);
    EXPECT_NE(std::string(e.what()).find("newer"), std::string::npos) << e.what();
  }
}

TEST_F(SqliteConfigStoreTest, CredentialNeverInPlaintextOnDisk) {
  const std::string secret = "sk-proj-VERY-SECRET-credential-0123456789";
  {
    auto s = open();
    s->add_account(account("main", secret));
    EXPECT_EQ(s->load_snapshot()->accounts.at(0).credential, secret);
    // Scan while the WAL is live, then again after close has checkpointed it.
    for (const char* suffix : {"", "-wal", "-shm"})
      EXPECT_EQ(test::read_file(db_ + suffix).find(secret), std::string::npos) << suffix;
  }
  const std::string bytes = test::read_file(db_);
  ASSERT_FALSE(bytes.empty());
  EXPECT_NE(bytes.find("api.example.com"), std::string::npos);  // the scan does see rows
  EXPECT_EQ(bytes.find(secret), std::string::npos);
  EXPECT_EQ(bytes.find("VERY-SECRET"), std::string::npos);
}

TEST_F(SqliteConfigStoreTest, FreshDbHasPoolColumnsAndHealthTables) {
  open()->add_account(account("main"));
  EXPECT_EQ(raw_count(db_, "SELECT weight FROM accounts"), 1);
  EXPECT_EQ(raw_count(db_, "SELECT max_concurrency FROM accounts"), 0);
  EXPECT_GT(raw_count(db_, "SELECT enabled_at FROM accounts"), 0);  // stamped on add
  EXPECT_EQ(raw_count(db_, "SELECT COUNT(*) FROM account_health"), 0);
  EXPECT_EQ(raw_count(db_, "SELECT COUNT(*) FROM account_events"), 0);
  EXPECT_EQ(raw_count(db_,
                      "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND "
                      "name = 'account_events_at_ms'"),
            1);
}

// A db written by the previous release (schema version 2) gains the pool columns with their
// defaults, and its accounts keep working.
TEST_F(SqliteConfigStoreTest, UpgradeFromVersion2) {
  auto migrations = sqlite::config_migrations();
  ASSERT_GE(migrations.size(), 3u);
  ASSERT_EQ(migrations[2].version, 3);
  raw_exec(db_, std::string(migrations[0].sql) + migrations[1].sql +
                    "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, "
                    "applied_at INTEGER NOT NULL);"
                    "INSERT INTO schema_migrations VALUES (1, 0), (2, 0);"
                    "INSERT INTO accounts (name, base_url, credential, models, created_at) "
                    "VALUES ('old', 'https://api.example.com/v1', x'" +
                    hex(box_->seal("sk-old", "account:old")) + "', 'gpt-5.5', 1);");
  auto s = open();
  EXPECT_EQ(raw_count(db_, "SELECT MAX(version) FROM schema_migrations"),
            migrations.back().version);
  auto snap = s->load_snapshot();
  ASSERT_EQ(snap->accounts.size(), 1u);
  const SnapshotAccount& a = snap->accounts[0];
  EXPECT_EQ(a.credential, "sk-old");
  EXPECT_EQ(a.weight, 1);
  EXPECT_EQ(a.max_concurrency, 0);
  EXPECT_EQ(a.enabled_at, 0);
  EXPECT_EQ(s->list_accounts().at(0).weight, 1);
  EXPECT_EQ(raw_count(db_, "SELECT COUNT(*) FROM account_events"), 0);
}

TEST_F(SqliteConfigStoreTest, FreshDbHasTenantLimitsAndQuotaCounters) {
  Tenant t = open()->add_tenant("team-a");
  EXPECT_EQ(t.limits.rps, 0);
  EXPECT_EQ(raw_count(db_, "SELECT MAX(version) FROM schema_migrations"),
            sqlite::config_migrations().back().version);
  for (const char* col :
       {"rps", "rpm", "concurrency", "daily_requests", "daily_tokens", "monthly_tokens"})
    EXPECT_EQ(raw_count(db_, std::string("SELECT ") + col + " FROM tenants"), 0) << col;
  EXPECT_EQ(raw_count(db_, "SELECT COUNT(*) FROM quota_counters"), 0);
  // NOT NULL: a raw insert without them still gets the defaults, and NULL is refused.
  raw_exec(db_, "INSERT INTO tenants (name, created_at) VALUES ('raw', 1)");
  EXPECT_EQ(raw_count(db_, "SELECT monthly_tokens FROM tenants WHERE name = 'raw'"), 0);
  sqlite3* h = nullptr;
  ASSERT_EQ(sqlite3_open(db_.c_str(), &h), SQLITE_OK);
  EXPECT_NE(sqlite3_exec(h, "UPDATE tenants SET rps = NULL", nullptr, nullptr, nullptr), SQLITE_OK);
  EXPECT_NE(sqlite3_exec(h, "INSERT INTO quota_counters (key, value) VALUES ('k', 1)", nullptr,
                         nullptr, nullptr),
            SQLITE_OK);  // expire_at_ms is required
  sqlite3_close(h);
}

// A db written by the previous release (schema version 3) gains the limit columns, all 0 (no
// limit), and the quota_counters table; its tenants and keys keep working.
TEST_F(SqliteConfigStoreTest, UpgradeFromVersion3) {
  auto migrations = sqlite::config_migrations();
  ASSERT_GE(migrations.size(), 4u);
  ASSERT_EQ(migrations[3].version, 4);
  raw_exec(db_, std::string(migrations[0].sql) + migrations[1].sql + migrations[2].sql +
                    "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, "
                    "applied_at INTEGER NOT NULL);"
                    "INSERT INTO schema_migrations VALUES (1, 0), (2, 0), (3, 0);"
                    "INSERT INTO tenants (name, enabled, created_at) VALUES ('old', 1, 1);"
                    "INSERT INTO api_keys (id, tenant_id, key_hash, prefix, created_at) "
                    "VALUES ('key_000000000001', 1, '" +
                    kHashA + "', 'crk_o', 1);");
  const std::int64_t version_before = raw_count(db_, "SELECT n FROM config_version");
  auto s = open();
  EXPECT_EQ(raw_count(db_, "SELECT MAX(version) FROM schema_migrations"),
            migrations.back().version);
  EXPECT_EQ(raw_count(db_, "SELECT COUNT(*) FROM quota_counters"), 0);
  auto tenants = s->list_tenants();
  ASSERT_EQ(tenants.size(), 1u);
  EXPECT_EQ(tenants[0].name, "old");
  EXPECT_EQ(tenants[0].created_at, 1);
  EXPECT_EQ(tenants[0].limits.rps, 0);
  EXPECT_EQ(tenants[0].limits.monthly_tokens, 0);
  auto snap = s->load_snapshot();
  EXPECT_EQ(snap->version, static_cast<std::uint64_t>(version_before));
  const SnapshotKey& k = snap->keys_by_hash.at(kHashA);
  EXPECT_EQ(k.tenant_name, "old");
  EXPECT_EQ(k.limits.concurrency, 0);
  EXPECT_EQ(k.limits.daily_tokens, 0);

  // The version 3 update trigger covers the new columns.
  s->set_tenant_limits("old", {.rps = 5});
  EXPECT_NE(s->change_token(), snap->version);
  EXPECT_EQ(s->load_snapshot()->keys_by_hash.at(kHashA).limits.rps, 5);
}

// A db written by the previous release (schema version 4, tenant limits) gains the key limit
// columns, all 0; tenant limits and keys are kept, and the upgrade itself changes no config.
TEST_F(SqliteConfigStoreTest, UpgradeFromVersion4AddsKeyLimits) {
  auto migrations = sqlite::config_migrations();
  ASSERT_GE(migrations.size(), 5u);
  ASSERT_EQ(migrations[4].version, 5);
  raw_exec(db_, std::string(migrations[0].sql) + migrations[1].sql + migrations[2].sql +
                    migrations[3].sql +
                    "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, "
                    "applied_at INTEGER NOT NULL);"
                    "INSERT INTO schema_migrations VALUES (1, 0), (2, 0), (3, 0), (4, 0);"
                    "INSERT INTO tenants (name, enabled, created_at, rps) VALUES ('old', 1, 1, 7);"
                    "INSERT INTO api_keys (id, tenant_id, key_hash, prefix, created_at) "
                    "VALUES ('key_000000000001', 1, '" +
                    kHashA + "', 'crk_o', 1);");
  const std::int64_t version_before = raw_count(db_, "SELECT n FROM config_version");
  auto s = open();
  EXPECT_EQ(raw_count(db_, "SELECT MAX(version) FROM schema_migrations"),
            migrations.back().version);
  auto snap = s->load_snapshot();
  EXPECT_EQ(snap->version, static_cast<std::uint64_t>(version_before));
  const SnapshotKey& k = snap->keys_by_hash.at(kHashA);
  EXPECT_EQ(k.limits.rps, 7);
  EXPECT_EQ(k.key_limits.rps, 0);
  EXPECT_EQ(k.key_limits.monthly_tokens, 0);
  ASSERT_EQ(s->list_keys().size(), 1u);
  EXPECT_EQ(s->list_keys()[0].limits.concurrency, 0);

  // The version 3 update trigger on api_keys covers the new columns, raw edits included.
  s->set_key_limits("key_000000000001", {.concurrency = 2});
  const auto t1 = s->change_token();
  EXPECT_NE(t1, snap->version);
  EXPECT_EQ(s->load_snapshot()->keys_by_hash.at(kHashA).key_limits.concurrency, 2);
  raw_exec(db_, "UPDATE api_keys SET daily_tokens = 9");
  EXPECT_NE(s->change_token(), t1);
  EXPECT_EQ(s->load_snapshot()->keys_by_hash.at(kHashA).key_limits.daily_tokens, 9);
}

// serve flushes its quota counters every second; that must not make its poller reload the
// config snapshot. Tenant limit changes, by the store or a raw edit, must.
TEST_F(SqliteConfigStoreTest, ChangeTokenIgnoresCounterWritesButSeesLimits) {
  auto s = open();
  s->add_tenant("team-a");
  SqliteCounterSnapshotStore counters(db_);
  const auto t0 = s->change_token();
  counters.write({{"usage:team-a:day:2030-01-01:requests", 3, 0},
                  {"usage:team-a:day:2030-01-01:tokens", 300, 1}});  // and one expired delete
  counters.write({{"usage:team-a:day:2030-01-01:requests", 4, 0}});
  raw_exec(db_, "DELETE FROM quota_counters");
  EXPECT_EQ(s->change_token(), t0);

  s->set_tenant_limits("team-a", {.rpm = 60});
  const auto t1 = s->change_token();
  EXPECT_NE(t1, t0);
  raw_exec(db_, "UPDATE tenants SET monthly_tokens = 5");
  EXPECT_NE(s->change_token(), t1);
}

// serve opens the config store and then the health store on the same file. Opening the second
// must not drop the first's POSIX locks (closing any descriptor of a file drops them all), or
// the next CLI process to close its connection believes it is the last user and deletes the
// WAL under serve.
TEST_F(SqliteConfigStoreTest, SecondConnectionKeepsTheFirstOnesLocks) {
  auto config = open();
  config->add_tenant("team");
  SqliteHealthStore health(db_);
  // What serve does next: reads config, writes health.
  config->load_snapshot();
  health.write({}, {});
  config->change_token();
  struct stat st {};
  ASSERT_EQ(::stat((db_ + "-wal").c_str(), &st), 0);
  // A separate program (not a fork: a forked child inherits SQLite's in-process lock
  // bookkeeping and would never ask the kernel).
  std::string cmd = "sqlite3 '" + db_ + "' 'SELECT COUNT(*) FROM tenants;' >/dev/null";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << "needs the sqlite3 program (scripts/setup.sh --test)";
  EXPECT_EQ(::stat((db_ + "-wal").c_str(), &st), 0) << "another process deleted serve's WAL";
  EXPECT_EQ(config->list_tenants().size(), 1u);
}

// No notification channel: the default waits the whole time and answers "maybe", so the
// poller reads the change token every time.
TEST_F(SqliteConfigStoreTest, WaitForChangeSleepsAndSaysMaybe) {
  auto s = open();
  const auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(s->wait_for_change(std::chrono::milliseconds(30)));
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(30));
}

}  // namespace
}  // namespace relay::store
