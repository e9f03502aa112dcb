#pragma once
// JournalSink: where a JournalQueue delivers its lines (docs/records.md, "The write path"). The
// embedded sink is the UsageStore itself; in a cluster it is RedisStreamSink, which forwards the
// lines to a Redis stream that StreamConsumer moves into PostgreSQL.
#include <cstdint>
#include <string_view>
#include <vector>

#include "records/usage_record.hpp"

namespace relay::records {

class JournalSink {
 public:
  virtual ~JournalSink() = default;
  // Delivers the records and sets the named journal's consumed offset atomically: both happen
  // or neither does, so a journal that replays from the offset it reads back delivers each line
  // once (to this sink; what the sink does next is its own contract). records may be empty (the
  // offset moved past lines that did not decode). Each journal (one per process writing records
  // on a data dir) has its own offset. Throws when it cannot; the journal retries later.
  virtual void append(const std::vector<UsageRecord>& records, std::string_view journal,
                      std::int64_t journal_offset) = 0;
  // The offset the last append() set for that journal; 0 before the first. Throws when the
  // sink cannot be read.
  virtual std::int64_t journal_offset(std::string_view journal) = 0;
};

}  // namespace relay::records
