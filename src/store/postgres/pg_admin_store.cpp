#include "store/postgres/pg_admin_store.hpp"

#include "store/config_rules.hpp"
#include "store/postgres/migrations.hpp"

namespace relay::store {
namespace {

using Kind = StoreError::Kind;

constexpr std::string_view kTokenColumns = "id, name, token_hash, last4, created_at";

AdminToken read_token(const pg::Result& r, int row) {
  return {std::string(r.text(row, 0)), std::string(r.text(row, 1)), std::string(r.text(row, 2)),
          std::string(r.text(row, 3)), r.int64(row, 4)};
}

}  // namespace

PgAdminStore::PgAdminStore(const std::string& conninfo) : conn_(conninfo) {
  pg::migrate(conn_);
}

AdminToken PgAdminStore::add_admin_token(std::string_view name, std::string_view token_hash,
                                         std::string_view last4) {
  AdminToken t = admin_rules::new_admin_token(name, token_hash, last4);
  try {
    conn_.exec(
        "INSERT INTO admin_tokens (id, name, token_hash, last4, created_at) "
        "VALUES ($1, $2, $3, $4, $5)",
        {t.id, t.name, t.token_hash, t.last4, std::to_string(t.created_at)});
  } catch (const pg::Error& e) {
    if (e.sqlstate() == "23505")
      throw StoreError(Kind::kAlreadyExists, "admin token " + quoted(name) + " already exists");
    throw;
  }
  return t;
}

std::vector<AdminToken> PgAdminStore::list_admin_tokens() {
  pg::Result r =
      conn_.exec("SELECT " + std::string(kTokenColumns) + " FROM admin_tokens ORDER BY name");
  std::vector<AdminToken> out;
  out.reserve(static_cast<std::size_t>(r.rows()));
  for (int i = 0; i < r.rows(); ++i) out.push_back(read_token(r, i));
  return out;
}

void PgAdminStore::revoke_admin_token(std::string_view name) {
  if (conn_.exec("DELETE FROM admin_tokens WHERE name = $1", {std::string(name)}).affected() == 0)
    throw StoreError(Kind::kNotFound, "admin token " + quoted(name) + " not found");
}

std::optional<AdminToken> PgAdminStore::find_admin_token(std::string_view token_hash) {
  pg::Result r = conn_.exec(
      "SELECT " + std::string(kTokenColumns) + " FROM admin_tokens WHERE token_hash = $1",
      {std::string(token_hash)});
  if (r.rows() == 0) return std::nullopt;
  return read_token(r, 0);
}

void PgAdminStore::append(const AuditEntry& e) {
  conn_.exec(
      "INSERT INTO audit_log (at_ms, actor, action, target, outcome, details) "
      "VALUES ($1, $2, $3, $4, $5, $6)",
      {std::to_string(e.at_ms), e.actor, e.action, e.target, e.outcome, e.details});
}

std::vector<AuditEntry> PgAdminStore::list_audit(std::int64_t since_ms, int limit) {
  admin_rules::require_audit_limit(limit);
  pg::Result r = conn_.exec(
      "SELECT id, at_ms, actor, action, target, outcome, details FROM audit_log "
      "WHERE at_ms >= $1 ORDER BY id DESC LIMIT $2",
      {std::to_string(since_ms), std::to_string(limit)});
  std::vector<AuditEntry> out;
  out.reserve(static_cast<std::size_t>(r.rows()));
  for (int i = 0; i < r.rows(); ++i)
    out.push_back({r.int64(i, 0), r.int64(i, 1), std::string(r.text(i, 2)),
                   std::string(r.text(i, 3)), std::string(r.text(i, 4)), std::string(r.text(i, 5)),
                   std::string(r.text(i, 6))});
  return out;
}

}  // namespace relay::store
