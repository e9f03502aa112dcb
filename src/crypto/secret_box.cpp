#include "crypto/secret_box.hpp"

#include "crypto/master_key_file.hpp"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <stdexcept>

namespace relay::crypto {
namespace {

using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)>;

CipherCtx new_ctx() {
  CipherCtx ctx(EVP_CIPHER_CTX_new(), &EVP_CIPHER_CTX_free);
  if (!ctx) throw std::runtime_error("EVP_CIPHER_CTX_new failed");
  return ctx;
}

const unsigned char* bytes(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}
unsigned char* bytes(std::string& s) {
  return reinterpret_cast<unsigned char*>(s.data());
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

int b64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+' || c == '-') return 62;
  if (c == '/' || c == '_') return 63;
  return -1;
}

std::string_view trim(std::string_view s) {
  const char* ws = " \t\r\n";
  auto b = s.find_first_not_of(ws);
  if (b == std::string_view::npos) return {};
  return s.substr(b, s.find_last_not_of(ws) - b + 1);
}

std::string errno_text() {
  return std::strerror(errno);
}

// Writes a fresh key to a private temp file and link()s it into place, so a concurrent
// first run never reads a half-written key: link() fails with EEXIST if another won.
void create_key_file(const std::string& path) {
  std::string text = generate_master_key_text();

  std::string tmp = path + ".tmp." + std::to_string(::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0)
    throw std::runtime_error("cannot create master key file " + tmp + ": " + errno_text());
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
            ::fsync(fd) == 0;
  ::close(fd);
  OPENSSL_cleanse(text.data(), text.size());
  if (!ok) {
    ::unlink(tmp.c_str());
    throw std::runtime_error("cannot write master key file " + tmp + ": " + errno_text());
  }
  int rc = ::link(tmp.c_str(), path.c_str());
  int link_errno = errno;
  ::unlink(tmp.c_str());
  if (rc != 0 && link_errno != EEXIST)
    throw std::runtime_error("cannot create master key file " + path + ": " +
                             std::strerror(link_errno));
}

}  // namespace

SecretBox::SecretBox(std::string_view key) {
  if (key.size() != kKeySize) throw std::invalid_argument("SecretBox key must be 32 bytes");
  std::memcpy(key_.data(), key.data(), kKeySize);
}

SecretBox::~SecretBox() {
  OPENSSL_cleanse(key_.data(), key_.size());
}

std::string SecretBox::seal(std::string_view plaintext, std::string_view aad) const {
  if (plaintext.size() > INT_MAX - kOverhead || aad.size() > INT_MAX)
    throw std::invalid_argument("SecretBox::seal: input too large");
  std::string out(kOverhead + plaintext.size(), '\0');
  out[0] = static_cast<char>(kVersion);
  unsigned char* nonce = bytes(out) + 1;
  unsigned char* ct = nonce + kNonceSize;
  if (RAND_bytes(nonce, kNonceSize) != 1) throw std::runtime_error("RAND_bytes failed");

  auto ctx = new_ctx();
  int len = 0;
  // The version byte is authenticated too, so it cannot be swapped to reinterpret the rest.
  bool ok =
      EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key_.data(), nonce) == 1 &&
      EVP_EncryptUpdate(ctx.get(), nullptr, &len, bytes(out), 1) == 1 &&
      (aad.empty() || EVP_EncryptUpdate(ctx.get(), nullptr, &len, bytes(aad),
                                        static_cast<int>(aad.size())) == 1) &&
      (plaintext.empty() || EVP_EncryptUpdate(ctx.get(), ct, &len, bytes(plaintext),
                                              static_cast<int>(plaintext.size())) == 1) &&
      EVP_EncryptFinal_ex(ctx.get(), ct + plaintext.size(), &len) == 1 &&
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kTagSize, ct + plaintext.size()) == 1;
  if (!ok) throw std::runtime_error("AES-256-GCM encryption failed");
  return out;
}

std::optional<std::string> SecretBox::open(std::string_view sealed, std::string_view aad) const {
  if (sealed.size() < kOverhead || sealed.size() > INT_MAX || aad.size() > INT_MAX ||
      static_cast<unsigned char>(sealed[0]) != kVersion)
    return std::nullopt;
  const unsigned char* nonce = bytes(sealed) + 1;
  const unsigned char* ct = nonce + kNonceSize;
  const std::size_t ct_len = sealed.size() - kOverhead;
  std::string tag(sealed.substr(sealed.size() - kTagSize));
  std::string out(ct_len, '\0');

  auto ctx = new_ctx();
  int len = 0;
  bool ok = EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key_.data(), nonce) == 1 &&
            EVP_DecryptUpdate(ctx.get(), nullptr, &len, bytes(sealed), 1) == 1 &&
            (aad.empty() || EVP_DecryptUpdate(ctx.get(), nullptr, &len, bytes(aad),
                                              static_cast<int>(aad.size())) == 1) &&
            (ct_len == 0 ||
             EVP_DecryptUpdate(ctx.get(), bytes(out), &len, ct, static_cast<int>(ct_len)) == 1) &&
            EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kTagSize, tag.data()) == 1 &&
            EVP_DecryptFinal_ex(ctx.get(), bytes(out) + ct_len, &len) == 1;
  if (!ok) {
    OPENSSL_cleanse(out.data(), out.size());
    return std::nullopt;
  }
  return out;
}

std::optional<std::string> parse_key_text(std::string_view text) {
  text = trim(text);
  std::string key;
  if (text.size() == 2 * SecretBox::kKeySize) {
    for (std::size_t i = 0; i < text.size(); i += 2) {
      int hi = hex_value(text[i]), lo = hex_value(text[i + 1]);
      if (hi < 0 || lo < 0) {
        key.clear();
        break;
      }
      key.push_back(static_cast<char>(hi << 4 | lo));
    }
    if (key.size() == SecretBox::kKeySize) return key;
  }
  while (!text.empty() && text.back() == '=') text.remove_suffix(1);
  unsigned buf = 0;
  int bits = 0;
  for (char c : text) {
    int v = b64_value(c);
    if (v < 0) return std::nullopt;
    buf = (buf << 6) | static_cast<unsigned>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      key.push_back(static_cast<char>((buf >> bits) & 0xff));
    }
  }
  if (key.size() != SecretBox::kKeySize) {
    OPENSSL_cleanse(key.data(), key.size());
    return std::nullopt;
  }
  return key;
}

SecretBox load_master_key(const std::string& data_dir, const std::string& key_file_or_empty) {
  if (const char* env = std::getenv("CODEX_RELAY_MASTER_KEY")) {
    auto key = parse_key_text(env);
    if (!key)
      throw std::runtime_error(
          "CODEX_RELAY_MASTER_KEY must be 64 hex characters or the base64 of 32 bytes");
    SecretBox box(*key);
    OPENSSL_cleanse(key->data(), key->size());
    return box;
  }
  const std::string path = key_file_or_empty.empty() ? data_dir + "/master.key" : key_file_or_empty;
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    if (errno != ENOENT)
      throw std::runtime_error("cannot access master key file " + path + ": " + errno_text());
    create_key_file(path);
  }
  return read_master_key_file(path);
}

}  // namespace relay::crypto
