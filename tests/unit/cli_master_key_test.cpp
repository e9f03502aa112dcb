// `master-key rotate` (src/app/cli_master_key.cpp) end to end through run_cli, on SQLite; the
// re-sealing itself runs on both backends in reseal_test.cpp.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "app/cli.hpp"
#include "cli_runner.hpp"
#include "crypto/master_key_file.hpp"
#include "crypto/secret_box.hpp"
#include "store/reseal.hpp"
#include "store/sqlite/sqlite_config_store.hpp"
#include "test_support.hpp"

namespace relay::app {
namespace {

using test::ScopedEnv;

using CliResult = test::CliRun;

class MasterKeyRotateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ScopedEnv credential("TEST_ROTATE_CREDENTIAL", "sk-proj-rotate-SECRET-abcd");
    ASSERT_EQ(run({"account", "add", "main", "--base-url", "https://api.openai.com/v1",
                   "--api-key-env", "TEST_ROTATE_CREDENTIAL"})
                  .rc,
              0);
    ASSERT_EQ(run({"egress", "add", "eu", "--account", "main", "--url",
                   "http://u:proxy-SECRET@127.0.0.1:3128"})
                  .rc,
              0);
    old_key_text_ = read(key_path_);
  }

  CliResult run(std::vector<std::string> args) {
    args.push_back("--data-dir");
    args.push_back(data_);
    return test::run_cli_captured(std::move(args));
  }

  static std::string read(const std::string& path) {
    std::ifstream in(path);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  }

  std::shared_ptr<crypto::SecretBox> box_from(const std::string& text) {
    return std::make_shared<crypto::SecretBox>(crypto::master_key_from_text(text, "test key"));
  }

  // The store under `key_text`: its credential and egress URL, as serve would load them.
  std::string secrets_under(const std::string& key_text) {
    store::SqliteConfigStore s(data_ + "/relay.db", box_from(key_text));
    auto snap = s.load_snapshot();
    std::string out;
    for (const auto& a : snap->accounts) {
      out += a.credential;
      for (const auto& e : a.egresses) out += " " + e.url;
    }
    return out;
  }

  bool old_key_refused() {
    try {
      store::SqliteConfigStore s(data_ + "/relay.db", box_from(old_key_text_));
    } catch (const store::StoreError& e) {
      return e.kind() == store::StoreError::Kind::kInvalid;
    }
    return false;
  }

  void expect_no_key_material(const CliResult& r, const std::string& new_key) {
    for (const std::string& s : {r.out, r.err}) {
      EXPECT_EQ(s.find(old_key_text_.substr(0, 16)), std::string::npos) << s;
      EXPECT_EQ(s.find(new_key.substr(0, 16)), std::string::npos) << s;
      EXPECT_EQ(s.find("SECRET"), std::string::npos) << s;
    }
  }

  ScopedEnv no_master_{"CODEX_RELAY_MASTER_KEY", std::nullopt};
  ScopedEnv no_dir_{"CODEX_RELAY_STORE_DATA_DIR", std::nullopt};
  test::TempDir dir_;
  std::string data_ = dir_ / "data";
  std::string key_path_ = data_ + "/master.key";
  std::string old_key_text_;
  const std::string expected_ = "sk-proj-rotate-SECRET-abcd http://u:proxy-SECRET@127.0.0.1:3128";
};

TEST_F(MasterKeyRotateTest, GeneratesANewKeyAndReSealsEverything) {
  ASSERT_EQ(secrets_under(old_key_text_), expected_);
  const CliResult r = run({"master-key", "rotate"});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.out.find("Re-sealed 1 account credential and 1 egress URL"), std::string::npos)
      << r.out;
  const std::string new_key = read(key_path_);
  EXPECT_NE(new_key, old_key_text_);
  EXPECT_FALSE(std::filesystem::exists(key_path_ + ".new"));
  struct stat st {};
  ASSERT_EQ(::stat(key_path_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_TRUE(old_key_refused());
  EXPECT_EQ(secrets_under(new_key), expected_);
  expect_no_key_material(r, new_key);
  // Commands (and serve) open the store with the new key file as before.
  const CliResult list = run({"account", "list"});
  EXPECT_EQ(list.rc, 0) << list.err;
  EXPECT_NE(list.out.find("\u2026abcd"), std::string::npos) << list.out;
}

TEST_F(MasterKeyRotateTest, TakesTheNewKeyFromAFileOrTheEnvironment) {
  const std::string file_key = std::string(64, '1');
  test::write_file(dir_ / "new.key", file_key + "\n");
  ::chmod((dir_ / "new.key").c_str(), 0600);
  CliResult r = run({"master-key", "rotate", "--new-key-file", dir_ / "new.key"});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(secrets_under(file_key), expected_);
  expect_no_key_material(r, file_key);

  const std::string env_key = std::string(64, '2');
  ScopedEnv v("TEST_ROTATE_NEW_KEY", env_key);
  r = run({"master-key", "rotate", "--new-key-env", "TEST_ROTATE_NEW_KEY"});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(secrets_under(env_key), expected_);
  EXPECT_EQ(read(key_path_).substr(0, 64), env_key);
}

TEST_F(MasterKeyRotateTest, ARerunAfterACrashBetweenCommitAndRenameFinishes) {
  // The state a crash leaves after step 2: the store re-sealed under master.key.new, master.key
  // still the old key.
  const std::string new_key = crypto::generate_master_key_text();
  crypto::write_key_file_exclusive(key_path_ + ".new", new_key);
  store::reseal(*store::begin_sqlite_reseal(data_ + "/relay.db"), *box_from(old_key_text_),
                *box_from(new_key));
  EXPECT_NE(run({"account", "list"}).rc, 0);  // the old key no longer opens the store

  const CliResult r = run({"master-key", "rotate"});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.out.find("Finishing the interrupted rotation"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("already sealed under the new master key"), std::string::npos) << r.out;
  EXPECT_EQ(read(key_path_), new_key);
  EXPECT_FALSE(std::filesystem::exists(key_path_ + ".new"));
  EXPECT_EQ(secrets_under(new_key), expected_);
  EXPECT_EQ(run({"account", "list"}).rc, 0);
}

TEST_F(MasterKeyRotateTest, ACrashBeforeTheCommitLeavesTheOldKeyWorking) {
  // A partial master.key.new (the crash came while writing it): discarded, and a fresh rotation
  // runs.
  test::write_file(key_path_ + ".new", "0123");
  ::chmod((key_path_ + ".new").c_str(), 0600);
  const CliResult r = run({"master-key", "rotate"});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out.find("Finishing"), std::string::npos) << r.out;
  EXPECT_EQ(secrets_under(read(key_path_)), expected_);
  EXPECT_TRUE(old_key_refused());
}

TEST_F(MasterKeyRotateTest, KeyFromTheEnvironmentWritesNoFile) {
  // A store whose key comes from CODEX_RELAY_MASTER_KEY.
  test::TempDir other;
  data_ = other / "data";
  key_path_ = data_ + "/master.key";
  const std::string env_old = std::string(64, 'a');
  ScopedEnv master("CODEX_RELAY_MASTER_KEY", env_old);
  SetUp();
  old_key_text_ = env_old;
  EXPECT_FALSE(std::filesystem::exists(key_path_));

  CliResult refused = run({"master-key", "rotate"});  // nowhere to put a generated key
  EXPECT_EQ(refused.rc, 1);
  EXPECT_NE(refused.err.find("--new-key-env"), std::string::npos) << refused.err;

  const std::string env_new = std::string(64, 'b');
  ScopedEnv v("TEST_ROTATE_NEW_KEY", env_new);
  const CliResult r = run({"master-key", "rotate", "--new-key-env", "TEST_ROTATE_NEW_KEY"});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.out.find("Set CODEX_RELAY_MASTER_KEY"), std::string::npos) << r.out;
  EXPECT_FALSE(std::filesystem::exists(key_path_));
  EXPECT_FALSE(std::filesystem::exists(key_path_ + ".new"));
  EXPECT_EQ(secrets_under(env_new), expected_);
  EXPECT_TRUE(old_key_refused());
  expect_no_key_material(r, env_new);
}

TEST_F(MasterKeyRotateTest, BadNewKeysChangeNothing) {
  test::write_file(dir_ / "open.key", std::string(64, '1'));
  ::chmod((dir_ / "open.key").c_str(), 0644);
  EXPECT_EQ(run({"master-key", "rotate", "--new-key-file", dir_ / "open.key"}).rc, 1);
  ScopedEnv v("TEST_ROTATE_NEW_KEY", "not-a-key");
  EXPECT_EQ(run({"master-key", "rotate", "--new-key-env", "TEST_ROTATE_NEW_KEY"}).rc, 1);
  EXPECT_EQ(run({"master-key", "rotate", "--new-key-env", "TEST_UNSET_XYZ"}).rc, 1);
  EXPECT_EQ(run({"master-key", "rotate", "--new-key-env", "A", "--new-key-file", "B"}).rc, 2);
  EXPECT_EQ(read(key_path_), old_key_text_);
  EXPECT_FALSE(std::filesystem::exists(key_path_ + ".new"));
  EXPECT_EQ(secrets_under(old_key_text_), expected_);
}

}  // namespace
}  // namespace relay::app
