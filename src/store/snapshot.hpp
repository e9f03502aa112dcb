#pragma once
// The immutable view of the control-plane config that the hot path reads. A new one is built
// when the store reports a change and swapped in atomically; requests keep the one they started
// with.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace relay::store {

// A tenant's or a key's admission limits; 0 means not limited.
struct TenantLimits {
  std::int64_t rps = 0;
  std::int64_t rpm = 0;
  std::int64_t concurrency = 0;
  std::int64_t daily_requests = 0;
  std::int64_t daily_tokens = 0;
  std::int64_t monthly_tokens = 0;
};

struct SnapshotKey {
  std::string key_id;
  std::int64_t tenant_id = 0;
  std::string tenant_name;
  bool tenant_enabled = true;
  std::optional<std::int64_t> expires_at;  // unix seconds; key is invalid at or after this
  bool revoked = false;
  TenantLimits limits;      // the tenant's
  TenantLimits key_limits;  // this key's own; a request must pass both
};

// A forward proxy that one account's traffic leaves through (issue 5). The provider sees the
// egress's address; TLS runs end to end through it (CONNECT, or SOCKS5 with remote names).
struct SnapshotEgress {
  std::int64_t id = 0;
  std::string name;
  std::string url;      // http://, https:// or socks5h://[user:pass@]host:port; decrypted,
                        // lives only in memory (its credentials are sealed in the store)
  std::string region;   // "" = none
  std::string ca_file;  // for an https:// proxy's certificate; "" = system trust
};

struct SnapshotAccount {
  std::int64_t id = 0;
  std::string name;
  std::string base_url;             // e.g. https://api.openai.com/v1 (no trailing slash)
  std::vector<std::string> models;  // empty: serves every model
  std::string ca_file;              // empty: system trust store
  bool enabled = true;
  int weight = 1;               // share of traffic among equally healthy accounts
  int max_concurrency = 0;      // requests in flight at once; 0: no limit
  std::int64_t enabled_at = 0;  // bumped by every operator enable: clears a health-disable
  std::string credential;       // decrypted; lives only in memory
  // Empty: the account goes direct. Otherwise it never does: its requests leave through one of
  // these, and with none working the account is unavailable.
  std::vector<SnapshotEgress> egresses;

  bool serves(std::string_view model) const {
    if (models.empty() || model.empty()) return true;
    for (const auto& m : models)
      if (m == model) return true;
    return false;
  }
};

struct Snapshot {
  std::uint64_t version = 0;
  // key: lowercase hex SHA-256 of the full relay key
  std::unordered_map<std::string, SnapshotKey> keys_by_hash;
  std::vector<SnapshotAccount> accounts;
};

using SnapshotPtr = std::shared_ptr<const Snapshot>;

}  // namespace relay::store
