// SqliteConfigStore's egresses (issue 5): one account each, enforced by the store; URLs sealed
// at rest; a change reaches serve's snapshot.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <functional>

#include "sqlite_test_support.hpp"
#include "store/sqlite/migrations.hpp"
#include "store/sqlite/sqlite_config_store.hpp"
#include "test_support.hpp"

namespace relay::store {
namespace {

using Kind = StoreError::Kind;
using relay::test::raw_count;
using relay::test::raw_exec;

// The StoreError thrown by f (its kind and text), failing the test if there is none.
StoreError error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const StoreError& e) {
    return e;
  }
  ADD_FAILURE() << "no StoreError thrown";
  return StoreError(Kind::kIo, "none");
}

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
  // Two accounts, a and b, as most tests want them.
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

TEST_F(SqliteEgressStoreTest, AddListRemove) {
  auto s = open_with_accounts();
  Egress e =
      s->add_egress(egress("e1", "http://relay:pa%40ss@Proxy.Example:3128/", "a", "eu-west"));
  EXPECT_GT(e.id, 0);
  EXPECT_EQ(e.url, "http://relay:***@proxy.example:3128");
  EXPECT_EQ(e.endpoint, "http://proxy.example:3128");
  s->add_egress(egress("e0", "socks5h://10.0.0.7:1080", "b"));
  auto list = s->list_egresses();
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].name, "e0");  // by name
  EXPECT_EQ(list[0].account_name, "b");
  EXPECT_EQ(list[0].url, "socks5h://10.0.0.7:1080");
  EXPECT_EQ(list[0].region, "");
  EXPECT_EQ(list[0].observed_ip, "");
  EXPECT_EQ(list[0].observed_at, 0);
  EXPECT_EQ(list[1].name, "e1");
  EXPECT_EQ(list[1].account_name, "a");
  EXPECT_EQ(list[1].url, "http://relay:***@proxy.example:3128");
  EXPECT_EQ(list[1].region, "eu-west");
  EXPECT_GT(list[1].created_at, 0);

  s->remove_egress("e1");
  EXPECT_EQ(s->list_egresses().size(), 1u);
  EXPECT_EQ(error_of([&] { s->remove_egress("e1"); }).kind(), Kind::kNotFound);
  // The name and the endpoint are free again, but not the id: serve keys health by it.
  const std::int64_t newest = s->list_egresses().at(0).id;
  s->remove_egress("e0");
  Egress again = s->add_egress(egress("e1", "http://proxy.example:3128", "b"));
  EXPECT_GT(again.id, newest);
}

// The rule: a config that assigns one egress to two accounts is refused, whether it
// reuses the name or points another name at the same proxy.
TEST_F(SqliteEgressStoreTest, OneEgressNeverServesTwoAccounts) {
  auto s = open_with_accounts();
  s->add_egress(egress("e1", "http://u:secret1@proxy.example:3128", "a"));
  const auto token = s->change_token();

  StoreError same_name = error_of([&] { s->add_egress(egress("e1", "http://other:1", "b")); });
  EXPECT_EQ(same_name.kind(), Kind::kAlreadyExists);
  EXPECT_STREQ(same_name.what(),
               "egress 'e1' already exists, for account 'a': an egress belongs to exactly one "
               "account");

  // Same proxy, other credentials, other spelling: still the same endpoint.
  StoreError same_proxy =
      error_of([&] { s->add_egress(egress("e2", "HTTP://u2:secret2@PROXY.example:3128", "b")); });
  EXPECT_EQ(same_proxy.kind(), Kind::kAlreadyExists);
  EXPECT_STREQ(same_proxy.what(),
               "proxy http://proxy.example:3128 is already egress 'e1' of account 'a'; an egress "
               "belongs to exactly one account");
  EXPECT_EQ(std::string(same_proxy.what()).find("secret"), std::string::npos);
  // Also for the same account: two names for one proxy would count it twice.
  EXPECT_EQ(error_of([&] { s->add_egress(egress("e3", "http://proxy.example:3128", "a")); }).kind(),
            Kind::kAlreadyExists);

  StoreError nobody = error_of([&] { s->add_egress(egress("e4", "http://p4:1", "nobody")); });
  EXPECT_EQ(nobody.kind(), Kind::kNotFound);
  EXPECT_STREQ(nobody.what(), "account 'nobody' not found");

  EXPECT_EQ(s->list_egresses().size(), 1u);
  EXPECT_EQ(s->change_token(), token);  // nothing was written

  // A raw edit cannot do it either: the endpoint is UNIQUE in the schema.
  sqlite3* h = nullptr;
  ASSERT_EQ(sqlite3_open(db_.c_str(), &h), SQLITE_OK);
  EXPECT_NE(sqlite3_exec(h,
                         "INSERT INTO egresses (name, account_id, url, endpoint, created_at) "
                         "SELECT 'raw', id, x'00', 'http://proxy.example:3128', 1 FROM accounts "
                         "WHERE name = 'b'",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(h);
}

TEST_F(SqliteEgressStoreTest, InvalidInputIsRefusedWithoutEchoingThePassword) {
  auto s = open_with_accounts();
  for (const NewEgress& bad : {
           egress("bad name", "http://p:1", "a"), egress("e", "socks5://u:secret@p:1080", "a"),
           egress("e", "http://u:secret@p", "a"), egress("e", "http://u:secret@p:1/path", "a"),
           egress("e", "ftp://u:secret@p:21", "a"), egress("e", "http://p:1", "a", "eu west"),
           NewEgress{"e", "http://p:1", "a", "", "/etc/ssl/ca.pem"},  // CA file on http://
       }) {
    StoreError e = error_of([&] { s->add_egress(bad); });
    EXPECT_EQ(e.kind(), Kind::kInvalid) << bad.name << " " << bad.region;
    EXPECT_EQ(std::string(e.what()).find("secret"), std::string::npos) << e.what();
  }
  EXPECT_NE(
      std::string(error_of([&] { s->add_egress(egress("e", "socks5://p:1080", "a")); }).what())
          .find("use socks5h://"),
      std::string::npos);
  EXPECT_NO_THROW(s->add_egress(NewEgress{"e", "https://p:443", "a", "eu-1", "/etc/ssl/ca.pem"}));
  EXPECT_EQ(s->list_egresses().at(0).ca_file, "/etc/ssl/ca.pem");
}

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

TEST_F(SqliteEgressStoreTest, SnapshotCarriesEachAccountsEgresses) {
  auto s = open_with_accounts();
  s->add_account(account("direct"));
  s->add_egress(egress("z-b", "socks5h://u:p%2Fw@10.0.0.8:1080", "b", "us-east"));
  s->add_egress(NewEgress{"m-a", "https://proxy-a.example:443", "a", "eu", "/ca.pem"});
  s->add_egress(egress("a-a", "http://10.0.0.9:3128", "a"));
  auto snap = s->load_snapshot();
  ASSERT_EQ(snap->accounts.size(), 3u);
  const SnapshotAccount& a = snap->accounts[0];
  ASSERT_EQ(a.name, "a");
  ASSERT_EQ(a.egresses.size(), 2u);
  EXPECT_EQ(a.egresses[0].name, "a-a");  // by name
  EXPECT_EQ(a.egresses[0].url, "http://10.0.0.9:3128");
  EXPECT_EQ(a.egresses[0].region, "");
  EXPECT_EQ(a.egresses[1].name, "m-a");
  EXPECT_EQ(a.egresses[1].region, "eu");
  EXPECT_EQ(a.egresses[1].ca_file, "/ca.pem");
  EXPECT_GT(a.egresses[1].id, 0);
  const SnapshotAccount& b = snap->accounts[1];
  ASSERT_EQ(b.egresses.size(), 1u);
  EXPECT_EQ(b.egresses[0].url, "socks5h://u:p%2Fw@10.0.0.8:1080");  // as libcurl takes it
  EXPECT_EQ(b.egresses[0].region, "us-east");
  EXPECT_TRUE(snap->accounts[2].egresses.empty());  // goes direct
}

// An account with egresses must never go direct: when one of its egress URLs does not decrypt,
// the whole account is left out of the snapshot, not served without that egress.
TEST_F(SqliteEgressStoreTest, UndecryptableEgressDropsItsAccountNotTheOthers) {
  auto s = open_with_accounts();
  s->add_egress(egress("ea", "http://pa:1", "a"));
  s->add_egress(egress("eb", "http://pb:1", "b"));
  // A URL sealed for another row (the AAD binds it to its egress's name) does not open.
  raw_exec(db_,
           "UPDATE egresses SET url = (SELECT url FROM egresses WHERE name = 'eb') "
           "WHERE name = 'ea'");
  auto snap = s->load_snapshot();
  ASSERT_EQ(snap->accounts.size(), 1u);
  EXPECT_EQ(snap->accounts[0].name, "b");
  EXPECT_EQ(snap->accounts[0].egresses.size(), 1u);
  auto list = s->list_egresses();
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].url, "http://pa:1 (sealed URL does not decrypt)");

  auto other = std::make_shared<crypto::SecretBox>(std::string(32, '\x08'));
  raw_exec(db_, "UPDATE egresses SET url = x'" + hex(other->seal("http://pb:1", "egress:eb")) +
                    "' WHERE name = 'eb'");
  EXPECT_TRUE(s->load_snapshot()->accounts.empty());
}

// Egress changes must reach serve (config_version); what `egress verify` records must not.
TEST_F(SqliteEgressStoreTest, ChangeTokenSeesEgressChangesButNotObservedIps) {
  auto s = open_with_accounts();
  const auto t0 = s->change_token();
  s->add_egress(egress("e1", "http://p1:1", "a"));
  const auto t1 = s->change_token();
  EXPECT_NE(t1, t0);
  EXPECT_EQ(s->load_snapshot()->version, t1);

  s->record_observed_ip("e1", "203.0.113.7", 1'700'000'000);
  EXPECT_EQ(s->change_token(), t1);
  Egress e = s->list_egresses().at(0);
  EXPECT_EQ(e.observed_ip, "203.0.113.7");
  EXPECT_EQ(e.observed_at, 1'700'000'000);
  s->record_observed_ip("e1", "2001:db8::1", 1'700'000'001);
  EXPECT_EQ(s->list_egresses().at(0).observed_ip, "2001:db8::1");
  EXPECT_EQ(error_of([&] { s->record_observed_ip("e1", "not-an-ip", 1); }).kind(), Kind::kInvalid);
  EXPECT_EQ(error_of([&] { s->record_observed_ip("nope", "10.0.0.1", 1); }).kind(),
            Kind::kNotFound);
  EXPECT_EQ(s->change_token(), t1);

  raw_exec(db_, "UPDATE egresses SET region = 'eu'");  // a raw edit of config counts
  const auto t2 = s->change_token();
  EXPECT_NE(t2, t1);
  s->remove_egress("e1");
  EXPECT_NE(s->change_token(), t2);
}

// Removing an account removes its egresses (ON DELETE CASCADE), and serve hears of it.
TEST_F(SqliteEgressStoreTest, RemovingAnAccountRemovesItsEgresses) {
  auto s = open_with_accounts();
  s->add_egress(egress("ea1", "http://pa1:1", "a"));
  s->add_egress(egress("ea2", "http://pa2:1", "a"));
  s->add_egress(egress("eb", "http://pb:1", "b"));
  const auto token = s->change_token();
  raw_exec(db_, "PRAGMA foreign_keys = ON; DELETE FROM accounts WHERE name = 'a'");
  EXPECT_NE(s->change_token(), token);
  auto list = s->list_egresses();
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].name, "eb");
  EXPECT_EQ(raw_count(db_, "SELECT COUNT(*) FROM egresses"), 1);
  // The freed proxy can now serve another account.
  EXPECT_NO_THROW(s->add_egress(egress("ea1", "http://pa1:1", "b")));
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
