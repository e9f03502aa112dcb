#include "store/sqlite/sqlite_config_store.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include <chrono>
#include <cstdlib>
#include <functional>
#include <regex>

#include "sqlite_test_support.hpp"
#include "store/sqlite/migrations.hpp"
#include "store/sqlite/sqlite_counter_snapshot_store.hpp"
#include "store/sqlite/sqlite_health_store.hpp"
#include "test_support.hpp"

namespace relay::store {
namespace {

using Kind = StoreError::Kind;

const std::string kHashA(64, 'a');
const std::string kHashB(64, 'b');

Kind kind_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const StoreError& e) {
    return e.kind();
  }
  ADD_FAILURE() << "no StoreError thrown";
  return Kind::kIo;
}

using relay::test::raw_exec;

using relay::test::raw_count;

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

TEST_F(SqliteConfigStoreTest, Tenants) {
  auto s = open();
  Tenant t = s->add_tenant("team-a");
  EXPECT_GT(t.id, 0);
  EXPECT_TRUE(t.enabled);
  s->add_tenant("ci.nightly_1");
  EXPECT_EQ(kind_of([&] { s->add_tenant("team-a"); }), Kind::kAlreadyExists);
  s->set_tenant_enabled("team-a", false);
  auto list = s->list_tenants();
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].name, "ci.nightly_1");
  EXPECT_EQ(list[1].name, "team-a");
  EXPECT_FALSE(list[1].enabled);
  EXPECT_EQ(kind_of([&] { s->set_tenant_enabled("nobody", true); }), Kind::kNotFound);
}

TEST_F(SqliteConfigStoreTest, InvalidNamesAreRejected) {
  auto s = open();
  for (std::string bad : std::vector<std::string>{"", "-lead", ".x", "a b", "a/b", "caf\xc3\xa9",
                                                  "x;DROP", std::string(65, 'x')}) {
    EXPECT_EQ(kind_of([&] { s->add_tenant(bad); }), Kind::kInvalid) << bad;
    EXPECT_EQ(kind_of([&] { s->add_account(account(bad)); }), Kind::kInvalid) << bad;
  }
  EXPECT_NO_THROW(s->add_tenant(std::string(64, 'x')));
  EXPECT_NO_THROW(s->add_tenant("0.a_b-C"));
}

TEST_F(SqliteConfigStoreTest, Keys) {
  auto s = open();
  s->add_tenant("team-a");
  EXPECT_EQ(kind_of([&] { s->add_key("nobody", kHashA, "crk_x", std::nullopt); }), Kind::kNotFound);
  // The raw key instead of its hash is refused, so it can never be stored by mistake.
  EXPECT_EQ(kind_of([&] { s->add_key("team-a", "crk_rawkeyrawkey", "crk_x", std::nullopt); }),
            Kind::kInvalid);
  KeyRecord k = s->add_key("team-a", kHashA, "crk_AbCd1234", 2'000'000'000);
  EXPECT_TRUE(std::regex_match(k.id, std::regex("^key_[0-9a-f]{12}$"))) << k.id;
  EXPECT_EQ(kind_of([&] { s->add_key("team-a", kHashA, "crk_x", std::nullopt); }),
            Kind::kAlreadyExists);
  s->add_key("team-a", kHashB, "crk_Zz", std::nullopt);

  s->revoke_key(k.id);
  s->revoke_key(k.id);  // idempotent
  EXPECT_EQ(kind_of([&] { s->revoke_key("key_000000000000"); }), Kind::kNotFound);
  auto keys = s->list_keys();
  ASSERT_EQ(keys.size(), 2u);
  const auto& revoked = keys[0].id == k.id ? keys[0] : keys[1];
  EXPECT_EQ(revoked.tenant_name, "team-a");
  EXPECT_EQ(revoked.prefix, "crk_AbCd1234");
  EXPECT_EQ(revoked.expires_at, 2'000'000'000);
  EXPECT_TRUE(revoked.revoked_at.has_value());
}

TEST_F(SqliteConfigStoreTest, SnapshotReflectsRevokeAndDisable) {
  auto s = open();
  Tenant t = s->add_tenant("team-a");
  KeyRecord k = s->add_key("team-a", kHashA, "crk_a", 2'000'000'000);
  s->add_key("team-a", kHashB, "crk_b", std::nullopt);
  s->add_account(account("main", "sk-main"));
  s->add_account(account("spare", "sk-spare"));

  auto snap = s->load_snapshot();
  ASSERT_EQ(snap->keys_by_hash.size(), 2u);
  const SnapshotKey& a = snap->keys_by_hash.at(kHashA);
  EXPECT_EQ(a.key_id, k.id);
  EXPECT_EQ(a.tenant_id, t.id);
  EXPECT_EQ(a.tenant_name, "team-a");
  EXPECT_TRUE(a.tenant_enabled);
  EXPECT_FALSE(a.revoked);
  EXPECT_EQ(a.expires_at, 2'000'000'000);
  EXPECT_FALSE(snap->keys_by_hash.at(kHashB).expires_at.has_value());
  ASSERT_EQ(snap->accounts.size(), 2u);
  EXPECT_EQ(snap->accounts[0].name, "main");
  EXPECT_EQ(snap->accounts[0].credential, "sk-main");
  EXPECT_EQ(snap->accounts[0].models, (std::vector<std::string>{"gpt-5.5", "gpt-5.5-mini"}));
  EXPECT_TRUE(snap->accounts[0].enabled);

  s->revoke_key(k.id);
  s->set_tenant_enabled("team-a", false);
  s->set_account_enabled("spare", false);
  auto after = s->load_snapshot();
  EXPECT_TRUE(after->keys_by_hash.at(kHashA).revoked);
  EXPECT_FALSE(after->keys_by_hash.at(kHashB).revoked);
  EXPECT_FALSE(after->keys_by_hash.at(kHashB).tenant_enabled);
  EXPECT_FALSE(after->accounts[1].enabled);
  EXPECT_NE(after->version, snap->version);
  // The earlier snapshot is immutable: holders keep what they started with.
  EXPECT_FALSE(snap->keys_by_hash.at(kHashA).revoked);
}

TEST_F(SqliteConfigStoreTest, Accounts) {
  auto s = open();
  Account a = s->add_account(account("main"));
  EXPECT_GT(a.id, 0);
  EXPECT_EQ(kind_of([&] { s->add_account(account("main")); }), Kind::kAlreadyExists);
  NewAccount bad = account("other");
  bad.base_url = "ftp://x";
  EXPECT_EQ(kind_of([&] { s->add_account(bad); }), Kind::kInvalid);
  bad = account("other", "");
  EXPECT_EQ(kind_of([&] { s->add_account(bad); }), Kind::kInvalid);
  bad = account("other");
  bad.models = {"a,b"};
  EXPECT_EQ(kind_of([&] { s->add_account(bad); }), Kind::kInvalid);

  NewAccount all = account("all-models");
  all.models.clear();
  all.ca_file = "/etc/ssl/private-ca.pem";
  s->add_account(all);
  s->set_account_enabled("main", false);
  EXPECT_EQ(kind_of([&] { s->set_account_enabled("nobody", false); }), Kind::kNotFound);
  auto list = s->list_accounts();
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].name, "all-models");
  EXPECT_TRUE(list[0].models.empty());
  EXPECT_EQ(list[0].ca_file, "/etc/ssl/private-ca.pem");
  EXPECT_EQ(list[1].models, (std::vector<std::string>{"gpt-5.5", "gpt-5.5-mini"}));
  EXPECT_FALSE(list[1].enabled);
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

TEST_F(SqliteConfigStoreTest, UndecryptableAccountIsSkippedNotFatal) {
  open()->add_account(account("main"));
  auto other_key = std::make_shared<crypto::SecretBox>(std::string(32, '\x08'));
  // A credential sealed under some other key (restored from another install, say).
  std::string foreign = other_key->seal("sk-foreign", "account:main");
  std::string hex;
  for (unsigned char c : foreign) hex += fmt::format("{:02x}", c);
  raw_exec(db_, "UPDATE accounts SET credential = x'" + hex + "' WHERE name = 'main'");
  auto s = open();
  EXPECT_EQ(s->list_accounts().size(), 1u);
  EXPECT_TRUE(s->load_snapshot()->accounts.empty());
}

TEST_F(SqliteConfigStoreTest, WrongMasterKeyIsRefusedBeforeAnyWrite) {
  open()->add_account(account("main"));
  auto other_key = std::make_shared<crypto::SecretBox>(std::string(32, '\x08'));
  EXPECT_EQ(kind_of([&] { open(other_key); }), Kind::kInvalid);
  // The right key still opens it, and the account is intact.
  EXPECT_EQ(open()->load_snapshot()->accounts.at(0).credential, "sk-test-credential");
}

TEST_F(SqliteConfigStoreTest, CredentialIsBoundToItsAccountRow) {
  auto s = open();
  s->add_account(account("a", "sk-for-a"));
  s->add_account(account("b", "sk-for-b"));
  raw_exec(db_,
           "UPDATE accounts SET credential = (SELECT credential FROM accounts WHERE "
           "name = 'a') WHERE name = 'b'");
  auto snap = s->load_snapshot();
  ASSERT_EQ(snap->accounts.size(), 1u);
  EXPECT_EQ(snap->accounts[0].name, "a");
}

TEST_F(SqliteConfigStoreTest, ChangeTokenSeesOwnAndOtherWrites) {
  auto poller = open();
  auto admin = open();
  const auto t0 = poller->change_token();
  EXPECT_EQ(poller->change_token(), t0);  // stable while nothing happens

  admin->add_tenant("team-a");  // another connection, as the CLI process would be
  const auto t1 = poller->change_token();
  EXPECT_NE(t1, t0);

  raw_exec(db_, "UPDATE tenants SET enabled = 0");
  const auto t2 = poller->change_token();
  EXPECT_NE(t2, t1);

  poller->add_tenant("team-b");  // own write counts too
  EXPECT_NE(poller->change_token(), t2);
}

std::int64_t unix_ms_now() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
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
  std::string hex;
  for (unsigned char c : box_->seal("sk-old", "account:old")) hex += fmt::format("{:02x}", c);
  raw_exec(db_, std::string(migrations[0].sql) + migrations[1].sql +
                    "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, "
                    "applied_at INTEGER NOT NULL);"
                    "INSERT INTO schema_migrations VALUES (1, 0), (2, 0);"
                    "INSERT INTO accounts (name, base_url, credential, models, created_at) "
                    "VALUES ('old', 'https://api.example.com/v1', x'" +
                    hex + "', 'gpt-5.5', 1);");
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

TEST_F(SqliteConfigStoreTest, WeightAndConcurrencyAreStoredAndValidated) {
  auto s = open();
  NewAccount a = account("main");
  a.weight = 7;
  a.max_concurrency = 12;
  s->add_account(a);
  auto list = s->list_accounts();
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].weight, 7);
  EXPECT_EQ(list[0].max_concurrency, 12);
  EXPECT_EQ(s->load_snapshot()->accounts.at(0).weight, 7);
  EXPECT_EQ(s->load_snapshot()->accounts.at(0).max_concurrency, 12);

  for (auto [w, c] :
       std::vector<std::pair<int, int>>{{0, 0}, {1001, 0}, {-1, 0}, {1, -1}, {1, 100'001}}) {
    NewAccount bad = account("bad");
    bad.weight = w;
    bad.max_concurrency = c;
    EXPECT_EQ(kind_of([&] { s->add_account(bad); }), Kind::kInvalid) << w << " " << c;
    EXPECT_EQ(kind_of([&] { s->update_account("main", {w, c, {}, {}}); }), Kind::kInvalid);
  }
  a = account("edge");
  a.weight = 1000;
  a.max_concurrency = 100'000;
  EXPECT_NO_THROW(s->add_account(a));
  EXPECT_EQ(s->list_accounts().size(), 2u);
}

TEST_F(SqliteConfigStoreTest, UpdateAccountChangesOnlyWhatIsGiven) {
  auto s = open();
  s->add_account(account("main"));
  const auto before = s->change_token();
  s->update_account("main", {.weight = 4});
  EXPECT_NE(s->change_token(), before);
  Account a = s->list_accounts().at(0);
  EXPECT_EQ(a.weight, 4);
  EXPECT_EQ(a.max_concurrency, 0);
  EXPECT_EQ(a.models, (std::vector<std::string>{"gpt-5.5", "gpt-5.5-mini"}));
  EXPECT_EQ(a.base_url, "https://api.example.com/v1");

  s->update_account("main", {.max_concurrency = 3,
                             .models = std::vector<std::string>{"gpt-x"},
                             .base_url = std::string("http://127.0.0.1:9/v1")});
  a = s->list_accounts().at(0);
  EXPECT_EQ(a.weight, 4);
  EXPECT_EQ(a.max_concurrency, 3);
  EXPECT_EQ(a.models, (std::vector<std::string>{"gpt-x"}));
  EXPECT_EQ(a.base_url, "http://127.0.0.1:9/v1");
  s->update_account("main", {.models = std::vector<std::string>{}});  // every model
  EXPECT_TRUE(s->list_accounts().at(0).models.empty());
  EXPECT_EQ(s->load_snapshot()->accounts.at(0).credential, "sk-test-credential");

  EXPECT_EQ(kind_of([&] { s->update_account("nobody", {.weight = 2}); }), Kind::kNotFound);
  EXPECT_EQ(kind_of([&] { s->update_account("main", {.base_url = std::string("ftp://x")}); }),
            Kind::kInvalid);
  EXPECT_EQ(
      kind_of([&] { s->update_account("main", {.models = std::vector<std::string>{"a,b"}}); }),
      Kind::kInvalid);
  EXPECT_EQ(s->list_accounts().at(0).base_url, "http://127.0.0.1:9/v1");  // untouched by those
}

TEST_F(SqliteConfigStoreTest, EnableAlwaysStampsEnabledAt) {
  auto s = open();
  const std::int64_t t0 = unix_ms_now();
  s->add_account(account("main"));
  const std::int64_t added = s->load_snapshot()->accounts.at(0).enabled_at;
  EXPECT_GE(added, t0);

  // Re-enabling an enabled account still stamps it: that clears a health-disable.
  raw_exec(db_, "UPDATE accounts SET enabled_at = 5");
  s->set_account_enabled("main", true);
  const std::int64_t first = s->load_snapshot()->accounts.at(0).enabled_at;
  EXPECT_GE(first, t0);
  EXPECT_LE(first, unix_ms_now());

  raw_exec(db_, "UPDATE accounts SET enabled_at = 5");
  s->set_account_enabled("main", false);
  auto snap = s->load_snapshot();
  EXPECT_FALSE(snap->accounts.at(0).enabled);
  EXPECT_EQ(snap->accounts.at(0).enabled_at, 5);  // disabling leaves it alone
  s->set_account_enabled("main", true);
  snap = s->load_snapshot();
  EXPECT_TRUE(snap->accounts.at(0).enabled);
  EXPECT_GE(snap->accounts.at(0).enabled_at, t0);
  EXPECT_EQ(kind_of([&] { s->set_account_enabled("nobody", true); }), Kind::kNotFound);
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

TEST_F(SqliteConfigStoreTest, TenantLimitsRoundTripAndValidation) {
  auto s = open();
  s->add_tenant("team-a");
  s->add_tenant("team-b");
  s->set_tenant_limits("team-a", {.rps = 10,
                                  .rpm = 300,
                                  .concurrency = 5,
                                  .daily_requests = 1000,
                                  .daily_tokens = 2'000'000,
                                  .monthly_tokens = 50'000'000'000});
  Tenant a = s->list_tenants().at(0);
  EXPECT_EQ(a.limits.rps, 10);
  EXPECT_EQ(a.limits.rpm, 300);
  EXPECT_EQ(a.limits.concurrency, 5);
  EXPECT_EQ(a.limits.daily_requests, 1000);
  EXPECT_EQ(a.limits.daily_tokens, 2'000'000);
  EXPECT_EQ(a.limits.monthly_tokens, 50'000'000'000);  // beyond 32 bits
  Tenant b = s->list_tenants().at(1);
  EXPECT_EQ(b.limits.rps, 0);
  EXPECT_EQ(b.limits.monthly_tokens, 0);

  // Only what is given changes; 0 clears a limit.
  s->set_tenant_limits("team-a", {.rps = 0, .daily_tokens = 7});
  a = s->list_tenants().at(0);
  EXPECT_EQ(a.limits.rps, 0);
  EXPECT_EQ(a.limits.rpm, 300);
  EXPECT_EQ(a.limits.concurrency, 5);
  EXPECT_EQ(a.limits.daily_requests, 1000);
  EXPECT_EQ(a.limits.daily_tokens, 7);
  EXPECT_EQ(a.limits.monthly_tokens, 50'000'000'000);

  EXPECT_EQ(kind_of([&] { s->set_tenant_limits("nobody", {.rps = 1}); }), Kind::kNotFound);
  for (TenantLimitsUpdate bad :
       {TenantLimitsUpdate{.rps = -1}, TenantLimitsUpdate{.rpm = -1},
        TenantLimitsUpdate{.concurrency = -5}, TenantLimitsUpdate{.daily_requests = -1},
        TenantLimitsUpdate{.daily_tokens = -1},
        TenantLimitsUpdate{.rps = 3, .monthly_tokens = -1}}) {
    const auto before = s->change_token();
    EXPECT_EQ(kind_of([&] { s->set_tenant_limits("team-a", bad); }), Kind::kInvalid);
    EXPECT_EQ(s->change_token(), before);
  }
  a = s->list_tenants().at(0);
  EXPECT_EQ(a.limits.rps, 0);  // the invalid update with a valid rps changed nothing
  EXPECT_EQ(a.limits.monthly_tokens, 50'000'000'000);
  EXPECT_TRUE(TenantLimitsUpdate{}.empty());
  EXPECT_FALSE(TenantLimitsUpdate{.monthly_tokens = 0}.empty());
}

TEST_F(SqliteConfigStoreTest, SnapshotCarriesTenantLimits) {
  auto s = open();
  s->add_tenant("team-a");
  s->add_tenant("team-b");
  s->add_key("team-a", kHashA, "crk_a", std::nullopt);
  s->add_key("team-b", kHashB, "crk_b", std::nullopt);
  s->set_tenant_limits("team-a", {.rps = 2, .concurrency = 3, .monthly_tokens = 4});
  auto snap = s->load_snapshot();
  const TenantLimits& a = snap->keys_by_hash.at(kHashA).limits;
  EXPECT_EQ(a.rps, 2);
  EXPECT_EQ(a.rpm, 0);
  EXPECT_EQ(a.concurrency, 3);
  EXPECT_EQ(a.daily_requests, 0);
  EXPECT_EQ(a.daily_tokens, 0);
  EXPECT_EQ(a.monthly_tokens, 4);
  const TenantLimits& b = snap->keys_by_hash.at(kHashB).limits;
  EXPECT_EQ(b.rps, 0);
  EXPECT_EQ(b.monthly_tokens, 0);

  s->set_tenant_limits("team-b", {.daily_requests = 9});
  auto after = s->load_snapshot();
  EXPECT_NE(after->version, snap->version);
  EXPECT_EQ(after->keys_by_hash.at(kHashB).limits.daily_requests, 9);
  EXPECT_EQ(snap->keys_by_hash.at(kHashB).limits.daily_requests, 0);  // the old one is immutable
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

TEST_F(SqliteConfigStoreTest, KeyLimitsRoundTripAndValidation) {
  auto s = open();
  s->add_tenant("team-a");
  s->set_tenant_limits("team-a", {.rps = 50});
  KeyRecord a = s->add_key("team-a", kHashA, "crk_a", std::nullopt);
  KeyRecord b = s->add_key("team-a", kHashB, "crk_b", std::nullopt);
  EXPECT_EQ(a.limits.rps, 0);
  s->set_key_limits(a.id, {.rps = 2,
                           .rpm = 60,
                           .concurrency = 3,
                           .daily_requests = 100,
                           .daily_tokens = 5000,
                           .monthly_tokens = 60'000'000'000});
  auto keys = s->list_keys();
  ASSERT_EQ(keys.size(), 2u);
  const KeyRecord& ka = keys[0].id == a.id ? keys[0] : keys[1];
  const KeyRecord& kb = keys[0].id == a.id ? keys[1] : keys[0];
  EXPECT_EQ(ka.limits.rps, 2);
  EXPECT_EQ(ka.limits.rpm, 60);
  EXPECT_EQ(ka.limits.concurrency, 3);
  EXPECT_EQ(ka.limits.daily_requests, 100);
  EXPECT_EQ(ka.limits.daily_tokens, 5000);
  EXPECT_EQ(ka.limits.monthly_tokens, 60'000'000'000);
  EXPECT_EQ(kb.limits.rps, 0);
  EXPECT_EQ(s->list_tenants().at(0).limits.rps, 50);  // the tenant's are separate

  auto snap = s->load_snapshot();
  EXPECT_EQ(snap->keys_by_hash.at(kHashA).key_limits.rps, 2);
  EXPECT_EQ(snap->keys_by_hash.at(kHashA).key_limits.monthly_tokens, 60'000'000'000);
  EXPECT_EQ(snap->keys_by_hash.at(kHashA).limits.rps, 50);
  EXPECT_EQ(snap->keys_by_hash.at(kHashB).key_limits.rps, 0);
  EXPECT_EQ(snap->keys_by_hash.at(kHashB).limits.rps, 50);

  // Only what is given changes; 0 clears a limit; a change reaches the next snapshot.
  s->set_key_limits(a.id, {.rps = 0, .daily_tokens = 7});
  const KeyRecord after = s->list_keys().at(keys[0].id == a.id ? 0 : 1);
  EXPECT_EQ(after.limits.rps, 0);
  EXPECT_EQ(after.limits.rpm, 60);
  EXPECT_EQ(after.limits.daily_tokens, 7);
  EXPECT_EQ(after.limits.monthly_tokens, 60'000'000'000);
  auto next = s->load_snapshot();
  EXPECT_NE(next->version, snap->version);
  EXPECT_EQ(next->keys_by_hash.at(kHashA).key_limits.daily_tokens, 7);
  EXPECT_EQ(snap->keys_by_hash.at(kHashA).key_limits.daily_tokens, 5000);  // immutable

  s->revoke_key(b.id);
  EXPECT_NO_THROW(s->set_key_limits(b.id, {.rpm = 1}));  // revoked keys keep their settings
  EXPECT_EQ(kind_of([&] { s->set_key_limits("key_000000000000", {.rps = 1}); }), Kind::kNotFound);
  EXPECT_EQ(kind_of([&] { s->set_key_limits("team-a", {.rps = 1}); }), Kind::kNotFound);
  for (TenantLimitsUpdate bad :
       {TenantLimitsUpdate{.rps = -1}, TenantLimitsUpdate{.concurrency = -2},
        TenantLimitsUpdate{.rpm = 4, .monthly_tokens = -1}}) {
    const auto before = s->change_token();
    EXPECT_EQ(kind_of([&] { s->set_key_limits(a.id, bad); }), Kind::kInvalid);
    EXPECT_EQ(s->change_token(), before);
  }
  EXPECT_EQ(s->load_snapshot()->keys_by_hash.at(kHashA).key_limits.rpm, 60);
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

}  // namespace
}  // namespace relay::store
