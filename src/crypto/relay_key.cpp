#include "crypto/relay_key.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <vector>

#include "crypto/id_random.hpp"

namespace relay::crypto {
namespace {

constexpr char kHex[] = "0123456789abcdef";
constexpr std::string_view kBase62 =
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
constexpr std::string_view kBase64Url =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

void append_hex(std::string& out, const unsigned char* p, std::size_t n) {
  const std::size_t at = out.size();
  out.resize(at + 2 * n);
  for (std::size_t i = 0; i < n; ++i) {
    out[at + 2 * i] = kHex[p[i] >> 4];
    out[at + 2 * i + 1] = kHex[p[i] & 15];
  }
}

void random_bytes(unsigned char* p, std::size_t n) {
  if (RAND_bytes(p, static_cast<int>(n)) != 1) throw std::runtime_error("RAND_bytes failed");
}

// Big-endian bytes as exactly `width` base62 digits (most significant first), by repeated
// division of the byte string. Fixed width keeps every token the same length.
std::string base62_fixed(std::vector<unsigned char> num, std::size_t width) {
  std::string out(width, kBase62[0]);
  for (std::size_t pos = width; pos-- > 0;) {
    unsigned rem = 0;
    for (unsigned char& byte : num) {
      const unsigned cur = (rem << 8) | byte;
      byte = static_cast<unsigned char>(cur / 62);
      rem = cur % 62;
    }
    out[pos] = kBase62[rem];
  }
  return out;
}

std::uint32_t crc32_of(std::string_view s) {
  return static_cast<std::uint32_t>(
      ::crc32(0L, reinterpret_cast<const Bytef*>(s.data()), static_cast<uInt>(s.size())));
}

// base62_fixed of the CRC's four bytes, in machine arithmetic: this runs for every request's
// key, the byte-string division only when a token is made.
std::array<char, kTokenChecksumChars> checksum_digits(std::string_view covered) {
  std::uint64_t v = crc32_of(covered);
  std::array<char, kTokenChecksumChars> out{};
  for (std::size_t pos = out.size(); pos-- > 0; v /= 62) out[pos] = kBase62[v % 62];
  return out;
}

bool is_base62(char c) {
  return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

bool all_in(std::string_view s, std::string_view alphabet) {
  return std::all_of(s.begin(), s.end(),
                     [&](char c) { return alphabet.find(c) != std::string_view::npos; });
}

}  // namespace

std::string generate_token(std::string_view prefix) {
  std::vector<unsigned char> raw(32);
  random_bytes(raw.data(), raw.size());
  std::string token(prefix);
  token += base62_fixed(raw, kTokenRandomChars);  // divides a copy down to zero
  OPENSSL_cleanse(raw.data(), raw.size());
  const auto check = checksum_digits(token);
  token.append(check.data(), check.size());
  return token;
}

bool token_well_formed(std::string_view token, std::string_view prefix) {
  if (token.size() != prefix.size() + kTokenBodyChars || !token.starts_with(prefix)) return false;
  const std::string_view body = token.substr(prefix.size());
  if (!std::all_of(body.begin(), body.end(), is_base62)) return false;
  const std::size_t covered = token.size() - kTokenChecksumChars;
  const auto check = checksum_digits(token.substr(0, covered));
  return std::string_view(check.data(), check.size()) == token.substr(covered);
}

std::string generate_relay_key() {
  return generate_token(kRelayKeyPrefix);
}

RelayKeyShape relay_key_shape(std::string_view key) {
  if (!key.starts_with(kRelayKeyPrefix)) return RelayKeyShape::kOther;
  if (key.size() == kRelayKeyPrefix.size() + kTokenBodyChars)
    return token_well_formed(key, kRelayKeyPrefix) ? RelayKeyShape::kChecksummed
                                                   : RelayKeyShape::kBadChecksum;
  if (key.size() == kLegacyRelayKeySize && all_in(key.substr(kRelayKeyPrefix.size()), kBase64Url))
    return RelayKeyShape::kLegacy;
  return RelayKeyShape::kOther;
}

std::string sha256_hex(std::string_view data) {
  // Fetched once: with EVP_sha256() OpenSSL 3 looks the algorithm up in its provider store
  // (locks and a hash lookup) on every digest, which cost more than hashing a key does.
  static EVP_MD* const kSha256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  // One context per thread, reset by each init: EVP_Digest allocates and frees one per call.
  struct CtxFree {
    void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
  };
  thread_local const std::unique_ptr<EVP_MD_CTX, CtxFree> ctx(EVP_MD_CTX_new());
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (kSha256 == nullptr || !ctx || EVP_DigestInit_ex2(ctx.get(), kSha256, nullptr) != 1 ||
      EVP_DigestUpdate(ctx.get(), data.data(), data.size()) != 1 ||
      EVP_DigestFinal_ex(ctx.get(), md, &len) != 1)
    throw std::runtime_error("SHA-256 failed");
  std::string out;
  out.reserve(std::size_t{2} * len);
  append_hex(out, md, len);
  return out;
}

std::string key_prefix(std::string_view key) {
  constexpr std::size_t kShown = 8;
  if (!key.starts_with(kRelayKeyPrefix) || key.size() < kRelayKeyPrefix.size() + kShown) return {};
  return std::string(key.substr(0, kRelayKeyPrefix.size() + kShown));
}

std::string random_hex(std::size_t n_bytes) {
  std::string out;
  out.reserve(2 * n_bytes);
  unsigned char chunk[32];
  while (n_bytes > 0) {
    const std::size_t take = std::min(n_bytes, sizeof chunk);
    id_random_bytes(chunk, take);
    append_hex(out, chunk, take);
    n_bytes -= take;
  }
  return out;
}

}  // namespace relay::crypto
