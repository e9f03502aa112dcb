#include "store/admin_store.hpp"

#include <ctime>

#include "app/config.hpp"
#include "crypto/relay_key.hpp"
#include "store/config_rules.hpp"
#include "store/postgres/pg_admin_store.hpp"
#include "store/sqlite/sqlite_admin_store.hpp"

namespace relay::store {

std::unique_ptr<AdminStore> open_admin_store(const app::Config& cfg) {
  if (cfg.store.backend == "postgres") {
    if (cfg.store.postgres_url.empty())
      throw std::runtime_error("store.backend is postgres but store.postgres_url is empty");
    return std::make_unique<PgAdminStore>(cfg.store.postgres_url);
  }
  if (cfg.store.data_dir.empty()) throw std::runtime_error("store.data_dir must not be empty");
  // The config store (opened first by every caller) has created the private data dir.
  return std::make_unique<SqliteAdminStore>(cfg.store.data_dir + "/relay.db");
}

namespace admin_rules {

AdminToken new_admin_token(std::string_view name, std::string_view token_hash,
                           std::string_view last4) {
  require_name("admin token", name);
  require_key_hash(token_hash);
  if (last4.size() > 4)
    throw StoreError(StoreError::Kind::kInvalid,
                     "an admin token's last4 holds at most 4 characters");
  AdminToken t;
  t.id = "adm_" + crypto::random_hex(6);
  t.name = std::string(name);
  t.token_hash = std::string(token_hash);
  t.last4 = std::string(last4);
  t.created_at = static_cast<std::int64_t>(std::time(nullptr));
  return t;
}

void require_audit_limit(int limit) {
  if (limit < 1 || limit > 10000)
    throw StoreError(StoreError::Kind::kInvalid, "the audit limit must be 1..10000");
}

}  // namespace admin_rules
}  // namespace relay::store
