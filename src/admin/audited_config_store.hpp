#pragma once
// A ConfigStore that writes an audit entry (store/admin_store.hpp) for every change it passes
// on, whether it succeeds or fails: the CLI (actor cli:<os user>) and the admin API (actor
// token:<name>) both change the config through one, so no change path can skip the audit.
// Reads pass through unaudited. Details name changed fields and non-secret values only: never a
// key hash, a credential or a proxy URL.
#include <functional>
#include <memory>
#include <string>

#include "store/admin_store.hpp"
#include "store/config_store.hpp"

namespace relay::admin {

// The audit outcome of a failed change: the StoreError kind ("not_found", ...), or "error".
std::string outcome_of(const std::exception& e);

// Appends one entry now; a failing append is logged (with what was lost, never a secret) and
// swallowed: the change it records has already happened and its caller must learn that.
void audit(store::AuditLog& log, const std::string& actor, std::string_view action,
           std::string_view target, std::string_view outcome, std::string details = "{}");

class AuditedConfigStore final : public store::ConfigStore {
 public:
  // `log` is opened on the first change, so read-only commands never open it.
  AuditedConfigStore(store::ConfigStore& inner, std::function<store::AuditLog&()> log,
                     std::string actor);
  // Owns `inner`, and opens its audit log with open_log on the first change.
  AuditedConfigStore(std::unique_ptr<store::ConfigStore> inner,
                     std::function<std::unique_ptr<store::AuditLog>()> open_log, std::string actor);

  store::Tenant add_tenant(std::string_view name) override;
  std::vector<store::Tenant> list_tenants() override { return inner_.list_tenants(); }
  void set_tenant_enabled(std::string_view name, bool enabled) override;
  void set_tenant_limits(std::string_view name, const store::TenantLimitsUpdate& u) override;

  store::KeyRecord add_key(std::string_view tenant, std::string_view key_hash,
                           std::string_view prefix,
                           std::optional<std::int64_t> expires_at) override;
  std::vector<store::KeyRecord> list_keys() override { return inner_.list_keys(); }
  void revoke_key(std::string_view key_id) override;
  void set_key_limits(std::string_view key_id, const store::TenantLimitsUpdate& u) override;

  store::Account add_account(const store::NewAccount& account) override;
  std::vector<store::Account> list_accounts() override { return inner_.list_accounts(); }
  void set_account_enabled(std::string_view name, bool enabled) override;
  void update_account(std::string_view name, const store::AccountUpdate& u) override;

  store::Egress add_egress(const store::NewEgress& egress) override;
  std::vector<store::Egress> list_egresses() override { return inner_.list_egresses(); }
  void remove_egress(std::string_view name) override;
  // What `egress verify` saw is no config change: not audited.
  void record_observed_ip(std::string_view egress, std::string_view ip,
                          std::int64_t at_unix) override {
    inner_.record_observed_ip(egress, ip, at_unix);
  }

  std::uint64_t change_token() override { return inner_.change_token(); }
  bool wait_for_change(std::chrono::milliseconds max) override {
    return inner_.wait_for_change(max);
  }
  store::SnapshotPtr load_snapshot() override { return inner_.load_snapshot(); }

 private:
  // Runs change, then audits it as ok or as its error (rethrown); returns what change returned.
  template <class F>
  auto audited(std::string_view action, std::string_view target, const std::string& details,
               F&& change);

  std::unique_ptr<store::ConfigStore> owned_;  // null when inner_ is someone else's
  std::unique_ptr<store::AuditLog> owned_log_;
  store::ConfigStore& inner_;
  std::function<store::AuditLog&()> log_;
  std::string actor_;
};

// An AuditedConfigStore that owns the store it wraps and opens its audit log when first needed
// (the CLI's: one per command).
std::unique_ptr<store::ConfigStore> audited_owning(
    std::unique_ptr<store::ConfigStore> inner,
    std::function<std::unique_ptr<store::AuditLog>()> open_log, std::string actor);

}  // namespace relay::admin
