#include "app/record_journal.hpp"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <filesystem>
#include <stdexcept>

#include "records/redis_stream_sink.hpp"
#include "redis/url.hpp"
#include "store/store_factory.hpp"

namespace relay::app {
namespace {

constexpr int kSlots = 16;

std::string slot_name(int i) {
  return i == 1 ? std::string("usage") : "usage-" + std::to_string(i);
}

}  // namespace

std::string node_name(const Config& cfg) {
  std::string raw = cfg.server.node;
  if (raw.empty()) {
    std::array<char, 256> host{};
    if (::gethostname(host.data(), host.size() - 1) == 0) raw = host.data();
  }
  std::string out;
  for (unsigned char c : raw) {
    if (out.size() == 64) break;
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.') out += static_cast<char>(c);
  }
  return out.empty() ? std::string("node") : out;
}

namespace {

// The PostgreSQL store without Redis: one journal_state row per node and slot.
class NodeJournalSink final : public records::JournalSink {
 public:
  NodeJournalSink(std::unique_ptr<store::UsageStore> store, std::string node)
      : store_(std::move(store)), prefix_(std::move(node) + "/") {}
  void append(const std::vector<records::UsageRecord>& records, std::string_view journal,
              std::int64_t offset) override {
    store_->append(records, prefix_ + std::string(journal), offset);
  }
  std::int64_t journal_offset(std::string_view journal) override {
    return store_->journal_offset(prefix_ + std::string(journal));
  }

 private:
  std::unique_ptr<store::UsageStore> store_;
  std::string prefix_;
};

}  // namespace

std::unique_ptr<records::JournalSink> open_journal_sink(const Config& cfg,
                                                        const std::string& node) {
  if (cfg.store.backend != "postgres") return store::open_usage_store(cfg);
  if (cfg.redis.url.empty())
    return std::make_unique<NodeJournalSink>(store::open_usage_store(cfg), node);
  auto parsed = redis::parse_url(cfg.redis.url);
  if (!parsed.endpoint) throw std::runtime_error("redis.url: " + parsed.error);
  redis::ConnectionOptions opts;
  opts.call_timeout = std::chrono::milliseconds(std::max<std::int64_t>(cfg.redis.timeout_ms, 1000));
  opts.name = "redis[records]";
  return std::make_unique<records::RedisStreamSink>(*parsed.endpoint, cfg.redis.key_prefix, node,
                                                    opts);
}

std::unique_ptr<records::JournalQueue> open_record_journal(
    const std::string& data_dir, records::JournalSink& store,
    const std::function<std::unique_ptr<records::JournalSink>()>& open_store) {
  std::unique_ptr<records::JournalQueue> mine;
  for (int i = 1; i <= kSlots && !mine; ++i) {
    records::JournalOptions opts;
    opts.name = slot_name(i);
    try {
      mine = std::make_unique<records::JournalQueue>(data_dir, store, opts);
    } catch (const records::JournalBusy&) {
      continue;  // another process on this data dir writes that one
    }
    spdlog::info("metadata records: journal {}",
                 records::JournalQueue::path_in(data_dir, opts.name));
  }
  if (!mine)
    throw std::runtime_error("all " + std::to_string(kSlots) + " record journals in " + data_dir +
                             "/journal are in use by other codex-relay processes");
  // Leftovers of processes that are gone: deliver them now rather than when a process next
  // happens to take their slot.
  for (int i = 1; i <= kSlots; ++i) {
    records::JournalOptions opts;
    opts.name = slot_name(i);
    const std::string path = records::JournalQueue::path_in(data_dir, opts.name);
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) continue;
    try {
      auto other = open_store();
      records::JournalQueue idle(data_dir, *other, opts);
      idle.stop();
      if (idle.stats().delivered > 0)
        spdlog::info("metadata records: delivered {} record(s) left in {}", idle.stats().delivered,
                     path);
    } catch (const records::JournalBusy&) {
      // ours, or another live process's
    }
  }
  return mine;
}

}  // namespace relay::app
