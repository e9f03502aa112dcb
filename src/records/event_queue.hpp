#pragma once
// EventQueue: how the relay hands over one metadata record per request at settle (issue 6,
// docs/records.md). Implementation: JournalQueue, a local append-only journal consumed into the
// UsageStore (embedded) or into a Redis stream that StreamConsumer moves into PostgreSQL
// (cluster, RedisStreamSink).
//
// Durability contract, what a caller may rely on once push() has returned:
// - push() never waits on a database, a network or an fsync: it appends the record to the
//   queue's local log with one write() on the caller's thread (microseconds), and never throws.
// - The record then survives the process dying at any moment (kill -9, a crash): it is in the
//   kernel's page cache, and the next start delivers it to the UsageStore.
// - It survives a power loss or kernel crash once the queue's periodic flush (about every
//   50 ms) has run: a power loss loses at most the records pushed in that last interval.
// - Each record that is delivered reaches the UsageStore exactly once, across any number of
//   crashes and restarts (in a cluster: at least once, and the store counts it once).
// - A push that cannot be written (disk full, I/O error) is counted and logged, and the record
//   is lost; the caller is not told, because the request it describes has already been served.
#include "records/usage_record.hpp"

namespace relay::records {

class EventQueue {
 public:
  virtual ~EventQueue() = default;
  // Thread-safe; any number of threads may push at once.
  virtual void push(const UsageRecord& record) = 0;
  // Flushes and delivers everything pushed so far, then stops the background work; returns
  // when done (or when the store keeps failing, leaving the rest for the next start).
  // Idempotent.
  virtual void stop() = 0;
};

}  // namespace relay::records
