#pragma once
// A small synchronous libpq layer for the PostgreSQL (cluster) stores: one connection per
// thread that uses a store (the journal's consumer, the retention thread), text parameters
// only, and every failure as a StoreError whose message never carries the password.
#include <libpq-fe.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "store/config_store.hpp"

namespace relay::store::pg {

// A StoreError that also keeps the server's SQLSTATE ("" when the failure was not the
// server's, say a lost connection), so callers can tell a unique violation from the rest.
class Error : public StoreError {
 public:
  Error(Kind k, const std::string& msg, std::string sqlstate)
      : StoreError(k, msg), sqlstate_(std::move(sqlstate)) {}
  const std::string& sqlstate() const { return sqlstate_; }

 private:
  std::string sqlstate_;
};

// conninfo (a postgresql:// URI or "key=value ..." string) with its password replaced by "***",
// for messages and logs.
std::string redact_conninfo(std::string_view conninfo);

// A libpq message with every password conninfo holds replaced by "***", on one line.
std::string scrub_message(std::string_view message, std::string_view conninfo);

class Result {
 public:
  explicit Result(PGresult* r) : r_(r) {}
  ~Result() { PQclear(r_); }
  Result(Result&& o) noexcept : r_(o.r_) { o.r_ = nullptr; }
  Result& operator=(Result&& o) noexcept;
  Result(const Result&) = delete;
  Result& operator=(const Result&) = delete;

  const PGresult* get() const { return r_; }
  int rows() const { return PQntuples(r_); }
  // The value as text; "" for NULL.
  std::string_view text(int row, int col) const;
  std::int64_t int64(int row, int col) const;
  bool boolean(int row, int col) const { return text(row, col) == "t"; }
  // The rows an INSERT/UPDATE/DELETE touched.
  std::int64_t affected() const;

 private:
  PGresult* r_;
};

class Connection {
 public:
  // Connects (connect_timeout 5 s unless conninfo sets one). Throws StoreError.
  explicit Connection(const std::string& conninfo);
  ~Connection() { PQfinish(conn_); }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Runs one statement with text parameters ($1, $2, ...). Throws pg::Error. Outside a
  // transaction a dropped connection is re-established first; inside one it is an error, since
  // the statements before it are gone with the old session.
  Result exec(std::string_view sql, const std::vector<std::string>& params = {});
  // As exec, with nullopt for SQL NULL. Not an exec overload: a braced list of strings would
  // then match both.
  Result exec_nullable(std::string_view sql, const std::vector<std::optional<std::string>>& params);
  // Runs several statements without parameters (a migration). Throws pg::Error.
  void exec_script(std::string_view sql);

 private:
  friend class Transaction;
  void reconnect_if_broken();
  Result run(std::string_view sql, const std::vector<const char*>& values);
  [[noreturn]] void fail(std::string_view what, const PGresult* r) const;

  PGconn* conn_ = nullptr;
  std::string redacted_;              // conninfo for messages
  std::vector<std::string> secrets_;  // passwords, to scrub from libpq's messages
  bool in_transaction_ = false;
};

// BEGIN in the constructor; ROLLBACK in the destructor unless commit() ran.
class Transaction {
 public:
  explicit Transaction(Connection& c);
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  void commit();

 private:
  Connection& c_;
  bool done_ = false;
};

}  // namespace relay::store::pg
