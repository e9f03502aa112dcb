#include "store/sqlite/sqlite_config_store.hpp"

#include <ctime>
#include <utility>

#include "base/unix_time.hpp"
#include "crypto/relay_key.hpp"
#include "store/reseal.hpp"
#include "store/sqlite/connection.hpp"
#include "store/sqlite/limit_columns.hpp"
#include "store/sqlite/statement.hpp"

namespace relay::store {
namespace {

using sqlite::read_limits;
using sqlite::Stmt;
using sqlite::Transaction;
using Kind = StoreError::Kind;

std::int64_t now() {
  return static_cast<std::int64_t>(std::time(nullptr));
}

bool is_unique_violation(int rc) {
  return rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY;
}

}  // namespace

SqliteConfigStore::SqliteConfigStore(const std::string& db_path,
                                     std::shared_ptr<crypto::SecretBox> box)
    : box_(std::move(box)) {
  if (!box_) throw std::invalid_argument("SqliteConfigStore needs a SecretBox");
  db_ = sqlite::open_database(db_path);
  try {
    check_master_key();
  } catch (...) {
    sqlite3_close(db_);
    throw;
  }
}

// Without this check, an admin command run without the CODEX_RELAY_MASTER_KEY that `serve`
// uses would create a fresh master.key and seal new credentials under it, and `serve` would
// then skip those accounts. Refuse the mismatch up front instead.
void SqliteConfigStore::check_master_key() {
  static constexpr std::string_view kAad = "master-key-check";
  static constexpr std::string_view kPlain = "codex-relay master key check v1";
  Stmt q(db_, "SELECT value FROM store_meta WHERE key = 'master_key_check'");
  if (q.step()) {
    auto opened = box_->open(q.text(0), kAad);
    if (!opened || *opened != kPlain)
      throw StoreError(Kind::kInvalid,
                       "the master key does not match the one this data directory was set up "
                       "with; use the same CODEX_RELAY_MASTER_KEY or master.key as `serve`");
    return;
  }
  Stmt ins(db_, "INSERT OR IGNORE INTO store_meta (key, value) VALUES ('master_key_check', ?)");
  ins.bind_blob(1, box_->seal(kPlain, kAad));
  if (ins.step_code() != SQLITE_DONE) ins.fail("record master key check");
}

SqliteConfigStore::~SqliteConfigStore() {
  sqlite3_close(db_);
}

Tenant SqliteConfigStore::add_tenant(std::string_view name) {
  require_name("tenant", name);
  Tenant t;
  t.name = std::string(name);
  t.created_at = now();
  Stmt ins(db_, "INSERT INTO tenants (name, enabled, created_at) VALUES (?, 1, ?)");
  ins.bind(1, name).bind(2, t.created_at);
  int rc = ins.step_code();
  if (is_unique_violation(rc))
    throw StoreError(Kind::kAlreadyExists, "tenant '" + t.name + "' already exists");
  if (rc != SQLITE_DONE) ins.fail("add tenant");
  t.id = sqlite3_last_insert_rowid(db_);
  return t;
}

std::vector<Tenant> SqliteConfigStore::list_tenants() {
  std::vector<Tenant> out;
  Stmt q(db_,
         "SELECT id, name, enabled, created_at, rps, rpm, concurrency, daily_requests, "
         "daily_tokens, monthly_tokens FROM tenants ORDER BY name");
  while (q.step()) {
    Tenant& t = out.emplace_back();
    t.id = q.int64(0);
    t.name = q.text(1);
    t.enabled = q.int64(2) != 0;
    t.created_at = q.int64(3);
    t.limits = read_limits(q, 4);
  }
  return out;
}

void SqliteConfigStore::set_enabled(const char* table, const char* what, std::string_view name,
                                    bool enabled) {
  Stmt up(db_, std::string("UPDATE ") + table + " SET enabled = ? WHERE name = ?");
  up.bind(1, std::int64_t{enabled}).bind(2, name);
  up.step();
  if (sqlite3_changes(db_) == 0)
    throw StoreError(Kind::kNotFound, std::string(what) + " '" + std::string(name) + "' not found");
}

void SqliteConfigStore::set_tenant_enabled(std::string_view name, bool enabled) {
  set_enabled("tenants", "tenant", name, enabled);
}

void SqliteConfigStore::set_tenant_limits(std::string_view name, const TenantLimitsUpdate& u) {
  sqlite::update_limits(db_, "tenants", "name", "tenant", name, u);
}

KeyRecord SqliteConfigStore::add_key(std::string_view tenant, std::string_view key_hash,
                                     std::string_view prefix,
                                     std::optional<std::int64_t> expires_at) {
  require_key_hash(key_hash);
  Transaction tx(db_, Transaction::Mode::kImmediate);
  Stmt find(db_, "SELECT id FROM tenants WHERE name = ?");
  find.bind(1, tenant);
  if (!find.step())
    throw StoreError(Kind::kNotFound, "tenant '" + std::string(tenant) + "' not found");
  const std::int64_t tenant_id = find.int64(0);

  KeyRecord rec{"", std::string(tenant), std::string(prefix), now(), expires_at, std::nullopt, {}};
  for (int attempt = 0;; ++attempt) {
    rec.id = "key_" + crypto::random_hex(6);
    Stmt ins(db_,
             "INSERT INTO api_keys (id, tenant_id, key_hash, prefix, created_at, expires_at) "
             "VALUES (?, ?, ?, ?, ?, ?)");
    ins.bind(1, rec.id).bind(2, tenant_id).bind(3, key_hash).bind(4, prefix);
    ins.bind(5, rec.created_at).bind(6, expires_at);
    int rc = ins.step_code();
    if (rc == SQLITE_DONE) break;
    if (rc == SQLITE_CONSTRAINT_PRIMARYKEY && attempt < 3) continue;  // 48-bit id collided
    if (rc == SQLITE_CONSTRAINT_UNIQUE)
      throw StoreError(Kind::kAlreadyExists, "a key with this hash already exists");
    ins.fail("add key");
  }
  tx.commit();
  return rec;
}

std::vector<KeyRecord> SqliteConfigStore::list_keys() {
  std::vector<KeyRecord> out;
  Stmt q(db_,
         "SELECT k.id, t.name, k.prefix, k.created_at, k.expires_at, k.revoked_at, k.rps, k.rpm, "
         "k.concurrency, k.daily_requests, k.daily_tokens, k.monthly_tokens "
         "FROM api_keys k JOIN tenants t ON t.id = k.tenant_id ORDER BY k.created_at, k.id");
  while (q.step())
    out.push_back({q.text(0), q.text(1), q.text(2), q.int64(3), q.opt_int64(4), q.opt_int64(5),
                   read_limits(q, 6)});
  return out;
}

void SqliteConfigStore::revoke_key(std::string_view key_id) {
  Transaction tx(db_, Transaction::Mode::kImmediate);
  Stmt find(db_, "SELECT revoked_at FROM api_keys WHERE id = ?");
  find.bind(1, key_id);
  if (!find.step())
    throw StoreError(Kind::kNotFound, "key '" + std::string(key_id) + "' not found");
  if (!find.is_null(0)) return;  // already revoked: keep the original time
  Stmt up(db_, "UPDATE api_keys SET revoked_at = ? WHERE id = ?");
  up.bind(1, now()).bind(2, key_id);
  up.step();
  tx.commit();
}

void SqliteConfigStore::set_key_limits(std::string_view key_id, const TenantLimitsUpdate& u) {
  sqlite::update_limits(db_, "api_keys", "id", "key", key_id, u);
}

Account SqliteConfigStore::add_account(const NewAccount& a) {
  PreparedAccount p = prepare_account(a, *box_);
  Stmt ins(
      db_,
      "INSERT INTO accounts (name, base_url, credential, models, ca_file, enabled, "
      "created_at, weight, max_concurrency, enabled_at) VALUES (?, ?, ?, ?, ?, 1, ?, ?, ?, ?)");
  ins.bind(1, a.name).bind(2, a.base_url).bind_blob(3, p.sealed).bind(4, p.models);
  ins.bind(5, a.ca_file).bind(6, p.row.created_at).bind(7, std::int64_t{a.weight});
  ins.bind(8, std::int64_t{a.max_concurrency}).bind(9, unix_now_ms());
  int rc = ins.step_code();
  if (is_unique_violation(rc))
    throw StoreError(Kind::kAlreadyExists, "account '" + a.name + "' already exists");
  if (rc != SQLITE_DONE) ins.fail("add account");
  p.row.id = sqlite3_last_insert_rowid(db_);
  return p.row;
}

std::vector<Account> SqliteConfigStore::list_accounts() {
  std::vector<Account> out;
  Stmt q(db_,
         "SELECT id, name, base_url, models, ca_file, enabled, created_at, weight, "
         "max_concurrency FROM accounts ORDER BY name");
  while (q.step())
    out.push_back({q.int64(0), q.text(1), q.text(2), split_models(q.text(3)), q.text(4),
                   q.int64(5) != 0, q.int64(6), static_cast<int>(q.int64(7)),
                   static_cast<int>(q.int64(8))});
  return out;
}

void SqliteConfigStore::set_account_enabled(std::string_view name, bool enabled) {
  if (!enabled) return set_enabled("accounts", "account", name, false);
  Stmt up(db_, "UPDATE accounts SET enabled = 1, enabled_at = ? WHERE name = ?");
  up.bind(1, unix_now_ms()).bind(2, name);
  up.step();
  if (sqlite3_changes(db_) == 0)
    throw StoreError(Kind::kNotFound, "account '" + std::string(name) + "' not found");
}

void SqliteConfigStore::update_account(std::string_view name, const AccountUpdate& u) {
  require_account_limits(u.weight, u.max_concurrency);
  if (u.base_url) require_base_url(*u.base_url);
  std::optional<std::string> models;
  if (u.models) models = join_models(*u.models);
  // NULL keeps the column as it is, so one statement covers every combination of fields.
  Stmt up(db_,
          "UPDATE accounts SET weight = COALESCE(?, weight), "
          "max_concurrency = COALESCE(?, max_concurrency), models = COALESCE(?, models), "
          "base_url = COALESCE(?, base_url) WHERE name = ?");
  auto bind_opt = [&up](int i, const auto& v) {
    if (v)
      up.bind(i, *v);
    else
      up.bind(i, std::optional<std::int64_t>{});  // NULL
  };
  auto widen = [](std::optional<int> v) {
    return v ? std::optional<std::int64_t>(*v) : std::nullopt;
  };
  bind_opt(1, widen(u.weight));
  bind_opt(2, widen(u.max_concurrency));
  bind_opt(3, models);
  bind_opt(4, u.base_url);
  up.bind(5, name);
  up.step();
  if (sqlite3_changes(db_) == 0)
    throw StoreError(Kind::kNotFound, "account '" + std::string(name) + "' not found");
}

std::uint64_t SqliteConfigStore::change_token() {
  Stmt q(db_, "SELECT n FROM config_version");
  if (!q.step()) q.fail("read config version");
  return static_cast<std::uint64_t>(q.int64(0));
}

SnapshotPtr SqliteConfigStore::load_snapshot() {
  auto snap = std::make_shared<Snapshot>();
  Transaction tx(db_, Transaction::Mode::kDeferred);
  // Read inside the transaction, so the version names exactly the state read below.
  snap->version = change_token();
  Stmt check(db_, "SELECT value FROM store_meta WHERE key = 'master_key_check'");
  if (check.step()) require_current_master_key(*box_, check.text(0));
  Stmt keys(db_,
            "SELECT k.key_hash, k.id, t.id, t.name, t.enabled, k.expires_at, k.revoked_at, "
            "t.rps, t.rpm, t.concurrency, t.daily_requests, t.daily_tokens, t.monthly_tokens, "
            "k.rps, k.rpm, k.concurrency, k.daily_requests, k.daily_tokens, k.monthly_tokens "
            "FROM api_keys k JOIN tenants t ON t.id = k.tenant_id");
  while (keys.step()) {
    SnapshotKey k;
    k.key_id = keys.text(1);
    k.tenant_id = keys.int64(2);
    k.tenant_name = keys.text(3);
    k.tenant_enabled = keys.int64(4) != 0;
    k.expires_at = keys.opt_int64(5);
    k.revoked = !keys.is_null(6);
    k.limits = read_limits(keys, 7);
    k.key_limits = read_limits(keys, 13);
    snap->keys_by_hash.emplace(keys.text(0), std::move(k));
  }

  Stmt accs(db_,
            "SELECT id, name, base_url, models, ca_file, enabled, credential, weight, "
            "max_concurrency, enabled_at FROM accounts ORDER BY id");
  while (accs.step()) {
    std::string name = accs.text(1);
    auto credential = open_credential(*box_, accs.text(6), name);
    if (!credential) continue;
    SnapshotAccount& a = snap->accounts.emplace_back();
    a.id = accs.int64(0);
    a.name = std::move(name);
    a.base_url = accs.text(2);
    a.models = split_models(accs.text(3));
    a.ca_file = accs.text(4);
    a.enabled = accs.int64(5) != 0;
    a.weight = static_cast<int>(accs.int64(7));
    a.max_concurrency = static_cast<int>(accs.int64(8));
    a.enabled_at = accs.int64(9);
    a.credential = std::move(*credential);
  }
  attach_egresses(*snap);
  tx.commit();
  return snap;
}

}  // namespace relay::store
