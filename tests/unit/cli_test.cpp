#include "app/cli.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <toml++/toml.h>

#include <regex>
#include <vector>

#include "crypto/relay_key.hpp"
#include "crypto/secret_box.hpp"
#include "store/sqlite/sqlite_config_store.hpp"
#include "test_support.hpp"

namespace relay::app {
namespace {

using test::ScopedEnv;

struct CliRun {
  int rc;
  std::string out, err;
};

class CliTest : public ::testing::Test {
 protected:
  // Runs codex-relay with --data-dir pointing at this test's directory (after the verb, which
  // also exercises global options following it).
  CliRun run(std::vector<std::string> args, bool with_data_dir = true) {
    args.insert(args.begin(), "codex-relay");
    if (with_data_dir) {
      args.push_back("--data-dir");
      args.push_back(data_);
    }
    std::vector<char*> argv;
    argv.reserve(args.size() + 1);
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    testing::internal::CaptureStdout();
    testing::internal::CaptureStderr();
    int rc = run_cli(static_cast<int>(args.size()), argv.data());
    CliRun r{rc, testing::internal::GetCapturedStdout(), testing::internal::GetCapturedStderr()};
    return r;
  }

  std::unique_ptr<store::SqliteConfigStore> open_store() {
    auto box = std::make_shared<crypto::SecretBox>(crypto::load_master_key(data_, ""));
    return std::make_unique<store::SqliteConfigStore>(data_ + "/relay.db", box);
  }

  ScopedEnv no_master_{"CODEX_RELAY_MASTER_KEY", std::nullopt};
  ScopedEnv no_dir_{"CODEX_RELAY_STORE_DATA_DIR", std::nullopt};
  test::TempDir dir_;
  std::string data_ = dir_ / "data";
};

TEST_F(CliTest, KeyAddPrintsOnlyTheKeyAndStoresOnlyItsHash) {
  ASSERT_EQ(run({"tenant", "add", "team-a"}).rc, 0);
  CliRun r = run({"key", "add", "team-a"});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_TRUE(std::regex_match(r.out, std::regex("crk_[A-Za-z0-9_-]{43}\n"))) << r.out;
  const std::string key = r.out.substr(0, r.out.size() - 1);
  EXPECT_NE(r.err.find("key_"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find(key), std::string::npos);

  CliRun list = run({"key", "list"});
  ASSERT_EQ(list.rc, 0);
  EXPECT_EQ(list.out.find(key), std::string::npos);
  EXPECT_NE(list.out.find(key.substr(0, 12)), std::string::npos) << list.out;
  EXPECT_NE(list.out.find("active"), std::string::npos);
  EXPECT_EQ(test::read_file(data_ + "/relay.db").find(key), std::string::npos);

  auto snap = open_store()->load_snapshot();
  ASSERT_EQ(snap->keys_by_hash.count(crypto::sha256_hex(key)), 1u);

  // First use created a private data dir and key file.
  struct stat st {};
  ASSERT_EQ(::stat(data_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  ASSERT_EQ(::stat((data_ + "/master.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(CliTest, GlobalOptionsBeforeOrAfterTheVerb) {
  CliRun before = run({"--data-dir", data_, "tenant", "add", "a"}, false);
  ASSERT_EQ(before.rc, 0) << before.err;
  CliRun after = run({"tenant", "list"});
  EXPECT_NE(after.out.find("a "), std::string::npos) << after.out;
}

TEST_F(CliTest, KeyExpiryAndRevoke) {
  run({"tenant", "add", "team-a"});
  CliRun past = run({"key", "add", "team-a", "--expires", "2001-01-01"});
  EXPECT_EQ(past.rc, 1);
  EXPECT_NE(past.err.find("codex-relay: error: "), std::string::npos) << past.err;
  EXPECT_TRUE(past.out.empty());
  for (const char* bad : {"2030-02-30", "2030-1-01", "tomorrow", "2030-01-01x"})
    EXPECT_EQ(run({"key", "add", "team-a", "--expires", bad}).rc, 1) << bad;

  CliRun ok = run({"key", "add", "team-a", "--expires", "2999-12-31"});
  ASSERT_EQ(ok.rc, 0) << ok.err;
  auto keys = open_store()->list_keys();
  ASSERT_EQ(keys.size(), 1u);
  EXPECT_EQ(keys[0].expires_at, 32503680000);  // 3000-01-01T00:00:00Z: valid all of 12-31
  ASSERT_EQ(run({"key", "revoke", keys[0].id}).rc, 0);
  CliRun list = run({"key", "list"});
  EXPECT_NE(list.out.find("3000-01-01T00:00:00Z"), std::string::npos) << list.out;
  EXPECT_NE(list.out.find("revoked"), std::string::npos) << list.out;
  EXPECT_EQ(run({"key", "revoke", "key_000000000000"}).rc, 1);
}

TEST_F(CliTest, AccountAddReadsEnvAndNeverEchoesTheCredential) {
  const std::string secret = "sk-proj-cli-SECRET-credential-42";
  ScopedEnv env("TEST_UPSTREAM_KEY", "  " + secret + "\n");
  CliRun r = run({"account", "add", "main", "--base-url", "https://api.openai.com/v1/",
                  "--api-key-env", "TEST_UPSTREAM_KEY", "--models", "gpt-5.5, gpt-5.5-mini"});
  ASSERT_EQ(r.rc, 0) << r.err;
  CliRun list = run({"account", "list"});
  CliRun dup = run(
      {"account", "add", "main", "--base-url", "https://x", "--api-key-env", "TEST_UPSTREAM_KEY"});
  EXPECT_EQ(dup.rc, 1);
  for (const CliRun& x : {r, list, dup}) {
    EXPECT_EQ(x.out.find("SECRET"), std::string::npos) << x.out;
    EXPECT_EQ(x.err.find("SECRET"), std::string::npos) << x.err;
  }
  EXPECT_NE(list.out.find("https://api.openai.com/v1 "), std::string::npos) << list.out;
  EXPECT_NE(list.out.find("gpt-5.5,gpt-5.5-mini"), std::string::npos) << list.out;

  auto snap = open_store()->load_snapshot();
  ASSERT_EQ(snap->accounts.size(), 1u);
  EXPECT_EQ(snap->accounts[0].credential, secret);  // trimmed
  EXPECT_EQ(snap->accounts[0].base_url, "https://api.openai.com/v1");
}

TEST_F(CliTest, AccountAddFromFileWithCaFile) {
  test::write_file(dir_ / "key.txt", "sk-from-file\n");
  test::write_file(dir_ / "ca.pem", "-----BEGIN CERTIFICATE-----\n");
  CliRun r = run({"account", "add", "local", "--base-url", "http://127.0.0.1:9999/v1",
                  "--api-key-file", dir_ / "key.txt", "--ca-file", dir_ / "ca.pem"});
  ASSERT_EQ(r.rc, 0) << r.err;
  auto accounts = open_store()->load_snapshot()->accounts;
  ASSERT_EQ(accounts.size(), 1u);
  EXPECT_EQ(accounts[0].credential, "sk-from-file");
  EXPECT_EQ(accounts[0].ca_file, dir_ / "ca.pem");
  EXPECT_TRUE(accounts[0].models.empty());
  ASSERT_EQ(run({"account", "disable", "local"}).rc, 0);
  EXPECT_FALSE(open_store()->load_snapshot()->accounts[0].enabled);
}

TEST_F(CliTest, AccountAddRejectsBadInput) {
  ScopedEnv env("TEST_UPSTREAM_KEY", "sk-x");
  ScopedEnv empty("TEST_EMPTY_KEY", " \n");
  test::write_file(dir_ / "key.txt", "sk-y");
  const std::string key_file = dir_ / "key.txt";
  auto add = [&](std::vector<std::string> extra) {
    std::vector<std::string> args = {"account", "add", "a", "--base-url", "https://x.example"};
    args.insert(args.end(), extra.begin(), extra.end());
    return run(args).rc;
  };
  EXPECT_EQ(add({}), 2);  // no credential source
  EXPECT_EQ(add({"--api-key-env", "TEST_UPSTREAM_KEY", "--api-key-file", key_file}), 2);
  EXPECT_EQ(add({"--api-key-env", "TEST_EMPTY_KEY"}), 1);
  EXPECT_EQ(add({"--api-key-env", "TEST_UNSET_KEY_XYZ"}), 1);
  EXPECT_EQ(add({"--api-key-file", dir_ / "missing.txt"}), 1);
  EXPECT_EQ(add({"--api-key-env", "TEST_UPSTREAM_KEY", "--ca-file", dir_ / "missing.pem"}), 1);
  EXPECT_EQ(run({"account", "add", "a", "--base-url", "api.openai.com", "--api-key-env",
                 "TEST_UPSTREAM_KEY"})
                .rc,
            1);
  CliRun list = run({"account", "list"});
  EXPECT_EQ(list.out, "NAME  BASE_URL  MODELS  CA  ENABLED\n");
}

TEST_F(CliTest, ErrorsAndUsage) {
  ASSERT_EQ(run({"tenant", "add", "team-a"}).rc, 0);
  CliRun dup = run({"tenant", "add", "team-a"});
  EXPECT_EQ(dup.rc, 1);
  EXPECT_EQ(dup.err.rfind("codex-relay: error: ", 0), 0u) << dup.err;
  EXPECT_EQ(run({"tenant", "add", "bad name"}).rc, 1);
  EXPECT_EQ(run({"tenant", "disable", "nobody"}).rc, 1);
  ASSERT_EQ(run({"tenant", "disable", "team-a"}).rc, 0);
  EXPECT_FALSE(open_store()->list_tenants().at(0).enabled);
  EXPECT_EQ(run({"frobnicate"}).rc, 2);
  EXPECT_EQ(run({}, false).rc, 2);
  EXPECT_EQ(run({"tenant"}).rc, 2);
}

TEST_F(CliTest, CodexConfigIsValidToml) {
  CliRun r = run({"codex-config", "--url", "https://relay.example.com/"}, false);
  ASSERT_EQ(r.rc, 0) << r.err;
  toml::table t = toml::parse(r.out);
  EXPECT_EQ(t["model_provider"].value_or(""), std::string("codex-relay"));
  EXPECT_EQ(t["model"].value_or(""), std::string("gpt-5.5"));
  auto p = t["model_providers"]["codex-relay"];
  EXPECT_EQ(p["base_url"].value_or(""), std::string("https://relay.example.com/v1"));
  EXPECT_EQ(p["wire_api"].value_or(""), std::string("responses"));
  EXPECT_EQ(p["env_key"].value_or(""), std::string("CODEX_RELAY_API_KEY"));
  EXPECT_FALSE(p["experimental_bearer_token"]);
  EXPECT_EQ(t["features"]["plugins"].value_or(true), false);
  EXPECT_EQ(t["analytics"]["enabled"].value_or(true), false);
  EXPECT_NE(r.out.find("codex exec -c"), std::string::npos);

  CliRun k = run({"codex-config", "--url", "http://10.0.0.5:8080/v1", "--key", "crk_abc"}, false);
  ASSERT_EQ(k.rc, 0) << k.err;
  toml::table t2 = toml::parse(k.out);
  auto p2 = t2["model_providers"]["codex-relay"];
  EXPECT_EQ(p2["base_url"].value_or(""), std::string("http://10.0.0.5:8080/v1"));
  EXPECT_EQ(p2["experimental_bearer_token"].value_or(""), std::string("crk_abc"));
  EXPECT_FALSE(p2["env_key"]);

  EXPECT_EQ(run({"codex-config", "--url", "relay.example.com"}, false).rc, 1);
  EXPECT_EQ(run({"codex-config"}, false).rc, 2);
}

}  // namespace
}  // namespace relay::app
