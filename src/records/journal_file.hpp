#pragma once
// The journal file and its I/O, for JournalQueue (docs/records.md). A journal is a header line,
// {"usage_journal":1,"base":N}, then one record per line. Offsets outside this file are
// logical (every record line ever appended, across rotations); N is the logical offset of the
// file's first record line, and physical() maps a logical offset into the file.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace relay::records::journal {

struct File {
  int fd = -1;  // O_RDWR | O_APPEND: pushes append, the consumer preads
  std::int64_t base = 0;
  std::int64_t header = 0;  // bytes of the header line
  File(int f, std::int64_t b, std::int64_t h) : fd(f), base(b), header(h) {}
  ~File();
  File(const File&) = delete;
  File& operator=(const File&) = delete;
  std::int64_t physical(std::int64_t logical) const { return logical - base + header; }
  std::int64_t end() const;  // logical offset after the file's last byte; throws on error
};

// Opens the journal at path; nullptr when there is none. A file that does not start with a
// valid header (not ours, or damaged) is renamed to path.bad-<unix time>, with a warning, and
// nullptr returned. Throws std::runtime_error on I/O errors.
std::shared_ptr<File> open_existing(const std::string& path);

// Writes path.tmp holding only a header for base, and syncs it. With install, also renames it
// over path and syncs dir, so the rename survives a power loss. Throws std::runtime_error.
std::shared_ptr<File> create(const std::string& path, const std::string& dir, std::int64_t base,
                             bool install);
// The rename half of create(..., false), for a rotation that decides late. Throws.
void install(const std::string& path, const std::string& dir);

// write() until done (EINTR and short writes retried); false on error, errno set.
bool write_all(int fd, std::string_view data);
// pread() buf.size() bytes at a physical offset; false on error or end of file.
bool read_at(int fd, std::int64_t at, std::string& buf);

}  // namespace relay::records::journal
