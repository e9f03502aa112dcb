#pragma once
// ConfigStore on PostgreSQL (the cluster backend, issue 7): the same contract, errors and
// sealing as SqliteConfigStore, shared by every node. Each committed change bumps
// config_version and sends NOTIFY codex_relay_config (triggers of migration 2, so raw edits
// count too); wait_for_change() listens for it on a second connection, opened by its first call.
//
// The store refuses a master key other than the one the database was written with, so that a
// node with a freshly generated key cannot seal new credentials no other node can open, nor
// silently serve without every account.
//
// Synchronous, not thread-safe: one thread uses an instance (serve's snapshot poller, a CLI
// command), as with SqliteConfigStore.
#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "crypto/secret_box.hpp"
#include "store/config_store.hpp"
#include "store/postgres/connection.hpp"
#include "store/postgres/notify_listener.hpp"

namespace relay::store {

// The channel migration 2's triggers notify; the payload is the changed table's schema.
inline constexpr std::string_view kConfigChannel = "codex_relay_config";

class PgConfigStore final : public ConfigStore {
 public:
  // Connects (conninfo: a postgresql:// URI or key=value string), applies the missing schema
  // migrations and checks the master key. Throws StoreError.
  PgConfigStore(const std::string& conninfo, std::shared_ptr<crypto::SecretBox> box);

  Tenant add_tenant(std::string_view name) override;
  std::vector<Tenant> list_tenants() override;
  void set_tenant_enabled(std::string_view name, bool enabled) override;
  void set_tenant_limits(std::string_view name, const TenantLimitsUpdate& update) override;

  KeyRecord add_key(std::string_view tenant, std::string_view key_hash, std::string_view prefix,
                    std::optional<std::int64_t> expires_at) override;
  std::vector<KeyRecord> list_keys() override;
  void revoke_key(std::string_view key_id) override;
  void set_key_limits(std::string_view key_id, const TenantLimitsUpdate& update) override;

  Account add_account(const NewAccount& account) override;
  std::vector<Account> list_accounts() override;
  void set_account_enabled(std::string_view name, bool enabled) override;
  void update_account(std::string_view name, const AccountUpdate& update) override;

  // pg_egress_store.cpp
  Egress add_egress(const NewEgress& egress) override;
  std::vector<Egress> list_egresses() override;
  void remove_egress(std::string_view name) override;
  void record_observed_ip(std::string_view egress, std::string_view ip,
                          std::int64_t at_unix) override;

  std::uint64_t change_token() override;
  bool wait_for_change(std::chrono::milliseconds max) override;
  // pg_snapshot.cpp: one REPEATABLE READ transaction, so the version names exactly what it read.
  SnapshotPtr load_snapshot() override;

 private:
  void check_master_key();
  void set_enabled(const char* table, const char* what, std::string_view name, bool enabled);
  void set_limits(const char* table, const char* id_column, const char* what, std::string_view id,
                  const TenantLimitsUpdate& u);

  std::shared_ptr<crypto::SecretBox> box_;
  std::string conninfo_;  // for the listener's own connection
  pg::Connection conn_;
  std::string schema_;  // where the config tables are: the payload of their notifications
  std::unique_ptr<pg::NotifyListener> listener_;
};

}  // namespace relay::store
