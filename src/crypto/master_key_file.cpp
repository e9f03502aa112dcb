#include "crypto/master_key_file.hpp"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <stdexcept>

namespace relay::crypto {
namespace {

std::string errno_text() {
  return std::strerror(errno);
}

void fsync_parent_dir(const std::string& path) {
  std::string dir = std::filesystem::path(path).parent_path().string();
  if (dir.empty()) dir = ".";
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) throw std::runtime_error("cannot open directory " + dir + ": " + errno_text());
  const bool ok = ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) throw std::runtime_error("cannot flush directory " + dir + ": " + errno_text());
}

}  // namespace

std::string master_key_path(const std::string& data_dir, const std::string& key_file_or_empty) {
  return key_file_or_empty.empty() ? data_dir + "/master.key" : key_file_or_empty;
}

SecretBox master_key_from_text(std::string_view text, std::string_view source) {
  auto key = parse_key_text(text);
  if (!key)
    throw std::runtime_error(std::string(source) +
                             " must hold 64 hex characters or the base64 of 32 bytes");
  SecretBox box(*key);
  OPENSSL_cleanse(key->data(), key->size());
  return box;
}

std::string read_key_file_text(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw std::runtime_error("cannot open master key file " + path + ": " + errno_text());
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    throw std::runtime_error("master key file " + path + " is not a regular file");
  }
  if (st.st_mode & 077) {
    ::close(fd);
    throw std::runtime_error("master key file " + path +
                             " is readable by group or others; run: chmod 600 " + path);
  }
  std::string text(256, '\0');
  const ssize_t n = ::read(fd, text.data(), text.size());
  const int saved = errno;
  ::close(fd);
  if (n < 0)
    throw std::runtime_error("cannot read master key file " + path + ": " + std::strerror(saved));
  text.resize(static_cast<std::size_t>(n));
  return text;
}

SecretBox read_master_key_file(const std::string& path) {
  std::string text = read_key_file_text(path);
  try {
    SecretBox box = master_key_from_text(text, "master key file " + path);
    OPENSSL_cleanse(text.data(), text.size());
    return box;
  } catch (...) {
    OPENSSL_cleanse(text.data(), text.size());
    throw;
  }
}

std::string generate_master_key_text() {
  unsigned char raw[SecretBox::kKeySize];
  if (RAND_bytes(raw, sizeof raw) != 1) throw std::runtime_error("RAND_bytes failed");
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string text;
  for (unsigned char b : raw) {
    text.push_back(kDigits[b >> 4]);
    text.push_back(kDigits[b & 15]);
  }
  text.push_back('\n');
  OPENSSL_cleanse(raw, sizeof raw);
  return text;
}

void write_key_file_exclusive(const std::string& path, std::string_view text) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) throw std::runtime_error("cannot create key file " + path + ": " + errno_text());
  const bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
                  ::fsync(fd) == 0;
  const int saved = errno;
  ::close(fd);
  if (!ok) {
    ::unlink(path.c_str());
    throw std::runtime_error("cannot write key file " + path + ": " + std::strerror(saved));
  }
  fsync_parent_dir(path);
}

void rename_key_file(const std::string& from, const std::string& to) {
  if (std::rename(from.c_str(), to.c_str()) != 0)
    throw std::runtime_error("cannot rename " + from + " to " + to + ": " + errno_text());
  fsync_parent_dir(to);
}

}  // namespace relay::crypto
