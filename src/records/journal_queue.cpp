#include "records/journal_queue.hpp"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <utility>
#include <vector>

namespace relay::records {
namespace {

// One read; a line longer than this (encode writes under 20 KiB) is skipped whole.
constexpr std::int64_t kChunk = std::int64_t{1} << 20;

// Logs the 1st, 2nd, 4th, 8th… occurrence only, so a full disk cannot flood the log.
bool worth_logging(std::uint64_t count) {
  return (count & (count - 1)) == 0;
}

}  // namespace

struct JournalQueue::Batch {
  std::vector<UsageRecord> records;
  std::size_t next = 0;  // index in the buffer after the last line taken
  bool skipping = false;
  std::uint64_t bad = 0;
};

JournalQueue::JournalQueue(const std::string& data_dir, JournalSink& sink,
                           const JournalOptions& opts)
    : dir_(data_dir + "/journal"), path_(path_in(data_dir, opts.name)), sink_(sink), opts_(opts) {
  opts_.batch_size = std::max<std::size_t>(opts_.batch_size, 1);  // 0 would never progress
  std::error_code ec;
  std::filesystem::create_directories(data_dir, ec);  // a failure resurfaces from mkdir
  if (::mkdir(dir_.c_str(), 0700) != 0 && errno != EEXIST)
    throw std::runtime_error("cannot create " + dir_ + ": " + std::strerror(errno));
  // Two processes consuming one journal would store its records twice.
  const std::string lock = dir_ + "/" + opts_.name + ".lock";
  lock_fd_ = ::open(lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lock_fd_ < 0 || ::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    if (lock_fd_ >= 0) ::close(lock_fd_);
    if (err == EWOULDBLOCK) throw JournalBusy(path_ + " is in use by another codex-relay process");
    throw std::runtime_error("cannot lock " + lock + ": " + std::strerror(err));
  }
  try {
    open_journal();
  } catch (...) {
    ::close(lock_fd_);
    throw;
  }
  syncer_ = std::thread([this] { sync_loop(); });
  consumer_ = std::thread([this] { consume_loop(); });
}

JournalQueue::~JournalQueue() {
  stop();
  ::close(lock_fd_);  // after the threads: no other process may consume until they are gone
}

std::string JournalQueue::path_in(const std::string& data_dir, std::string_view name) {
  return data_dir + "/journal/" + std::string(name) + ".journal";
}

void JournalQueue::open_journal() {
  std::int64_t stored = 0;
  try {
    stored = sink_.journal_offset(opts_.name);
  } catch (const std::exception& e) {
    // push() must work while the sink is down (Redis in a cluster): reconcile() finishes this.
    spdlog::warn("usage journal: cannot read how far {} was delivered (records wait in it): {}",
                 opts_.name, e.what());
    reconciled_ = false;
  }
  file_ = journal::open_existing(path_);
  if (!file_) file_ = journal::create(path_, dir_, stored, true);
  end_ = file_->end();
  if (!reconciled_) {
    consumed_ = file_->base;
  } else if (stored > end_) {
    spdlog::warn(
        "usage journal: ends at offset {} but the sink has consumed up to {} (a power loss "
        "took its unsynced tail; those records are in the sink); starting a new journal",
        end_, stored);
    file_ = journal::create(path_, dir_, stored, true);
    end_ = stored;
  } else if (stored < file_->base) {
    spdlog::warn(
        "usage journal: starts at offset {} but the sink has consumed only {}; the records in "
        "between are lost",
        file_->base, stored);
  }
  if (reconciled_) consumed_ = std::max(stored, file_->base);
  consumed_seen_ = consumed_;
  std::string last(1, '\n');
  if (end_ > file_->base && journal::read_at(file_->fd, file_->physical(end_) - 1, last) &&
      last[0] != '\n') {
    spdlog::warn("usage journal: the last line was cut short by a crash; skipping it");
    if (!journal::write_all(file_->fd, "\n"))
      throw std::runtime_error("cannot write " + path_ + ": " + std::strerror(errno));
    ++end_;
  }
  opened_end_ = end_;
}

// The sink could not be read at start. What it has consumed of the lines that were here then
// is skipped; whatever was appended since is new, even when the sink's offset is past it (a
// power loss took the file's tail, or the file is new): those lines are delivered, and their
// offsets replace the sink's, which from then on describes this file again.
bool JournalQueue::reconcile() {
  if (reconciled_) return true;
  std::int64_t stored = 0;
  try {
    stored = sink_.journal_offset(opts_.name);
  } catch (const std::exception& e) {
    if (worth_logging(++failures_in_a_row_))
      spdlog::warn("usage journal: cannot read how far {} was delivered (will retry): {}",
                   opts_.name, e.what());
    return false;
  }
  std::int64_t base = 0;
  {
    std::lock_guard lk(mu_);
    base = file_->base;
  }
  if (stored > opened_end_)
    spdlog::warn(
        "usage journal: ends at offset {} but the sink has consumed up to {}; delivering what "
        "was appended since the start from offset {}",
        opened_end_, stored, opened_end_);
  else if (stored < base)
    spdlog::warn(
        "usage journal: starts at offset {} but the sink has consumed only {}; the records in "
        "between are lost",
        base, stored);
  consumed_ = std::clamp(stored, base, opened_end_);
  consumed_seen_ = consumed_;
  reconciled_ = true;
  return true;
}

void JournalQueue::push(const UsageRecord& record) {
  int err = 0;
  try {
    std::string line = encode(record);
    line += '\n';
    UsageRecord held = normalized(record);  // what the consumer would decode from the line
    std::lock_guard lk(mu_);
    if (journal::write_all(file_->fd, line)) {
      const std::int64_t start = end_;
      end_ += static_cast<std::int64_t>(line.size());
      dirty_ = true;
      ++pushed_;
      // Past the limit (a sink slow or down) the record is read back from the file instead.
      if (held_.size() < opts_.held_records) held_.push_back({start, end_, std::move(held)});
      return;
    }
    err = errno;
    // Cut off whatever part did get written, so the next record starts on a line of its own.
    if (::ftruncate(file_->fd, file_->physical(end_)) != 0) {
      // Nothing more to do: at worst the fragment joins the next line and both are skipped.
    }
  } catch (const std::exception&) {
    err = ENOMEM;  // the only thing encode can throw
  }
  if (worth_logging(++push_failures_))
    spdlog::error("usage journal: cannot append to {}: {} ({} record(s) lost so far)", path_,
                  std::strerror(err), push_failures_.load());
}

void JournalQueue::stop() {
  std::call_once(stopped_, [this] {
    {
      std::lock_guard lk(wake_mu_);
      stopping_ = true;
    }
    wake_.notify_all();
    syncer_.join();
    consumer_.join();
  });
}

JournalStats JournalQueue::stats() const {
  JournalStats s;
  s.pushed = pushed_;
  s.push_failures = push_failures_;
  s.delivered = delivered_;
  s.skipped = skipped_;
  s.read_back = read_back_;
  s.rotations = rotations_;
  std::lock_guard lk(mu_);
  s.pending_bytes = end_ - consumed_seen_;
  return s;
}

void JournalQueue::sync_loop() {
  std::unique_lock lk(wake_mu_);
  while (!stopping_) {
    wake_.wait_for(lk, opts_.sync_interval, [this] { return stopping_; });
    lk.unlock();
    sync_now();
    lk.lock();
  }
}

void JournalQueue::sync_now() {
  std::shared_ptr<journal::File> file;  // kept alive past a rotation while it syncs
  {
    std::lock_guard lk(mu_);
    if (!dirty_) return;
    dirty_ = false;
    file = file_;
  }
  if (::fdatasync(file->fd) != 0)
    spdlog::warn("usage journal: fdatasync {}: {}", path_, std::strerror(errno));
}

void JournalQueue::consume_loop() {
  std::unique_lock lk(wake_mu_);
  while (!stopping_) {
    wake_.wait_for(lk, opts_.consume_interval, [this] { return stopping_; });
    lk.unlock();
    consume();
    maybe_rotate();
    lk.lock();
  }
  lk.unlock();
  // Drain: whatever was pushed before stop(). A failing sink gets three tries.
  for (int idle = 0; idle < 3;) {
    {
      std::lock_guard flk(mu_);
      if (consumed_ >= end_) return;
    }
    if (!consume()) {
      ++idle;
      std::this_thread::sleep_for(opts_.consume_interval);
    }
  }
  spdlog::warn("usage journal: stopped with {} byte(s) unconsumed; the next start replays them",
               stats().pending_bytes);
}

// Takes whole lines from buf[from..]: at most batch_size records. whole_chunk: buf is a full
// read, so a piece of it without a newline is part of an over-long line, not a line in flight.
JournalQueue::Batch JournalQueue::parse(std::string_view buf, std::size_t from,
                                        bool whole_chunk) const {
  Batch b;
  b.skipping = skipping_;
  std::size_t i = from;
  while (b.records.size() < opts_.batch_size) {
    const std::size_t nl = buf.find('\n', i);
    if (nl == std::string_view::npos) {
      if (i == 0 && whole_chunk) {
        b.skipping = true;  // no newline in a whole read: skip it all, count it at its end
        i = buf.size();
      }
      break;
    }
    if (b.skipping) {
      b.skipping = false;
      ++b.bad;
    } else if (auto r = decode(buf.substr(i, nl - i))) {
      b.records.push_back(std::move(*r));
    } else {
      ++b.bad;
    }
    i = nl + 1;
  }
  b.next = i;
  return b;
}

// The held records that continue from consumed_, at most a batch of them; false when the next
// line to consume is not held. Records already consumed from the file are dropped here.
bool JournalQueue::take_held(Batch& b, std::int64_t& offset) {
  std::lock_guard lk(mu_);
  while (!held_.empty() && held_.front().end <= consumed_) held_.pop_front();
  if (skipping_ || held_.empty() || held_.front().start != consumed_) return false;
  offset = consumed_;
  while (!held_.empty() && held_.front().start == offset && b.records.size() < opts_.batch_size) {
    b.records.push_back(std::move(held_.front().record));
    offset = held_.front().end;
    held_.pop_front();
  }
  b.skipping = false;
  return true;
}

// One transaction: the records and the offset after them. A failure leaves consumed_ where it
// was; records taken from memory are then read back from the file. The counters move before
// `delivered_`, so that whoever sees a delivery counted sees the rest of its figures too.
bool JournalQueue::deliver(const Batch& b, std::int64_t offset, bool from_file) {
  try {
    sink_.append(b.records, opts_.name, offset);
  } catch (const std::exception& e) {
    // Logged at the 1st, 2nd, 4th… failure in a row: a sink down for an hour is one line a
    // few minutes, not twenty a second.
    if (worth_logging(++failures_in_a_row_))
      spdlog::warn("usage journal: cannot deliver records (will retry): {}", e.what());
    return false;
  }
  if (failures_in_a_row_ > 0)
    spdlog::info("usage journal: delivering again after {} failed attempt(s)",
                 std::exchange(failures_in_a_row_, 0));
  consumed_ = offset;
  consumed_seen_ = offset;
  skipping_ = b.skipping;
  if (from_file) read_back_ += b.records.size();
  skipped_ += b.bad;
  delivered_ += b.records.size();
  if (b.bad)
    spdlog::warn("usage journal: skipped {} line(s) that do not decode, before offset {}", b.bad,
                 offset);
  return true;
}

bool JournalQueue::consume() {
  if (!reconcile()) return false;
  bool progressed = false;
  std::string buf;
  for (;;) {
    Batch held;
    std::int64_t held_end = 0;
    if (take_held(held, held_end)) {
      if (!deliver(held, held_end, false)) return progressed;
      progressed = true;
      continue;
    }
    std::shared_ptr<journal::File> file;
    std::int64_t end = 0;
    {
      std::lock_guard lk(mu_);
      file = file_;
      end = end_;
      // Read the file only up to where memory takes over again.
      if (!held_.empty() && held_.front().start > consumed_) end = held_.front().start;
    }
    if (consumed_ >= end) return progressed;
    buf.resize(static_cast<std::size_t>(std::min(end - consumed_, kChunk)));
    if (!journal::read_at(file->fd, file->physical(consumed_), buf)) {
      spdlog::warn("usage journal: cannot read {}: {}", path_, std::strerror(errno));
      return progressed;
    }
    const bool whole_chunk = static_cast<std::int64_t>(buf.size()) == kChunk;
    std::size_t i = 0;
    while (i < buf.size()) {
      Batch b = parse(buf, i, whole_chunk);
      if (b.next == i) break;  // no whole line left in this read
      const std::int64_t offset = consumed_ + static_cast<std::int64_t>(b.next - i);
      if (!deliver(b, offset, true)) return progressed;
      i = b.next;
      progressed = true;
    }
    if (i == 0) return progressed;  // a line not whole yet: only an external writer does that
  }
}

void JournalQueue::maybe_rotate() {
  std::int64_t end = 0;
  {
    std::lock_guard lk(mu_);
    if (!reconciled_ || consumed_ != end_ || file_->physical(end_) < opts_.rotate_bytes) return;
    end = end_;
  }
  try {
    // Written and synced outside the lock; only the rename happens under it, and only if no
    // push came in meanwhile (otherwise the next round tries again).
    std::shared_ptr<journal::File> fresh = journal::create(path_, dir_, end, false);
    std::lock_guard lk(mu_);
    if (end_ != end) return;
    journal::install(path_, dir_);  // syncs the directory before any push lands in the new file
    file_ = std::move(fresh);
    ++rotations_;
  } catch (const std::exception& e) {
    spdlog::warn("usage journal: rotation failed (the journal keeps growing): {}", e.what());
  }
}

}  // namespace relay::records
