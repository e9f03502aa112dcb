// The reseal suite (reseal_suite.hpp) on both backends.
#include <gtest/gtest.h>

#include "postgres_test_support.hpp"
#include "reseal_suite.hpp"
#include "sqlite_test_support.hpp"
#include "store/postgres/pg_config_store.hpp"
#include "store/sqlite/sqlite_config_store.hpp"
#include "test_support.hpp"

namespace relay::store {
namespace {

struct SqliteResealBackend {
  static bool available() { return true; }
  std::unique_ptr<ConfigStore> open(std::shared_ptr<crypto::SecretBox> box) {
    return std::make_unique<SqliteConfigStore>(db, std::move(box));
  }
  std::unique_ptr<ResealTransaction> begin() { return begin_sqlite_reseal(db); }
  void exec(const std::string& sql) { test::raw_exec(db, sql); }

  test::TempDir dir;
  std::string db = dir / "relay.db";
};

struct PgResealBackend {
  static bool available() { return !test::test_postgres_url().empty(); }
  std::unique_ptr<ConfigStore> open(std::shared_ptr<crypto::SecretBox> box) {
    return std::make_unique<PgConfigStore>(schema.url(), std::move(box));
  }
  std::unique_ptr<ResealTransaction> begin() { return begin_pg_reseal(schema.url()); }
  void exec(const std::string& sql) { schema.exec(sql); }

  test::PgTestSchema schema{test::test_postgres_url()};
};

}  // namespace

namespace reseal_suite {
INSTANTIATE_TYPED_TEST_SUITE_P(Sqlite, ResealSuite, ::testing::Types<SqliteResealBackend>);
INSTANTIATE_TYPED_TEST_SUITE_P(Pg, ResealSuite, ::testing::Types<PgResealBackend>);
}  // namespace reseal_suite

}  // namespace relay::store
