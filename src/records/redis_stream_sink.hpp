#pragma once
// RedisStreamSink: the cluster's JournalSink (docs/records.md, "Cluster: Redis Streams"). Each
// node's JournalQueue forwards its lines to the stream <prefix>records (one entry per record,
// its journal line in the field "r"), and keeps its offset in <prefix>journal:<node>:<journal>;
// StreamConsumer moves the entries into PostgreSQL.
//
// append() is one MULTI ... EXEC: the entries and the offset land together or not at all, so
// each journal line enters the stream once, unless Redis loses acknowledged writes (a failover,
// a restart without persistence): the journal then sends some again, and the store, idempotent
// per (request_id, start_ms), counts them once. Any failure throws, and the journal retries
// later: while Redis is down the records wait in the local journal.
//
// Not thread-safe: one JournalQueue's constructor and then its consumer thread.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "records/journal_sink.hpp"
#include "redis/blocking_client.hpp"

namespace relay::records {

class RedisStreamSink final : public JournalSink {
 public:
  // Connects in the background; nothing is sent before the first call.
  RedisStreamSink(redis::Endpoint endpoint, std::string key_prefix, std::string node,
                  redis::ConnectionOptions opts);

  // Throws redis::Unavailable, or std::runtime_error on an error reply.
  void append(const std::vector<UsageRecord>& records, std::string_view journal,
              std::int64_t journal_offset) override;
  std::int64_t journal_offset(std::string_view journal) override;

  // The stream all nodes forward to, and where a journal's offset is kept.
  static std::string stream_key(std::string_view key_prefix);
  std::string offset_key(std::string_view journal) const;

  // Entries per MULTI: a larger batch goes in several, only the last one moving the offset, so
  // a failure between them sends the earlier ones again (at-least-once, as above).
  static constexpr std::size_t kMaxPerTransaction = 500;

 private:
  redis::BlockingClient client_;
  std::string prefix_;
  std::string node_;
  std::string stream_;
};

}  // namespace relay::records
