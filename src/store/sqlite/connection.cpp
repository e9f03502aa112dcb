#include "store/sqlite/connection.hpp"

#include <fcntl.h>
#include <unistd.h>

#include "store/config_store.hpp"
#include "store/sqlite/migrations.hpp"
#include "store/sqlite/statement.hpp"

namespace relay::store::sqlite {
namespace {

// SQLite creates the file 0644 (minus umask); it holds key hashes and sealed credentials, and
// SQLite gives the -wal/-shm files the main file's mode, so create it private up front.
void precreate_private(const std::string& path) {
  if (path.empty() || path == ":memory:" || path.starts_with("file:")) return;
  // O_EXCL: an existing database is never opened here. Closing any descriptor of a file drops
  // every POSIX lock this process holds on it, so opening and closing a live relay.db would
  // strip serve's SQLite locks (and let another process delete its WAL).
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd >= 0) ::close(fd);
}

// SQLite's allocation statistics take a process-wide mutex on every malloc and free; nothing
// here reads them. Only possible before SQLite initializes (the first open), else a no-op.
void skip_memory_statistics() {
  static const int once = sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
  (void)once;
}

}  // namespace

sqlite3* open_database(const std::string& path, Threading threading) {
  skip_memory_statistics();
  precreate_private(path);
  sqlite3* db = nullptr;
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
              (threading == Threading::kSerialized ? SQLITE_OPEN_FULLMUTEX : SQLITE_OPEN_NOMUTEX);
  if (sqlite3_open_v2(path.c_str(), &db, flags, nullptr) != SQLITE_OK) {
    std::string msg = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    throw StoreError(StoreError::Kind::kIo, "cannot open " + path + ": " + msg);
  }
  try {
    sqlite3_extended_result_codes(db, 1);
    sqlite3_busy_timeout(db, 5000);
    exec(db, "PRAGMA journal_mode=WAL");
    exec(db, "PRAGMA synchronous=NORMAL");
    exec(db, "PRAGMA foreign_keys=ON");
    migrate(db, config_migrations());
  } catch (...) {
    sqlite3_close(db);
    throw;
  }
  return db;
}

}  // namespace relay::store::sqlite
