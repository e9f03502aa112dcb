// SqliteConfigStore's egresses, what only this backend has: URLs sealed in the file and its WAL,
// and the upgrade from schema version 5. The shared contract is config_store_egress_suite.hpp,
// run by sqlite_config_store_test.cpp.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include "sqlite_test_support.hpp"
#include "store/sqlite/migrations.hpp"
#include "store/sqlite/sqlite_config_store.hpp"
#include "test_support.hpp"

namespace relay::store {
namespace {

using relay::test::raw_count;
using relay::test::raw_exec;

std::string hex(std::string_view bytes) {
  std::string out;
  for (unsigned char c : bytes) out += fmt::format("{:02x}", c);
  return out;
}

class SqliteEgressStoreTest : public ::testing::Test {
 protected:
  std::unique_ptr<SqliteConfigStore> open() {
    return std::make_unique<SqliteConfigStore>(db_, box_);
  }
  static NewAccount account(const std::string& name) {
    return {name, "https://api.example.com/v1", "sk-" + name, {}, ""};
  }
  static NewEgress egress(const std::string& name, const std::string& url,
                          const std::string& account, const std::string& region = "") {
    return {name, url, account, region, ""};
  }
  // Two accounts, a and b.
  std::unique_ptr<SqliteConfigStore> open_with_accounts() {
    auto s = open();
    s->add_account(account("a"));
    s->add_account(account("b"));
    return s;
  }

  test::TempDir dir_;
  std::string db_ = dir_ / "relay.db";
  std::shared_ptr<crypto::SecretBox> box_ =
      std::make_shared<crypto::SecretBox>(std::string(32, '\x07'));
};

TEST_F(SqliteEgressStoreTest, UrlIsSealedAtRest) {
  const std::string password = "PROXY-PASSWORD-0123456789";
  {
    auto s = open_with_accounts();
    s->add_egress(egress("e1", "http://proxyuser:" + password + "@proxy.example:3128", "a"));
    EXPECT_EQ(s->list_egresses().at(0).url.find(password), std::string::npos);
    for (const char* suffix : {"", "-wal", "-shm"})
      EXPECT_EQ(test::read_file(db_ + suffix).find(password), std::string::npos) << suffix;
  }
  const std::string bytes = test::read_file(db_);
  ASSERT_FALSE(bytes.empty());
  EXPECT_NE(bytes.find("http://proxy.example:3128"), std::string::npos);  // the endpoint is
  EXPECT_EQ(bytes.find(password), std::string::npos);
  EXPECT_EQ(bytes.find("proxyuser"), std::string::npos);  // the whole URL is sealed
  EXPECT_EQ(open()->load_snapshot()->accounts.at(0).egresses.at(0).url,
            "http://proxyuser:" + password + "@proxy.example:3128");
}

// A db written by the previous release (schema version 5) gains the egress tables; its
// accounts keep working and go direct, and the upgrade itself changes no config.
TEST_F(SqliteEgressStoreTest, UpgradeFromVersion5) {
  auto migrations = sqlite::config_migrations();
  ASSERT_GE(migrations.size(), 6u);
  ASSERT_EQ(migrations[5].version, 6);
  std::string sql;
  for (std::size_t i = 0; i < 5; ++i) sql += migrations[i].sql;
  raw_exec(db_, sql +
                    "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, "
                    "applied_at INTEGER NOT NULL);"
                    "INSERT INTO schema_migrations VALUES (1, 0), (2, 0), (3, 0), (4, 0), (5, 0);"
                    "INSERT INTO accounts (name, base_url, credential, created_at) "
                    "VALUES ('old', 'https://api.example.com/v1', x'" +
                    hex(box_->seal("sk-old", "account:old")) + "', 1);");
  const std::int64_t version_before = raw_count(db_, "SELECT n FROM config_version");
  auto s = open();
  EXPECT_EQ(raw_count(db_, "SELECT MAX(version) FROM schema_migrations"),
            migrations.back().version);
  EXPECT_EQ(raw_count(db_, "SELECT COUNT(*) FROM egresses"), 0);
  EXPECT_EQ(raw_count(db_, "SELECT COUNT(*) FROM egress_health"), 0);
  auto snap = s->load_snapshot();
  EXPECT_EQ(snap->version, static_cast<std::uint64_t>(version_before));
  ASSERT_EQ(snap->accounts.size(), 1u);
  EXPECT_EQ(snap->accounts[0].credential, "sk-old");
  EXPECT_TRUE(snap->accounts[0].egresses.empty());

  s->add_egress(egress("e1", "http://u:p@proxy.example:3128", "old"));
  auto after = s->load_snapshot();
  EXPECT_NE(after->version, snap->version);
  ASSERT_EQ(after->accounts.at(0).egresses.size(), 1u);
  EXPECT_EQ(after->accounts[0].egresses[0].url, "http://u:p@proxy.example:3128");
}

}  // namespace
}  // namespace relay::store
