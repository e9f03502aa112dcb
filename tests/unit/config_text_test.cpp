// parse_config_text: the config parser on TOML text (the fuzz target's entry point) reads what
// load_config reads from a file, and its errors name the given origin and the position.
#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

#include "app/config.hpp"

using relay::app::parse_config_text;

namespace {

std::string error_of(std::string_view text) {
  try {
    parse_config_text(text, "inline.toml");
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(ConfigText, ReadsSettings) {
  auto c = parse_config_text(
      "[server]\nlisten = \"0.0.0.0:9000\"\nthreads = 3\n[pool]\nmax_attempts = 4\n",
      "inline.toml");
  EXPECT_EQ(c.server.listen, "0.0.0.0:9000");
  EXPECT_EQ(c.server.threads, 3);
  EXPECT_EQ(c.pool.max_attempts, 4);
}

TEST(ConfigText, EmptyTextGivesDefaults) {
  auto c = parse_config_text("", "inline.toml");
  EXPECT_EQ(c.server.listen, relay::app::Config{}.server.listen);
}

TEST(ConfigText, ErrorsNameOriginAndPosition) {
  EXPECT_EQ(error_of("[server\n").rfind("config file inline.toml:1:", 0), 0u)
      << error_of("[server\n");
  EXPECT_NE(error_of("[server]\nlisen = 1\n").find("inline.toml: server.lisen: unknown key"),
            std::string::npos);
  EXPECT_NE(error_of("[server]\nthreads = -1\n").find("inline.toml"), std::string::npos);
  // Bytes that are not UTF-8, and a NUL, are a parse error, not a crash.
  EXPECT_NE(error_of(std::string("[server]\nlisten = \"\xff\"\n")).find("inline.toml"),
            std::string::npos);
  EXPECT_NE(error_of(std::string("[server]\0", 9)).find("inline.toml"), std::string::npos);
}
