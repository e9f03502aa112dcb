#include "store/redis/usage_reader.hpp"

#include <algorithm>
#include <array>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <charconv>
#include <future>
#include <stdexcept>

#include "redis/connection.hpp"
#include "redis/url.hpp"

namespace relay::store {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

// SCAN MATCH takes a glob: the prefix must match itself only.
std::string glob_escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '*' || c == '?' || c == '[' || c == ']' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out;
}

std::int64_t to_int(const redis::Reply& r) {
  std::int64_t v = 0;
  if (r.type == redis::Reply::Type::kString)
    std::from_chars(r.str.data(), r.str.data() + r.str.size(), v);
  return v;
}

class RedisUsageReader final : public CounterSnapshotStore {
 public:
  RedisUsageReader(redis::Endpoint ep, std::string key_prefix, std::chrono::milliseconds timeout)
      : endpoint_(std::move(ep)), key_prefix_(std::move(key_prefix)), timeout_(timeout) {}

  void write(const std::vector<limits::CounterRow>& /*rows*/) override {
    throw std::logic_error("quota counters in redis are written by serve only");
  }

  std::vector<limits::CounterRow> read(std::string_view prefix, std::int64_t now_ms) override {
    asio::io_context io;
    redis::ConnectionOptions opts;
    opts.call_timeout = timeout_;
    opts.name = "redis";
    redis::Connection conn(io.get_executor(), endpoint_, opts);
    conn.start();
    const auto deadline = std::chrono::steady_clock::now() + 3s;
    while (!conn.connected() && std::chrono::steady_clock::now() < deadline) io.run_one_for(20ms);
    if (!conn.connected())
      throw std::runtime_error("cannot reach redis at " + endpoint_.where() +
                               " to read usage ([redis] url)");
    auto done = asio::co_spawn(io, scan(conn, std::string(prefix), now_ms), asio::use_future);
    while (done.wait_for(0s) != std::future_status::ready) io.run_one_for(20ms);
    return done.get();
  }

 private:
  asio::awaitable<std::vector<limits::CounterRow>> scan(redis::Connection& conn, std::string prefix,
                                                        std::int64_t now_ms) {
    std::vector<limits::CounterRow> rows;
    const std::string pattern = glob_escape(key_prefix_ + prefix) + "*";
    std::string cursor = "0";
    do {
      const std::array<std::string_view, 6> argv{"SCAN", cursor, "MATCH", pattern, "COUNT", "1000"};
      auto page = co_await conn.command(argv);
      if (page.type != redis::Reply::Type::kArray || page.elements.size() != 2)
        throw std::runtime_error("redis SCAN: unexpected reply " + page.str);
      cursor = page.elements[0].str;
      for (const auto& k : page.elements[1].elements) {
        const std::array<std::string_view, 4> get{"HMGET", k.str, "v", "e"};
        auto vals = co_await conn.command(get);
        if (vals.type != redis::Reply::Type::kArray || vals.elements.size() != 2 ||
            vals.elements[0].type != redis::Reply::Type::kString)
          continue;  // not a counter (or gone since the scan)
        limits::CounterRow row;
        row.key = k.str.substr(key_prefix_.size());
        row.value = to_int(vals.elements[0]);
        row.expire_at_ms = to_int(vals.elements[1]);
        if (row.expire_at_ms != 0 && row.expire_at_ms <= now_ms) continue;
        rows.push_back(std::move(row));
      }
    } while (cursor != "0");
    std::sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) { return a.key < b.key; });
    co_return rows;
  }

  redis::Endpoint endpoint_;
  std::string key_prefix_;
  std::chrono::milliseconds timeout_;
};

}  // namespace

std::unique_ptr<CounterSnapshotStore> open_redis_usage_reader(const app::Config& cfg) {
  auto parsed = redis::parse_url(cfg.redis.url);
  if (!parsed.endpoint) throw std::runtime_error(parsed.error);
  // An operator's command may wait longer than admission does.
  const auto timeout = std::max<std::chrono::milliseconds>(
      std::chrono::milliseconds(cfg.redis.timeout_ms), std::chrono::milliseconds(2000));
  return std::make_unique<RedisUsageReader>(*parsed.endpoint, cfg.redis.key_prefix, timeout);
}

}  // namespace relay::store
