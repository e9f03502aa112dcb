// The PostgreSQL ConfigStore: the shared contract suites (config_store_suite.hpp,
// config_store_egress_suite.hpp) against the test server, then what only this backend has:
// LISTEN/NOTIFY through wait_for_change, the master-key check in the database, the sealed
// columns and the schema.
#include "store/postgres/pg_config_store.hpp"

#include <gtest/gtest.h>
#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "config_store_egress_suite.hpp"
#include "config_store_suite.hpp"
#include "log_capture.hpp"
#include "postgres_test_support.hpp"
#include "store/postgres/config_rows.hpp"
#include "store/postgres/migrations.hpp"
#include "store/postgres/notify_listener.hpp"

namespace relay::store {
namespace {

using namespace std::chrono_literals;
using config_suite::error_of;
using test::LogCapture;
using Kind = StoreError::Kind;

// A fresh schema per test, in the fixture's database.
struct PgConfigBackend {
  static bool available() { return !test::test_postgres_url().empty(); }
  std::unique_ptr<ConfigStore> open(std::shared_ptr<crypto::SecretBox> box) {
    return std::make_unique<PgConfigStore>(schema.url(), std::move(box));
  }
  void exec(const std::string& sql) { schema.exec(sql); }
  bool try_exec(const std::string& sql) {
    try {
      schema.exec(sql);
      return true;
    } catch (const StoreError&) {
      return false;
    }
  }
  std::int64_t count(const std::string& sql) { return schema.count(sql); }
  static std::string blob(std::string_view bytes) {
    return "'\\x" + pg::to_hex(bytes) + "'::bytea";
  }

  test::PgTestSchema schema{test::test_postgres_url()};
};

}  // namespace

namespace config_suite {
INSTANTIATE_TYPED_TEST_SUITE_P(PgConfig, ConfigStoreSuite, ::testing::Types<PgConfigBackend>);
INSTANTIATE_TYPED_TEST_SUITE_P(PgConfig, ConfigStoreEgressSuite, ::testing::Types<PgConfigBackend>);
}  // namespace config_suite

namespace {

class PgConfigStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!PgConfigBackend::available()) GTEST_SKIP() << "no test postgres (run through ctest)";
    backend_ = std::make_unique<PgConfigBackend>();
  }
  test::PgTestSchema& schema() { return backend_->schema; }
  std::unique_ptr<PgConfigStore> open(const std::string& url,
                                      std::shared_ptr<crypto::SecretBox> box = nullptr) {
    return std::make_unique<PgConfigStore>(url, box ? box : box_);
  }
  std::unique_ptr<PgConfigStore> open() { return open(schema().url()); }
  // The first wait connects the listener and says "maybe"; after it, silence means silence.
  static void connect_listener(ConfigStore& s) { ASSERT_TRUE(s.wait_for_change(5s)); }

  std::unique_ptr<PgConfigBackend> backend_;
  std::shared_ptr<crypto::SecretBox> box_ =
      std::make_shared<crypto::SecretBox>(std::string(32, '\x07'));
};

TEST_F(PgConfigStoreTest, MigrationsRunOnceAndDataSurvivesReopen) {
  open()->add_tenant("team-a");
  auto s = open();
  EXPECT_EQ(schema().count("SELECT COUNT(*) FROM schema_version"),
            static_cast<std::int64_t>(pg::migrations().size()));
  EXPECT_EQ(schema().count("SELECT MAX(version) FROM schema_version"),
            pg::migrations().back().version);
  ASSERT_EQ(s->list_tenants().size(), 1u);
  EXPECT_EQ(schema().count("SELECT COUNT(*) FROM meta WHERE key = 'master_key_check'"), 1);
}

TEST_F(PgConfigStoreTest, WaitForChangeWakesOnAnotherNodesWrite) {
  auto poller = open();
  auto admin = open();  // another node, or a CLI command
  connect_listener(*poller);
  EXPECT_FALSE(poller->wait_for_change(200ms));  // nothing changed

  std::thread writer([&admin] {
    std::this_thread::sleep_for(300ms);
    admin->add_tenant("team-a");
  });
  const bool woke = poller->wait_for_change(5s);
  writer.join();
  EXPECT_TRUE(woke);
  EXPECT_EQ(poller->list_tenants().size(), 1u);
  EXPECT_FALSE(poller->wait_for_change(200ms));  // one commit, one wake-up

  // A raw edit notifies as well (the trigger does it), and so does the poller's own write.
  schema().exec("UPDATE tenants SET enabled = false");
  EXPECT_TRUE(poller->wait_for_change(5s));
  poller->add_tenant("team-b");
  EXPECT_TRUE(poller->wait_for_change(5s));
  // Writes that change no config do not.
  admin->add_account({"a", "https://api.example.com/v1", "sk-a", {}, ""});
  admin->add_egress({"e", "http://p:1", "a", "", ""});
  EXPECT_TRUE(poller->wait_for_change(5s));
  while (poller->wait_for_change(200ms)) {
  }
  admin->record_observed_ip("e", "192.0.2.7", 1);
  EXPECT_ANY_THROW(admin->add_tenant("team-a"));
  EXPECT_FALSE(poller->wait_for_change(300ms));
}

// Two deployments in one database (each in its own schema) do not wake each other.
TEST_F(PgConfigStoreTest, NotificationsOfAnotherSchemaAreIgnored) {
  auto poller = open();
  connect_listener(*poller);
  test::PgTestSchema other(test::test_postgres_url());
  open(other.url())->add_tenant("elsewhere");
  EXPECT_FALSE(poller->wait_for_change(300ms));
  EXPECT_TRUE(poller->list_tenants().empty());
}

TEST_F(PgConfigStoreTest, ListenerReconnectsAfterItsSessionWasKilled) {
  const std::string app = schema().name();
  auto poller = open(schema().url() + "&application_name=" + app);
  connect_listener(*poller);
  // Waits (up to 5 s) until the session is gone.
  ASSERT_EQ(schema().count("SELECT COUNT(*) FILTER (WHERE pg_terminate_backend(pid, 5000)) "
                           "FROM pg_stat_activity WHERE application_name = '" +
                           app + "' AND query LIKE 'LISTEN%'"),
            1);
  LogCapture log;
  // Notifications sent while it was down are lost: the reconnect itself says "maybe".
  EXPECT_TRUE(poller->wait_for_change(5s));
  EXPECT_FALSE(poller->wait_for_change(200ms));
  open()->add_tenant("team-a");
  EXPECT_TRUE(poller->wait_for_change(5s));
  EXPECT_EQ(log.lines("warning").size(), 1u);
  EXPECT_EQ(log.lines("info").size(), 1u);  // connected again
}

// A listener whose server is down neither throws nor blocks past its deadline, retries, and
// warns once per outage, without the password.
TEST_F(PgConfigStoreTest, ListenerNeverThrowsNorBlocksWhileTheServerIsDown) {
  LogCapture log;
  pg::NotifyListener refused("postgresql://relay:hunter2@127.0.0.1:1/db",
                             std::string(kConfigChannel), "s");
  for (int i = 0; i < 5; ++i) EXPECT_FALSE(refused.wait(100ms));
  const auto warnings = log.lines("warning");
  ASSERT_EQ(warnings.size(), 1u);  // one per outage, not one per attempt
  EXPECT_EQ(warnings[0].find("hunter2"), std::string::npos) << warnings[0];
  EXPECT_NE(warnings[0].find("config change listener is down"), std::string::npos);

  // An address that may never answer: libpq's blocking connect would wait connect_timeout.
  pg::NotifyListener silent("postgresql://relay:hunter2@192.0.2.1:5432/db?connect_timeout=10",
                            std::string(kConfigChannel), "s");
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 5; ++i) EXPECT_FALSE(silent.wait(100ms));
  EXPECT_LT(std::chrono::steady_clock::now() - start, 4s);
}

TEST_F(PgConfigStoreTest, AnotherMasterKeyIsRefusedWithTheReason) {
  open()->add_account({"a", "https://api.example.com/v1", "sk-a", {}, ""});
  auto fresh = std::make_shared<crypto::SecretBox>(std::string(32, '\x09'));
  StoreError e = error_of([&] { open(schema().url(), fresh); });
  EXPECT_EQ(e.kind(), Kind::kInvalid);
  EXPECT_STREQ(e.what(),
               "the master key does not match the one this database was written with: every "
               "node needs the same master key file (docs/operations.md)");
  // Refused before writing anything: the right key still opens every account.
  EXPECT_EQ(open()->load_snapshot()->accounts.at(0).credential, "sk-a");

  // The first key to open an empty database is the one: it need not have written anything.
  test::PgTestSchema empty(test::test_postgres_url());
  open(empty.url(), fresh);
  EXPECT_THROW(open(empty.url()), StoreError);
}

TEST_F(PgConfigStoreTest, CredentialsAndProxyUrlsAreSealedInTheTables) {
  const std::string secret = "sk-proj-VERY-SECRET-credential-0123456789";
  auto s = open();
  s->add_account({"main", "https://api.example.com/v1", secret, {}, ""});
  s->add_egress({"e", "http://proxyuser:PROXY-PASSWORD@proxy.example:3128", "main", "", ""});
  EXPECT_EQ(schema().count("SELECT COUNT(*) FROM accounts WHERE position("
                           "convert_to('VERY-SECRET', 'UTF8') IN credential) > 0"),
            0);
  EXPECT_EQ(schema().count("SELECT COUNT(*) FROM egresses WHERE position("
                           "convert_to('proxyuser', 'UTF8') IN url) > 0 OR "
                           "position(convert_to('PROXY-PASSWORD', 'UTF8') IN url) > 0"),
            0);
  EXPECT_EQ(schema().count("SELECT COUNT(*) FROM egresses WHERE endpoint = "
                           "'http://proxy.example:3128'"),
            1);
  auto snap = s->load_snapshot();
  EXPECT_EQ(snap->accounts.at(0).credential, secret);
  EXPECT_EQ(snap->accounts.at(0).egresses.at(0).url,
            "http://proxyuser:PROXY-PASSWORD@proxy.example:3128");
}

// Sealed bytes survive the round trip whatever the session prints bytea as.
TEST_F(PgConfigStoreTest, SealedValuesDoNotDependOnByteaOutput) {
  open()->add_account({"main", "https://api.example.com/v1", "sk-main", {}, ""});
  // The url ends in its options value (-csearch_path=...): one more setting for this session.
  auto s = open(schema().url() + "%20-cbytea_output%3Descape");
  EXPECT_EQ(s->load_snapshot()->accounts.at(0).credential, "sk-main");
  s->add_account({"second", "https://api.example.com/v1", "sk-second", {}, ""});
  EXPECT_EQ(open()->load_snapshot()->accounts.at(1).credential, "sk-second");
}

}  // namespace
}  // namespace relay::store
