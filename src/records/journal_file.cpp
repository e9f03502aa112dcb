#include "records/journal_file.hpp"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <ctime>
#include <stdexcept>

namespace relay::records::journal {
namespace {

constexpr std::string_view kHeaderPrefix = R"({"usage_journal":1,"base":)";

[[noreturn]] void fail(const std::string& what, const std::string& path) {
  throw std::runtime_error("cannot " + what + " " + path + ": " + std::strerror(errno));
}

void fsync_dir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  if (::fsync(fd) != 0) spdlog::warn("usage journal: fsync {}: {}", dir, std::strerror(errno));
  ::close(fd);
}

// The header's base, or -1 when the file does not start with a valid header.
std::int64_t read_header(int fd, std::int64_t& header_len) {
  std::string buf(64, '\0');
  ssize_t n = ::pread(fd, buf.data(), buf.size(), 0);
  if (n <= 0) return -1;
  buf.resize(static_cast<std::size_t>(n));
  const std::size_t nl = buf.find('\n');
  if (nl == std::string::npos || !buf.starts_with(kHeaderPrefix) || buf[nl - 1] != '}') return -1;
  std::int64_t base = -1;
  const char* first = buf.data() + kHeaderPrefix.size();
  const char* last = buf.data() + nl - 1;
  auto [p, ec] = std::from_chars(first, last, base);
  if (ec != std::errc() || p != last || base < 0) return -1;
  header_len = static_cast<std::int64_t>(nl + 1);
  return base;
}

}  // namespace

File::~File() {
  ::close(fd);
}

std::int64_t File::end() const {
  struct stat st {};
  if (::fstat(fd, &st) != 0) fail("stat", "the journal");
  return base + st.st_size - header;
}

std::shared_ptr<File> open_existing(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDWR | O_APPEND | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT) return nullptr;
  if (fd < 0) fail("open", path);
  std::int64_t header = 0;
  const std::int64_t base = read_header(fd, header);
  if (base >= 0) return std::make_shared<File>(fd, base, header);
  // Not ours, or cut short while it was being created: keep it for a human, start afresh.
  ::close(fd);
  const std::string aside = path + ".bad-" + std::to_string(::time(nullptr));
  spdlog::warn("usage journal: {} has no valid header; moved to {}", path, aside);
  if (::rename(path.c_str(), aside.c_str()) != 0) fail("rename", path);
  return nullptr;
}

std::shared_ptr<File> create(const std::string& path, const std::string& dir, std::int64_t base,
                             bool install_it) {
  const std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_RDWR | O_APPEND | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) fail("create", tmp);
  const std::string header = std::string(kHeaderPrefix) + std::to_string(base) + "}\n";
  auto file = std::make_shared<File>(fd, base, static_cast<std::int64_t>(header.size()));
  if (!write_all(fd, header) || ::fdatasync(fd) != 0) fail("write", tmp);
  if (install_it) install(path, dir);
  return file;
}

void install(const std::string& path, const std::string& dir) {
  const std::string tmp = path + ".tmp";
  if (::rename(tmp.c_str(), path.c_str()) != 0) fail("rename", tmp);
  fsync_dir(dir);
}

bool write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

bool read_at(int fd, std::int64_t at, std::string& buf) {
  std::size_t got = 0;
  while (got < buf.size()) {
    ssize_t n = ::pread(fd, buf.data() + got, buf.size() - got,
                        static_cast<off_t>(at + static_cast<std::int64_t>(got)));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    got += static_cast<std::size_t>(n);
  }
  return true;
}

}  // namespace relay::records::journal
