#pragma once
// The AdminStore contract (store/admin_store.hpp: admin tokens and the audit log) as a typed
// suite that every backend runs: SQLite (sqlite_admin_store_test.cpp) and PostgreSQL
// (pg_admin_store_test.cpp). A backend's test file defines
//
//   struct Backend {
//     static bool available();             // false skips the suite (no test server)
//     std::unique_ptr<AdminStore> open();  // another store on this test's own storage
//     std::int64_t count(const std::string& sql);  // raw SQL: first column of the first row
//   };
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "store/admin_store.hpp"

namespace relay::store::admin_suite {

using Kind = StoreError::Kind;

inline const std::string kHash1(64, '1');
inline const std::string kHash2(64, '2');

template <class F>
Kind kind_of(F&& f) {
  try {
    f();
  } catch (const StoreError& e) {
    return e.kind();
  }
  ADD_FAILURE() << "no StoreError thrown";
  return Kind::kIo;
}

template <class Backend>
class AdminStoreSuite : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!Backend::available()) GTEST_SKIP() << "backend not available (run through ctest)";
    backend_ = std::make_unique<Backend>();
    store_ = backend_->open();
  }
  static AuditEntry entry(std::int64_t at_ms, const std::string& action) {
    return {0, at_ms, "token:ops", action, "team-a", "ok", R"({"limits":{"rps":5}})"};
  }
  std::unique_ptr<Backend> backend_;
  std::unique_ptr<AdminStore> store_;
};

TYPED_TEST_SUITE_P(AdminStoreSuite);

TYPED_TEST_P(AdminStoreSuite, TokensAreAddedListedFoundByHashAndRevoked) {
  AdminToken a = this->store_->add_admin_token("ops", kHash1, "wxyz");
  EXPECT_TRUE(a.id.starts_with("adm_")) << a.id;
  EXPECT_GT(a.created_at, 0);
  this->store_->add_admin_token("ci", kHash2, "abcd");

  auto other = this->backend_->open();  // as another process sees it
  auto list = other->list_admin_tokens();
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].name, "ci");  // by name
  EXPECT_EQ(list[1].name, "ops");
  EXPECT_EQ(list[1].last4, "wxyz");
  EXPECT_EQ(list[1].id, a.id);

  auto found = other->find_admin_token(kHash1);
  ASSERT_TRUE(found);
  EXPECT_EQ(found->name, "ops");
  EXPECT_EQ(found->token_hash, kHash1);
  EXPECT_FALSE(other->find_admin_token(std::string(64, '3')));

  other->revoke_admin_token("ops");
  EXPECT_FALSE(this->store_->find_admin_token(kHash1));
  EXPECT_EQ(this->store_->list_admin_tokens().size(), 1u);
  // A revoked name can be given to a new token (rotation).
  this->store_->add_admin_token("ops", std::string(64, '4'), "");
}

TYPED_TEST_P(AdminStoreSuite, TokenMistakesAreRefusedAndChangeNothing) {
  AdminStore& s = *this->store_;
  s.add_admin_token("ops", kHash1, "wxyz");
  EXPECT_EQ(kind_of([&] { s.add_admin_token("ops", kHash2, "abcd"); }), Kind::kAlreadyExists);
  EXPECT_EQ(kind_of([&] { s.add_admin_token("other", kHash1, "abcd"); }), Kind::kAlreadyExists);
  EXPECT_EQ(kind_of([&] { s.add_admin_token("bad name", kHash2, "abcd"); }), Kind::kInvalid);
  EXPECT_EQ(kind_of([&] { s.add_admin_token("x", "cra_not-a-hash", "abcd"); }), Kind::kInvalid);
  EXPECT_EQ(kind_of([&] { s.add_admin_token("x", kHash2, "abcde"); }), Kind::kInvalid);
  EXPECT_EQ(kind_of([&] { s.revoke_admin_token("nobody"); }), Kind::kNotFound);
  EXPECT_EQ(s.list_admin_tokens().size(), 1u);
  EXPECT_EQ(this->backend_->count("SELECT COUNT(*) FROM admin_tokens"), 1);
}

TYPED_TEST_P(AdminStoreSuite, AuditListsNewestFirstFromSinceUpToLimit) {
  AdminStore& s = *this->store_;
  for (int i = 1; i <= 5; ++i) s.append(this->entry(1000 * i, "tenant.a" + std::to_string(i)));
  auto all = this->backend_->open()->list_audit(0, 100);
  ASSERT_EQ(all.size(), 5u);
  EXPECT_EQ(all[0].action, "tenant.a5");
  EXPECT_EQ(all[4].action, "tenant.a1");
  EXPECT_GT(all[0].id, all[4].id);
  EXPECT_EQ(all[0].at_ms, 5000);
  EXPECT_EQ(all[0].actor, "token:ops");
  EXPECT_EQ(all[0].target, "team-a");
  EXPECT_EQ(all[0].outcome, "ok");
  EXPECT_EQ(all[0].details, R"({"limits":{"rps":5}})");

  auto since = s.list_audit(3000, 100);
  ASSERT_EQ(since.size(), 3u);
  EXPECT_EQ(since.back().action, "tenant.a3");
  auto limited = s.list_audit(0, 2);
  ASSERT_EQ(limited.size(), 2u);
  EXPECT_EQ(limited[1].action, "tenant.a4");
  EXPECT_EQ(kind_of([&] { s.list_audit(0, 0); }), Kind::kInvalid);
  EXPECT_EQ(kind_of([&] { s.list_audit(0, 10001); }), Kind::kInvalid);
}

REGISTER_TYPED_TEST_SUITE_P(AdminStoreSuite, TokensAreAddedListedFoundByHashAndRevoked,
                            TokenMistakesAreRefusedAndChangeNothing,
                            AuditListsNewestFirstFromSinceUpToLimit);

}  // namespace relay::store::admin_suite
