// The AdminStore contract (admin_store_suite.hpp) on the test PostgreSQL.
#include "store/postgres/pg_admin_store.hpp"

#include "admin_store_suite.hpp"
#include "postgres_test_support.hpp"

namespace relay::store {
namespace {

struct PgAdminBackend {
  static bool available() { return !test::test_postgres_url().empty(); }
  std::unique_ptr<AdminStore> open() { return std::make_unique<PgAdminStore>(schema.url()); }
  std::int64_t count(const std::string& sql) { return schema.count(sql); }

  test::PgTestSchema schema{test::test_postgres_url()};
};

}  // namespace

namespace admin_suite {
INSTANTIATE_TYPED_TEST_SUITE_P(PgAdmin, AdminStoreSuite, ::testing::Types<PgAdminBackend>);
}  // namespace admin_suite
}  // namespace relay::store
