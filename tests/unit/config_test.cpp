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

}  // namespace
}  // namespace relay::app
