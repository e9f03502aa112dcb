#pragma once
// Thin RAII over the SQLite C API, shared by the SQLite stores. Errors become StoreError kIo
// whose text comes from sqlite3_errmsg (names tables and columns, never bound values).
#include <sqlite3.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace relay::store::sqlite {

[[noreturn]] void throw_io(sqlite3* db, std::string_view what);

// Runs SQL text that returns no rows we care about (may hold several statements).
void exec(sqlite3* db, const char* sql);

class Stmt {
 public:
  Stmt(sqlite3* db, std::string_view sql);
  ~Stmt() { sqlite3_finalize(stmt_); }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  // Parameters are 1-based, as in SQLite. Text and blobs are copied (SQLITE_TRANSIENT).
  Stmt& bind(int i, std::string_view text);
  Stmt& bind(int i, std::int64_t v);
  Stmt& bind(int i, std::optional<std::int64_t> v);
  Stmt& bind_blob(int i, std::string_view data);
  // Not copied (SQLITE_STATIC): `text` must stay alive until the statement's next step is done.
  // For inserts of many rows, where the copy was a good part of each row's cost; the caller
  // clears the bindings before the texts go.
  Stmt& bind_static(int i, std::string_view text);
  void clear_bindings() { sqlite3_clear_bindings(stmt_); }
  // Not a bind() overload: an int argument would then be ambiguous between int64 and double.
  Stmt& bind_double(int i, double v);

  // true: a row is ready; false: done. Throws on any error.
  bool step();
  // The raw result code (extended codes are on), for callers that map constraint failures.
  int step_code() { return sqlite3_step(stmt_); }
  [[noreturn]] void fail(std::string_view what) const { throw_io(db_, what); }
  // Makes the statement runnable again (bindings stay), for one insert per row in a loop.
  void reset() { sqlite3_reset(stmt_); }

  std::int64_t int64(int col) const { return sqlite3_column_int64(stmt_, col); }
  double real(int col) const { return sqlite3_column_double(stmt_, col); }
  bool is_null(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }
  std::optional<std::int64_t> opt_int64(int col) const;
  std::string text(int col) const;  // text or blob bytes; "" for NULL

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
};

// Rolls back unless commit() was reached, so a throw anywhere leaves the db untouched.
class Transaction {
 public:
  enum class Mode { kDeferred, kImmediate };
  Transaction(sqlite3* db, Mode mode);
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  void commit();

 private:
  sqlite3* db_;
  bool open_ = true;
};

}  // namespace relay::store::sqlite
