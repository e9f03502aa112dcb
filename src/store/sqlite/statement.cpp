#include "store/sqlite/statement.hpp"

#include "store/config_store.hpp"

namespace relay::store::sqlite {

void throw_io(sqlite3* db, std::string_view what) {
  throw StoreError(StoreError::Kind::kIo,
                   "sqlite: " + std::string(what) + ": " + (db ? sqlite3_errmsg(db) : "no db"));
}

void exec(sqlite3* db, const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "unknown error";
    sqlite3_free(err);
    throw StoreError(StoreError::Kind::kIo, "sqlite: " + msg);
  }
}

Stmt::Stmt(sqlite3* db, std::string_view sql) : db_(db) {
  if (sqlite3_prepare_v2(db, sql.data(), static_cast<int>(sql.size()), &stmt_, nullptr) !=
      SQLITE_OK)
    throw_io(db, "prepare");
}

Stmt& Stmt::bind(int i, std::string_view text) {
  if (sqlite3_bind_text64(stmt_, i, text.data(), text.size(), SQLITE_TRANSIENT, SQLITE_UTF8) !=
      SQLITE_OK)
    throw_io(db_, "bind");
  return *this;
}

Stmt& Stmt::bind_static(int i, std::string_view text) {
  if (sqlite3_bind_text64(stmt_, i, text.data(), text.size(), SQLITE_STATIC, SQLITE_UTF8) !=
      SQLITE_OK)
    throw_io(db_, "bind");
  return *this;
}

Stmt& Stmt::bind(int i, std::int64_t v) {
  if (sqlite3_bind_int64(stmt_, i, v) != SQLITE_OK) throw_io(db_, "bind");
  return *this;
}

Stmt& Stmt::bind(int i, std::optional<std::int64_t> v) {
  if (v) return bind(i, *v);
  if (sqlite3_bind_null(stmt_, i) != SQLITE_OK) throw_io(db_, "bind");
  return *this;
}

Stmt& Stmt::bind_blob(int i, std::string_view data) {
  if (sqlite3_bind_blob64(stmt_, i, data.data(), data.size(), SQLITE_TRANSIENT) != SQLITE_OK)
    throw_io(db_, "bind");
  return *this;
}

Stmt& Stmt::bind_double(int i, double v) {
  if (sqlite3_bind_double(stmt_, i, v) != SQLITE_OK) throw_io(db_, "bind");
  return *this;
}

bool Stmt::step() {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  throw_io(db_, "step");
}

std::optional<std::int64_t> Stmt::opt_int64(int col) const {
  if (is_null(col)) return std::nullopt;
  return int64(col);
}

std::string Stmt::text(int col) const {
  const void* p = sqlite3_column_blob(stmt_, col);
  int n = sqlite3_column_bytes(stmt_, col);
  if (!p || n <= 0) return {};
  return std::string(static_cast<const char*>(p), static_cast<std::size_t>(n));
}

Transaction::Transaction(sqlite3* db, Mode mode) : db_(db) {
  exec(db, mode == Mode::kImmediate ? "BEGIN IMMEDIATE" : "BEGIN");
}

Transaction::~Transaction() {
  if (open_) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
}

void Transaction::commit() {
  exec(db_, "COMMIT");
  open_ = false;
}

}  // namespace relay::store::sqlite
