#pragma once
// UsageStore: the metadata records (issue 6, docs/records.md), written by the EventQueue's
// consumer in batches and read by reports. Embedded backend: sqlite/; cluster: later. Records
// are not config: writing them never makes serve reload its snapshot.
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "records/usage_record.hpp"

namespace relay::store {

// Every member has an initializer, so callers may name only some: {.tenant = "a", .limit = 10}.
struct UsageFilter {
  std::string tenant = {};                                           // "" = every tenant
  std::int64_t since_ms = 0;                                         // start_ms >= since_ms
  std::int64_t until_ms = std::numeric_limits<std::int64_t>::max();  // start_ms < until_ms
  std::size_t limit = 1000;
};

class UsageStore {
 public:
  virtual ~UsageStore() = default;
  // Inserts the records and sets the journal's consumed offset, in one transaction: either both
  // happen or neither does, which is what makes the journal's delivery exactly once. records
  // may be empty (the offset moved past lines that did not decode). Throws StoreError.
  virtual void append(const std::vector<records::UsageRecord>& records,
                      std::int64_t journal_offset) = 0;
  // The offset the last append() stored; 0 before the first.
  virtual std::int64_t journal_offset() = 0;
  // Oldest first (by start_ms, then insertion order), at most filter.limit.
  virtual std::vector<records::UsageRecord> query(const UsageFilter& filter) = 0;
  // Deletes the records that started before cutoff_ms; returns how many.
  virtual std::int64_t delete_older_than(std::int64_t cutoff_ms) = 0;
};

}  // namespace relay::store
