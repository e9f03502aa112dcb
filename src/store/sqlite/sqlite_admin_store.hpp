#pragma once
// AdminStore on relay.db (the admin_tokens and audit_log tables of migration 9). One thread
// at a time uses an instance, as with SqliteConfigStore.
#include <sqlite3.h>

#include <string>

#include "store/admin_store.hpp"

namespace relay::store {

class SqliteAdminStore final : public AdminStore {
 public:
  explicit SqliteAdminStore(const std::string& db_path);  // opens and migrates; StoreError
  ~SqliteAdminStore() override;
  SqliteAdminStore(const SqliteAdminStore&) = delete;
  SqliteAdminStore& operator=(const SqliteAdminStore&) = delete;

  AdminToken add_admin_token(std::string_view name, std::string_view token_hash,
                             std::string_view last4) override;
  std::vector<AdminToken> list_admin_tokens() override;
  void revoke_admin_token(std::string_view name) override;
  std::optional<AdminToken> find_admin_token(std::string_view token_hash) override;

  void append(const AuditEntry& entry) override;
  std::vector<AuditEntry> list_audit(std::int64_t since_ms, int limit) override;

 private:
  sqlite3* db_ = nullptr;
};

}  // namespace relay::store
