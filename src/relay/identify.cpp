#include "relay/identify.hpp"

#include <openssl/crypto.h>

#include <cctype>

#include "crypto/relay_key.hpp"

namespace relay {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool iequals_prefix(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(s[i])) != prefix[i]) return false;
  return true;
}

bool worth_a_lookup(std::string_view key, bool address_over_limit) {
  switch (crypto::relay_key_shape(key)) {
    case crypto::RelayKeyShape::kChecksummed:
    case crypto::RelayKeyShape::kLegacy:
      return true;
    case crypto::RelayKeyShape::kBadChecksum:
      return false;
    case crypto::RelayKeyShape::kOther:
      return !address_over_limit;
  }
  return false;
}

}  // namespace

std::string_view presented_key(const http::Headers& headers) {
  if (const auto* auth = http::find_header(headers, "authorization")) {
    std::string_view v = trim(*auth);
    if (iequals_prefix(v, "bearer ")) {
      auto key = trim(v.substr(7));
      if (!key.empty()) return key;
    }
  }
  if (const auto* k = http::find_header(headers, "x-api-key")) return trim(*k);
  return {};
}

Identity identify(const store::Snapshot& snapshot, const http::Headers& headers,
                  std::int64_t now_unix, bool address_over_limit) {
  auto key = presented_key(headers);
  if (key.empty()) return {nullptr, IdentifyFailure::kMissing};
  if (!worth_a_lookup(key, address_over_limit)) return {nullptr, IdentifyFailure::kMalformed};
  // The map is keyed by SHA-256 of the key, so whatever the lookup's timing leaks is about hash
  // values: learning that a stored hash begins like the hash of a guess does not help to find a
  // key whose hash matches in full (preimage resistance). The final comparison is constant-time
  // all the same, so no shortcut in the map's own equality is what decides a match.
  const std::string hash = crypto::sha256_hex(key);
  auto it = snapshot.keys_by_hash.find(hash);
  if (it == snapshot.keys_by_hash.end() || it->first.size() != hash.size() ||
      CRYPTO_memcmp(it->first.data(), hash.data(), hash.size()) != 0)
    return {nullptr, IdentifyFailure::kUnknown};
  const auto& k = it->second;
  if (k.revoked) return {nullptr, IdentifyFailure::kRevoked};
  if (k.expires_at && now_unix >= *k.expires_at) return {nullptr, IdentifyFailure::kExpired};
  if (!k.tenant_enabled) return {nullptr, IdentifyFailure::kTenantDisabled};
  return {&k, IdentifyFailure::kNone};
}

std::string_view to_string(IdentifyFailure f) {
  switch (f) {
    case IdentifyFailure::kNone:
      return "ok";
    case IdentifyFailure::kMissing:
      return "missing_key";
    case IdentifyFailure::kMalformed:
      return "malformed_key";
    case IdentifyFailure::kUnknown:
      return "unknown_key";
    case IdentifyFailure::kRevoked:
      return "revoked_key";
    case IdentifyFailure::kExpired:
      return "expired_key";
    case IdentifyFailure::kTenantDisabled:
      return "tenant_disabled";
  }
  return "unknown";
}

std::string request_id_for(const http::Headers& headers) {
  if (const auto* id = http::find_header(headers, "x-request-id")) {
    bool plain = !id->empty() && id->size() <= 128;
    for (char c : *id)
      plain = plain && (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' ||
                        c == '.' || c == ':');
    if (plain) return *id;
  }
  return "req_" + crypto::random_hex(12);
}

}  // namespace relay
