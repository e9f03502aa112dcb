#pragma once
// What both ConfigStore backends (sqlite/, postgres/) check, seal and open alike, so that their
// errors, their sealed rows and their snapshots cannot drift apart. The backends only add the
// database work.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/secret_box.hpp"
#include "store/config_store.hpp"

namespace relay::store {

// [A-Za-z0-9][A-Za-z0-9._-]{0,63}
bool is_valid_name(std::string_view name);

// kInvalid, naming `what` ("tenant", "account"), unless is_valid_name(name).
void require_name(std::string_view what, std::string_view name);
// kInvalid for a weight outside 1..1000 or a max concurrency outside 0..100000.
void require_account_limits(std::optional<int> weight, std::optional<int> max_concurrency);
// kInvalid unless http:// or https://.
void require_base_url(const std::string& url);
// kInvalid unless 64 lowercase hex characters: guards against being handed the key itself.
void require_key_hash(std::string_view key_hash);
// kInvalid for a negative limit (0 means no limit).
void require_tenant_limits(const TenantLimitsUpdate& u);
// kInvalid unless an IPv4 or IPv6 address.
void require_ip(std::string_view ip);

// Models as a column holds them: comma-joined. kInvalid for an empty name or one with a comma.
std::string join_models(const std::vector<std::string>& models);
std::vector<std::string> split_models(const std::string& joined);

std::string quoted(std::string_view s);  // 'like this', for messages

// An account as it goes into the store: checked, its credential sealed to its name.
struct PreparedAccount {
  Account row;         // id 0 until inserted
  std::string models;  // joined
  std::string sealed;  // the credential
};
PreparedAccount prepare_account(const NewAccount& a, const crypto::SecretBox& box);

// An egress as it goes into the store: URL checked and canonical, sealed whole to the egress's
// name (it may hold the proxy's password); the plaintext is wiped before this returns.
struct PreparedEgress {
  Egress row;          // id 0 until inserted; url redacted
  std::string sealed;  // the URL as libcurl takes it
};
PreparedEgress prepare_egress(const NewEgress& e, const crypto::SecretBox& box);

// The kAlreadyExists errors of add_egress, saying who holds the name or the proxy.
StoreError egress_name_taken(std::string_view name, std::string_view account);
StoreError egress_endpoint_taken(std::string_view endpoint, std::string_view egress,
                                 std::string_view account);

// What `egress list` shows for a sealed URL: redacted, or a note when it does not decrypt.
std::string listed_egress_url(const crypto::SecretBox& box, std::string_view sealed,
                              std::string_view name, const std::string& endpoint);

// The account's credential, or nullopt with a warning: the snapshot then leaves it out.
std::optional<std::string> open_credential(const crypto::SecretBox& box, std::string_view sealed,
                                           std::string_view account);

// One egresses row as read for the snapshot.
struct SealedEgress {
  std::int64_t id = 0;
  std::string name;
  std::int64_t account_id = 0;
  std::string url;  // sealed
  std::string region;
  std::string ca_file;
};
// Gives each account of snap its egresses (rows in name order); drops, with a warning, an
// account one of whose egresses does not decrypt, since it must never go direct.
void attach_egresses(Snapshot& snap, std::vector<SealedEgress> rows, const crypto::SecretBox& box);

}  // namespace relay::store
