#pragma once
// store/reseal.hpp's contract as a typed suite that both backends run (reseal_test.cpp). A
// Backend type provides:
//   static bool available();                                   // false skips (no test server)
//   std::unique_ptr<ConfigStore> open(std::shared_ptr<crypto::SecretBox> box);
//   std::unique_ptr<ResealTransaction> begin();
//   void exec(const std::string& sql);                          // raw SQL, as another process
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "crypto/secret_box.hpp"
#include "store/config_store.hpp"
#include "store/reseal.hpp"

namespace relay::store::reseal_suite {

inline std::shared_ptr<crypto::SecretBox> box_of(char fill) {
  return std::make_shared<crypto::SecretBox>(std::string(crypto::SecretBox::kKeySize, fill));
}

template <class Backend>
class ResealSuite : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!Backend::available()) GTEST_SKIP() << "no test database";
    backend_ = std::make_unique<Backend>();
    auto store = backend_->open(old_key_);
    store->add_account({"main", "https://api.openai.com/v1", "sk-proj-main-SECRET", {}, "", 1, 0});
    store->add_account(
        {"spare", "https://api.openai.com/v1", "sk-proj-spare-SECRET", {}, "", 1, 0});
    store->add_egress({"eu", "http://user:proxy-SECRET@127.0.0.1:3128", "main", "", ""});
  }

  // The credentials and egress URLs a store opened with `box` decrypts.
  std::string secrets_under(std::shared_ptr<crypto::SecretBox> box) {
    auto snap = backend_->open(std::move(box))->load_snapshot();
    std::string out;
    for (const auto& a : snap->accounts) {
      out += a.name + "=" + a.credential + ";";
      for (const auto& e : a.egresses) out += e.name + "=" + e.url + ";";
    }
    return out;
  }

  static StoreError::Kind open_error(Backend& b, std::shared_ptr<crypto::SecretBox> box) {
    try {
      b.open(std::move(box));
    } catch (const StoreError& e) {
      return e.kind();
    }
    ADD_FAILURE() << "the store opened";
    return StoreError::Kind::kIo;
  }

  std::unique_ptr<Backend> backend_;
  std::shared_ptr<crypto::SecretBox> old_key_ = box_of('o');
  std::shared_ptr<crypto::SecretBox> new_key_ = box_of('n');
  const std::string expected_ =
      "main=sk-proj-main-SECRET;eu=http://user:proxy-SECRET@127.0.0.1:3128;"
      "spare=sk-proj-spare-SECRET;";
};

TYPED_TEST_SUITE_P(ResealSuite);

TYPED_TEST_P(ResealSuite, EverySecretMovesToTheNewKey) {
  ASSERT_EQ(this->secrets_under(this->old_key_), this->expected_);
  const ResealReport r = reseal(*this->backend_->begin(), *this->old_key_, *this->new_key_);
  EXPECT_FALSE(r.already_done);
  EXPECT_EQ(r.accounts, 2u);
  EXPECT_EQ(r.egresses, 1u);
  EXPECT_EQ(this->secrets_under(this->new_key_), this->expected_);
  EXPECT_EQ(this->open_error(*this->backend_, this->old_key_), StoreError::Kind::kInvalid);
}

TYPED_TEST_P(ResealSuite, ARerunAfterTheCommitChangesNothing) {
  reseal(*this->backend_->begin(), *this->old_key_, *this->new_key_);
  const ResealReport again = reseal(*this->backend_->begin(), *this->old_key_, *this->new_key_);
  EXPECT_TRUE(again.already_done);
  EXPECT_EQ(this->secrets_under(this->new_key_), this->expected_);
}

TYPED_TEST_P(ResealSuite, AWrongCurrentKeyChangesNothing) {
  const auto wrong = box_of('w');
  try {
    reseal(*this->backend_->begin(), *wrong, *this->new_key_);
    ADD_FAILURE() << "no error";
  } catch (const StoreError& e) {
    EXPECT_EQ(e.kind(), StoreError::Kind::kInvalid);
  }
  EXPECT_EQ(this->secrets_under(this->old_key_), this->expected_);
}

TYPED_TEST_P(ResealSuite, ASecretThatDoesNotOpenRollsEverythingBack) {
  // spare's credential replaced by main's: sealed to another row, so it does not open. main
  // (re-sealed first) must be rolled back with the rest.
  this->backend_->exec(
      "UPDATE accounts SET credential = (SELECT credential FROM accounts WHERE name = 'main') "
      "WHERE name = 'spare'");
  try {
    reseal(*this->backend_->begin(), *this->old_key_, *this->new_key_);
    ADD_FAILURE() << "no error";
  } catch (const StoreError& e) {
    EXPECT_EQ(e.kind(), StoreError::Kind::kInvalid);
    EXPECT_NE(std::string(e.what()).find("'spare'"), std::string::npos) << e.what();
    EXPECT_EQ(std::string(e.what()).find("SECRET"), std::string::npos) << e.what();
  }
  auto snap = this->backend_->open(this->old_key_)->load_snapshot();
  ASSERT_EQ(snap->accounts.size(), 1u);  // spare is left out, as before
  EXPECT_EQ(snap->accounts[0].credential, "sk-proj-main-SECRET");
}

TYPED_TEST_P(ResealSuite, AStoreStillOnTheOldKeyKeepsItsLastSnapshot) {
  auto running = this->backend_->open(this->old_key_);  // a `serve` started before the rotation
  ASSERT_EQ(running->load_snapshot()->accounts.size(), 2u);
  reseal(*this->backend_->begin(), *this->old_key_, *this->new_key_);
  try {
    running->load_snapshot();
    ADD_FAILURE() << "the old key loaded a snapshot of the re-sealed store";
  } catch (const StoreError& e) {
    EXPECT_NE(std::string(e.what()).find("master-key rotate"), std::string::npos) << e.what();
  }
}

REGISTER_TYPED_TEST_SUITE_P(ResealSuite, EverySecretMovesToTheNewKey,
                            ARerunAfterTheCommitChangesNothing, AWrongCurrentKeyChangesNothing,
                            ASecretThatDoesNotOpenRollsEverythingBack,
                            AStoreStillOnTheOldKeyKeepsItsLastSnapshot);

}  // namespace relay::store::reseal_suite
