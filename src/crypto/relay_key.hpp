#pragma once
// Relay keys: the bearer tokens tenants present. Only their SHA-256 is stored.
#include <string>
#include <string_view>

namespace relay::crypto {

inline constexpr std::string_view kRelayKeyPrefix = "crk_";

// "crk_" + base64url (no padding) of 32 random bytes: 47 characters.
std::string generate_relay_key();

// Lowercase hex SHA-256.
std::string sha256_hex(std::string_view data);

// "crk_" and the next 8 characters (12 in all), for display next to a key id. 48 bits of a
// 256-bit key are shown, which leaves it unguessable. Anything not shaped like a relay key
// yields "" so that a foreign secret pasted by mistake is never echoed.
std::string key_prefix(std::string_view key);

// Random lowercase hex of n_bytes bytes (2*n_bytes characters), for public ids.
std::string random_hex(std::size_t n_bytes);

}  // namespace relay::crypto
