#pragma once
// ConfigStore: tenants, relay-key hashes, accounts and their egresses. Owned by its two users:
// the admin commands (write) and the snapshot loader (read). Embedded backend: sqlite/;
// cluster: postgres/.
#include <chrono>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "store/snapshot.hpp"

namespace relay::store {

struct Tenant {
  std::int64_t id = 0;
  std::string name;
  bool enabled = true;
  std::int64_t created_at = 0;
  TenantLimits limits;  // all 0 (no limit) for a new tenant
};

// Limits to change on an existing tenant or key; unset ones are left alone, 0 clears a limit.
struct TenantLimitsUpdate {
  std::optional<std::int64_t> rps = std::nullopt;
  std::optional<std::int64_t> rpm = std::nullopt;
  std::optional<std::int64_t> concurrency = std::nullopt;
  std::optional<std::int64_t> daily_requests = std::nullopt;
  std::optional<std::int64_t> daily_tokens = std::nullopt;
  std::optional<std::int64_t> monthly_tokens = std::nullopt;

  bool empty() const {
    return !rps && !rpm && !concurrency && !daily_requests && !daily_tokens && !monthly_tokens;
  }
};

struct KeyRecord {
  std::string id;  // public id, e.g. key_3f9a1c2b7d40; safe to print
  std::string tenant_name;
  std::string prefix;  // first characters of the key, for humans; never enough to use it
  std::int64_t created_at = 0;
  std::optional<std::int64_t> expires_at;
  std::optional<std::int64_t> revoked_at;
  TenantLimits limits;  // the key's own, on top of its tenant's; all 0 for a new key
};

struct Account {
  std::int64_t id = 0;
  std::string name;
  std::string base_url;
  std::vector<std::string> models;
  std::string ca_file;
  bool enabled = true;
  std::int64_t created_at = 0;
  int weight = 1;           // 1..1000: share of traffic among equally healthy accounts
  int max_concurrency = 0;  // 0..100000 requests in flight; 0: no limit
};

struct NewAccount {
  std::string name;
  std::string base_url;
  std::string credential;  // plaintext; the store encrypts it before it touches disk
  std::vector<std::string> models;
  std::string ca_file;
  int weight = 1;
  int max_concurrency = 0;
};

// Fields to change on an existing account; unset ones are left alone. models: empty = all.
struct AccountUpdate {
  std::optional<int> weight = std::nullopt;
  std::optional<int> max_concurrency = std::nullopt;
  std::optional<std::vector<std::string>> models = std::nullopt;
  std::optional<std::string> base_url = std::nullopt;
};

// A forward proxy that one account's traffic leaves through (issue 5, docs/egress.md).
struct NewEgress {
  std::string name;
  std::string url;      // plaintext proxy URL; the store seals it (it may hold a password)
  std::string account;  // the one account it belongs to
  std::string region;   // "" = none
  std::string ca_file;  // trust for an https:// proxy's certificate; "" = system trust
};

// What `egress list` shows: never the proxy's password.
struct Egress {
  std::int64_t id = 0;
  std::string name;
  std::string account_name;
  std::string url;       // redacted: the password replaced by ***
  std::string endpoint;  // scheme://host:port, the proxy's identity
  std::string region;
  std::string ca_file;
  std::int64_t created_at = 0;
  std::string observed_ip;       // as `egress verify` last saw it; "" = never
  std::int64_t observed_at = 0;  // unix seconds; 0 = never
};

// Thrown for conflicts and missing rows; what() is safe to show an operator.
class StoreError : public std::runtime_error {
 public:
  enum class Kind { kAlreadyExists, kNotFound, kInvalid, kIo };
  StoreError(Kind k, const std::string& msg) : std::runtime_error(msg), kind_(k) {}
  Kind kind() const { return kind_; }

 private:
  Kind kind_;
};

class ConfigStore {
 public:
  virtual ~ConfigStore() = default;

  virtual Tenant add_tenant(std::string_view name) = 0;
  virtual std::vector<Tenant> list_tenants() = 0;
  virtual void set_tenant_enabled(std::string_view name, bool enabled) = 0;
  // kNotFound when there is no such tenant, kInvalid for a negative value (nothing changes).
  virtual void set_tenant_limits(std::string_view name, const TenantLimitsUpdate& update) = 0;

  // key_hash: lowercase hex SHA-256 of the key. The key itself never reaches the store.
  virtual KeyRecord add_key(std::string_view tenant, std::string_view key_hash,
                            std::string_view prefix, std::optional<std::int64_t> expires_at) = 0;
  virtual std::vector<KeyRecord> list_keys() = 0;
  virtual void revoke_key(std::string_view key_id) = 0;
  // As set_tenant_limits, for one key (revoked or not): kNotFound, kInvalid.
  virtual void set_key_limits(std::string_view key_id, const TenantLimitsUpdate& update) = 0;

  virtual Account add_account(const NewAccount& account) = 0;
  virtual std::vector<Account> list_accounts() = 0;
  // Enabling always stamps enabled_at (unix ms), even when already enabled: that is how an
  // operator clears a disable the pool imposed on a credential failure.
  virtual void set_account_enabled(std::string_view name, bool enabled) = 0;
  // kNotFound when there is no such account, kInvalid for out-of-range values.
  virtual void update_account(std::string_view name, const AccountUpdate& update) = 0;

  // kNotFound for an unknown account; kAlreadyExists when the name or the proxy endpoint is
  // already an egress (of any account: an egress belongs to exactly one); kInvalid for a bad
  // name, URL, region, or a CA file on a proxy that is not https://.
  virtual Egress add_egress(const NewEgress& egress) = 0;
  virtual std::vector<Egress> list_egresses() = 0;        // by name
  virtual void remove_egress(std::string_view name) = 0;  // kNotFound
  // What `egress verify` saw; not a config change (serve does not reload). kNotFound, or
  // kInvalid when ip is not an IP address.
  virtual void record_observed_ip(std::string_view egress, std::string_view ip,
                                  std::int64_t at_unix) = 0;

  // Cheap; returns a different value whenever any writer (this or another process) committed a
  // change to tenants or keys (limits included), accounts or egresses. Health, quota-counter
  // and observed-IP writes do not count: they change no config.
  virtual std::uint64_t change_token() = 0;
  // Blocks up to max or until another writer may have committed a change. true: reload may be
  // needed (a notification, or the listener (re)connected and may have missed some); false: max
  // passed without news. Default (no notification channel): returns true after sleeping max.
  // Never throws; the caller still compares change_token() to learn whether anything changed.
  virtual bool wait_for_change(std::chrono::milliseconds max) {
    std::this_thread::sleep_for(max);
    return true;
  }
  // Full read with credentials and egress URLs decrypted, for the hot path's snapshot. An
  // account one of whose egresses does not decrypt is left out (it must never go direct).
  virtual SnapshotPtr load_snapshot() = 0;
};

}  // namespace relay::store
