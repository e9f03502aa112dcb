#include "records/stream_consumer.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <optional>
#include <stdexcept>

namespace relay::records {
namespace {

using redis::Reply;

// redis::Connection takes at most 16 arguments: XACK key group + 13 ids.
constexpr std::size_t kIdsPerCommand = 13;

// Logs the 1st, 2nd, 4th, 8th… failure in a row only: Redis down for an hour is a few lines.
bool worth_logging(std::uint64_t count) {
  return (count & (count - 1)) == 0;
}

bool starts_with(const std::string& s, std::string_view prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

// The entries of one stream in an XREADGROUP reply (nil when there are none).
const Reply& entries_of(const Reply& read) {
  static const Reply kNone = [] {
    Reply r;
    r.type = Reply::Type::kArray;
    return r;
  }();
  if (read.type == Reply::Type::kNil) return kNone;
  if (read.type != Reply::Type::kArray || read.elements.size() != 1 ||
      read.elements[0].elements.size() != 2)
    throw std::runtime_error("redis: unexpected reply to XREADGROUP");
  return read.elements[0].elements[1];
}

}  // namespace

StreamConsumer::StreamConsumer(redis::Endpoint endpoint, std::string key_prefix,
                               std::string consumer_name,
                               std::function<std::unique_ptr<store::UsageStore>()> open_store,
                               StreamConsumerOptions opts)
    : endpoint_(std::move(endpoint)),
      stream_(std::move(key_prefix) + "records"),
      consumer_(std::move(consumer_name)),
      open_store_(std::move(open_store)),
      opts_(std::move(opts)) {
  opts_.batch_size = std::max<std::size_t>(opts_.batch_size, 1);
  thread_ = std::thread([this] { run(); });
}

StreamConsumer::~StreamConsumer() {
  stop();
}

void StreamConsumer::stop() {
  std::call_once(stopped_, [this] {
    {
      std::lock_guard lk(mu_);
      stopping_ = true;
    }
    wake_.notify_all();
    thread_.join();
  });
}

StreamConsumerStats StreamConsumer::stats() const {
  return {.consumed = consumed_, .skipped = skipped_, .failures = failures_, .lag = lag_};
}

bool StreamConsumer::wait(std::chrono::milliseconds d) {
  std::unique_lock lk(mu_);
  return !wake_.wait_for(lk, d, [this] { return stopping_; });
}

void StreamConsumer::run() {
  std::chrono::milliseconds backoff = opts_.backoff_min;
  std::uint64_t in_a_row = 0;
  for (;;) {
    {
      std::lock_guard lk(mu_);
      if (stopping_) break;
    }
    bool worked = false;
    try {
      worked = step();
      if (in_a_row > 0)
        spdlog::info("usage stream: storing records again after {} failed round(s)",
                     std::exchange(in_a_row, 0));
      backoff = opts_.backoff_min;
    } catch (const std::exception& e) {
      ++failures_;
      own_pending_ = true;  // whatever this round read stays pending with this consumer
      if (worth_logging(++in_a_row))
        spdlog::warn("usage stream: cannot store records (will retry): {}", e.what());
      if (!wait(backoff)) break;
      backoff = std::min(backoff * 2, opts_.backoff_max);
      continue;
    }
    if (!worked && !wait(opts_.idle_sleep)) break;
  }
  store_.reset();
  redis_.reset();
}

store::UsageStore& StreamConsumer::store() {
  if (!store_) store_ = open_store_();
  return *store_;
}

void StreamConsumer::ensure_group() {
  if (group_ready_) return;
  // From 0, so that entries forwarded before any consumer ran are stored too.
  const Reply r = redis_->command({"XGROUP", "CREATE", stream_, kGroup, "0", "MKSTREAM"});
  if (r.is_error() && !starts_with(r.str, "BUSYGROUP"))
    throw std::runtime_error("redis refused XGROUP CREATE: " + r.str);
  group_ready_ = true;
}

bool StreamConsumer::step() {
  if (!redis_) redis_ = std::make_unique<redis::BlockingClient>(endpoint_, opts_.redis);
  ensure_group();
  const auto checked = [this](Reply r) {
    if (!r.is_error()) return r;
    if (starts_with(r.str, "NOGROUP")) group_ready_ = false;  // the stream was deleted
    throw std::runtime_error("redis refused a stream read: " + r.str);
  };
  const std::string count = std::to_string(opts_.batch_size);
  // (a) What this consumer read before and did not acknowledge (a failed round, a restart).
  if (own_pending_) {
    const Reply r = checked(redis_->command(
        {"XREADGROUP", "GROUP", kGroup, consumer_, "COUNT", count, "STREAMS", stream_, "0"}));
    if (handle(entries_of(r)) > 0) return true;
    own_pending_ = false;
  }
  // (b) What another consumer read and left unacknowledged for claim_idle: it died.
  if (const auto now = std::chrono::steady_clock::now(); now >= next_claim_) {
    const Reply r = checked(
        redis_->command({"XAUTOCLAIM", stream_, kGroup, consumer_,
                         std::to_string(opts_.claim_idle.count()), claim_cursor_, "COUNT", count}));
    if (r.type != Reply::Type::kArray || r.elements.size() < 2)
      throw std::runtime_error("redis: unexpected reply to XAUTOCLAIM");
    claim_cursor_ = r.elements[0].str;
    if (claim_cursor_ == "0-0")  // a whole pass: the next one when new entries could be idle
      next_claim_ = now + std::max(opts_.claim_idle / 2, std::chrono::milliseconds(10));
    if (handle(r.elements[1]) > 0) return true;
  }
  // (c) New entries. No BLOCK: it would have to stay under the call timeout anyway.
  const std::vector<Reply> rs = redis_->pipeline(
      {{"XREADGROUP", "GROUP", kGroup, consumer_, "COUNT", count, "STREAMS", stream_, ">"},
       {"XLEN", stream_}});
  if (rs[1].type == Reply::Type::kInteger) lag_ = rs[1].integer;
  return handle(entries_of(checked(rs[0]))) > 0;
}

std::size_t StreamConsumer::handle(const Reply& entries) {
  std::vector<UsageRecord> records;
  std::vector<std::string> ids;
  std::vector<std::string> bad;
  for (const Reply& e : entries.elements) {
    if (e.elements.empty() || e.elements[0].type != Reply::Type::kString) continue;
    ids.push_back(e.elements[0].str);
    // Fields nil: deleted after it was read (acknowledged elsewhere); only the ack is left.
    if (e.elements.size() < 2 || e.elements[1].type != Reply::Type::kArray) continue;
    const std::vector<Reply>& fields = e.elements[1].elements;
    std::optional<UsageRecord> r;
    for (std::size_t i = 0; i + 1 < fields.size() && !r; i += 2)
      if (fields[i].str == "r") r = decode(fields[i + 1].str);
    if (r)
      records.push_back(std::move(*r));
    else
      bad.push_back(ids.back());
  }
  if (ids.empty()) return 0;
  if (!records.empty()) {
    try {
      store().append(records, "", 0);
    } catch (...) {
      store_.reset();  // reopened for the next try: the connection may be what failed
      throw;
    }
    consumed_ += records.size();
  }
  // Acknowledged and deleted together: the stream keeps exactly what the store may lack.
  std::vector<std::vector<std::string>> cmds{{"MULTI"}};
  for (std::size_t at = 0; at < ids.size(); at += kIdsPerCommand) {
    const auto from = ids.begin() + static_cast<std::ptrdiff_t>(at);
    const auto to =
        ids.begin() + static_cast<std::ptrdiff_t>(std::min(at + kIdsPerCommand, ids.size()));
    std::vector<std::string> ack{"XACK", stream_, kGroup};
    std::vector<std::string> del{"XDEL", stream_};
    ack.insert(ack.end(), from, to);
    del.insert(del.end(), from, to);
    cmds.push_back(std::move(ack));
    cmds.push_back(std::move(del));
  }
  cmds.push_back({"EXEC"});
  for (const Reply& r : redis_->pipeline(cmds))
    if (r.is_error()) throw std::runtime_error("redis refused XACK/XDEL: " + r.str);
  if (!bad.empty()) {
    skipped_ += bad.size();
    spdlog::warn("usage stream: skipped {} entr{} that do not decode (the first: {})", bad.size(),
                 bad.size() == 1 ? "y" : "ies", bad.front());
  }
  return ids.size();
}

}  // namespace relay::records
