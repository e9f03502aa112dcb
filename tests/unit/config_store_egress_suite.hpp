#pragma once
// The egress half of the ConfigStore contract (issue 5): one account each, enforced by the
// store and the schema; URLs sealed at rest; a change reaches serve's snapshot. Same Backend
// as config_store_suite.hpp:
//
//   INSTANTIATE_TYPED_TEST_SUITE_P(PgConfig, ConfigStoreEgressSuite,
//   ::testing::Types<PgConfigBackend>);
#include <gtest/gtest.h>

#include <string>

#include "config_store_suite.hpp"

namespace relay::store::config_suite {

template <class Backend>
class ConfigStoreEgressSuite : public ConfigStoreSuite<Backend> {};

TYPED_TEST_SUITE_P(ConfigStoreEgressSuite);

TYPED_TEST_P(ConfigStoreEgressSuite, AddListRemove) {
  auto s = this->open_with_accounts();
  Egress e =
      s->add_egress(this->egress("e1", "http://relay:pa%40ss@Proxy.Example:3128/", "a", "eu-west"));
  EXPECT_GT(e.id, 0);
  EXPECT_EQ(e.url, "http://relay:***@proxy.example:3128");
  EXPECT_EQ(e.endpoint, "http://proxy.example:3128");
  s->add_egress(this->egress("e0", "socks5h://10.0.0.7:1080", "b"));
  auto list = s->list_egresses();
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].name, "e0");  // by name
  EXPECT_EQ(list[0].account_name, "b");
  EXPECT_EQ(list[0].url, "socks5h://10.0.0.7:1080");
  EXPECT_EQ(list[0].region, "");
  EXPECT_EQ(list[0].observed_ip, "");
  EXPECT_EQ(list[0].observed_at, 0);
  EXPECT_EQ(list[1].name, "e1");
  EXPECT_EQ(list[1].id, e.id);
  EXPECT_EQ(list[1].account_name, "a");
  EXPECT_EQ(list[1].url, "http://relay:***@proxy.example:3128");
  EXPECT_EQ(list[1].endpoint, "http://proxy.example:3128");
  EXPECT_EQ(list[1].region, "eu-west");
  EXPECT_GT(list[1].created_at, 0);

  s->remove_egress("e1");
  EXPECT_EQ(s->list_egresses().size(), 1u);
  StoreError gone = error_of([&] { s->remove_egress("e1"); });
  EXPECT_EQ(gone.kind(), Kind::kNotFound);
  EXPECT_STREQ(gone.what(), "egress 'e1' not found");
  // The name and the endpoint are free again, but not the id: serve keys health by it.
  const std::int64_t newest = s->list_egresses().at(0).id;
  s->remove_egress("e0");
  Egress again = s->add_egress(this->egress("e1", "http://proxy.example:3128", "b"));
  EXPECT_GT(again.id, newest);
}

// The rule: a config that assigns one egress to two accounts is refused, whether it
// reuses the name or points another name at the same proxy.
TYPED_TEST_P(ConfigStoreEgressSuite, OneEgressNeverServesTwoAccounts) {
  auto s = this->open_with_accounts();
  s->add_egress(this->egress("e1", "http://u:secret1@proxy.example:3128", "a"));
  const auto token = s->change_token();

  StoreError same_name =
      error_of([&] { s->add_egress(this->egress("e1", "http://other:1", "b")); });
  EXPECT_EQ(same_name.kind(), Kind::kAlreadyExists);
  EXPECT_STREQ(same_name.what(),
               "egress 'e1' already exists, for account 'a': an egress belongs to exactly one "
               "account");

  // Same proxy, other credentials, other spelling: still the same endpoint.
  StoreError same_proxy = error_of(
      [&] { s->add_egress(this->egress("e2", "HTTP://u2:secret2@PROXY.example:3128", "b")); });
  EXPECT_EQ(same_proxy.kind(), Kind::kAlreadyExists);
  EXPECT_STREQ(same_proxy.what(),
               "proxy http://proxy.example:3128 is already egress 'e1' of account 'a'; an egress "
               "belongs to exactly one account");
  EXPECT_EQ(std::string(same_proxy.what()).find("secret"), std::string::npos);
  // Also for the same account: two names for one proxy would count it twice.
  EXPECT_EQ(kind_of([&] { s->add_egress(this->egress("e3", "http://proxy.example:3128", "a")); }),
            Kind::kAlreadyExists);

  StoreError nobody = error_of([&] { s->add_egress(this->egress("e4", "http://p4:1", "nobody")); });
  EXPECT_EQ(nobody.kind(), Kind::kNotFound);
  EXPECT_STREQ(nobody.what(), "account 'nobody' not found");

  EXPECT_EQ(s->list_egresses().size(), 1u);
  EXPECT_EQ(s->change_token(), token);  // nothing was written

  // A raw edit cannot do it either: the endpoint is UNIQUE in the schema.
  EXPECT_FALSE(
      this->backend_->try_exec("INSERT INTO egresses (name, account_id, url, endpoint, created_at) "
                               "SELECT 'raw', id, " +
                               TypeParam::blob(std::string(1, '\0')) +
                               ", 'http://proxy.example:3128', 1 FROM accounts WHERE name = 'b'"));
  EXPECT_EQ(this->count("SELECT COUNT(*) FROM egresses"), 1);
}

TYPED_TEST_P(ConfigStoreEgressSuite, InvalidInputIsRefusedWithoutEchoingThePassword) {
  auto s = this->open_with_accounts();
  for (const NewEgress& bad : {
           this->egress("bad name", "http://p:1", "a"),
           this->egress("e", "socks5://u:secret@p:1080", "a"),
           this->egress("e", "http://u:secret@p", "a"),
           this->egress("e", "http://u:secret@p:1/path", "a"),
           this->egress("e", "ftp://u:secret@p:21", "a"),
           this->egress("e", "http://p:1", "a", "eu west"),
           NewEgress{"e", "http://p:1", "a", "", "/etc/ssl/ca.pem"},  // CA file on http://
       }) {
    StoreError e = error_of([&] { s->add_egress(bad); });
    EXPECT_EQ(e.kind(), Kind::kInvalid) << bad.name << " " << bad.region;
    EXPECT_EQ(std::string(e.what()).find("secret"), std::string::npos) << e.what();
  }
  EXPECT_NE(std::string(
                error_of([&] { s->add_egress(this->egress("e", "socks5://p:1080", "a")); }).what())
                .find("use socks5h://"),
            std::string::npos);
  EXPECT_NO_THROW(s->add_egress(NewEgress{"e", "https://p:443", "a", "eu-1", "/etc/ssl/ca.pem"}));
  EXPECT_EQ(s->list_egresses().at(0).ca_file, "/etc/ssl/ca.pem");
}

TYPED_TEST_P(ConfigStoreEgressSuite, SnapshotCarriesEachAccountsEgresses) {
  auto s = this->open_with_accounts();
  s->add_account({"direct", "https://api.example.com/v1", "sk-d", {}, ""});
  s->add_egress(this->egress("z-b", "socks5h://u:p%2Fw@10.0.0.8:1080", "b", "us-east"));
  s->add_egress(NewEgress{"m-a", "https://proxy-a.example:443", "a", "eu", "/ca.pem"});
  s->add_egress(this->egress("a-a", "http://10.0.0.9:3128", "a"));
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
TYPED_TEST_P(ConfigStoreEgressSuite, UndecryptableEgressDropsItsAccountNotTheOthers) {
  auto s = this->open_with_accounts();
  s->add_egress(this->egress("ea", "http://pa:1", "a"));
  s->add_egress(this->egress("eb", "http://pb:1", "b"));
  // A URL sealed for another row (the AAD binds it to its egress's name) does not open.
  this->exec(
      "UPDATE egresses SET url = (SELECT url FROM egresses WHERE name = 'eb') "
      "WHERE name = 'ea'");
  auto snap = s->load_snapshot();
  ASSERT_EQ(snap->accounts.size(), 1u);
  EXPECT_EQ(snap->accounts[0].name, "b");
  EXPECT_EQ(snap->accounts[0].egresses.size(), 1u);
  auto list = s->list_egresses();
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].url, "http://pa:1 (sealed URL does not decrypt)");

  this->exec("UPDATE egresses SET url = " +
             TypeParam::blob(this->other_key_->seal("http://pb:1", "egress:eb")) +
             " WHERE name = 'eb'");
  EXPECT_TRUE(s->load_snapshot()->accounts.empty());
}

// Egress changes must reach serve (config_version); what `egress verify` records must not.
TYPED_TEST_P(ConfigStoreEgressSuite, ChangeTokenSeesEgressChangesButNotObservedIps) {
  auto s = this->open_with_accounts();
  const auto t0 = s->change_token();
  s->add_egress(this->egress("e1", "http://p1:1", "a"));
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
  StoreError bad_ip = error_of([&] { s->record_observed_ip("e1", "not-an-ip", 1); });
  EXPECT_EQ(bad_ip.kind(), Kind::kInvalid);
  EXPECT_STREQ(bad_ip.what(), "observed IP 'not-an-ip' is not an IP address");
  EXPECT_EQ(kind_of([&] { s->record_observed_ip("nope", "10.0.0.1", 1); }), Kind::kNotFound);
  EXPECT_EQ(s->change_token(), t1);

  this->exec("UPDATE egresses SET region = 'eu'");  // a raw edit of config counts
  const auto t2 = s->change_token();
  EXPECT_NE(t2, t1);
  s->remove_egress("e1");
  EXPECT_NE(s->change_token(), t2);
}

// Removing an account removes its egresses (ON DELETE CASCADE), and serve hears of it.
TYPED_TEST_P(ConfigStoreEgressSuite, RemovingAnAccountRemovesItsEgresses) {
  auto s = this->open_with_accounts();
  s->add_egress(this->egress("ea1", "http://pa1:1", "a"));
  s->add_egress(this->egress("ea2", "http://pa2:1", "a"));
  s->add_egress(this->egress("eb", "http://pb:1", "b"));
  const auto token = s->change_token();
  this->exec("DELETE FROM accounts WHERE name = 'a'");
  EXPECT_NE(s->change_token(), token);
  auto list = s->list_egresses();
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].name, "eb");
  EXPECT_EQ(this->count("SELECT COUNT(*) FROM egresses"), 1);
  // The freed proxy can now serve another account.
  EXPECT_NO_THROW(s->add_egress(this->egress("ea1", "http://pa1:1", "b")));
}

REGISTER_TYPED_TEST_SUITE_P(ConfigStoreEgressSuite, AddListRemove, OneEgressNeverServesTwoAccounts,
                            InvalidInputIsRefusedWithoutEchoingThePassword,
                            SnapshotCarriesEachAccountsEgresses,
                            UndecryptableEgressDropsItsAccountNotTheOthers,
                            ChangeTokenSeesEgressChangesButNotObservedIps,
                            RemovingAnAccountRemovesItsEgresses);

}  // namespace relay::store::config_suite
