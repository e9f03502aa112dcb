#include "app/cli.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <simdjson.h>
#include <sqlite3.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <toml++/toml.h>
#include <unistd.h>

#include <filesystem>
#include <iterator>
#include <map>
#include <mutex>
#include <regex>
#include <sstream>
#include <thread>
#include <vector>

#include "app/cli_internal.hpp"
#include "app/egress_verify.hpp"

#include "base/unix_time.hpp"
#include "cli_runner.hpp"
#include "crypto/relay_key.hpp"
#include "crypto/secret_box.hpp"
#include "store/sqlite/sqlite_config_store.hpp"
#include "store/sqlite/sqlite_counter_snapshot_store.hpp"
#include "store/sqlite/sqlite_health_store.hpp"
#include "store/sqlite/sqlite_usage_store.hpp"
#include "test_support.hpp"

namespace relay::app {
namespace {

using test::CliRun;
using test::ScopedEnv;

class CliTest : public ::testing::Test {
 protected:
  // Runs codex-relay with --data-dir pointing at this test's directory (after the verb, which
  // also exercises global options following it).
  CliRun run(std::vector<std::string> args, bool with_data_dir = true) {
    if (with_data_dir) {
      args.push_back("--data-dir");
      args.push_back(data_);
    }
    return test::run_cli_captured(std::move(args));
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
  EXPECT_TRUE(std::regex_match(r.out, std::regex("crk_[0-9A-Za-z]{49}\n"))) << r.out;
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
  EXPECT_EQ(add({"--api-key-env", "TEST_UPSTREAM_KEY", "--weight", "0"}), 1);
  EXPECT_EQ(add({"--api-key-env", "TEST_UPSTREAM_KEY", "--max-concurrency", "-1"}), 1);
  EXPECT_EQ(add({"--api-key-env", "TEST_UPSTREAM_KEY", "--weight", "x"}), 2);
  CliRun list = run({"account", "list"});
  EXPECT_EQ(list.out,
            "NAME  KEY  BASE_URL  MODELS  WEIGHT  MAXCONC  ENABLED  STATE  SCORE  ERR%  TTFB_MS  "
            "CACHE_HIT%  COOLING_UNTIL\n");
}

// Splits `account list` output into rows of whitespace-separated cells.
std::vector<std::vector<std::string>> cells(const std::string& out) {
  std::vector<std::vector<std::string>> rows;
  std::istringstream lines(out);
  for (std::string line; std::getline(lines, line);) {
    std::istringstream words(line);
    rows.emplace_back(std::istream_iterator<std::string>(words),
                      std::istream_iterator<std::string>());
  }
  return rows;
}

TEST_F(CliTest, AccountSetAndListWithHealth) {
  ScopedEnv env("TEST_UPSTREAM_KEY", "sk-proj-SECRET-1");
  ASSERT_EQ(run({"account", "add", "main", "--base-url", "https://api.openai.com/v1",
                 "--api-key-env", "TEST_UPSTREAM_KEY", "--weight", "3", "--max-concurrency", "8"})
                .rc,
            0);
  ASSERT_EQ(run({"account", "add", "spare", "--base-url", "https://b.example/v1", "--api-key-env",
                 "TEST_UPSTREAM_KEY"})
                .rc,
            0);
  // Before serve has written anything, every health column is "-".
  auto rows = cells(run({"account", "list"}).out);
  ASSERT_EQ(rows.size(), 3u);
  // KEY: the credential's last 4 characters only.
  EXPECT_EQ(rows[1],
            (std::vector<std::string>{"main", "\u2026ET-1", "https://api.openai.com/v1", "*", "3",
                                      "8", "yes", "-", "-", "-", "-", "-", "-"}));
  EXPECT_EQ(rows[2][4], "1");
  EXPECT_EQ(rows[2][5], "-");  // no concurrency limit

  CliRun set = run({"account", "set", "spare", "--weight", "5", "--models", "gpt-5.5,gpt-x",
                    "--base-url", "http://127.0.0.1:9/v1/"});
  ASSERT_EQ(set.rc, 0) << set.err;
  EXPECT_NE(set.out.find("weight 5"), std::string::npos) << set.out;
  EXPECT_EQ(run({"account", "set", "spare"}).rc, 2);  // nothing to change
  EXPECT_EQ(run({"account", "set", "nobody", "--weight", "2"}).rc, 1);
  EXPECT_EQ(run({"account", "set", "spare", "--weight", "1001"}).rc, 1);
  EXPECT_EQ(run({"account", "set", "spare", "--base-url", "ftp://x"}).rc, 1);
  ASSERT_EQ(run({"account", "set", "main", "--max-concurrency", "0"}).rc, 0);

  auto accounts = open_store()->list_accounts();
  std::int64_t main_id = accounts.at(0).id, spare_id = accounts.at(1).id;
  store::SqliteHealthStore health(data_ + "/relay.db");
  store::AccountHealthRow h;
  h.account_id = main_id;
  h.account_name = "main";
  h.state = "cooling";
  h.score = 0.5;
  h.error_rate = 0.25;
  h.ttfb_ms = 420.4;
  h.cooling_until_unix_ms = 1'700'000'000'000;  // 2023-11-14T22:13:20Z
  h.input_tokens = 2000;
  h.cached_tokens = 1500;
  h.last_failure = "server_error";
  h.updated_at_unix_ms = cli::unix_now() * 1000;
  store::AccountHealthRow idle = h;
  idle.account_id = spare_id;
  idle.account_name = "spare";
  idle.state = "healthy";
  idle.cooling_until_unix_ms = 0;
  idle.input_tokens = idle.cached_tokens = 0;
  health.write({h, idle}, {});

  CliRun list = run({"account", "list"});
  rows = cells(list.out);
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[1], (std::vector<std::string>{"main", "\u2026ET-1", "https://api.openai.com/v1",
                                               "*", "3", "-", "yes", "cooling", "0.50", "25.0",
                                               "420", "75.0", "22:13:20Z"}));
  EXPECT_EQ(rows[2], (std::vector<std::string>{"spare", "\u2026ET-1", "http://127.0.0.1:9/v1",
                                               "gpt-5.5,gpt-x", "5", "-", "yes", "healthy", "0.50",
                                               "25.0", "420", "-", "-"}));
  EXPECT_EQ(list.err.find("note:"), std::string::npos) << list.err;  // health is fresh
  EXPECT_EQ(list.out.find("SECRET"), std::string::npos);

  idle.updated_at_unix_ms = h.updated_at_unix_ms = 1'700'000'000'000;  // serve long gone
  health.write({h, idle}, {});
  EXPECT_NE(run({"account", "list"}).err.find("note: health as of 2023-11-14T22:13:20Z"),
            std::string::npos);
}

TEST_F(CliTest, AccountEnableBumpsEnabledAtAndSaysSo) {
  ScopedEnv env("TEST_UPSTREAM_KEY", "sk-x");
  ASSERT_EQ(run({"account", "add", "main", "--base-url", "https://a.example/v1", "--api-key-env",
                 "TEST_UPSTREAM_KEY"})
                .rc,
            0);
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((data_ + "/relay.db").c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "UPDATE accounts SET enabled_at = 5", nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  const std::int64_t t0 = cli::unix_now() * 1000;
  CliRun r = run({"account", "enable", "main"});  // already enabled: still stamps
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.out.find("clears a health-disable"), std::string::npos) << r.out;
  EXPECT_GE(open_store()->load_snapshot()->accounts.at(0).enabled_at, t0);
  EXPECT_EQ(run({"account", "enable", "nobody"}).rc, 1);
}

TEST_F(CliTest, AccountEvents) {
  CliRun empty = run({"account", "events"});
  ASSERT_EQ(empty.rc, 0) << empty.err;
  EXPECT_EQ(empty.out, "TIME  ACCOUNT  CHANGE  CAUSE\n");

  store::SqliteHealthStore health(data_ + "/relay.db");
  const std::int64_t t = cli::unix_now() * 1000;
  health.write({}, {{1, "main", "healthy", "cooling", "server_error", t - 3000},
                    {2, "spare", "healthy", "disabled", "auth", t - 2000},
                    {1, "main", "cooling", "half_open", "window_over", t - 1000}});
  CliRun all = run({"account", "events"});
  ASSERT_EQ(all.rc, 0) << all.err;
  auto rows = cells(all.out);
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_EQ(rows[1], (std::vector<std::string>{cli::format_utc(t / 1000 - 3), "main", "healthy",
                                               "→", "cooling", "server_error"}));
  EXPECT_EQ(rows[3][1], "main");
  EXPECT_EQ(rows[3][4], "half_open");
  // Columns line up although "→" is three bytes.
  std::istringstream lines(all.out);
  std::string header, first;
  std::getline(lines, header);
  std::getline(lines, first);
  EXPECT_EQ(header.find("CAUSE"), first.find("server_error") - 2);  // 2 bytes of "→" extra

  auto main_only = cells(run({"account", "events", "main", "--limit", "1"}).out);
  ASSERT_EQ(main_only.size(), 2u);
  EXPECT_EQ(main_only[1][4], "half_open");
  auto spare = cells(run({"account", "events", "spare"}).out);
  ASSERT_EQ(spare.size(), 2u);
  EXPECT_EQ(spare[1][5], "auth");
  EXPECT_EQ(run({"account", "events", "--limit", "0"}).rc, 2);
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

TEST_F(CliTest, TenantAddAndSetLimits) {
  CliRun plain = run({"tenant", "add", "plain"});
  ASSERT_EQ(plain.rc, 0) << plain.err;
  EXPECT_EQ(plain.out, "tenant plain added\n");
  CliRun add = run({"tenant", "add", "team-a", "--rps", "10", "--rpm", "300", "--concurrency", "5",
                    "--daily-requests", "1000", "--daily-tokens", "2000000", "--monthly-tokens",
                    "50000000000"});
  ASSERT_EQ(add.rc, 0) << add.err;
  EXPECT_EQ(add.out,
            "tenant team-a added: rps 10, rpm 300, concurrency 5, daily requests 1000, daily "
            "tokens 2000000, monthly tokens 50000000000\n");
  auto tenants = open_store()->list_tenants();
  ASSERT_EQ(tenants.size(), 2u);
  EXPECT_EQ(tenants[0].limits.rps, 0);
  const store::TenantLimits& l = tenants[1].limits;
  EXPECT_EQ(l.rps, 10);
  EXPECT_EQ(l.rpm, 300);
  EXPECT_EQ(l.concurrency, 5);
  EXPECT_EQ(l.daily_requests, 1000);
  EXPECT_EQ(l.daily_tokens, 2'000'000);
  EXPECT_EQ(l.monthly_tokens, 50'000'000'000);

  CliRun set = run({"tenant", "set", "team-a", "--rps", "0", "--daily-tokens", "7"});
  ASSERT_EQ(set.rc, 0) << set.err;
  EXPECT_EQ(set.out, "tenant team-a updated: rps no limit, daily tokens 7\n");
  const store::TenantLimits after = open_store()->list_tenants().at(1).limits;
  EXPECT_EQ(after.rps, 0);
  EXPECT_EQ(after.rpm, 300);
  EXPECT_EQ(after.daily_tokens, 7);
  EXPECT_EQ(after.monthly_tokens, 50'000'000'000);

  EXPECT_EQ(run({"tenant", "set", "team-a"}).rc, 2);  // nothing to change
  EXPECT_EQ(run({"tenant", "set", "team-a", "--rps", "-1"}).rc, 2);
  EXPECT_EQ(run({"tenant", "set", "team-a", "--rpm", "x"}).rc, 2);
  EXPECT_EQ(run({"tenant", "set", "nobody", "--rps", "1"}).rc, 1);
  // A refused flag adds no tenant.
  EXPECT_EQ(run({"tenant", "add", "team-b", "--concurrency", "-3"}).rc, 2);
  EXPECT_EQ(open_store()->list_tenants().size(), 2u);
  EXPECT_EQ(open_store()->list_tenants().at(1).limits.rps, 0);  // the refused set changed nothing
}

TEST_F(CliTest, TenantListShowsLimits) {
  ASSERT_EQ(run({"tenant", "add", "free"}).rc, 0);
  ASSERT_EQ(run({"tenant", "add", "team-a", "--rps", "10", "--monthly-tokens", "1000000"}).rc, 0);
  ASSERT_EQ(run({"tenant", "disable", "free"}).rc, 0);
  CliRun list = run({"tenant", "list"});
  ASSERT_EQ(list.rc, 0) << list.err;
  auto rows = cells(list.out);
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0], (std::vector<std::string>{"NAME", "ENABLED", "RPS", "RPM", "CONCURRENCY",
                                               "DAILY_REQUESTS", "DAILY_TOKENS", "MONTHLY_TOKENS",
                                               "CREATED"}));
  ASSERT_EQ(rows[1].size(), 9u);
  EXPECT_EQ(std::vector<std::string>(rows[1].begin(), rows[1].end() - 1),
            (std::vector<std::string>{"free", "no", "-", "-", "-", "-", "-", "-"}));
  EXPECT_EQ(std::vector<std::string>(rows[2].begin(), rows[2].end() - 1),
            (std::vector<std::string>{"team-a", "yes", "10", "-", "-", "-", "-", "1000000"}));
  EXPECT_TRUE(std::regex_match(rows[2][8], std::regex(R"(\d{4}-\d\d-\d\dT[\d:]{8}Z)")))
      << rows[2][8];
}

TEST_F(CliTest, TenantShowPrintsLimitsAndUsage) {
  ASSERT_EQ(run({"tenant", "add", "team-a", "--rps", "10", "--concurrency", "4", "--daily-requests",
                 "1000", "--monthly-tokens", "5000000"})
                .rc,
            0);
  ASSERT_EQ(run({"tenant", "add", "team-ab"}).rc, 0);

  // Before serve has flushed anything, usage is 0.
  CliRun fresh = run({"tenant", "show", "team-ab"});
  ASSERT_EQ(fresh.rc, 0) << fresh.err;
  EXPECT_NE(fresh.out.find("\n  rps             -\n"), std::string::npos) << fresh.out;
  EXPECT_NE(fresh.out.find(" 0 / -\n"), std::string::npos) << fresh.out;

  const std::string stamp = cli::format_utc(cli::unix_now());
  const std::string day = stamp.substr(0, 10), month = stamp.substr(0, 7);
  const std::int64_t later = (cli::unix_now() + 86'400) * 1000;
  store::SqliteCounterSnapshotStore counters(data_ + "/relay.db");
  counters.write({{"usage:team-a:day:" + day + ":requests", 12, later},
                  {"usage:team-a:day:" + day + ":tokens", 3400, later},
                  {"usage:team-a:month:" + month + ":tokens", 123456, 0},
                  {"usage:team-a:day:2001-01-01:requests", 999, 0},  // another day: not shown
                  {"usage:team-ab:day:" + day + ":requests", 77, later}});
  CliRun show = run({"tenant", "show", "team-a"});
  if (cli::format_utc(cli::unix_now()).substr(0, 10) != day) GTEST_SKIP() << "crossed midnight";
  ASSERT_EQ(show.rc, 0) << show.err;
  const std::string& o = show.out;
  EXPECT_EQ(o.rfind("tenant   team-a\nenabled  yes\ncreated  ", 0), 0u) << o;
  for (const std::string& line :
       {std::string("  rps             10\n"), std::string("  rpm             -\n"),
        std::string("  concurrency     4\n"), std::string("  daily requests  1000\n"),
        std::string("  daily tokens    -\n"), std::string("  monthly tokens  5000000\n")})
    EXPECT_NE(o.find(line), std::string::npos) << line << o;
  auto usage_line = [&](const std::string& label) {
    auto at = o.find("  " + label);
    if (at == std::string::npos) return std::string("(missing)");
    auto end = o.find('\n', at);
    auto words = cells(o.substr(at, end - at)).at(0);
    return words.at(words.size() - 3) + " / " + words.back();
  };
  EXPECT_EQ(usage_line("requests today (" + day + ")"), "12 / 1000") << o;
  EXPECT_EQ(usage_line("tokens today (" + day + ")"), "3400 / -") << o;
  EXPECT_EQ(usage_line("tokens this month (" + month + ")"), "123456 / 5000000") << o;
  EXPECT_EQ(o.find("999"), std::string::npos) << o;
  EXPECT_EQ(o.find("77"), std::string::npos) << o;  // team-ab's counter is not team-a's
  EXPECT_NE(o.find("note: usage is as of serve's last flush"), std::string::npos) << o;

  CliRun missing = run({"tenant", "show", "nobody"});
  EXPECT_EQ(missing.rc, 1);
  EXPECT_NE(missing.err.find("tenant 'nobody' not found"), std::string::npos) << missing.err;
  EXPECT_EQ(run({"tenant", "show"}).rc, 2);
}

TEST_F(CliTest, KeyAddSetAndListLimits) {
  ASSERT_EQ(run({"tenant", "add", "team-a", "--rps", "20"}).rc, 0);
  CliRun plain = run({"key", "add", "team-a"});
  ASSERT_EQ(plain.rc, 0) << plain.err;
  EXPECT_EQ(plain.err.find("limits"), std::string::npos) << plain.err;
  CliRun add = run({"key", "add", "team-a", "--rps", "2", "--daily-tokens", "100"});
  ASSERT_EQ(add.rc, 0) << add.err;
  EXPECT_TRUE(std::regex_match(add.out, std::regex("crk_[0-9A-Za-z]{49}\n"))) << add.out;
  EXPECT_NE(add.err.find("(no expiry; limits: rps 2, daily tokens 100)"), std::string::npos)
      << add.err;
  // Keys made in the same second list in id order: find them by id.
  std::smatch m;
  ASSERT_TRUE(std::regex_search(add.err, m, std::regex("key_[0-9a-f]{12}"))) << add.err;
  const std::string id = m.str();
  auto limits_of = [&](const std::string& key_id) {
    for (const auto& k : open_store()->list_keys())
      if (k.id == key_id) return k.limits;
    ADD_FAILURE() << key_id << " not listed";
    return store::TenantLimits{};
  };
  auto keys = open_store()->list_keys();
  ASSERT_EQ(keys.size(), 2u);
  const std::string other = keys[0].id == id ? keys[1].id : keys[0].id;
  EXPECT_EQ(limits_of(other).rps, 0);
  EXPECT_EQ(limits_of(id).rps, 2);
  EXPECT_EQ(limits_of(id).daily_tokens, 100);
  EXPECT_EQ(limits_of(id).rpm, 0);
  EXPECT_EQ(open_store()->list_tenants().at(0).limits.rps, 20);  // the tenant's are untouched

  // The LIMITS column of a key's row in `key list`.
  auto listed = [&](const std::string& key_id) {
    for (const auto& row : cells(run({"key", "list"}).out))
      if (row.front() == key_id) return row.back();
    return std::string("(missing)");
  };
  EXPECT_EQ(cells(run({"key", "list"}).out).at(0).back(), "LIMITS");
  EXPECT_EQ(listed(other), "-");
  EXPECT_EQ(listed(id), "rps=2,daily-tokens=100");

  CliRun set = run({"key", "set", id, "--rps", "0", "--concurrency", "3"});
  ASSERT_EQ(set.rc, 0) << set.err;
  EXPECT_EQ(set.out, "key " + id + " updated: rps no limit, concurrency 3\n");
  EXPECT_EQ(listed(id), "concurrency=3,daily-tokens=100");

  EXPECT_EQ(run({"key", "set", id}).rc, 2);  // nothing to change
  EXPECT_EQ(run({"key", "set", id, "--rpm", "-1"}).rc, 2);
  EXPECT_EQ(run({"key", "set", id, "--monthly-tokens", "x"}).rc, 2);
  CliRun missing = run({"key", "set", "key_000000000000", "--rps", "1"});
  EXPECT_EQ(missing.rc, 1);
  EXPECT_NE(missing.err.find("key 'key_000000000000' not found"), std::string::npos);
  // A refused flag adds no key.
  CliRun bad = run({"key", "add", "team-a", "--daily-requests", "-5"});
  EXPECT_EQ(bad.rc, 2);
  EXPECT_TRUE(bad.out.empty()) << bad.out;
  EXPECT_EQ(open_store()->list_keys().size(), 2u);
  EXPECT_EQ(limits_of(id).concurrency, 3);
}

TEST_F(CliTest, KeyShowPrintsItsLimitsAndUsageButNeverTheKey) {
  ASSERT_EQ(run({"tenant", "add", "team-a", "--daily-requests", "1000"}).rc, 0);
  CliRun add = run({"key", "add", "team-a", "--rpm", "60", "--daily-requests", "50"});
  ASSERT_EQ(add.rc, 0) << add.err;
  const std::string key = add.out.substr(0, add.out.size() - 1);
  const std::string id = open_store()->list_keys().at(0).id;

  const std::string stamp = cli::format_utc(cli::unix_now());
  const std::string day = stamp.substr(0, 10), month = stamp.substr(0, 7);
  const std::int64_t later = (cli::unix_now() + 86'400) * 1000;
  const std::string scope = "usage:team-a/" + id + ":";
  store::SqliteCounterSnapshotStore counters(data_ + "/relay.db");
  counters.write({{scope + "day:" + day + ":requests", 12, later},
                  {scope + "month:" + month + ":tokens", 4567, 0},
                  {"usage:team-a:day:" + day + ":requests", 888, later}});  // the tenant's
  CliRun show = run({"key", "show", id});
  if (cli::format_utc(cli::unix_now()).substr(0, 10) != day) GTEST_SKIP() << "crossed midnight";
  ASSERT_EQ(show.rc, 0) << show.err;
  const std::string& o = show.out;
  EXPECT_EQ(
      o.rfind("key      " + id + "\ntenant   team-a\nprefix   " + key.substr(0, 12) + "\ncreated  ",
              0),
      0u)
      << o;
  EXPECT_NE(o.find("\nexpires  -\nstatus   active\n"), std::string::npos) << o;
  for (const std::string& line :
       {std::string("  rps             -\n"), std::string("  rpm             60\n"),
        std::string("  daily requests  50\n")})
    EXPECT_NE(o.find(line), std::string::npos) << line << o;
  auto figure = [&](const std::string& label) {
    auto at = o.find("  " + label);
    if (at == std::string::npos) return std::string("(missing)");
    auto words = cells(o.substr(at, o.find('\n', at) - at)).at(0);
    return words.at(words.size() - 3) + " / " + words.back();
  };
  EXPECT_EQ(figure("requests today (" + day + ")"), "12 / 50") << o;
  EXPECT_EQ(figure("tokens today (" + day + ")"), "0 / -") << o;
  EXPECT_EQ(figure("tokens this month (" + month + ")"), "4567 / -") << o;
  EXPECT_EQ(o.find("888"), std::string::npos) << o;
  EXPECT_NE(o.find("note: the tenant's limits apply as well (tenant show team-a)"),
            std::string::npos)
      << o;
  EXPECT_EQ(o.find(key), std::string::npos);
  EXPECT_EQ(o.find(crypto::sha256_hex(key)), std::string::npos);
  EXPECT_EQ(show.err.find(key), std::string::npos);

  // tenant show still counts only the tenant's own counters.
  CliRun tenant = run({"tenant", "show", "team-a"});
  EXPECT_NE(tenant.out.find("888 / 1000"), std::string::npos) << tenant.out;

  CliRun list = run({"key", "list"});
  EXPECT_EQ(list.out.find(key), std::string::npos);
  EXPECT_EQ(list.out.find(crypto::sha256_hex(key)), std::string::npos);
  CliRun nobody = run({"key", "show", "key_000000000000"});
  EXPECT_EQ(nobody.rc, 1);
  EXPECT_NE(nobody.err.find("key 'key_000000000000' not found"), std::string::npos);
  EXPECT_EQ(run({"key", "show"}).rc, 2);
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

// A forward proxy stand-in on loopback. It grants the CONNECT curl asks for, then answers the
// request that comes through the tunnel itself, with `reply`, as the echo service would: each
// fake egress "leaves" from whatever address it is told to report.
class FakeProxy {
 public:
  explicit FakeProxy(std::string reply) : reply_(std::move(reply)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), len) != 0 || ::listen(fd_, 8) != 0 ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
      throw std::runtime_error("fake proxy: cannot listen");
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~FakeProxy() {
    ::shutdown(fd_, SHUT_RDWR);  // wakes accept()
    thread_.join();
    ::close(fd_);
  }
  FakeProxy(const FakeProxy&) = delete;
  FakeProxy& operator=(const FakeProxy&) = delete;

  int port() const { return port_; }
  std::vector<std::string> heads() const {
    std::lock_guard lock(mu_);
    return heads_;
  }

 private:
  static std::string read_head(int c) {
    std::string head;
    char buf[1024];
    while (head.find("\r\n\r\n") == std::string::npos) {
      ssize_t n = ::recv(c, buf, sizeof buf, 0);
      if (n <= 0) break;
      head.append(buf, static_cast<std::size_t>(n));
    }
    return head;
  }
  static void send_all(int c, const std::string& data) {
    ::send(c, data.data(), data.size(), MSG_NOSIGNAL);
  }
  void serve() {
    for (int c; (c = ::accept(fd_, nullptr, nullptr)) >= 0; ::close(c)) {
      timeval tv{5, 0};
      ::setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      std::string head = read_head(c);
      {
        std::lock_guard lock(mu_);
        heads_.push_back(head);
      }
      if (head.starts_with("CONNECT ")) {
        send_all(c, "HTTP/1.1 200 Connection established\r\n\r\n");
        read_head(c);
      }
      send_all(c, "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(reply_.size()) +
                      "\r\nConnection: close\r\n\r\n" + reply_);
    }
  }

  std::string reply_;
  int fd_ = -1;
  int port_ = 0;
  std::thread thread_;
  mutable std::mutex mu_;
  std::vector<std::string> heads_;
};

// A loopback port nothing listens on.
int dead_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  (void)::bind(fd, reinterpret_cast<sockaddr*>(&addr), len);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

class CliEgressTest : public CliTest {
 protected:
  void SetUp() override {
    ScopedEnv env("TEST_UPSTREAM_KEY", "sk-x");
    for (const char* name : {"a", "b"})
      ASSERT_EQ(run({"account", "add", name, "--base-url", "https://api.example.com/v1",
                     "--api-key-env", "TEST_UPSTREAM_KEY"})
                    .rc,
                0);
  }
  static std::string proxy(int port, const std::string& creds = "") {
    return "http://" + creds + "127.0.0.1:" + std::to_string(port);
  }
};

TEST_F(CliEgressTest, AddListRemoveNeverShowThePassword) {
  CliRun add = run({"egress", "add", "e1", "--url", "http://u:SECRETPW@proxy.example:3128",
                    "--account", "a", "--region", "eu-west"});
  ASSERT_EQ(add.rc, 0) << add.err;
  EXPECT_EQ(add.out, "egress e1 added for account a (http://u:***@proxy.example:3128)\n");
  ScopedEnv url("TEST_PROXY_URL", "socks5h://v:SECRETPW@10.0.0.7:1080");
  CliRun from_env = run({"egress", "add", "e2", "--url-env", "TEST_PROXY_URL", "--account", "b"});
  ASSERT_EQ(from_env.rc, 0) << from_env.err;

  // One egress, two accounts: refused, by name or by proxy.
  CliRun same_proxy =
      run({"egress", "add", "e3", "--url", "http://proxy.example:3128", "--account", "b"});
  EXPECT_EQ(same_proxy.rc, 1);
  EXPECT_NE(same_proxy.err.find("is already egress 'e1' of account 'a'; an egress belongs to "
                                "exactly one account"),
            std::string::npos)
      << same_proxy.err;
  CliRun same_name = run({"egress", "add", "e1", "--url", "http://other:1", "--account", "b"});
  EXPECT_EQ(same_name.rc, 1);
  EXPECT_NE(same_name.err.find("egress 'e1' already exists, for account 'a'"), std::string::npos);
  CliRun socks5 =
      run({"egress", "add", "e4", "--url", "socks5://u:SECRETPW@p:1080", "--account", "a"});
  EXPECT_EQ(socks5.rc, 1);
  EXPECT_NE(socks5.err.find("use socks5h://"), std::string::npos) << socks5.err;
  EXPECT_EQ(run({"egress", "add", "e4", "--account", "a"}).rc, 2);
  EXPECT_EQ(run({"egress", "add", "e4", "--url", "http://p:1", "--url-env", "TEST_PROXY_URL",
                 "--account", "a"})
                .rc,
            2);
  EXPECT_EQ(run({"egress", "add", "e4", "--url", "http://p:1"}).rc, 2);  // no --account
  EXPECT_EQ(run({"egress", "add", "e4", "--url", "http://p:1", "--account", "nobody"}).rc, 1);
  test::write_file(dir_ / "ca.pem", "-----BEGIN CERTIFICATE-----\n");
  EXPECT_EQ(run({"egress", "add", "e4", "--url", "http://p:1", "--account", "a", "--ca-file",
                 dir_ / "ca.pem"})
                .rc,
            1);  // a CA file is for https:// proxies
  ASSERT_EQ(run({"egress", "add", "e4", "--url", "https://p:443", "--account", "a", "--ca-file",
                 dir_ / "ca.pem"})
                .rc,
            0);

  auto egresses = open_store()->list_egresses();
  ASSERT_EQ(egresses.size(), 3u);
  store::SqliteHealthStore health(data_ + "/relay.db");
  health.write_egress_health(
      {{egresses[0].id, "e1", "a", "down", "proxy CONNECT answered 407", 1'700'000'000'000}});
  CliRun list = run({"egress", "list"});
  ASSERT_EQ(list.rc, 0) << list.err;
  auto rows = cells(list.out);
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_EQ(rows[0], (std::vector<std::string>{"NAME", "ACCOUNT", "REGION", "STATE", "SINCE", "URL",
                                               "OBSERVED_IP", "OBSERVED_AT", "ERROR"}));
  EXPECT_EQ(rows[1], (std::vector<std::string>{"e1", "a", "eu-west", "down", "2023-11-14T22:13:20Z",
                                               "http://u:***@proxy.example:3128", "-", "-", "proxy",
                                               "CONNECT", "answered", "407"}));
  EXPECT_EQ(rows[2], (std::vector<std::string>{"e2", "b", "-", "-", "-",
                                               "socks5h://v:***@10.0.0.7:1080", "-", "-", "-"}));
  for (const CliRun& r : {add, from_env, same_proxy, same_name, socks5, list}) {
    EXPECT_EQ(r.out.find("SECRETPW"), std::string::npos) << r.out;
    EXPECT_EQ(r.err.find("SECRETPW"), std::string::npos) << r.err;
  }
  EXPECT_EQ(open_store()->list_egresses()[2].ca_file, dir_ / "ca.pem");

  CliRun removed = run({"egress", "remove", "e1"});
  ASSERT_EQ(removed.rc, 0) << removed.err;
  EXPECT_EQ(removed.out, "egress e1 removed\n");  // account a still has e4
  EXPECT_EQ(run({"egress", "remove", "e1"}).rc, 1);
  removed = run({"egress", "remove", "e2"});
  EXPECT_EQ(removed.out,
            "egress e2 removed\naccount b has no egress left: its requests now go direct\n");
  EXPECT_EQ(cells(run({"egress", "list"}).out).size(), 2u);
}

TEST_F(CliEgressTest, VerifyRecordsIpsAndReportsOnesSharedByTwoAccounts) {
  // Proxy variables from the environment must not matter: only the egress carries the probe.
  ScopedEnv no_proxy("NO_PROXY", "*");
  ScopedEnv http_proxy("http_proxy", proxy(dead_port()));
  FakeProxy a1("127.0.0.2\n"), a2(R"({"ip": "127.0.0.3"})"), b1("127.0.0.2");
  ASSERT_EQ(
      run({"egress", "add", "a1", "--url", proxy(a1.port(), "user:p%40ss%20w@"), "--account", "a"})
          .rc,
      0);
  ASSERT_EQ(run({"egress", "add", "a2", "--url", proxy(a2.port()), "--account", "a"}).rc, 0);
  ASSERT_EQ(run({"egress", "add", "b1", "--url", proxy(b1.port()), "--account", "b"}).rc, 0);
  const std::vector<std::string> verify = {
      "egress", "verify", "--echo-url", "http://echo.invalid/", "--timeout-ms", "5000"};

  CliRun r = run(verify);
  EXPECT_EQ(r.rc, 1) << r.out << r.err;
  auto rows = cells(r.out);
  ASSERT_EQ(rows.size(), 6u) << r.out;
  EXPECT_EQ(rows[1], (std::vector<std::string>{"a1", "a", "127.0.0.2"}));
  EXPECT_EQ(rows[2], (std::vector<std::string>{"a2", "a", "127.0.0.3"}));  // from JSON
  EXPECT_EQ(rows[3], (std::vector<std::string>{"b1", "b", "127.0.0.2"}));
  EXPECT_NE(r.out.find("CONFLICT: 127.0.0.2 seen for accounts a (egress a1) and b (egress b1)\n"),
            std::string::npos)
      << r.out;
  // Through a tunnel to the echo host, named at the proxy (never resolved here), with the
  // egress's own credentials.
  ASSERT_EQ(a1.heads().size(), 1u);
  EXPECT_TRUE(a1.heads()[0].starts_with("CONNECT echo.invalid:80 ")) << a1.heads()[0];
  EXPECT_NE(a1.heads()[0].find("Proxy-Authorization: Basic dXNlcjpwQHNzIHc=\r\n"),
            std::string::npos)
      << a1.heads()[0];
  auto egresses = open_store()->list_egresses();
  EXPECT_EQ(egresses[0].observed_ip, "127.0.0.2");
  EXPECT_GE(egresses[0].observed_at, cli::unix_now() - 60);
  EXPECT_EQ(egresses[1].observed_ip, "127.0.0.3");
  EXPECT_EQ(cells(run({"egress", "list"}).out)[1][6], "127.0.0.2");

  // Two egresses of one account may share an address; a dead one fails the run.
  ASSERT_EQ(run({"egress", "remove", "b1"}).rc, 0);
  ASSERT_EQ(run({"egress", "add", "b2", "--url", proxy(dead_port()), "--account", "b"}).rc, 0);
  r = run(verify);
  EXPECT_EQ(r.rc, 1);
  EXPECT_EQ(r.out.find("CONFLICT"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("FAILED: "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("3 egresses: 2 answered, 1 failed, 0 conflicts"), std::string::npos);
  ASSERT_EQ(run({"egress", "remove", "b2"}).rc, 0);
  r = run(verify);
  EXPECT_EQ(r.rc, 0) << r.out << r.err;
  EXPECT_EQ(r.out.find("p%40ss"), std::string::npos);

  EXPECT_EQ(run({"egress", "verify", "--echo-url", "echo.invalid"}).rc, 1);
  EXPECT_EQ(run({"egress", "verify", "--timeout-ms", "0"}).rc, 2);
}

TEST(EgressVerifyTest, ParsesTheEchoReply) {
  using egress_verify::parse_ip;
  EXPECT_EQ(parse_ip("203.0.113.7"), "203.0.113.7");
  EXPECT_EQ(parse_ip(" 203.0.113.7\r\n"), "203.0.113.7");
  EXPECT_EQ(parse_ip(R"({"ip":"203.0.113.7"})"), "203.0.113.7");
  EXPECT_EQ(parse_ip("2001:DB8:0::1\n"), "2001:db8::1");  // one spelling per address
  EXPECT_EQ(parse_ip(R"({"ip":"2001:db8::1","country":"DE"})"), "2001:db8::1");
  const std::vector<std::string_view> bad = {"",
                                             "  ",
                                             "hello",
                                             "203.0.113",
                                             "203.0.113.7 extra",
                                             R"({"ip":7})",
                                             R"({"addr":"1.2.3.4"})",
                                             R"({"ip":"1.2.3.4")",
                                             "<html>1.2.3.4</html>",
                                             std::string_view("1.2.3.4\0x", 9)};
  for (std::string_view b : bad) EXPECT_FALSE(parse_ip(b)) << b;
}

TEST(EgressVerifyTest, ConflictsArePairsOfAccounts) {
  using egress_verify::conflicts;
  EXPECT_TRUE(conflicts({{"e1", "a", "10.0.0.1"}, {"e2", "a", "10.0.0.1"}}).empty());
  EXPECT_EQ(conflicts({{"e1", "a", "10.0.0.1"},
                       {"e2", "b", "10.0.0.2"},
                       {"e3", "b", "10.0.0.1"},
                       {"e4", "a", "10.0.0.1"},
                       {"e5", "c", "10.0.0.1"}}),
            (std::vector<std::string>{
                "CONFLICT: 10.0.0.1 seen for accounts a (egress e1) and b (egress e3)",
                "CONFLICT: 10.0.0.1 seen for accounts a (egress e1) and c (egress e5)",
                "CONFLICT: 10.0.0.1 seen for accounts b (egress e3) and c (egress e5)"}));
}

// ---- usage -------------------------------------------------------------------------------

constexpr std::int64_t kJan10 = 1'768'003'200'000;  // 2026-01-10T00:00:00Z
constexpr std::int64_t kDay = 86'400'000;
const std::vector<std::string> kUsageColumns = {
    "requests",      "errors",           "incomplete", "input_tokens", "cached_tokens",
    "output_tokens", "reasoning_tokens", "bytes_in",   "bytes_out"};

records::UsageRecord usage_rec(std::string tenant, std::int64_t start_ms, std::string model,
                               std::string key, std::string account, std::int64_t status,
                               std::int64_t n) {
  records::UsageRecord r;
  r.request_id = "req-" + std::to_string(start_ms);
  r.tenant = std::move(tenant);
  r.start_ms = start_ms;
  r.model = std::move(model);
  r.key_id = std::move(key);
  r.account = std::move(account);
  r.status = status;
  r.usage_incomplete = status == 0;
  r.input_tokens = 100 * n;
  r.cached_tokens = 10 * n;
  r.output_tokens = 20 * n;
  r.reasoning_tokens = 5 * n;
  r.bytes_in = 1000 * n;
  r.bytes_out = 2000 * n;
  return r;
}

// Jan 9 .. Jan 13; the first and last ms of the Jan 10..12 range are both used.
std::vector<records::UsageRecord> usage_fixture() {
  return {
      usage_rec("team-a", kJan10, "gpt-5.5", "key_000000000001", "acct-1", 200, 1),
      usage_rec("team-a", kJan10 + kDay + 5, "gpt-5.5-mini", "key_000000000002", "acct-2", 500, 2),
      usage_rec("team-b", kJan10 + 3 * kDay - 1, "gpt-5.5", "key_000000000003", "acct-1", 0, 3),
      usage_rec("team-a", kJan10 + kDay + 9, "gpt-5.5", "key_000000000001", "acct-2", 404, 4),
      usage_rec("team-a", kJan10 - 1, "gpt-5.5", "key_000000000001", "acct-1", 200, 5),
      usage_rec("team-b", kJan10 + 3 * kDay, "gpt-5.5", "key_000000000003", "acct-1", 200, 6)};
}

std::string usage_group(const records::UsageRecord& r, const std::string& by) {
  if (by == "day") return store::utc_day(r.start_ms);
  if (by == "model") return r.model;
  if (by == "key") return r.key_id;
  if (by == "account") return r.account;
  return r.tenant;
}

// The report's rows, summed here from the records themselves.
std::map<std::string, std::vector<std::int64_t>> expected_usage(
    const std::vector<records::UsageRecord>& rs, const std::string& by, std::int64_t from_ms,
    std::int64_t to_ms, const std::string& tenant = "") {
  std::map<std::string, std::vector<std::int64_t>> out;
  for (const auto& r : rs) {
    if (r.start_ms < from_ms || r.start_ms >= to_ms || (!tenant.empty() && r.tenant != tenant))
      continue;
    auto& v = out[usage_group(r, by)];
    v.resize(9);
    const std::int64_t add[] = {1,
                                r.status >= 400 || r.status == 0,
                                r.usage_incomplete,
                                r.input_tokens,
                                r.cached_tokens,
                                r.output_tokens,
                                r.reasoning_tokens,
                                r.bytes_in,
                                r.bytes_out};
    for (int i = 0; i < 9; ++i) v[i] += add[i];
  }
  return out;
}

// Parses `usage --format json`: group -> the nine numbers, which must be JSON integers.
std::map<std::string, std::vector<std::int64_t>> parse_usage_json(const std::string& out,
                                                                  const std::string& by) {
  simdjson::dom::parser p;
  std::map<std::string, std::vector<std::int64_t>> rows;
  const simdjson::padded_string json(out);
  const simdjson::dom::array array = p.parse(json).get_array().value();
  for (simdjson::dom::element row : array) {
    auto& v = rows[std::string(std::string_view(row[by]))];
    for (const auto& c : kUsageColumns) v.push_back(row[c].get_int64().value());
  }
  return rows;
}

class CliUsageTest : public CliTest {
 protected:
  void add_records(const std::vector<records::UsageRecord>& rs) {
    std::filesystem::create_directories(data_);
    store::SqliteUsageStore(data_ + "/relay.db").append(rs, "usage", ++offset_);
  }
  std::int64_t offset_ = 0;
};

TEST_F(CliUsageTest, JsonForEachGrouping) {
  const auto rs = usage_fixture();
  add_records(rs);
  for (std::string by : {"day", "model", "key", "account", "tenant"}) {
    CliRun r = run({"usage", "--by", by, "--format", "json", "--since", "2026-01-10", "--until",
                    "2026-01-12"});
    ASSERT_EQ(r.rc, 0) << r.err;
    EXPECT_EQ(parse_usage_json(r.out, by), expected_usage(rs, by, kJan10, kJan10 + 3 * kDay))
        << by << "\n"
        << r.out;
  }
}

TEST_F(CliUsageTest, TableIsAlignedWithAHeaderAndATotalLine) {
  const auto rs = usage_fixture();
  add_records(rs);
  CliRun r = run({"usage", "--by", "account", "--since", "2026-01-09", "--until", "2026-01-13"});
  ASSERT_EQ(r.rc, 0) << r.err;
  const auto rows = cells(r.out);
  ASSERT_EQ(rows.size(), 4u) << r.out;  // header, acct-1, acct-2, TOTAL
  std::vector<std::string> header = {"ACCOUNT"};
  for (auto c : kUsageColumns) {
    for (auto& ch : c) ch = static_cast<char>(std::toupper(ch));
    header.push_back(c);
  }
  EXPECT_EQ(rows[0], header);
  const auto want = expected_usage(rs, "account", 0, kJan10 + 4 * kDay);
  std::vector<std::int64_t> total(9);
  auto it = want.begin();
  for (std::size_t i = 1; i <= 2; ++i, ++it) {
    EXPECT_EQ(rows[i][0], it->first);
    for (std::size_t c = 0; c < 9; ++c) {
      EXPECT_EQ(rows[i][c + 1], std::to_string(it->second[c])) << r.out;
      total[c] += it->second[c];
    }
  }
  EXPECT_EQ(rows[3][0], "TOTAL");
  for (std::size_t c = 0; c < 9; ++c) EXPECT_EQ(rows[3][c + 1], std::to_string(total[c]));
  // Numbers are right-aligned: every line ends at the same column.
  std::istringstream lines(r.out);
  std::string first;
  std::getline(lines, first);
  for (std::string line; std::getline(lines, line);) EXPECT_EQ(line.size(), first.size()) << line;
}

TEST_F(CliUsageTest, CsvQuotesFieldsAsRfc4180AndJsonEscapesStrings) {
  const std::string odd = "say \"hi\", then\nbye \\ \x01 \xC3\xA9";
  add_records({usage_rec("t", kJan10, odd, "k", "a", 200, 1),
               usage_rec("t", kJan10, "plain", "k", "a", 200, 2),
               usage_rec("t", kJan10, "bad\xFF", "k", "a", 200, 3)});
  CliRun csv = run({"usage", "--by", "model", "--format", "csv", "--since", "2026-01-10", "--until",
                    "2026-01-10"});
  ASSERT_EQ(csv.rc, 0) << csv.err;
  std::string header = "model";
  for (const auto& c : kUsageColumns) header += "," + c;
  EXPECT_TRUE(csv.out.starts_with(header + "\r\n")) << csv.out;
  EXPECT_NE(csv.out.find("\r\nplain,1,0,0,200,20,40,10,2000,4000\r\n"), std::string::npos)
      << csv.out;
  EXPECT_NE(csv.out.find("\r\n\"say \"\"hi\"\", then\nbye \\ \x01 \xC3\xA9\",1,"),
            std::string::npos)
      << csv.out;

  CliRun json = run({"usage", "--by", "model", "--format", "json", "--since", "2026-01-10",
                     "--until", "2026-01-10"});
  ASSERT_EQ(json.rc, 0) << json.err;
  const auto rows = parse_usage_json(json.out, "model");
  EXPECT_EQ(rows.count(odd), 1u) << json.out;                // round-trips through JSON escaping
  EXPECT_EQ(rows.count("bad\xEF\xBF\xBD"), 1u) << json.out;  // invalid UTF-8 as U+FFFD
  EXPECT_EQ(rows.at("plain")[3], 200);

  // The table is for a terminal: no control character from a client-chosen model reaches it.
  CliRun table = run({"usage", "--by", "model", "--since", "2026-01-10", "--until", "2026-01-10"});
  ASSERT_EQ(table.rc, 0) << table.err;
  EXPECT_EQ(cells(table.out).size(), 5u) << table.out;  // header, 3 models, TOTAL
  EXPECT_EQ(table.out.find('\x01'), std::string::npos);
  EXPECT_NE(table.out.find("say \"hi\", then?bye \\ ? \xC3\xA9 "), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("bad? "), std::string::npos) << table.out;
}

TEST_F(CliUsageTest, TenantFilterAndAnUnknownTenant) {
  const auto rs = usage_fixture();
  add_records(rs);
  CliRun b = run({"usage", "--tenant", "team-b", "--by", "key", "--format", "json", "--since",
                  "2026-01-01", "--until", "2026-01-31"});
  ASSERT_EQ(b.rc, 0) << b.err;
  EXPECT_EQ(parse_usage_json(b.out, "key"),
            expected_usage(rs, "key", 0, kJan10 + 30 * kDay, "team-b"));
  const std::vector<std::string> range = {"--since", "2026-01-01", "--until", "2026-01-31"};
  auto nobody = [&](const std::string& format) {
    std::vector<std::string> args = {"usage", "--tenant", "nobody", "--format", format};
    args.insert(args.end(), range.begin(), range.end());
    CliRun r = run(args);
    EXPECT_EQ(r.rc, 0) << r.err;
    return r.out;
  };
  EXPECT_EQ(cells(nobody("table")).size(), 1u);  // the header only, no TOTAL
  EXPECT_EQ(nobody("csv"),
            "day,requests,errors,incomplete,input_tokens,cached_tokens,"
            "output_tokens,reasoning_tokens,bytes_in,bytes_out\r\n");
  EXPECT_EQ(nobody("json"), "[]\n");
}

TEST_F(CliUsageTest, DateBoundsAreInclusiveUtcDays) {
  const auto rs = usage_fixture();
  add_records(rs);
  auto days = [&](const std::string& since, const std::string& until) {
    CliRun r = run({"usage", "--format", "json", "--since", since, "--until", until});
    EXPECT_EQ(r.rc, 0) << r.err;
    std::vector<std::string> out;
    for (const auto& [day, v] : parse_usage_json(r.out, "day")) out.push_back(day);
    return out;
  };
  EXPECT_EQ(days("2026-01-10", "2026-01-12"),
            (std::vector<std::string>{"2026-01-10", "2026-01-11", "2026-01-12"}));
  EXPECT_EQ(days("2026-01-12", "2026-01-12"), (std::vector<std::string>{"2026-01-12"}));
  EXPECT_EQ(days("2026-01-13", "2026-02-01"), (std::vector<std::string>{"2026-01-13"}));
  EXPECT_TRUE(days("2025-12-01", "2026-01-08").empty());
}

TEST_F(CliUsageTest, DefaultsToTheLast30DaysIncludingToday) {
  const std::int64_t now = unix_now_ms();
  const std::int64_t today = now - now % kDay;
  add_records({usage_rec("t", now, "m", "k", "a", 200, 1),
               usage_rec("t", today - 29 * kDay, "m", "k", "a", 200, 1),
               usage_rec("t", today - 29 * kDay - 1, "m", "k", "a", 200, 1)});
  CliRun r = run({"usage", "--format", "json"});
  ASSERT_EQ(r.rc, 0) << r.err;
  std::vector<std::string> got;
  for (const auto& [day, v] : parse_usage_json(r.out, "day")) got.push_back(day);
  EXPECT_EQ(got,
            (std::vector<std::string>{store::utc_day(today - 29 * kDay), store::utc_day(today)}));
  // --until alone: the 30 days ending there.
  add_records(usage_fixture());
  CliRun u = run({"usage", "--by", "tenant", "--format", "json", "--until", "2026-01-12"});
  ASSERT_EQ(u.rc, 0) << u.err;
  EXPECT_EQ(parse_usage_json(u.out, "tenant"),
            expected_usage(usage_fixture(), "tenant", kJan10 - 27 * kDay, kJan10 + 3 * kDay));
}

TEST_F(CliUsageTest, BadArgumentsAreUsageErrors) {
  const std::vector<std::vector<std::string>> bad = {
      {"--since", "2026-02-30"},
      {"--until", "2026-1-01"},
      {"--since", "yesterday"},
      {"--by", "week"},
      {"--format", "xml"},
      {"--since", "2026-01-12x"},
      {"--since", "2026-01-12", "--until", "2026-01-10"}};
  for (const auto& extra : bad) {
    std::vector<std::string> args = {"usage"};
    args.insert(args.end(), extra.begin(), extra.end());
    CliRun r = run(args);
    EXPECT_EQ(r.rc, 2) << extra[0] << " " << extra[1];
    EXPECT_TRUE(r.out.empty()) << r.out;
    EXPECT_NE(r.err.find("codex-relay: error: "), std::string::npos) << r.err;
    EXPECT_NE(r.err.find(extra[1]), std::string::npos) << r.err;  // names the bad value
  }
}

TEST_F(CliTest, AdminTokenAddPrintsOnlyTheTokenAndListShowsAtMostItsLast4) {
  CliRun add = run({"admin-token", "add", "ops"});
  ASSERT_EQ(add.rc, 0) << add.err;
  EXPECT_TRUE(std::regex_match(add.out, std::regex("cra_[A-Za-z0-9]{49}\n"))) << add.out;
  const std::string token = add.out.substr(0, add.out.size() - 1);
  EXPECT_TRUE(crypto::token_well_formed(token, "cra_"));
  EXPECT_EQ(add.err.find(token), std::string::npos);
  EXPECT_EQ(run({"admin-token", "add", "ops"}).rc, 1);  // the name is taken

  CliRun list = run({"admin-token", "list"});
  ASSERT_EQ(list.rc, 0) << list.err;
  EXPECT_NE(list.out.find("ops"), std::string::npos) << list.out;
  EXPECT_NE(list.out.find("..." + token.substr(token.size() - 4)), std::string::npos) << list.out;
  EXPECT_EQ(list.out.find(token.substr(0, token.size() - 4)), std::string::npos) << list.out;
  EXPECT_EQ(test::read_file(data_ + "/relay.db").find(token), std::string::npos);

  ASSERT_EQ(run({"admin-token", "revoke", "ops"}).rc, 0);
  EXPECT_EQ(run({"admin-token", "list"}).out.find("ops"), std::string::npos);
  EXPECT_EQ(run({"admin-token", "revoke", "ops"}).rc, 1);

  CliRun audit = run({"audit", "--format", "json"});
  ASSERT_EQ(audit.rc, 0) << audit.err;
  EXPECT_NE(audit.out.find(R"("action":"admin_token.create","target":"ops","outcome":"ok")"),
            std::string::npos)
      << audit.out;
  EXPECT_NE(
      audit.out.find(R"("action":"admin_token.create","target":"ops","outcome":"already_exists")"),
      std::string::npos)
      << audit.out;
  EXPECT_NE(audit.out.find(R"("action":"admin_token.revoke","target":"ops","outcome":"not_found")"),
            std::string::npos)
      << audit.out;
  EXPECT_EQ(audit.out.find(token), std::string::npos);
}

TEST_F(CliTest, EveryCliChangeIsAuditedWithTheOsUserAndNoSecret) {
  ScopedEnv cred("CLI_AUDIT_KEY", "sk-cli-audit-credential-9911");
  ASSERT_EQ(run({"tenant", "add", "team-a", "--rps", "3"}).rc, 0);
  CliRun key = run({"key", "add", "team-a"});
  ASSERT_EQ(key.rc, 0) << key.err;
  ASSERT_EQ(run({"account", "add", "openai", "--base-url", "https://api.example.com/v1",
                 "--api-key-env", "CLI_AUDIT_KEY"})
                .rc,
            0);
  ASSERT_EQ(run({"tenant", "disable", "nobody"}).rc, 1);
  ASSERT_EQ(run({"tenant", "list"}).rc, 0);  // reads are not audited

  CliRun audit = run({"audit", "--format", "json"});
  ASSERT_EQ(audit.rc, 0) << audit.err;
  std::vector<std::string> lines;
  std::istringstream in(audit.out);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  ASSERT_EQ(lines.size(), 5u) << audit.out;  // create, limits, key, account, failed disable
  simdjson::dom::parser p;
  for (const auto& line : lines) {
    auto e = p.parse(simdjson::padded_string(line)).value();
    EXPECT_TRUE(std::string_view(e["actor"]).starts_with("cli:")) << line;
    EXPECT_GT(std::int64_t(e["at_ms"]), 0);
  }
  EXPECT_NE(lines[0].find(R"("action":"tenant.create","target":"team-a","outcome":"ok")"),
            std::string::npos);
  EXPECT_NE(lines[1].find(R"("details":{"limits":{"rps":3}})"), std::string::npos) << lines[1];
  EXPECT_NE(lines[2].find(R"("action":"key.create","target":"key_)"), std::string::npos);
  EXPECT_NE(lines[3].find(R"("action":"account.create","target":"openai","outcome":"ok")"),
            std::string::npos);
  EXPECT_NE(lines[4].find(R"("action":"tenant.disable","target":"nobody","outcome":"not_found")"),
            std::string::npos);
  const std::string k = key.out.substr(0, key.out.size() - 1);
  EXPECT_EQ(audit.out.find(k), std::string::npos);
  EXPECT_EQ(audit.out.find("sk-cli-audit"), std::string::npos);
  EXPECT_EQ(audit.out.find("9911"), std::string::npos);

  CliRun table = run({"audit", "--limit", "2"});
  ASSERT_EQ(table.rc, 0) << table.err;
  EXPECT_NE(table.out.find("account.create"), std::string::npos) << table.out;
  EXPECT_EQ(table.out.find("tenant.create"), std::string::npos) << table.out;
  EXPECT_EQ(run({"audit", "--since", "someday"}).rc, 1);
}

}  // namespace
}  // namespace relay::app
