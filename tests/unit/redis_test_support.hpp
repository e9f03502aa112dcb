#pragma once
// The throwaway Redis of the unit tests. ctest starts it as the `redis` fixture
// (scripts/test-redis.sh, CMakeLists.txt) and names the file holding its url in
// CODEX_RELAY_TEST_REDIS_URL_FILE.
#include <stdlib.h>

#include <fstream>
#include <stdexcept>
#include <string>

namespace relay::test {

// The url of the test Redis ("redis://127.0.0.1:PORT"), or "" when the tests run outside ctest
// (the variable is unset): the Redis tests then skip. When the variable is set, a missing or
// empty file is an error, so that CI fails instead of silently skipping them.
inline std::string test_redis_url() {
  const char* file = ::getenv("CODEX_RELAY_TEST_REDIS_URL_FILE");
  if (file == nullptr) return "";
  const std::string path = file;
  if (path.empty()) {
    throw std::runtime_error(
        "CODEX_RELAY_TEST_REDIS_URL_FILE is set but empty; it must name the url file written by "
        "scripts/test-redis.sh start DIR");
  }
  std::ifstream in(path);
  if (!in) {
    throw std::runtime_error("CODEX_RELAY_TEST_REDIS_URL_FILE=" + path +
                             ": cannot read the file; did `scripts/test-redis.sh start` (the ctest "
                             "fixture redis_start) run and succeed?");
  }
  std::string line;
  std::getline(in, line);
  const auto first = line.find_first_not_of(" \t\r\n");
  const auto last = line.find_last_not_of(" \t\r\n");
  if (first == std::string::npos) {
    throw std::runtime_error("CODEX_RELAY_TEST_REDIS_URL_FILE=" + path +
                             ": the first line is empty; want redis://127.0.0.1:PORT");
  }
  return line.substr(first, last - first + 1);
}

}  // namespace relay::test
