#pragma once
// ConfigStore on one SQLite file (WAL). Several processes may open the same file: the server's
// snapshot poller and admin CLI invocations each hold their own instance.
//
// Threading: an instance is meant to be used by one thread at a time (the poller thread, or the
// CLI's main thread). The connection is opened SQLITE_OPEN_FULLMUTEX so misuse cannot corrupt
// SQLite's state, but multi-statement operations are not atomic across threads sharing it.
#include <sqlite3.h>

#include <memory>
#include <string>

#include "crypto/secret_box.hpp"
#include "store/config_rules.hpp"
#include "store/config_store.hpp"

namespace relay::store {

class SqliteConfigStore final : public ConfigStore {
 public:
  // Opens (creating with mode 0600 if missing) and migrates the db. Throws StoreError.
  SqliteConfigStore(const std::string& db_path, std::shared_ptr<crypto::SecretBox> box);
  ~SqliteConfigStore() override;
  SqliteConfigStore(const SqliteConfigStore&) = delete;
  SqliteConfigStore& operator=(const SqliteConfigStore&) = delete;

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

  // sqlite_egress_store.cpp
  Egress add_egress(const NewEgress& egress) override;
  std::vector<Egress> list_egresses() override;
  void remove_egress(std::string_view name) override;
  void record_observed_ip(std::string_view egress, std::string_view ip,
                          std::int64_t at_unix) override;

  std::uint64_t change_token() override;
  SnapshotPtr load_snapshot() override;

 private:
  void check_master_key();
  // Gives each account of snap its egresses, within load_snapshot's transaction; drops an
  // account one of whose egresses does not decrypt (sqlite_egress_store.cpp).
  void attach_egresses(Snapshot& snap);
  void set_enabled(const char* table, const char* what, std::string_view name, bool enabled);

  sqlite3* db_ = nullptr;
  std::shared_ptr<crypto::SecretBox> box_;
};

}  // namespace relay::store
