#include "records/redis_stream_sink.hpp"

#include <algorithm>
#include <charconv>
#include <stdexcept>

namespace relay::records {
namespace {

using redis::Reply;

// EXEC runs every queued command even when one fails (Redis has no rollback), so an error
// inside it (the stream key holds another type) is reported too: the journal keeps the lines
// and retries them until someone fixes the key.
void check_exec(const std::vector<Reply>& replies, std::size_t queued) {
  for (const Reply& r : replies)
    if (r.is_error()) throw std::runtime_error("redis refused the usage records: " + r.str);
  const Reply& exec = replies.back();
  if (exec.type != Reply::Type::kArray || exec.elements.size() != queued)
    throw std::runtime_error("redis: unexpected reply to EXEC");
  for (const Reply& r : exec.elements)
    if (r.is_error()) throw std::runtime_error("redis refused a usage record: " + r.str);
}

}  // namespace

RedisStreamSink::RedisStreamSink(redis::Endpoint endpoint, std::string key_prefix, std::string node,
                                 redis::ConnectionOptions opts)
    : client_(std::move(endpoint), std::move(opts)),
      prefix_(std::move(key_prefix)),
      node_(std::move(node)),
      stream_(stream_key(prefix_)) {}

std::string RedisStreamSink::stream_key(std::string_view key_prefix) {
  return std::string(key_prefix) + "records";
}

std::string RedisStreamSink::offset_key(std::string_view journal) const {
  return prefix_ + "journal:" + node_ + ":" + std::string(journal);
}

void RedisStreamSink::append(const std::vector<UsageRecord>& records, std::string_view journal,
                             std::int64_t journal_offset) {
  std::size_t at = 0;
  do {
    const std::size_t n = std::min(kMaxPerTransaction, records.size() - at);
    const bool last = at + n == records.size();
    std::vector<std::vector<std::string>> cmds;
    cmds.reserve(n + 3);
    cmds.push_back({"MULTI"});
    for (std::size_t i = at; i < at + n; ++i)
      cmds.push_back({"XADD", stream_, "*", "r", encode(records[i])});
    if (last) cmds.push_back({"SET", offset_key(journal), std::to_string(journal_offset)});
    cmds.push_back({"EXEC"});
    check_exec(client_.pipeline(cmds), cmds.size() - 2);
    at += n;
  } while (at < records.size());
}

std::int64_t RedisStreamSink::journal_offset(std::string_view journal) {
  const Reply r = client_.command({"GET", offset_key(journal)});
  if (r.type == Reply::Type::kNil) return 0;
  if (r.is_error()) throw std::runtime_error("redis refused GET of a journal offset: " + r.str);
  std::int64_t v = 0;
  const char* end = r.str.data() + r.str.size();
  if (r.type != Reply::Type::kString || std::from_chars(r.str.data(), end, v).ptr != end || v < 0)
    throw std::runtime_error("redis: " + offset_key(journal) + " is not an offset");
  return v;
}

}  // namespace relay::records
