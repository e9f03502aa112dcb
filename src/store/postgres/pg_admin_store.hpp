#pragma once
// AdminStore on PostgreSQL (the cluster backend): the admin_tokens and audit_log tables of
// migration 9, shared by every node. Synchronous; one thread uses an instance.
#include <string>

#include "store/admin_store.hpp"
#include "store/postgres/connection.hpp"

namespace relay::store {

class PgAdminStore final : public AdminStore {
 public:
  explicit PgAdminStore(const std::string& conninfo);  // connects and migrates; StoreError

  AdminToken add_admin_token(std::string_view name, std::string_view token_hash,
                             std::string_view last4) override;
  std::vector<AdminToken> list_admin_tokens() override;
  void revoke_admin_token(std::string_view name) override;
  std::optional<AdminToken> find_admin_token(std::string_view token_hash) override;

  void append(const AuditEntry& entry) override;
  std::vector<AuditEntry> list_audit(std::int64_t since_ms, int limit) override;

 private:
  pg::Connection conn_;
};

}  // namespace relay::store
