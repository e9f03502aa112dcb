#pragma once
// Authenticated encryption for secrets at rest (account credentials in the config store).
#include <array>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace relay::crypto {

// AES-256-GCM. Sealed layout: version byte | 12-byte random nonce | ciphertext | 16-byte tag.
// The AAD binds a ciphertext to its row (e.g. "account:NAME"), so a sealed value copied to
// another row does not open.
class SecretBox {
 public:
  static constexpr std::size_t kKeySize = 32;
  static constexpr unsigned char kVersion = 1;
  static constexpr std::size_t kNonceSize = 12;
  static constexpr std::size_t kTagSize = 16;
  static constexpr std::size_t kOverhead = 1 + kNonceSize + kTagSize;

  // Throws std::invalid_argument unless key is exactly 32 bytes.
  explicit SecretBox(std::string_view key);
  SecretBox(const SecretBox&) = default;
  SecretBox& operator=(const SecretBox&) = default;
  ~SecretBox();

  std::string seal(std::string_view plaintext, std::string_view aad) const;
  // nullopt when the data was altered, the AAD differs or the key is wrong.
  std::optional<std::string> open(std::string_view sealed, std::string_view aad) const;

 private:
  std::array<unsigned char, kKeySize> key_{};
};

// The master key, in order of preference:
//  1. env CODEX_RELAY_MASTER_KEY: 64 hex chars or base64 of 32 bytes;
//  2. the key file (default <data_dir>/master.key), which holds 64 hex chars and is created
//     with mode 0600 on first run. A key file readable by group or others is refused.
// Throws std::runtime_error with an operator-facing message that never contains key material.
SecretBox load_master_key(const std::string& data_dir, const std::string& key_file_or_empty);

// Parses 64 hex chars or base64/base64url (padding optional) of exactly 32 bytes.
std::optional<std::string> parse_key_text(std::string_view text);

}  // namespace relay::crypto
