#include "store/postgres/pg_config_store.hpp"

#include <ctime>
#include <stdexcept>
#include <utility>

#include "base/unix_time.hpp"
#include "crypto/relay_key.hpp"
#include "store/config_rules.hpp"
#include "store/postgres/config_rows.hpp"
#include "store/postgres/migrations.hpp"

namespace relay::store {
namespace {

using Kind = StoreError::Kind;
using Param = std::optional<std::string>;

std::string now() {
  return std::to_string(static_cast<std::int64_t>(std::time(nullptr)));
}

Param opt(std::optional<std::int64_t> v) {
  return v ? Param(std::to_string(*v)) : std::nullopt;
}

std::shared_ptr<crypto::SecretBox> require_box(std::shared_ptr<crypto::SecretBox> box) {
  if (!box) throw std::invalid_argument("PgConfigStore needs a SecretBox");
  return box;
}

}  // namespace

PgConfigStore::PgConfigStore(const std::string& conninfo, std::shared_ptr<crypto::SecretBox> box)
    : box_(require_box(std::move(box))), conninfo_(conninfo), conn_(conninfo) {
  pg::migrate(conn_);
  check_master_key();
  schema_ = std::string(
      conn_
          .exec("SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE c.oid = 'config_version'::regclass")
          .text(0, 0));
}

// Nodes each load their master key from their own file. One that was started with a new key
// (a missing file is created) would seal credentials no other node can open, and would itself
// drop every account from its snapshot. Refuse the mismatch up front instead.
void PgConfigStore::check_master_key() {
  static constexpr std::string_view kAad = "master-key-check";
  static constexpr std::string_view kPlain = "codex-relay master key check v1";
  const auto read = [this] {
    return conn_.exec("SELECT encode(value, 'hex') FROM meta WHERE key = 'master_key_check'");
  };
  pg::Result r = read();
  if (r.rows() == 0) {
    // Another node may record its own at the same moment: the first one wins, and everyone
    // checks against that one.
    conn_.exec(
        "INSERT INTO meta (key, value) VALUES ('master_key_check', decode($1, 'hex')) "
        "ON CONFLICT (key) DO NOTHING",
        {pg::to_hex(box_->seal(kPlain, kAad))});
    r = read();
  }
  const auto opened = r.rows() == 1 ? box_->open(pg::from_hex(r.text(0, 0)), kAad) : std::nullopt;
  if (!opened || *opened != kPlain)
    throw StoreError(Kind::kInvalid,
                     "the master key does not match the one this database was written with: "
                     "every node needs the same master key file (docs/operations.md)");
}

Tenant PgConfigStore::add_tenant(std::string_view name) {
  require_name("tenant", name);
  Tenant t;
  t.name = std::string(name);
  const std::string created = now();
  const pg::Result r = conn_.exec(
      "INSERT INTO tenants (name, created_at) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING "
      "RETURNING id, created_at",
      {t.name, created});
  if (r.rows() == 0)
    throw StoreError(Kind::kAlreadyExists, "tenant '" + t.name + "' already exists");
  t.id = r.int64(0, 0);
  t.created_at = r.int64(0, 1);
  return t;
}

std::vector<Tenant> PgConfigStore::list_tenants() {
  const pg::Result r = conn_.exec("SELECT id, name, enabled, created_at, " +
                                  std::string(pg::kLimitColumns) + " FROM tenants ORDER BY name");
  std::vector<Tenant> out;
  out.reserve(static_cast<std::size_t>(r.rows()));
  for (int i = 0; i < r.rows(); ++i)
    out.push_back({r.int64(i, 0), std::string(r.text(i, 1)), r.boolean(i, 2), r.int64(i, 3),
                   pg::read_limits(r, i, 4)});
  return out;
}

void PgConfigStore::set_enabled(const char* table, const char* what, std::string_view name,
                                bool enabled) {
  const pg::Result r =
      conn_.exec(std::string("UPDATE ") + table + " SET enabled = $1 WHERE name = $2",
                 {pg::pg_bool(enabled), std::string(name)});
  if (r.affected() == 0)
    throw StoreError(Kind::kNotFound, std::string(what) + " '" + std::string(name) + "' not found");
}

void PgConfigStore::set_tenant_enabled(std::string_view name, bool enabled) {
  set_enabled("tenants", "tenant", name, enabled);
}

void PgConfigStore::set_limits(const char* table, const char* id_column, const char* what,
                               std::string_view id, const TenantLimitsUpdate& u) {
  require_tenant_limits(u);
  // NULL keeps the column as it is, so one statement covers every combination.
  const pg::Result r = conn_.exec_nullable(
      std::string("UPDATE ") + table +
          " SET rps = COALESCE($1::bigint, rps), rpm = COALESCE($2::bigint, rpm), "
          "concurrency = COALESCE($3::bigint, concurrency), "
          "daily_requests = COALESCE($4::bigint, daily_requests), "
          "daily_tokens = COALESCE($5::bigint, daily_tokens), "
          "monthly_tokens = COALESCE($6::bigint, monthly_tokens) WHERE " +
          id_column + " = $7",
      {opt(u.rps), opt(u.rpm), opt(u.concurrency), opt(u.daily_requests), opt(u.daily_tokens),
       opt(u.monthly_tokens), std::string(id)});
  if (r.affected() == 0)
    throw StoreError(Kind::kNotFound, std::string(what) + " '" + std::string(id) + "' not found");
}

void PgConfigStore::set_tenant_limits(std::string_view name, const TenantLimitsUpdate& u) {
  set_limits("tenants", "name", "tenant", name, u);
}

KeyRecord PgConfigStore::add_key(std::string_view tenant, std::string_view key_hash,
                                 std::string_view prefix, std::optional<std::int64_t> expires_at) {
  require_key_hash(key_hash);
  pg::Transaction tx(conn_);
  const std::string tenant_id = pg::id_by_name(conn_, "tenants", "tenant", tenant);
  const std::string created = now();
  KeyRecord rec{
      "", std::string(tenant), std::string(prefix), std::stoll(created), expires_at, std::nullopt,
      {}};
  for (int attempt = 0;; ++attempt) {
    rec.id = "key_" + crypto::random_hex(6);
    try {
      // A 48-bit id that collided is skipped (no row back); a taken hash is an error.
      const pg::Result r = conn_.exec_nullable(
          "INSERT INTO api_keys (id, tenant_id, key_hash, prefix, created_at, expires_at) "
          "VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO NOTHING RETURNING id",
          {rec.id, tenant_id, std::string(key_hash), std::string(prefix), created,
           opt(expires_at)});
      if (r.rows() == 1) break;
    } catch (const pg::Error& e) {
      if (e.sqlstate() == "23505")
        throw StoreError(Kind::kAlreadyExists, "a key with this hash already exists");
      throw;
    }
    if (attempt >= 3) throw StoreError(Kind::kIo, "add key: no free key id after 4 tries");
  }
  tx.commit();
  return rec;
}

std::vector<KeyRecord> PgConfigStore::list_keys() {
  const pg::Result r = conn_.exec(
      "SELECT k.id, t.name, k.prefix, k.created_at, k.expires_at, k.revoked_at, k.rps, k.rpm, "
      "k.concurrency, k.daily_requests, k.daily_tokens, k.monthly_tokens "
      "FROM api_keys k JOIN tenants t ON t.id = k.tenant_id ORDER BY k.created_at, k.id");
  std::vector<KeyRecord> out;
  out.reserve(static_cast<std::size_t>(r.rows()));
  for (int i = 0; i < r.rows(); ++i)
    out.push_back({std::string(r.text(i, 0)), std::string(r.text(i, 1)), std::string(r.text(i, 2)),
                   r.int64(i, 3), pg::opt_int64(r, i, 4), pg::opt_int64(r, i, 5),
                   pg::read_limits(r, i, 6)});
  return out;
}

void PgConfigStore::revoke_key(std::string_view key_id) {
  // Only an unrevoked key is touched: a second revoke keeps the original time and changes no
  // config.
  const std::string id(key_id);
  if (conn_
          .exec("UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL",
                {now(), id})
          .affected() > 0)
    return;
  if (conn_.exec("SELECT 1 FROM api_keys WHERE id = $1", {id}).rows() == 0)
    throw StoreError(Kind::kNotFound, "key '" + id + "' not found");
}

void PgConfigStore::set_key_limits(std::string_view key_id, const TenantLimitsUpdate& u) {
  set_limits("api_keys", "id", "key", key_id, u);
}

Account PgConfigStore::add_account(const NewAccount& a) {
  PreparedAccount p = prepare_account(a, *box_);
  const pg::Result r = conn_.exec(
      "INSERT INTO accounts (name, base_url, credential, models, ca_file, created_at, weight, "
      "max_concurrency, enabled_at) VALUES ($1, $2, decode($3, 'hex'), $4, $5, $6, $7, $8, $9) "
      "ON CONFLICT (name) DO NOTHING RETURNING id",
      {a.name, a.base_url, pg::to_hex(p.sealed), p.models, a.ca_file,
       std::to_string(p.row.created_at), std::to_string(a.weight),
       std::to_string(a.max_concurrency), std::to_string(unix_now_ms())});
  if (r.rows() == 0)
    throw StoreError(Kind::kAlreadyExists, "account '" + a.name + "' already exists");
  p.row.id = r.int64(0, 0);
  return p.row;
}

std::vector<Account> PgConfigStore::list_accounts() {
  const pg::Result r = conn_.exec(
      "SELECT id, name, base_url, models, ca_file, enabled, created_at, weight, max_concurrency "
      "FROM accounts ORDER BY name");
  std::vector<Account> out;
  out.reserve(static_cast<std::size_t>(r.rows()));
  for (int i = 0; i < r.rows(); ++i)
    out.push_back({r.int64(i, 0), std::string(r.text(i, 1)), std::string(r.text(i, 2)),
                   split_models(std::string(r.text(i, 3))), std::string(r.text(i, 4)),
                   r.boolean(i, 5), r.int64(i, 6), static_cast<int>(r.int64(i, 7)),
                   static_cast<int>(r.int64(i, 8))});
  return out;
}

void PgConfigStore::set_account_enabled(std::string_view name, bool enabled) {
  if (!enabled) return set_enabled("accounts", "account", name, false);
  const pg::Result r =
      conn_.exec("UPDATE accounts SET enabled = TRUE, enabled_at = $1 WHERE name = $2",
                 {std::to_string(unix_now_ms()), std::string(name)});
  if (r.affected() == 0)
    throw StoreError(Kind::kNotFound, "account '" + std::string(name) + "' not found");
}

void PgConfigStore::update_account(std::string_view name, const AccountUpdate& u) {
  require_account_limits(u.weight, u.max_concurrency);
  if (u.base_url) require_base_url(*u.base_url);
  Param models;
  if (u.models) models = join_models(*u.models);
  const auto widen = [](std::optional<int> v) {
    return v ? std::optional<std::int64_t>(*v) : std::nullopt;
  };
  // NULL keeps the column as it is, so one statement covers every combination of fields.
  const pg::Result r = conn_.exec_nullable(
      "UPDATE accounts SET weight = COALESCE($1::bigint, weight), "
      "max_concurrency = COALESCE($2::bigint, max_concurrency), "
      "models = COALESCE($3::text, models), base_url = COALESCE($4::text, base_url) "
      "WHERE name = $5",
      {opt(widen(u.weight)), opt(widen(u.max_concurrency)), models, u.base_url, std::string(name)});
  if (r.affected() == 0)
    throw StoreError(Kind::kNotFound, "account '" + std::string(name) + "' not found");
}

std::uint64_t PgConfigStore::change_token() {
  return static_cast<std::uint64_t>(conn_.exec("SELECT n FROM config_version").int64(0, 0));
}

bool PgConfigStore::wait_for_change(std::chrono::milliseconds max) {
  if (!listener_)
    listener_ =
        std::make_unique<pg::NotifyListener>(conninfo_, std::string(kConfigChannel), schema_);
  return listener_->wait(max);
}

}  // namespace relay::store
