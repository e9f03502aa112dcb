// Fuzz target: relay key / token shape checks. Any input classifies without a crash; a token
// accepted as well formed has the documented length and alphabet, and changing any one of its
// characters makes the checksum fail (CRC32 catches every single-character error).
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "crypto/relay_key.hpp"

namespace {

constexpr std::string_view kBase62 =
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

void check_single_changes_fail(const std::string& token, std::string_view prefix) {
  for (std::size_t i = prefix.size(); i < token.size(); ++i) {
    std::string changed = token;
    const std::size_t at = kBase62.find(changed[i]);
    changed[i] = kBase62[(at + 1 + i % 61) % kBase62.size()];
    if (relay::crypto::token_well_formed(changed, prefix)) std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  using relay::crypto::RelayKeyShape;
  const RelayKeyShape shape = relay::crypto::relay_key_shape(text);
  const bool well_formed = relay::crypto::token_well_formed(text, relay::crypto::kRelayKeyPrefix);
  if (well_formed != (shape == RelayKeyShape::kChecksummed)) std::abort();
  if (shape == RelayKeyShape::kLegacy && text.size() != relay::crypto::kLegacyRelayKeySize)
    std::abort();
  if (shape != RelayKeyShape::kOther && relay::crypto::key_prefix(text).size() != 12) std::abort();
  if (well_formed) check_single_changes_fail(std::string(text), relay::crypto::kRelayKeyPrefix);

  // The same input read as "<prefix length byte><prefix><token>", for other prefixes.
  if (size > 0) {
    const std::size_t plen = std::min<std::size_t>(data[0] % 8, size - 1);
    const std::string_view prefix = text.substr(1, plen);
    const std::string_view token = text.substr(1 + plen);
    if (relay::crypto::token_well_formed(token, prefix)) {
      if (!token.starts_with(prefix) || token.size() != prefix.size() + 49) std::abort();
      check_single_changes_fail(std::string(token), prefix);
    }
  }
  return 0;
}
