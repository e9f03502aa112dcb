#pragma once
// The throwaway PostgreSQL of the unit tests. ctest starts it as the `postgres` fixture
// (scripts/test-postgres.sh, CMakeLists.txt) and names the file holding its url in
// CODEX_RELAY_TEST_POSTGRES_URL_FILE.
#include <stdlib.h>
#include <unistd.h>

#include <cstdint>
#include <fstream>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>

#include "store/postgres/connection.hpp"

namespace relay::test {

// The url of the test database (postgresql://USER@127.0.0.1:PORT/codex_relay_test), or "" when
// the tests run outside ctest (the variable is unset): the PostgreSQL tests then skip. When the
// variable is set, a missing or empty file is an error, so that CI fails instead of skipping.
inline std::string test_postgres_url() {
  const char* file = ::getenv("CODEX_RELAY_TEST_POSTGRES_URL_FILE");
  if (file == nullptr) return "";
  const std::string path = file;
  if (path.empty())
    throw std::runtime_error(
        "CODEX_RELAY_TEST_POSTGRES_URL_FILE is set but empty; it must name the url file written "
        "by scripts/test-postgres.sh start DIR");
  std::ifstream in(path);
  if (!in)
    throw std::runtime_error("CODEX_RELAY_TEST_POSTGRES_URL_FILE=" + path +
                             ": cannot read the file; did `scripts/test-postgres.sh start` (the "
                             "ctest fixture postgres_start) run and succeed?");
  std::string line;
  std::getline(in, line);
  const auto first = line.find_first_not_of(" \t\r\n");
  const auto last = line.find_last_not_of(" \t\r\n");
  if (first == std::string::npos)
    throw std::runtime_error("CODEX_RELAY_TEST_POSTGRES_URL_FILE=" + path +
                             ": the first line is empty; want postgresql://USER@127.0.0.1:PORT/DB");
  return line.substr(first, last - first + 1);
}

// A schema of its own in the test database, dropped with everything in it at the end, so that
// tests (also those running at once in other processes) never see each other's tables. url()
// connects with that schema alone on the search_path; exec() and count() use a connection of
// their own, as another process would.
class PgTestSchema {
 public:
  explicit PgTestSchema(const std::string& base_url) {
    std::random_device rd;
    name_ = "t_" + std::to_string(::getpid()) + "_" + std::to_string(rd()) + std::to_string(rd());
    url_ = base_url + (base_url.find('?') == std::string::npos ? "?" : "&") +
           "options=-csearch_path%3D" + name_;
    admin_ = std::make_unique<store::pg::Connection>(base_url);
    admin_->exec("CREATE SCHEMA " + name_);
    admin_->exec("SET search_path TO " + name_);
  }
  ~PgTestSchema() {
    try {
      admin_->exec("DROP SCHEMA " + name_ + " CASCADE");
    } catch (...) {  // NOLINT(bugprone-empty-catch): a leftover schema harms no later test
    }
  }
  PgTestSchema(const PgTestSchema&) = delete;
  PgTestSchema& operator=(const PgTestSchema&) = delete;

  const std::string& name() const { return name_; }
  const std::string& url() const { return url_; }
  void exec(const std::string& sql) { admin_->exec_script(sql); }
  // The first column of the first row as an integer, or -1 when there is no row.
  std::int64_t count(const std::string& sql) {
    const store::pg::Result r = admin_->exec(sql);
    return r.rows() > 0 ? r.int64(0, 0) : -1;
  }

 private:
  std::string name_;
  std::string url_;
  std::unique_ptr<store::pg::Connection> admin_;
};

}  // namespace relay::test
