#pragma once
// What the admin API and the admin commands keep besides the config: the admin tokens (named,
// stored only as SHA-256) and the audit log of every admin change. Owned by its users (the
// admin listener, the CLI); backends: sqlite/sqlite_admin_store, postgres/pg_admin_store, in the
// same database as the config (migration 9 of each).
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "store/config_store.hpp"

namespace relay::app {
struct Config;
}

namespace relay::store {

struct AdminToken {
  std::string id;               // public id, e.g. adm_3f9a1c2b7d40
  std::string name;             // [A-Za-z0-9][A-Za-z0-9._-]{0,63}
  std::string token_hash;       // lowercase hex SHA-256; never shown
  std::string last4;            // the token's last 4 characters, for humans
  std::int64_t created_at = 0;  // unix seconds
};

// Named tokens for the admin API. A revoked token is gone (its audit entries stay).
class AdminTokens {
 public:
  virtual ~AdminTokens() = default;
  // kInvalid for a bad name or hash, kAlreadyExists for a taken name.
  virtual AdminToken add_admin_token(std::string_view name, std::string_view token_hash,
                                     std::string_view last4) = 0;
  virtual std::vector<AdminToken> list_admin_tokens() = 0;     // by name
  virtual void revoke_admin_token(std::string_view name) = 0;  // kNotFound
  // The token whose hash this is, or nullopt. The caller compares token_hash in constant time.
  virtual std::optional<AdminToken> find_admin_token(std::string_view token_hash) = 0;
};

struct AuditEntry {
  std::int64_t id = 0;     // ascending in the order of appends
  std::int64_t at_ms = 0;  // unix milliseconds (UTC)
  std::string actor;       // token:<name> or cli:<os user>
  std::string action;      // e.g. tenant.create
  std::string target;      // a name or an id
  std::string outcome;     // ok, or the error code
  std::string details;     // a JSON object of non-secret details ("{}" when none)
};

// Append-only record of admin changes. Nothing secret may be handed to append.
class AuditLog {
 public:
  virtual ~AuditLog() = default;
  virtual void append(const AuditEntry& entry) = 0;  // id is assigned
  // Entries with at_ms >= since_ms, newest first, at most limit (1..10000).
  virtual std::vector<AuditEntry> list_audit(std::int64_t since_ms, int limit) = 0;
};

class AdminStore : public AdminTokens, public AuditLog {};

// The configured backend's admin store: <data_dir>/relay.db, or store.postgres_url. Throws
// StoreError / std::runtime_error with operator text.
std::unique_ptr<AdminStore> open_admin_store(const app::Config& cfg);

}  // namespace relay::store

namespace relay::store::admin_rules {

// For the backends: a new token's row, checked (kInvalid for a bad name, a hash that is not 64
// lowercase hex characters, or a last4 longer than 4), with a fresh public id.
AdminToken new_admin_token(std::string_view name, std::string_view token_hash,
                           std::string_view last4);
// kInvalid unless limit is 1..10000.
void require_audit_limit(int limit);

}  // namespace relay::store::admin_rules
