#include "crypto/relay_key.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <stdexcept>
#include <vector>

namespace relay::crypto {
namespace {

constexpr char kHex[] = "0123456789abcdef";

std::string to_hex(const unsigned char* p, std::size_t n) {
  std::string out;
  out.reserve(2 * n);
  for (std::size_t i = 0; i < n; ++i) {
    out.push_back(kHex[p[i] >> 4]);
    out.push_back(kHex[p[i] & 15]);
  }
  return out;
}

void random_bytes(unsigned char* p, std::size_t n) {
  if (RAND_bytes(p, static_cast<int>(n)) != 1) throw std::runtime_error("RAND_bytes failed");
}

}  // namespace

std::string generate_relay_key() {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  unsigned char raw[32];
  random_bytes(raw, sizeof raw);
  std::string key(kRelayKeyPrefix);
  unsigned buf = 0;
  int bits = 0;
  for (unsigned char b : raw) {
    buf = (buf << 8) | b;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      key.push_back(kAlphabet[(buf >> bits) & 63]);
    }
  }
  if (bits > 0) key.push_back(kAlphabet[(buf << (6 - bits)) & 63]);
  OPENSSL_cleanse(raw, sizeof raw);
  return key;
}

std::string sha256_hex(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr) != 1)
    throw std::runtime_error("SHA-256 failed");
  return to_hex(md, len);
}

std::string key_prefix(std::string_view key) {
  constexpr std::size_t kShown = 8;
  if (!key.starts_with(kRelayKeyPrefix) || key.size() < kRelayKeyPrefix.size() + kShown) return {};
  return std::string(key.substr(0, kRelayKeyPrefix.size() + kShown));
}

std::string random_hex(std::size_t n_bytes) {
  std::vector<unsigned char> raw(n_bytes);
  random_bytes(raw.data(), raw.size());
  return to_hex(raw.data(), raw.size());
}

}  // namespace relay::crypto
