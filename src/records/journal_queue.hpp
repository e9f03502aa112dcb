#pragma once
// JournalQueue: the EventQueue (docs/records.md, "Write path"). push() appends one line to
// <data_dir>/journal/usage.journal; a sync thread fdatasync()s it about every 50 ms; a consumer
// thread reads the new whole lines and delivers them to a JournalSink in batches (embedded: the
// UsageStore; cluster: RedisStreamSink), storing how far it has read in the same transaction.
//
// Offsets are logical: the byte count of every line ever appended, across rotations. The file
// starts with a header line naming the logical offset of its first line ({"usage_journal":1,
// "base":N}); the sink keeps the logical offset consumed so far. So rotation needs no sink
// write: once everything is consumed and the file is over rotate_bytes, the consumer writes a
// new file whose base is that offset, and renames it over the old one. Whichever of the two a
// crash leaves, it agrees with the sink's offset.
//
// The consumer takes the records this process pushed from memory (the held records), not by
// reading their lines back and decoding them: the file is the durable copy, read only for what
// memory does not hold in order from the consumer's offset (lines an earlier run left, records
// pushed while the held records were at their limit, a batch whose delivery failed).
//
// At start: a journal ending before the sink's offset lost its unsynced tail to a power loss
// (its records are in the sink already) and is replaced by a new one at that offset; a last
// line without its newline (a write cut short by the crash) gets one, and is then skipped as a
// line that does not decode, so the next record does not join it. A sink that cannot be read at
// start (Redis down) does not stop the queue: the consumer reads the offset once the sink
// answers, and takes every line appended since the start as new, whatever the offset says.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>

#include "records/event_queue.hpp"
#include "records/journal_file.hpp"
#include "records/journal_sink.hpp"

namespace relay::records {

struct JournalOptions {
  // The journal's name: its files are journal/<name>.journal and journal/<name>.lock, and the
  // sink keeps its offset under it. Processes sharing a data dir each take their own name.
  std::string name = "usage";
  std::chrono::milliseconds sync_interval{50};
  std::chrono::milliseconds consume_interval{50};
  std::size_t batch_size = 500;                        // records per transaction
  std::int64_t rotate_bytes = std::int64_t{64} << 20;  // file size that triggers a rotation
  std::size_t held_records = 8192;  // records kept in memory for the consumer, at most
};

struct JournalStats {
  std::uint64_t pushed = 0;         // lines appended since start
  std::uint64_t push_failures = 0;  // records lost to a failed write
  std::uint64_t delivered = 0;      // records committed to the sink since start
  std::uint64_t skipped = 0;        // lines that did not decode
  std::uint64_t read_back = 0;      // records delivered from the file rather than from memory
  std::uint64_t rotations = 0;
  std::int64_t pending_bytes = 0;  // appended but not yet consumed
};

// Another JournalQueue (in this process or another) holds the journal's lock.
class JournalBusy : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class JournalQueue final : public EventQueue {
 public:
  // Opens (creating if needed, mode 0700/0600) the journal, reconciles it with the sink's
  // offset and starts the two threads; the consumer begins with whatever an earlier run left
  // unconsumed. Throws JournalBusy when another JournalQueue (in this process or another) has
  // it open, std::runtime_error when it cannot be opened or created. The sink is used by the
  // constructor, then by the consumer thread only, and must outlive the queue.
  JournalQueue(const std::string& data_dir, JournalSink& sink, const JournalOptions& opts = {});
  ~JournalQueue() override;  // stop()
  JournalQueue(const JournalQueue&) = delete;
  JournalQueue& operator=(const JournalQueue&) = delete;

  void push(const UsageRecord& record) override;
  // Syncs, then consumes until everything pushed before it is in the sink, or until three
  // rounds in a row make no progress (the sink failing): the rest waits for the next start.
  void stop() override;

  JournalStats stats() const;
  static std::string path_in(const std::string& data_dir, std::string_view name = "usage");

 private:
  struct Batch;
  struct Held {
    std::int64_t start = 0;  // logical offsets of the record's line
    std::int64_t end = 0;
    UsageRecord record;
  };

  void open_journal();
  void sync_loop();
  void consume_loop();
  void sync_now();
  bool reconcile();  // true once the sink's offset is known
  bool consume();    // true when it committed anything
  Batch parse(std::string_view buf, std::size_t from, bool whole_chunk) const;
  bool take_held(Batch& b, std::int64_t& offset);
  bool deliver(const Batch& b, std::int64_t offset, bool from_file);
  void maybe_rotate();

  std::string dir_;
  std::string path_;
  int lock_fd_ = -1;  // flock'd for the queue's life: one consumer per journal
  JournalSink& sink_;
  JournalOptions opts_;

  mutable std::mutex mu_;  // every write, and the three below
  std::shared_ptr<journal::File> file_;
  std::int64_t end_ = 0;   // logical offset after the last whole line
  bool dirty_ = false;     // written since the last fdatasync
  std::deque<Held> held_;  // in offset order, not always contiguous

  std::int64_t consumed_ = 0;    // consumer thread only (and the constructor), as the four below
  bool skipping_ = false;        // inside a line longer than a read
  bool reconciled_ = true;       // false while the sink's offset is unknown
  std::int64_t opened_end_ = 0;  // end_ when the journal was opened
  std::uint64_t failures_in_a_row_ = 0;
  std::atomic<std::int64_t> consumed_seen_{0};
  std::atomic<std::uint64_t> pushed_{0}, push_failures_{0}, delivered_{0}, skipped_{0},
      read_back_{0}, rotations_{0};

  std::mutex wake_mu_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::once_flag stopped_;
  std::thread syncer_;
  std::thread consumer_;
};

}  // namespace relay::records
