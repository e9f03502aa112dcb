#include "store/sqlite/sqlite_admin_store.hpp"

#include "store/config_rules.hpp"
#include "store/sqlite/connection.hpp"
#include "store/sqlite/statement.hpp"

namespace relay::store {
namespace {

using sqlite::Stmt;
using Kind = StoreError::Kind;

constexpr const char* kTokenColumns = "id, name, token_hash, last4, created_at";

AdminToken read_token(const Stmt& q) {
  return {q.text(0), q.text(1), q.text(2), q.text(3), q.int64(4)};
}

}  // namespace

SqliteAdminStore::SqliteAdminStore(const std::string& db_path)
    : db_(sqlite::open_database(db_path)) {}

SqliteAdminStore::~SqliteAdminStore() {
  sqlite3_close(db_);
}

AdminToken SqliteAdminStore::add_admin_token(std::string_view name, std::string_view token_hash,
                                             std::string_view last4) {
  AdminToken t = admin_rules::new_admin_token(name, token_hash, last4);
  Stmt ins(db_,
           "INSERT INTO admin_tokens (id, name, token_hash, last4, created_at) "
           "VALUES (?, ?, ?, ?, ?)");
  ins.bind(1, t.id).bind(2, t.name).bind(3, t.token_hash).bind(4, t.last4).bind(5, t.created_at);
  const int rc = ins.step_code();
  if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY)
    throw StoreError(Kind::kAlreadyExists, "admin token " + quoted(name) + " already exists");
  if (rc != SQLITE_DONE) ins.fail("add admin token");
  return t;
}

std::vector<AdminToken> SqliteAdminStore::list_admin_tokens() {
  std::vector<AdminToken> out;
  Stmt q(db_, std::string("SELECT ") + kTokenColumns + " FROM admin_tokens ORDER BY name");
  while (q.step()) out.push_back(read_token(q));
  return out;
}

void SqliteAdminStore::revoke_admin_token(std::string_view name) {
  Stmt del(db_, "DELETE FROM admin_tokens WHERE name = ?");
  del.bind(1, name);
  del.step();
  if (sqlite3_changes(db_) == 0)
    throw StoreError(Kind::kNotFound, "admin token " + quoted(name) + " not found");
}

std::optional<AdminToken> SqliteAdminStore::find_admin_token(std::string_view token_hash) {
  Stmt q(db_, std::string("SELECT ") + kTokenColumns + " FROM admin_tokens WHERE token_hash = ?");
  q.bind(1, token_hash);
  if (!q.step()) return std::nullopt;
  return read_token(q);
}

void SqliteAdminStore::append(const AuditEntry& e) {
  Stmt ins(db_,
           "INSERT INTO audit_log (at_ms, actor, action, target, outcome, details) "
           "VALUES (?, ?, ?, ?, ?, ?)");
  ins.bind(1, e.at_ms).bind(2, e.actor).bind(3, e.action).bind(4, e.target);
  ins.bind(5, e.outcome).bind(6, e.details);
  ins.step();
}

std::vector<AuditEntry> SqliteAdminStore::list_audit(std::int64_t since_ms, int limit) {
  admin_rules::require_audit_limit(limit);
  Stmt q(db_,
         "SELECT id, at_ms, actor, action, target, outcome, details FROM audit_log "
         "WHERE at_ms >= ? ORDER BY id DESC LIMIT ?");
  q.bind(1, since_ms).bind(2, std::int64_t{limit});
  std::vector<AuditEntry> out;
  while (q.step())
    out.push_back({q.int64(0), q.int64(1), q.text(2), q.text(3), q.text(4), q.text(5), q.text(6)});
  return out;
}

}  // namespace relay::store
