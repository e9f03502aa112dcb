#pragma once
// Opening relay.db, shared by the SQLite stores: each holds its own connection to the same file
// (the config store, the health store, and other processes such as the CLI).
#include <sqlite3.h>

#include <string>

namespace relay::store::sqlite {

// Opens (creating with mode 0600 if missing) the db in WAL mode with a busy timeout, and runs
// the pending migrations, so whichever store opens a fresh file first sets up the schema.
// Returns a handle the caller closes with sqlite3_close. Throws StoreError.
// Serialized (SQLite locks the connection in every call) unless the caller guarantees one
// thread at a time: then kCallerSerialized drops that lock, taken about 30 times per record.
enum class Threading { kSerialized, kCallerSerialized };
sqlite3* open_database(const std::string& path, Threading threading = Threading::kSerialized);

}  // namespace relay::store::sqlite
