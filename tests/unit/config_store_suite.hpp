#pragma once
// The ConfigStore contract as typed test suites that every backend runs: SQLite
// (sqlite_config_store_test.cpp) and PostgreSQL (pg_config_store_test.cpp). This file holds
// tenants, keys and accounts; config_store_egress_suite.hpp the egresses. A backend's test file
// defines a Backend type and instantiates both:
//
//   struct PgConfigBackend {
//     static bool available();  // false skips the suites (no test server)
//     PgBackend();              // fresh, empty storage of its own
//     // Another store on that storage, as another process (a CLI command, a node) would open.
//     std::unique_ptr<ConfigStore> open(std::shared_ptr<crypto::SecretBox> box);
//     void exec(const std::string& sql);      // raw SQL on a connection of its own; must work
//     bool try_exec(const std::string& sql);  // false when the database refused it
//     std::int64_t count(const std::string& sql);  // first column of the first row; -1: none
//     static std::string blob(std::string_view bytes);  // bytes as a literal for raw SQL
//   };
//   INSTANTIATE_TYPED_TEST_SUITE_P(PgConfig, ConfigStoreSuite, ::testing::Types<PgConfigBackend>);
//
// Raw SQL here is written to mean the same on both (false for a boolean, blob() for bytes).
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <regex>
#include <string>
#include <vector>

#include "crypto/secret_box.hpp"
#include "store/config_store.hpp"

namespace relay::store::config_suite {

using Kind = StoreError::Kind;

inline const std::string kHashA(64, 'a');
inline const std::string kHashB(64, 'b');

// The StoreError thrown by f (its kind and text), failing the test if there is none.
inline StoreError error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const StoreError& e) {
    return e;
  }
  ADD_FAILURE() << "no StoreError thrown";
  return StoreError(Kind::kIo, "none");
}

inline Kind kind_of(const std::function<void()>& f) {
  return error_of(f).kind();
}

inline std::int64_t unix_ms_now() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

template <class Backend>
class ConfigStoreSuite : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!Backend::available()) GTEST_SKIP() << "backend not available (run through ctest)";
    backend_ = std::make_unique<Backend>();
  }
  void TearDown() override { backend_.reset(); }

  std::unique_ptr<ConfigStore> open(const std::shared_ptr<crypto::SecretBox>& b = nullptr) {
    return backend_->open(b ? b : box_);
  }
  static NewAccount account(const std::string& name,
                            const std::string& cred = "sk-test-credential") {
    return {name, "https://api.example.com/v1", cred, {"gpt-5.5", "gpt-5.5-mini"}, ""};
  }
  static NewEgress egress(const std::string& name, const std::string& url,
                          const std::string& account, const std::string& region = "") {
    return {name, url, account, region, ""};
  }
  // Two accounts, a and b, with every model, as the egress tests want them.
  std::unique_ptr<ConfigStore> open_with_accounts() {
    auto s = open();
    s->add_account({"a", "https://api.example.com/v1", "sk-a", {}, ""});
    s->add_account({"b", "https://api.example.com/v1", "sk-b", {}, ""});
    return s;
  }
  void exec(const std::string& sql) { backend_->exec(sql); }
  std::int64_t count(const std::string& sql) { return backend_->count(sql); }

  std::unique_ptr<Backend> backend_;
  std::shared_ptr<crypto::SecretBox> box_ =
      std::make_shared<crypto::SecretBox>(std::string(32, '\x07'));
  std::shared_ptr<crypto::SecretBox> other_key_ =
      std::make_shared<crypto::SecretBox>(std::string(32, '\x08'));
};

TYPED_TEST_SUITE_P(ConfigStoreSuite);

TYPED_TEST_P(ConfigStoreSuite, Tenants) {
  auto s = this->open();
  Tenant t = s->add_tenant("team-a");
  EXPECT_GT(t.id, 0);
  EXPECT_TRUE(t.enabled);
  EXPECT_GT(t.created_at, 0);
  s->add_tenant("ci.nightly_1");
  EXPECT_EQ(kind_of([&] { s->add_tenant("team-a"); }), Kind::kAlreadyExists);
  EXPECT_STREQ(error_of([&] { s->add_tenant("team-a"); }).what(), "tenant 'team-a' already exists");
  s->set_tenant_enabled("team-a", false);
  auto list = s->list_tenants();
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].name, "ci.nightly_1");
  EXPECT_EQ(list[1].name, "team-a");
  EXPECT_EQ(list[1].id, t.id);
  EXPECT_EQ(list[1].created_at, t.created_at);
  EXPECT_FALSE(list[1].enabled);
  EXPECT_TRUE(list[0].enabled);
  EXPECT_STREQ(error_of([&] { s->set_tenant_enabled("nobody", true); }).what(),
               "tenant 'nobody' not found");
}

// Both backends compare and sort names bytewise, whatever the database's locale.
TYPED_TEST_P(ConfigStoreSuite, NamesAreCaseSensitiveAndListedInByteOrder) {
  auto s = this->open();
  for (const char* n : {"abc", "Zed", "Abc", "0day", "abc-"}) s->add_tenant(n);
  std::vector<std::string> names;
  for (const Tenant& t : s->list_tenants()) names.push_back(t.name);
  EXPECT_EQ(names, (std::vector<std::string>{"0day", "Abc", "Zed", "abc", "abc-"}));
  s->add_account(this->account("b"));
  s->add_account(this->account("B"));
  EXPECT_EQ(s->list_accounts().at(0).name, "B");
}

TYPED_TEST_P(ConfigStoreSuite, InvalidNamesAreRejected) {
  auto s = this->open();
  for (std::string bad : std::vector<std::string>{"", "-lead", ".x", "a b", "a/b", "caf\xc3\xa9",
                                                  "x;DROP", std::string(65, 'x')}) {
    EXPECT_EQ(kind_of([&] { s->add_tenant(bad); }), Kind::kInvalid) << bad;
    EXPECT_EQ(kind_of([&] { s->add_account(this->account(bad)); }), Kind::kInvalid) << bad;
  }
  EXPECT_STREQ(error_of([&] { s->add_tenant("a b"); }).what(),
               "tenant name 'a b' is invalid: use 1-64 of A-Z a-z 0-9 . _ - starting with a "
               "letter or digit");
  EXPECT_NO_THROW(s->add_tenant(std::string(64, 'x')));
  EXPECT_NO_THROW(s->add_tenant("0.a_b-C"));
}

TYPED_TEST_P(ConfigStoreSuite, Keys) {
  auto s = this->open();
  s->add_tenant("team-a");
  EXPECT_EQ(kind_of([&] { s->add_key("nobody", kHashA, "crk_x", std::nullopt); }), Kind::kNotFound);
  // The raw key instead of its hash is refused, so it can never be stored by mistake.
  EXPECT_EQ(kind_of([&] { s->add_key("team-a", "crk_rawkeyrawkey", "crk_x", std::nullopt); }),
            Kind::kInvalid);
  EXPECT_EQ(kind_of([&] { s->add_key("team-a", std::string(64, 'A'), "crk_x", std::nullopt); }),
            Kind::kInvalid);
  KeyRecord k = s->add_key("team-a", kHashA, "crk_AbCd1234", 2'000'000'000);
  EXPECT_TRUE(std::regex_match(k.id, std::regex("^key_[0-9a-f]{12}$"))) << k.id;
  StoreError dup = error_of([&] { s->add_key("team-a", kHashA, "crk_x", std::nullopt); });
  EXPECT_EQ(dup.kind(), Kind::kAlreadyExists);
  EXPECT_STREQ(dup.what(), "a key with this hash already exists");
  s->add_key("team-a", kHashB, "crk_Zz", std::nullopt);

  s->revoke_key(k.id);
  const auto token = s->change_token();
  s->revoke_key(k.id);  // idempotent, and no change
  EXPECT_EQ(s->change_token(), token);
  EXPECT_STREQ(error_of([&] { s->revoke_key("key_000000000000"); }).what(),
               "key 'key_000000000000' not found");
  auto keys = s->list_keys();
  ASSERT_EQ(keys.size(), 2u);
  const auto& revoked = keys[0].id == k.id ? keys[0] : keys[1];
  const auto& live = keys[0].id == k.id ? keys[1] : keys[0];
  EXPECT_EQ(revoked.tenant_name, "team-a");
  EXPECT_EQ(revoked.prefix, "crk_AbCd1234");
  EXPECT_EQ(revoked.expires_at, 2'000'000'000);
  EXPECT_TRUE(revoked.revoked_at.has_value());
  EXPECT_EQ(revoked.created_at, k.created_at);
  EXPECT_FALSE(live.expires_at.has_value());
  EXPECT_FALSE(live.revoked_at.has_value());
}

TYPED_TEST_P(ConfigStoreSuite, SnapshotReflectsRevokeAndDisable) {
  auto s = this->open();
  Tenant t = s->add_tenant("team-a");
  KeyRecord k = s->add_key("team-a", kHashA, "crk_a", 2'000'000'000);
  s->add_key("team-a", kHashB, "crk_b", std::nullopt);
  s->add_account(this->account("main", "sk-main"));
  s->add_account(this->account("spare", "sk-spare"));

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
  EXPECT_EQ(snap->accounts[0].base_url, "https://api.example.com/v1");
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

TYPED_TEST_P(ConfigStoreSuite, Accounts) {
  auto s = this->open();
  Account a = s->add_account(this->account("main"));
  EXPECT_GT(a.id, 0);
  EXPECT_STREQ(error_of([&] { s->add_account(this->account("main")); }).what(),
               "account 'main' already exists");
  NewAccount bad = this->account("other");
  bad.base_url = "ftp://x";
  EXPECT_EQ(kind_of([&] { s->add_account(bad); }), Kind::kInvalid);
  bad = this->account("other", "");
  EXPECT_EQ(kind_of([&] { s->add_account(bad); }), Kind::kInvalid);
  bad = this->account("other");
  bad.models = {"a,b"};
  EXPECT_EQ(kind_of([&] { s->add_account(bad); }), Kind::kInvalid);

  NewAccount all = this->account("all-models");
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
  EXPECT_TRUE(list[0].enabled);
  EXPECT_EQ(list[1].models, (std::vector<std::string>{"gpt-5.5", "gpt-5.5-mini"}));
  EXPECT_EQ(list[1].id, a.id);
  EXPECT_EQ(list[1].created_at, a.created_at);
  EXPECT_FALSE(list[1].enabled);
}

TYPED_TEST_P(ConfigStoreSuite, UndecryptableAccountIsSkippedNotFatal) {
  this->open()->add_account(this->account("main"));
  // A credential sealed under some other key (restored from another install, say).
  this->exec("UPDATE accounts SET credential = " +
             TypeParam::blob(this->other_key_->seal("sk-foreign", "account:main")) +
             " WHERE name = 'main'");
  auto s = this->open();
  EXPECT_EQ(s->list_accounts().size(), 1u);
  EXPECT_TRUE(s->load_snapshot()->accounts.empty());
}

TYPED_TEST_P(ConfigStoreSuite, WrongMasterKeyIsRefusedBeforeAnyWrite) {
  this->open()->add_account(this->account("main"));
  EXPECT_EQ(kind_of([&] { this->open(this->other_key_); }), Kind::kInvalid);
  // The right key still opens it, and the account is intact.
  EXPECT_EQ(this->open()->load_snapshot()->accounts.at(0).credential, "sk-test-credential");
}

TYPED_TEST_P(ConfigStoreSuite, CredentialIsBoundToItsAccountRow) {
  auto s = this->open();
  s->add_account(this->account("a", "sk-for-a"));
  s->add_account(this->account("b", "sk-for-b"));
  this->exec(
      "UPDATE accounts SET credential = (SELECT credential FROM accounts WHERE "
      "name = 'a') WHERE name = 'b'");
  auto snap = s->load_snapshot();
  ASSERT_EQ(snap->accounts.size(), 1u);
  EXPECT_EQ(snap->accounts[0].name, "a");
}

TYPED_TEST_P(ConfigStoreSuite, ChangeTokenSeesOwnAndOtherWrites) {
  auto poller = this->open();
  auto admin = this->open();
  const auto t0 = poller->change_token();
  EXPECT_EQ(poller->change_token(), t0);  // stable while nothing happens

  admin->add_tenant("team-a");  // another connection, as the CLI process would be
  const auto t1 = poller->change_token();
  EXPECT_NE(t1, t0);

  this->exec("UPDATE tenants SET enabled = false");  // a raw edit counts too
  const auto t2 = poller->change_token();
  EXPECT_NE(t2, t1);

  poller->add_tenant("team-b");  // own write counts too
  EXPECT_NE(poller->change_token(), t2);
}

// Two nodes on one store: each sees the other's writes through the token and the snapshot.
TYPED_TEST_P(ConfigStoreSuite, TwoInstancesSeeEachOthersWrites) {
  auto node1 = this->open();
  auto node2 = this->open();
  const auto t1 = node1->change_token();
  node2->add_account(this->account("from-2", "sk-2"));
  EXPECT_NE(node1->change_token(), t1);
  EXPECT_EQ(node1->change_token(), node2->change_token());
  EXPECT_EQ(node1->load_snapshot()->accounts.at(0).credential, "sk-2");

  const auto t2 = node2->change_token();
  node1->set_account_enabled("from-2", false);
  EXPECT_NE(node2->change_token(), t2);
  auto snap = node2->load_snapshot();
  EXPECT_FALSE(snap->accounts.at(0).enabled);
  EXPECT_EQ(snap->version, node1->change_token());
}

// Every kind of config write moves the version a snapshot records; failed writes and the
// observed IP of an egress do not.
TYPED_TEST_P(ConfigStoreSuite, SnapshotVersionChangesOnEveryKindOfWrite) {
  auto s = this->open();
  std::uint64_t last = s->load_snapshot()->version;
  const auto moved = [&](const char* what) {
    const std::uint64_t v = s->load_snapshot()->version;
    EXPECT_NE(v, last) << what;
    EXPECT_EQ(v, s->change_token()) << what;
    last = v;
  };
  const auto still = [&](const char* what) {
    EXPECT_EQ(s->load_snapshot()->version, last) << what;
  };
  s->add_tenant("t");
  moved("add_tenant");
  s->set_tenant_enabled("t", false);
  moved("set_tenant_enabled");
  s->set_tenant_limits("t", {.rpm = 5});
  moved("set_tenant_limits");
  KeyRecord k = s->add_key("t", kHashA, "crk_a", std::nullopt);
  moved("add_key");
  s->set_key_limits(k.id, {.rps = 1});
  moved("set_key_limits");
  s->revoke_key(k.id);
  moved("revoke_key");
  s->add_account(this->account("a"));
  moved("add_account");
  s->set_account_enabled("a", false);
  moved("set_account_enabled false");
  s->set_account_enabled("a", true);
  moved("set_account_enabled true");
  s->update_account("a", {.weight = 3});
  moved("update_account");
  s->add_egress(this->egress("e", "http://p:1", "a"));
  moved("add_egress");
  s->record_observed_ip("e", "192.0.2.1", 1);
  still("record_observed_ip");
  s->remove_egress("e");
  moved("remove_egress");

  EXPECT_ANY_THROW(s->add_tenant("t"));
  EXPECT_ANY_THROW(s->add_key("t", kHashA, "crk_a", std::nullopt));
  EXPECT_ANY_THROW(s->add_account(this->account("a")));
  EXPECT_ANY_THROW(s->set_tenant_enabled("nobody", true));
  EXPECT_ANY_THROW(s->update_account("nobody", {.weight = 2}));
  EXPECT_ANY_THROW(s->add_egress(this->egress("e", "http://p:1", "nobody")));
  EXPECT_ANY_THROW(s->remove_egress("e"));
  still("failed writes");
}

TYPED_TEST_P(ConfigStoreSuite, WeightAndConcurrencyAreStoredAndValidated) {
  auto s = this->open();
  NewAccount a = this->account("main");
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
    NewAccount bad = this->account("bad");
    bad.weight = w;
    bad.max_concurrency = c;
    EXPECT_EQ(kind_of([&] { s->add_account(bad); }), Kind::kInvalid) << w << " " << c;
    // Copied into the lambda: clang 14 cannot capture a structured binding.
    EXPECT_EQ(kind_of([&, w = w, c = c] {
                s->update_account("main", {w, c, {}, {}});
              }),
              Kind::kInvalid);
  }
  a = this->account("edge");
  a.weight = 1000;
  a.max_concurrency = 100'000;
  EXPECT_NO_THROW(s->add_account(a));
  EXPECT_EQ(s->list_accounts().size(), 2u);
}

TYPED_TEST_P(ConfigStoreSuite, UpdateAccountChangesOnlyWhatIsGiven) {
  auto s = this->open();
  s->add_account(this->account("main"));
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

  EXPECT_STREQ(error_of([&] { s->update_account("nobody", {.weight = 2}); }).what(),
               "account 'nobody' not found");
  EXPECT_EQ(kind_of([&] { s->update_account("main", {.base_url = std::string("ftp://x")}); }),
            Kind::kInvalid);
  EXPECT_EQ(
      kind_of([&] { s->update_account("main", {.models = std::vector<std::string>{"a,b"}}); }),
      Kind::kInvalid);
  EXPECT_EQ(s->list_accounts().at(0).base_url, "http://127.0.0.1:9/v1");  // untouched by those
}

TYPED_TEST_P(ConfigStoreSuite, EnableAlwaysStampsEnabledAt) {
  auto s = this->open();
  const std::int64_t t0 = unix_ms_now();
  s->add_account(this->account("main"));
  const std::int64_t added = s->load_snapshot()->accounts.at(0).enabled_at;
  EXPECT_GE(added, t0);

  // Re-enabling an enabled account still stamps it: that clears a health-disable.
  this->exec("UPDATE accounts SET enabled_at = 5");
  s->set_account_enabled("main", true);
  const std::int64_t first = s->load_snapshot()->accounts.at(0).enabled_at;
  EXPECT_GE(first, t0);
  EXPECT_LE(first, unix_ms_now());

  this->exec("UPDATE accounts SET enabled_at = 5");
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

TYPED_TEST_P(ConfigStoreSuite, TenantLimitsRoundTripAndValidation) {
  auto s = this->open();
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

  EXPECT_STREQ(error_of([&] { s->set_tenant_limits("nobody", {.rps = 1}); }).what(),
               "tenant 'nobody' not found");
  for (TenantLimitsUpdate bad :
       {TenantLimitsUpdate{.rps = -1}, TenantLimitsUpdate{.rpm = -1},
        TenantLimitsUpdate{.concurrency = -5}, TenantLimitsUpdate{.daily_requests = -1},
        TenantLimitsUpdate{.daily_tokens = -1},
        TenantLimitsUpdate{.rps = 3, .monthly_tokens = -1}}) {
    const auto before = s->change_token();
    EXPECT_EQ(kind_of([&] { s->set_tenant_limits("team-a", bad); }), Kind::kInvalid);
    EXPECT_EQ(s->change_token(), before);
  }
  EXPECT_STREQ(error_of([&] { s->set_tenant_limits("team-a", {.rpm = -1}); }).what(),
               "rpm limit must not be negative (0: no limit)");
  a = s->list_tenants().at(0);
  EXPECT_EQ(a.limits.rps, 0);  // the invalid update with a valid rps changed nothing
  EXPECT_EQ(a.limits.monthly_tokens, 50'000'000'000);
  EXPECT_TRUE(TenantLimitsUpdate{}.empty());
  EXPECT_FALSE(TenantLimitsUpdate{.monthly_tokens = 0}.empty());
}

TYPED_TEST_P(ConfigStoreSuite, SnapshotCarriesTenantLimits) {
  auto s = this->open();
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

TYPED_TEST_P(ConfigStoreSuite, KeyLimitsRoundTripAndValidation) {
  auto s = this->open();
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
  EXPECT_STREQ(error_of([&] { s->set_key_limits("key_000000000000", {.rps = 1}); }).what(),
               "key 'key_000000000000' not found");
  EXPECT_EQ(kind_of([&] { s->set_key_limits("team-a", {.rps = 1}); }), Kind::kNotFound);
  for (TenantLimitsUpdate bad :
       {TenantLimitsUpdate{.rps = -1}, TenantLimitsUpdate{.concurrency = -2},
        TenantLimitsUpdate{.rpm = 4, .monthly_tokens = -1}}) {
    const auto before = s->change_token();
    EXPECT_EQ(kind_of([&] { s->set_key_limits(a.id, bad); }), Kind::kInvalid);
    EXPECT_EQ(s->change_token(), before);
  }
  EXPECT_EQ(s->load_snapshot()->keys_by_hash.at(kHashA).key_limits.rpm, 60);

  // A raw edit of a key's limits counts as a change, too.
  const auto t1 = s->change_token();
  this->exec("UPDATE api_keys SET daily_tokens = 9");
  EXPECT_NE(s->change_token(), t1);
  EXPECT_EQ(s->load_snapshot()->keys_by_hash.at(kHashA).key_limits.daily_tokens, 9);
}

REGISTER_TYPED_TEST_SUITE_P(ConfigStoreSuite, Tenants, NamesAreCaseSensitiveAndListedInByteOrder,
                            InvalidNamesAreRejected, Keys, SnapshotReflectsRevokeAndDisable,
                            Accounts, UndecryptableAccountIsSkippedNotFatal,
                            WrongMasterKeyIsRefusedBeforeAnyWrite, CredentialIsBoundToItsAccountRow,
                            ChangeTokenSeesOwnAndOtherWrites, TwoInstancesSeeEachOthersWrites,
                            SnapshotVersionChangesOnEveryKindOfWrite,
                            WeightAndConcurrencyAreStoredAndValidated,
                            UpdateAccountChangesOnlyWhatIsGiven, EnableAlwaysStampsEnabledAt,
                            TenantLimitsRoundTripAndValidation, SnapshotCarriesTenantLimits,
                            KeyLimitsRoundTripAndValidation);

}  // namespace relay::store::config_suite
