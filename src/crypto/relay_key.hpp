#pragma once
// Relay keys (and other bearer tokens): prefix + random part + checksum. Only their SHA-256 is
// stored.
#include <string>
#include <string_view>

namespace relay::crypto {

inline constexpr std::string_view kRelayKeyPrefix = "crk_";

// Characters after the prefix: 43 base62 digits of 32 random bytes (fixed width) + 6 base62
// digits of the CRC32 of everything before them. Like GitHub's tokens: the prefix lets secret
// scanners name the kind of a leaked token and the checksum lets them (and the relay) reject
// look-alikes without any lookup.
inline constexpr std::size_t kTokenRandomChars = 43;
inline constexpr std::size_t kTokenChecksumChars = 6;
inline constexpr std::size_t kTokenBodyChars = kTokenRandomChars + kTokenChecksumChars;

// Before checksummed keys: "crk_" + base64url (no padding) of 32 random bytes, 47 characters.
inline constexpr std::size_t kLegacyRelayKeySize = 47;

// prefix + 49 base62 characters (see above).
std::string generate_token(std::string_view prefix);

// True when `token` is prefix + 49 base62 characters whose last 6 are the checksum of the rest.
bool token_well_formed(std::string_view token, std::string_view prefix);

// generate_token("crk_"): 53 characters.
std::string generate_relay_key();

enum class RelayKeyShape {
  kChecksummed,  // a current key whose checksum holds: worth a lookup
  kBadChecksum,  // a current-length "crk_" key whose checksum fails: a typo or a forgery
  kLegacy,       // a 47-character key issued before checksums: looked up by hash as before
  kOther,        // anything else; no key the relay issued looks like this
};
// Classifies a presented key without touching the store.
RelayKeyShape relay_key_shape(std::string_view key);

// Lowercase hex SHA-256.
std::string sha256_hex(std::string_view data);

// "crk_" and the next 8 characters (12 in all), for display next to a key id. 48 bits of a
// 256-bit key are shown, which leaves it unguessable. Anything not shaped like a relay key
// yields "" so that a foreign secret pasted by mistake is never echoed.
std::string key_prefix(std::string_view key);

// Random lowercase hex of n_bytes bytes (2*n_bytes characters), for public ids: key ids, request
// ids, lease ids. The bytes come from the per-thread pool of id_random.hpp.
std::string random_hex(std::size_t n_bytes);

}  // namespace relay::crypto
