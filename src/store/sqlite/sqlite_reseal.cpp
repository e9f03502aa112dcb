// store/reseal.hpp over relay.db: BEGIN IMMEDIATE takes the write lock first, so no other
// process writes a row between the reads and the updates.
#include <sqlite3.h>

#include "store/config_store.hpp"
#include "store/reseal.hpp"
#include "store/sqlite/connection.hpp"
#include "store/sqlite/statement.hpp"

namespace relay::store {
namespace {

using sqlite::Stmt;

class Db {
 public:
  explicit Db(const std::string& path) : db_(sqlite::open_database(path)) {}
  ~Db() { sqlite3_close(db_); }
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;
  sqlite3* get() const { return db_; }

 private:
  sqlite3* db_;
};

class SqliteReseal final : public ResealTransaction {
 public:
  explicit SqliteReseal(const std::string& path)
      : db_(path), tx_(db_.get(), sqlite::Transaction::Mode::kImmediate) {}

  std::optional<std::string> check_value() override {
    Stmt q(db_.get(), "SELECT value FROM store_meta WHERE key = 'master_key_check'");
    if (!q.step()) return std::nullopt;
    return q.text(0);
  }
  void set_check_value(std::string_view sealed) override {
    Stmt up(db_.get(),
            "INSERT INTO store_meta (key, value) VALUES ('master_key_check', ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value");
    up.bind_blob(1, sealed);
    if (up.step_code() != SQLITE_DONE) up.fail("replace master key check");
  }
  std::vector<SealedSecret> accounts() override {
    return rows("SELECT id, name, credential FROM accounts ORDER BY id");
  }
  void set_account(std::int64_t id, std::string_view sealed) override {
    update("UPDATE accounts SET credential = ? WHERE id = ?", id, sealed, "re-seal account");
  }
  std::vector<SealedSecret> egresses() override {
    return rows("SELECT id, name, url FROM egresses ORDER BY id");
  }
  void set_egress(std::int64_t id, std::string_view sealed) override {
    update("UPDATE egresses SET url = ? WHERE id = ?", id, sealed, "re-seal egress");
  }
  void commit() override { tx_.commit(); }

 private:
  std::vector<SealedSecret> rows(std::string_view sql) {
    std::vector<SealedSecret> out;
    Stmt q(db_.get(), sql);
    while (q.step()) out.push_back({q.int64(0), q.text(1), q.text(2)});
    return out;
  }
  void update(std::string_view sql, std::int64_t id, std::string_view sealed, const char* what) {
    Stmt up(db_.get(), sql);
    up.bind_blob(1, sealed).bind(2, id);
    if (up.step_code() != SQLITE_DONE) up.fail(what);
  }

  Db db_;  // before tx_: the transaction ends before the connection closes
  sqlite::Transaction tx_;
};

}  // namespace

std::unique_ptr<ResealTransaction> begin_sqlite_reseal(const std::string& db_path) {
  return std::make_unique<SqliteReseal>(db_path);
}

}  // namespace relay::store
