#pragma once
// The PostgreSQL schema, versioned in schema_version like relay.db's schema_migrations: each
// store runs migrate() when it connects, and whichever process comes first applies what is
// missing (under an advisory lock, so two starting at once do not both try).
#include <span>
#include <string_view>

#include "store/postgres/connection.hpp"

namespace relay::store::pg {

struct Migration {
  int version;
  std::string_view sql;
};

std::span<const Migration> migrations();

// Applies the missing migrations, each in its own transaction. Throws StoreError, also when the
// database is newer than this build knows.
void migrate(Connection& c);

// Advisory lock keys (pg_advisory_xact_lock), database-wide: one per kind of DDL.
inline constexpr std::string_view kMigrationLock = "7305000001";
inline constexpr std::string_view kPartitionLock = "7305000002";

}  // namespace relay::store::pg
