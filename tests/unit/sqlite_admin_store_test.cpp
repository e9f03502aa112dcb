// The AdminStore contract (admin_store_suite.hpp) on relay.db.
#include "store/sqlite/sqlite_admin_store.hpp"

#include "admin_store_suite.hpp"
#include "sqlite_test_support.hpp"
#include "test_support.hpp"

namespace relay::store {
namespace {

struct SqliteAdminBackend {
  static bool available() { return true; }
  std::unique_ptr<AdminStore> open() { return std::make_unique<SqliteAdminStore>(db); }
  std::int64_t count(const std::string& sql) { return test::raw_count(db, sql); }

  test::TempDir dir;
  std::string db = dir / "relay.db";
};

}  // namespace

namespace admin_suite {
INSTANTIATE_TYPED_TEST_SUITE_P(SqliteAdmin, AdminStoreSuite, ::testing::Types<SqliteAdminBackend>);
}  // namespace admin_suite
}  // namespace relay::store
