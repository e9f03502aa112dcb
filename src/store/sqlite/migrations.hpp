#pragma once
// Schema versions of the SQLite config store. Append only: a released migration is never
// edited, because databases in the field have already run it.
#include <sqlite3.h>

#include <span>

namespace relay::store::sqlite {

struct Migration {
  int version;
  const char* sql;
};

// Ascending by version.
std::span<const Migration> config_migrations();

// Applies each pending migration in its own BEGIN IMMEDIATE transaction, so concurrent
// processes opening the same db serialize and each migration runs exactly once. Throws
// StoreError (kInvalid) when the db was written by a newer binary.
void migrate(sqlite3* db, std::span<const Migration> migrations);

}  // namespace relay::store::sqlite
