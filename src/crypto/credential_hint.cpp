#include "crypto/credential_hint.hpp"

#include <algorithm>

namespace relay::crypto {

std::string credential_hint(std::string_view secret) {
  constexpr std::size_t kMinLength = 12;
  constexpr std::size_t kShown = 4;
  if (secret.size() < kMinLength) return {};
  const std::string_view tail = secret.substr(secret.size() - kShown);
  if (!std::all_of(tail.begin(), tail.end(), [](char c) { return c > ' ' && c < 127; })) return {};
  return "\u2026" + std::string(tail);
}

}  // namespace relay::crypto
