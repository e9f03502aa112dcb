#include "app/config.hpp"

#include <gtest/gtest.h>

#include <stdexcept>

#include "test_support.hpp"

namespace relay::app {
namespace {

using test::ScopedEnv;

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  ADD_FAILURE() << "no error";
  return {};
}

class ConfigTest : public ::testing::Test {
 protected:
  std::string write(const std::string& toml) {
    test::write_file(path_, toml);
    return path_;
  }
  test::TempDir dir_;
  std::string path_ = dir_ / "relay.toml";
};

TEST_F(ConfigTest, DefaultsWithoutFile) {
  Config c = load_config("");
  EXPECT_EQ(c.server.listen, "127.0.0.1:8080");
  EXPECT_EQ(c.server.max_body_bytes, 64u * 1024 * 1024);
  EXPECT_EQ(c.upstream.heartbeat_interval_ms, 15'000);
  EXPECT_EQ(c.store.data_dir, "./data");
  EXPECT_EQ(c.store.master_key_file, "");
  EXPECT_EQ(c.log.level, "info");
}

TEST_F(ConfigTest, TomlSetsEverySection) {
  Config c = load_config(write(R"(
[server]
listen = "0.0.0.0:9000"
threads = 3
max_body_bytes = 1048576
[upstream]
heartbeat_interval_ms = 5000
stream_buffer_bytes = 65536
[store]
data_dir = "/var/lib/codex-relay"
master_key_file = "/etc/codex-relay/master.key"
[log]
level = "debug"
)"));
  EXPECT_EQ(c.server.listen, "0.0.0.0:9000");
  EXPECT_EQ(c.server.threads, 3);
  EXPECT_EQ(c.server.max_body_bytes, 1048576u);
  EXPECT_EQ(c.server.header_timeout_ms, 10'000);  // untouched keys keep defaults
  EXPECT_EQ(c.upstream.heartbeat_interval_ms, 5000);
  EXPECT_EQ(c.upstream.stream_buffer_bytes, 65536u);
  EXPECT_EQ(c.store.data_dir, "/var/lib/codex-relay");
  EXPECT_EQ(c.store.master_key_file, "/etc/codex-relay/master.key");
  EXPECT_EQ(c.log.level, "debug");
}

TEST_F(ConfigTest, UnknownKeyNamesFileAndKey) {
  std::string msg = error_of([&] { load_config(write("[server]\nlisen = \"x\"\n")); });
  EXPECT_NE(msg.find(path_), std::string::npos) << msg;
  EXPECT_NE(msg.find("server.lisen"), std::string::npos) << msg;
  EXPECT_NE(msg.find("unknown key"), std::string::npos) << msg;

  msg = error_of([&] { load_config(write("[servr]\nlisten = \"x\"\n")); });
  EXPECT_NE(msg.find("servr"), std::string::npos) << msg;
  msg = error_of([&] { load_config(write("listen = \"x\"\n")); });
  EXPECT_NE(msg.find("listen"), std::string::npos) << msg;
}

TEST_F(ConfigTest, WrongTypesAndValues) {
  std::string msg = error_of([&] { load_config(write("[server]\nthreads = \"4\"\n")); });
  EXPECT_NE(msg.find("server.threads"), std::string::npos) << msg;
  EXPECT_NE(msg.find("expected an integer"), std::string::npos) << msg;
  msg = error_of([&] { load_config(write("[server]\nlisten = 8080\n")); });
  EXPECT_NE(msg.find("expected a string"), std::string::npos) << msg;
  msg = error_of([&] { load_config(write("[server]\nmax_body_bytes = -1\n")); });
  EXPECT_NE(msg.find("server.max_body_bytes"), std::string::npos) << msg;
  msg = error_of([&] { load_config(write("[server]\nthreads = 9999999999\n")); });
  EXPECT_NE(msg.find("out of range"), std::string::npos) << msg;
  msg = error_of([&] { load_config(write("[log]\nlevel = \"loud\"\n")); });
  EXPECT_NE(msg.find("log.level"), std::string::npos) << msg;
  msg = error_of([&] { load_config(write("server = 1\n")); });
  EXPECT_NE(msg.find("must be a table"), std::string::npos) << msg;
}

TEST_F(ConfigTest, SyntaxErrorAndMissingFileNameTheFile) {
  std::string msg = error_of([&] { load_config(write("[server\n")); });
  EXPECT_NE(msg.find(path_ + ":1:"), std::string::npos) << msg;
  msg = error_of([&] { load_config(dir_ / "missing.toml"); });
  EXPECT_NE(msg.find("missing.toml"), std::string::npos) << msg;
}

TEST_F(ConfigTest, EnvOverridesToml) {
  Config c = load_config(write("[server]\nlisten = \"0.0.0.0:9000\"\nthreads = 2\n"));
  ScopedEnv listen("CODEX_RELAY_SERVER_LISTEN", "127.0.0.1:7000");
  ScopedEnv hb("CODEX_RELAY_UPSTREAM_HEARTBEAT_INTERVAL_MS", "2500");
  ScopedEnv dir("CODEX_RELAY_STORE_DATA_DIR", "/srv/relay");
  ScopedEnv level("CODEX_RELAY_LOG_LEVEL", "warn");
  apply_env_overrides(c);
  EXPECT_EQ(c.server.listen, "127.0.0.1:7000");
  EXPECT_EQ(c.server.threads, 2);  // not overridden: TOML value stays
  EXPECT_EQ(c.upstream.heartbeat_interval_ms, 2500);
  EXPECT_EQ(c.store.data_dir, "/srv/relay");
  EXPECT_EQ(c.log.level, "warn");
}

TEST_F(ConfigTest, BadEnvValueNamesTheVariable) {
  for (const char* bad : {"abc", "", "12x", "-5", " 7", "99999999999999999999"}) {
    Config c;
    ScopedEnv env("CODEX_RELAY_UPSTREAM_IDLE_TIMEOUT_MS", bad);
    std::string msg = error_of([&] { apply_env_overrides(c); });
    EXPECT_NE(msg.find("CODEX_RELAY_UPSTREAM_IDLE_TIMEOUT_MS"), std::string::npos) << msg;
  }
  Config c;
  ScopedEnv env("CODEX_RELAY_LOG_LEVEL", "verbose");
  EXPECT_NE(error_of([&] { apply_env_overrides(c); }).find("CODEX_RELAY_LOG_LEVEL"),
            std::string::npos);
}

TEST_F(ConfigTest, UnknownEnvNamesAreIgnored) {
  Config c;
  ScopedEnv env("CODEX_RELAY_SERVER_LISEN", "x");
  EXPECT_NO_THROW(apply_env_overrides(c));
  EXPECT_EQ(c.server.listen, "127.0.0.1:8080");
}

TEST_F(ConfigTest, RedisLimitsAndAdminSections) {
  Config d = load_config("");
  EXPECT_EQ(d.redis.url, "");
  EXPECT_EQ(d.redis.failure_mode, "open");
  EXPECT_EQ(d.redis.timeout_ms, 50);
  EXPECT_EQ(d.redis.key_prefix, "codex-relay:");
  EXPECT_EQ(d.limits.lease_ttl_ms, 60'000);
  EXPECT_EQ(d.admin.listen, "127.0.0.1:9464");  // on by default, loopback only

  Config c = load_config(write(R"(
[redis]
url = "redis://:pw@10.1.2.3:6380/2"
failure_mode = "closed"
timeout_ms = 20
key_prefix = "prod-eu:"
[limits]
lease_ttl_ms = 5000
[admin]
listen = ""
)"));
  EXPECT_EQ(c.redis.url, "redis://:pw@10.1.2.3:6380/2");
  EXPECT_EQ(c.redis.failure_mode, "closed");
  EXPECT_EQ(c.redis.timeout_ms, 20);
  EXPECT_EQ(c.redis.key_prefix, "prod-eu:");
  EXPECT_EQ(c.limits.lease_ttl_ms, 5000);
  EXPECT_EQ(c.admin.listen, "");  // "" turns it off

  ScopedEnv url("CODEX_RELAY_REDIS_URL", "redis://127.0.0.1:7000");
  ScopedEnv mode("CODEX_RELAY_REDIS_FAILURE_MODE", "open");
  apply_env_overrides(c);
  EXPECT_EQ(c.redis.url, "redis://127.0.0.1:7000");
  EXPECT_EQ(c.redis.failure_mode, "open");
}

TEST_F(ConfigTest, BadRedisSettingsAreRefusedWithoutEchoingThePassword) {
  std::string msg =
      error_of([&] { load_config(write("[redis]\nurl = \"redis://:hunter2@redis.internal\"\n")); });
  EXPECT_NE(msg.find("redis.url"), std::string::npos) << msg;
  EXPECT_NE(msg.find("IP address"), std::string::npos) << msg;
  EXPECT_EQ(msg.find("hunter2"), std::string::npos) << msg;
  msg = error_of([&] { load_config(write("[redis]\nfailure_mode = \"maybe\"\n")); });
  EXPECT_NE(msg.find("open, closed"), std::string::npos) << msg;
  msg = error_of([&] { load_config(write("[redis]\ntimeout_ms = 0\n")); });
  EXPECT_NE(msg.find("redis.timeout_ms"), std::string::npos) << msg;
  msg = error_of([&] { load_config(write("[limits]\nlease_ttl_ms = 10\n")); });
  EXPECT_NE(msg.find("limits.lease_ttl_ms"), std::string::npos) << msg;
  Config c;
  ScopedEnv url("CODEX_RELAY_REDIS_URL", "rediss://:hunter2@127.0.0.1");
  msg = error_of([&] { apply_env_overrides(c); });
  EXPECT_NE(msg.find("CODEX_RELAY_REDIS_URL"), std::string::npos) << msg;
  EXPECT_EQ(msg.find("hunter2"), std::string::npos) << msg;
}

using pool::FailureClass;
using pool::Millis;

const pool::ClassPolicy& policy(const Config& c, FailureClass f) {
  return c.pool.for_class(f);
}

TEST_F(ConfigTest, PoolDefaultsAreThePoolsOwn) {
  Config c = load_config("");
  pool::PoolConfig d;
  EXPECT_EQ(c.pool.max_attempts, d.max_attempts);
  EXPECT_EQ(c.pool.probe_path, "/v1/models");
  EXPECT_EQ(c.pool.affinity_ttl, Millis{3'600'000});
  EXPECT_TRUE(policy(c, FailureClass::kAuth).disables);
  EXPECT_EQ(policy(c, FailureClass::kRateLimited).max_cooldown, Millis{300'000});
  EXPECT_NO_THROW(apply_env_overrides(c));  // the defaults pass their own checks
}

TEST_F(ConfigTest, TomlSetsEveryPoolKey) {
  Config c = load_config(write(R"(
[pool]
half_open_successes = 3
ewma_alpha = 0.5
affinity_ttl_ms = 600000
affinity_max_entries = 5000
max_attempts = 4
attempt_deadline_ms = 30000
holdback_bytes = 65536
probe_disabled = true
probe_interval_ms = 2000
probe_path = "/v1/responses/probe"
connect_base_ms = 100
connect_max_ms = 200
timeout_base_ms = 300
timeout_max_ms = 400
server_error_base_ms = 500
server_error_max_ms = 600
overloaded_base_ms = 700
overloaded_max_ms = 800
rate_limited_base_ms = 900
rate_limited_max_ms = 1000
auth_disables = false
)"));
  EXPECT_EQ(c.pool.half_open_successes, 3);
  EXPECT_DOUBLE_EQ(c.pool.ewma_alpha, 0.5);
  EXPECT_EQ(c.pool.affinity_ttl, Millis{600'000});
  EXPECT_EQ(c.pool.affinity_max_entries, 5000u);
  EXPECT_EQ(c.pool.max_attempts, 4);
  EXPECT_EQ(c.pool.attempt_deadline, Millis{30'000});
  EXPECT_EQ(c.pool.holdback_bytes, 65536u);
  EXPECT_TRUE(c.pool.probe_disabled);
  EXPECT_EQ(c.pool.probe_interval, Millis{2000});
  EXPECT_EQ(c.pool.probe_path, "/v1/responses/probe");
  const std::pair<FailureClass, int> expected[] = {{FailureClass::kConnect, 100},
                                                   {FailureClass::kTimeout, 300},
                                                   {FailureClass::kServerError, 500},
                                                   {FailureClass::kOverloaded, 700},
                                                   {FailureClass::kRateLimited, 900}};
  for (auto [cls, base] : expected) {
    EXPECT_EQ(policy(c, cls).base_cooldown, Millis{base});
    EXPECT_EQ(policy(c, cls).max_cooldown, Millis{base + 100});
    EXPECT_TRUE(policy(c, cls).penalize);  // untouched by config
  }
  EXPECT_FALSE(policy(c, FailureClass::kAuth).disables);
  EXPECT_FALSE(policy(c, FailureClass::kClientError).penalize);
  // An integer is a fine value for the one float key.
  EXPECT_DOUBLE_EQ(load_config(write("[pool]\newma_alpha = 1\n")).pool.ewma_alpha, 1.0);
}

TEST_F(ConfigTest, PoolValuesAreChecked) {
  const std::pair<const char*, const char*> bad[] = {
      {"ewma_alpha = 0", "pool.ewma_alpha"},
      {"ewma_alpha = 1.5", "pool.ewma_alpha"},
      {"ewma_alpha = \"0.5\"", "expected a number"},
      {"max_attempts = 0", "must be 1..10"},
      {"max_attempts = 11", "pool.max_attempts"},
      {"half_open_successes = 0", "pool.half_open_successes"},
      {"probe_interval_ms = 0", "pool.probe_interval_ms"},
      {"probe_path = \"/models\"", "/v1/"},
      {"probe_path = \"/v1/\"", "pool.probe_path"},
      {"probe_path = \"/v1/a b\"", "pool.probe_path"},
      {"probe_disabled = 1", "expected a boolean"},
      {"auth_disables = \"no\"", "expected a boolean"},
      {"connect_max_ms = 9999999999", "pool.connect_max_ms"},
      {"connect_base_ms = -1", "pool.connect_base_ms"},
      {"server_error_base_ms = 70000", "pool.server_error_base_ms (70000) must not exceed"},
      {"affinty_ttl_ms = 1", "unknown key"},
  };
  for (auto [line, want] : bad) {
    // Built outside the lambda: clang 14 cannot capture a structured binding.
    const std::string toml = std::string("[pool]\n") + line + "\n";
    std::string msg = error_of([&] { load_config(write(toml)); });
    EXPECT_NE(msg.find(want), std::string::npos) << line << " -> " << msg;
  }
}

TEST_F(ConfigTest, PoolEnvOverrides) {
  Config c = load_config(write("[pool]\nmax_attempts = 2\nprobe_disabled = true\n"));
  ScopedEnv attempts("CODEX_RELAY_POOL_MAX_ATTEMPTS", "5");
  ScopedEnv alpha("CODEX_RELAY_POOL_EWMA_ALPHA", "0.25");
  ScopedEnv probe("CODEX_RELAY_POOL_PROBE_DISABLED", "false");
  ScopedEnv auth("CODEX_RELAY_POOL_AUTH_DISABLES", "0");
  ScopedEnv path("CODEX_RELAY_POOL_PROBE_PATH", "/v1/models/gpt-5.5");
  ScopedEnv rl("CODEX_RELAY_POOL_RATE_LIMITED_MAX_MS", "60000");
  ScopedEnv ttl("CODEX_RELAY_POOL_AFFINITY_TTL_MS", "1000");
  apply_env_overrides(c);
  EXPECT_EQ(c.pool.max_attempts, 5);
  EXPECT_DOUBLE_EQ(c.pool.ewma_alpha, 0.25);
  EXPECT_FALSE(c.pool.probe_disabled);
  EXPECT_FALSE(policy(c, FailureClass::kAuth).disables);
  EXPECT_EQ(c.pool.probe_path, "/v1/models/gpt-5.5");
  EXPECT_EQ(policy(c, FailureClass::kRateLimited).max_cooldown, Millis{60'000});
  EXPECT_EQ(c.pool.affinity_ttl, Millis{1000});
}

TEST_F(ConfigTest, BadPoolEnvNamesTheVariable) {
  const std::pair<const char*, const char*> bad[] = {
      {"CODEX_RELAY_POOL_EWMA_ALPHA", "0"},      {"CODEX_RELAY_POOL_EWMA_ALPHA", "abc"},
      {"CODEX_RELAY_POOL_EWMA_ALPHA", "0.5x"},   {"CODEX_RELAY_POOL_PROBE_DISABLED", "yes"},
      {"CODEX_RELAY_POOL_MAX_ATTEMPTS", "11"},   {"CODEX_RELAY_POOL_PROBE_PATH", "/v2/x"},
      {"CODEX_RELAY_POOL_HOLDBACK_BYTES", "-1"},
  };
  for (auto [var, value] : bad) {
    Config c;
    ScopedEnv env(var, value);
    std::string msg = error_of([&] { apply_env_overrides(c); });
    EXPECT_NE(msg.find(var), std::string::npos) << var << "=" << value << " -> " << msg;
  }
  // A base above its cap is caught whichever layer set it.
  Config c;
  ScopedEnv base("CODEX_RELAY_POOL_TIMEOUT_BASE_MS", "500000");
  EXPECT_NE(error_of([&] { apply_env_overrides(c); }).find("pool.timeout_base_ms"),
            std::string::npos);
}

TEST_F(ConfigTest, StreamFirstByteTimeoutIsSettable) {
  Config c = load_config(write("[upstream]\nstream_first_byte_timeout_ms = 5000\n"));
  EXPECT_EQ(c.upstream.stream_first_byte_timeout_ms, 5000);
}

}  // namespace
}  // namespace relay::app

namespace relay::app {
namespace {

TEST_F(ConfigTest, RecordsLogAndAlertsSettings) {
  Config d = load_config("");
  EXPECT_EQ(d.server.node, "");
  EXPECT_EQ(d.log.format, "json");
  EXPECT_EQ(d.records.retention_days, 30);
  EXPECT_EQ(d.records.aggregate_retention_days, 400);
  EXPECT_EQ(d.alerts.webhook_url, "");

  Config c = load_config(write(R"(
[server]
node = "relay-eu-1"
[log]
format = "text"
[records]
retention_days = 7
aggregate_retention_days = 90
retention_interval_ms = 60000
[alerts]
webhook_url = "https://hooks.example/abc"
webhook_timeout_ms = 2000
)"));
  EXPECT_EQ(c.server.node, "relay-eu-1");
  EXPECT_EQ(c.log.format, "text");
  EXPECT_EQ(c.records.retention_days, 7);
  EXPECT_EQ(c.records.aggregate_retention_days, 90);
  EXPECT_EQ(c.records.retention_interval_ms, 60'000);
  EXPECT_EQ(c.alerts.webhook_url, "https://hooks.example/abc");
  EXPECT_EQ(c.alerts.webhook_timeout_ms, 2000);

  const std::pair<const char*, const char*> bad[] = {
      {"[log]\nformat = \"xml\"", "not one of json, text"},
      {"[server]\nnode = \"a b\"", "server.node"},
      {"[records]\nretention_days = 0", "records.retention_days"},
      {"[alerts]\nwebhook_url = \"ftp://x\"", "http:// or https://"},
  };
  for (auto [text, want] : bad) {
    const std::string toml = std::string(text) + "\n";  // clang 14: no structured-binding capture
    std::string msg = error_of([&] { load_config(write(toml)); });
    EXPECT_NE(msg.find(want), std::string::npos) << text << " -> " << msg;
  }
}

}  // namespace
}  // namespace relay::app

namespace relay::app {
namespace {

TEST_F(ConfigTest, StoreBackendAndPostgresUrl) {
  Config cfg =
      load_config(write("[store]\nbackend = \"postgres\"\npostgres_url = "
                        "\"postgresql://relay:pw@10.0.0.5/relay\"\n"));
  EXPECT_EQ(cfg.store.backend, "postgres");
  EXPECT_EQ(cfg.store.postgres_url, "postgresql://relay:pw@10.0.0.5/relay");
  EXPECT_EQ(load_config("").store.backend, "sqlite");
  EXPECT_NE(error_of([&] {
              load_config(write("[store]\nbackend = \"mysql\"\n"));
            }).find("not one of sqlite, postgres"),
            std::string::npos);
  // A malformed URL is refused without echoing it: it may hold a password.
  const std::string err =
      error_of([&] { load_config(write("[store]\npostgres_url = \"mysql://u:s3cret@h/db\"\n")); });
  EXPECT_NE(err.find("postgresql://"), std::string::npos);
  EXPECT_EQ(err.find("s3cret"), std::string::npos);
}

// The cluster example in deploy/ must stay loadable as the docs tell operators to use it.
TEST_F(ConfigTest, DeployClusterExamplesLoad) {
  const std::string dir = std::string(CODEX_RELAY_SOURCE_DIR) + "/deploy/cluster/";
  for (const char* node : {"relay-eu-1", "relay-eu-2", "relay-us-1"}) {
    SCOPED_TRACE(node);
    const Config cfg = load_config(dir + node + ".toml");
    EXPECT_EQ(cfg.store.backend, "postgres");
    EXPECT_EQ(cfg.server.node, node);
    EXPECT_FALSE(cfg.server.region.empty());
    EXPECT_TRUE(cfg.store.postgres_url.empty());  // secrets come from the environment file
  }
}

}  // namespace
}  // namespace relay::app
