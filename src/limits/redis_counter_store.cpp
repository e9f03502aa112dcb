#include "limits/redis_counter_store.hpp"

#include <openssl/evp.h>

#include <array>
#include <cstdio>

#include "limits/gcra.hpp"
#include "redis/connection.hpp"

namespace relay::limits {

namespace asio = boost::asio;

namespace {

// A script is sent by its SHA-1 (EVALSHA) and, the first time a server has not seen it (a new
// or restarted Redis, SCRIPT FLUSH), in full (EVAL), which also caches it there.
struct Script {
  const char* name;
  const char* body;
  std::string sha;

  Script(const char* n, const char* b) : name(n), body(b) {
    std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
    unsigned int len = 0;
    EVP_Digest(body, std::char_traits<char>::length(body), md.data(), &len, EVP_sha1(), nullptr);
    static constexpr char kHex[] = "0123456789abcdef";
    for (unsigned int i = 0; i < len; ++i) {
      sha += kHex[md[i] >> 4];
      sha += kHex[md[i] & 15];
    }
  }
};

// gcra::decide, in Lua. Keep in step with gcra.cpp: same names, same order, same rounding.
// Lua numbers are doubles; every operand stays below 2^53 (gcra.hpp, "Bounds"), so sums and
// products are exact, but a quotient near 2^40 can round up across an integer: floor_div and
// ceil_div correct the rounded quotient by one step, which makes them exact.
// ARGV: limit, period_ms, burst, now_ms, consume (1: rate, 0: peek_rate). Returns {allowed,
// limit, remaining, reset_ms, retry_after_ms}; a peek reports like
// InProcessCounterStore::peek_rate_now (this request not yet made).
constexpr const char* kGcra = R"lua(
local function floor_div(a, b)
  local q = math.floor(a / b)
  if q * b > a then q = q - 1 elseif (q + 1) * b <= a then q = q + 1 end
  return q
end
local function ceil_div(a, b)
  local q = math.ceil(a / b)
  if (q - 1) * b >= a then q = q - 1 elseif q * b < a then q = q + 1 end
  return q
end
local limit = tonumber(ARGV[1])
local period_ms = tonumber(ARGV[2])
local burst = tonumber(ARGV[3])
local now_ms = tonumber(ARGV[4])
local max_span_us = 1125899906842624
local period_us = math.min(period_ms, floor_div(max_span_us, 1000)) * 1000
local t = math.max(1, ceil_div(period_us, limit))
burst = math.min(math.max(burst, 1), floor_div(max_span_us, t) + 1)
local tau = t * (burst - 1)
local now = now_ms * 1000
local stored_tat = tonumber(redis.call('GET', KEYS[1]) or '0') or 0
local tat = math.max(stored_tat, now)
local allowed = tat - tau <= now
local new_tat = tat
if allowed then new_tat = tat + t end
local remaining = math.max(0, floor_div(t * burst - (new_tat - now), t))
local reset_ms = ceil_div(new_tat - now, 1000)
local retry_after_ms = 0
if not allowed then retry_after_ms = ceil_div(tat - tau - now, 1000) end
if ARGV[5] == '1' then
  if allowed then
    redis.call('SET', KEYS[1], string.format('%d', new_tat), 'PX', reset_ms + 1000)
  end
else
  if allowed then remaining = math.min(burst, remaining + 1) else remaining = 0 end
  reset_ms = ceil_div(math.max(0, stored_tat - now), 1000)
end
return {allowed and 1 or 0, burst, remaining, reset_ms, retry_after_ms}
)lua";

// Leases: a sorted set of lease id -> expiry. Expired members are dropped before counting. The
// set's own TTL follows its longest lease, so a deployment that stops leaves nothing behind.
// ARGV: lease_id, max, ttl_ms, now_ms. Returns {acquired, in_use}.
constexpr const char* kAcquire = R"lua(
local id, max, ttl, now = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local held = redis.call('ZSCORE', KEYS[1], id)
local n = redis.call('ZCARD', KEYS[1])
if not held and max >= 1 and n >= max then return {0, n} end
redis.call('ZADD', KEYS[1], now + ttl, id)
if not held then n = n + 1 end
if redis.call('PTTL', KEYS[1]) < ttl + 1000 then redis.call('PEXPIRE', KEYS[1], ttl + 1000) end
return {1, n}
)lua";

// ARGV: lease_id, ttl_ms, now_ms. Renews a live lease only: an expired one's slot may be taken.
constexpr const char* kRenew = R"lua(
local ttl, now = tonumber(ARGV[2]), tonumber(ARGV[3])
local expires = tonumber(redis.call('ZSCORE', KEYS[1], ARGV[1]) or '0') or 0
if expires <= now then return {0} end
redis.call('ZADD', KEYS[1], 'XX', now + ttl, ARGV[1])
if redis.call('PTTL', KEYS[1]) < ttl + 1000 then redis.call('PEXPIRE', KEYS[1], ttl + 1000) end
return {1}
)lua";

// Counters: a hash {v = value, e = expiry in unix ms, 0 = never}. ARGV: now_ms.
constexpr const char* kRead = R"lua(
local r = redis.call('HMGET', KEYS[1], 'v', 'e')
if not r[1] then return {0} end
local e = tonumber(r[2] or '0') or 0
if e ~= 0 and e <= tonumber(ARGV[1]) then return {0} end
return {tonumber(r[1])}
)lua";

// ARGV: delta, expire_at_ms, now_ms. The expiry is set when the counter is (re)created; HINCRBY
// keeps the value an exact 64-bit integer.
constexpr const char* kAdd = R"lua(
local now = tonumber(ARGV[3])
local r = redis.call('HMGET', KEYS[1], 'v', 'e')
local e = tonumber(r[2] or '0') or 0
if not r[1] or (e ~= 0 and e <= now) then
  redis.call('DEL', KEYS[1])
  e = tonumber(ARGV[2])
  redis.call('HSET', KEYS[1], 'e', ARGV[2])
  if e ~= 0 then redis.call('PEXPIRE', KEYS[1], math.max(1, e - now) + 60000) end
end
return {redis.call('HINCRBY', KEYS[1], 'v', ARGV[1])}
)lua";

const Script kGcraScript{"gcra", kGcra};
const Script kAcquireScript{"lease_acquire", kAcquire};
const Script kRenewScript{"lease_renew", kRenew};
const Script kReadScript{"counter_read", kRead};
const Script kAddScript{"counter_add", kAdd};

asio::awaitable<redis::Reply> call(redis::Connection& conn,
                                   std::span<const std::string_view> argv) {
  try {
    co_return co_await conn.command(argv);
  } catch (const redis::Unavailable& e) {
    throw Unavailable(e.what());
  }
}

// Runs `s` on one key; returns its integer array. Script errors and odd replies are
// Unavailable too: admission cannot trust a store that answers nonsense.
asio::awaitable<std::vector<std::int64_t>> eval(redis::Connection& conn, const Script& s,
                                                const std::string& key,
                                                const std::vector<std::string>& args) {
  std::array<std::string_view, 10> argv{"EVALSHA", s.sha, "1", key};
  const std::size_t argc = 4 + args.size();
  for (std::size_t i = 0; i < args.size(); ++i) argv.at(4 + i) = args[i];
  auto reply = co_await call(conn, std::span(argv.data(), argc));
  if (reply.is_error() && reply.str.starts_with("NOSCRIPT")) {
    argv[0] = "EVAL";
    argv[1] = s.body;
    reply = co_await call(conn, std::span(argv.data(), argc));
  }
  if (reply.is_error())
    throw Unavailable(std::string("redis script ") + s.name + " failed: " + reply.str);
  if (reply.type != redis::Reply::Type::kArray)
    throw Unavailable(std::string("redis script ") + s.name + ": unexpected reply");
  std::vector<std::int64_t> out;
  out.reserve(reply.elements.size());
  for (const auto& e : reply.elements) {
    if (e.type != redis::Reply::Type::kInteger)
      throw Unavailable(std::string("redis script ") + s.name + ": non-integer in reply");
    out.push_back(e.integer);
  }
  co_return out;
}

void expect_size(const std::vector<std::int64_t>& v, std::size_t n, const char* what) {
  if (v.size() != n) throw Unavailable(std::string("redis script ") + what + ": short reply");
}

std::string num(std::int64_t v) {
  return std::to_string(v);
}

}  // namespace

RedisCounterStore::RedisCounterStore(std::shared_ptr<redis::Connection> connection,
                                     std::string key_prefix)
    : conn_(std::move(connection)), prefix_(std::move(key_prefix)) {}

RedisCounterStore::~RedisCounterStore() = default;

asio::awaitable<RateResult> RedisCounterStore::gcra(std::string_view key, std::int64_t limit,
                                                    std::int64_t period_ms, std::int64_t burst,
                                                    std::int64_t now_ms, bool consume) {
  RateResult r;
  if (gcra::emission_interval_us(limit, period_ms) == 0) co_return r;  // not limited
  const std::string k = prefix_ + std::string(key);
  const std::vector<std::string> args{num(limit), num(period_ms), num(burst), num(now_ms),
                                      consume ? "1" : "0"};
  auto v = co_await eval(*conn_, kGcraScript, k, args);
  expect_size(v, 5, kGcraScript.name);
  r.allowed = v[0] == 1;
  r.limit = v[1];
  r.remaining = v[2];
  r.reset_ms = v[3];
  r.retry_after_ms = v[4];
  co_return r;
}

asio::awaitable<RateResult> RedisCounterStore::rate(std::string_view key, std::int64_t limit,
                                                    std::int64_t period_ms, std::int64_t burst,
                                                    std::int64_t now_ms) {
  return gcra(key, limit, period_ms, burst, now_ms, true);
}

asio::awaitable<RateResult> RedisCounterStore::peek_rate(std::string_view key, std::int64_t limit,
                                                         std::int64_t period_ms, std::int64_t burst,
                                                         std::int64_t now_ms) {
  return gcra(key, limit, period_ms, burst, now_ms, false);
}

asio::awaitable<LeaseResult> RedisCounterStore::acquire_lease(std::string_view key,
                                                              std::string_view lease_id,
                                                              std::int64_t max, std::int64_t ttl_ms,
                                                              std::int64_t now_ms) {
  const std::string k = prefix_ + std::string(key);
  const std::vector<std::string> args{std::string(lease_id), num(max), num(ttl_ms), num(now_ms)};
  auto v = co_await eval(*conn_, kAcquireScript, k, args);
  expect_size(v, 2, kAcquireScript.name);
  co_return LeaseResult{v[0] == 1, v[1]};
}

asio::awaitable<void> RedisCounterStore::renew_lease(std::string_view key,
                                                     std::string_view lease_id, std::int64_t ttl_ms,
                                                     std::int64_t now_ms) {
  const std::string k = prefix_ + std::string(key);
  const std::vector<std::string> args{std::string(lease_id), num(ttl_ms), num(now_ms)};
  co_await eval(*conn_, kRenewScript, k, args);
}

asio::awaitable<void> RedisCounterStore::release_lease(std::string_view key,
                                                       std::string_view lease_id) {
  const std::string k = prefix_ + std::string(key);
  const std::array<std::string_view, 3> argv{"ZREM", k, lease_id};
  auto reply = co_await call(*conn_, argv);
  if (reply.is_error()) throw Unavailable("redis ZREM failed: " + reply.str);
}

asio::awaitable<std::int64_t> RedisCounterStore::read_counter(std::string_view key,
                                                              std::int64_t now_ms) {
  const std::string k = prefix_ + std::string(key);
  const std::vector<std::string> args{num(now_ms)};
  auto v = co_await eval(*conn_, kReadScript, k, args);
  expect_size(v, 1, kReadScript.name);
  co_return v[0];
}

asio::awaitable<std::int64_t> RedisCounterStore::add_counter(std::string_view key,
                                                             std::int64_t delta,
                                                             std::int64_t expire_at_ms,
                                                             std::int64_t now_ms) {
  const std::string k = prefix_ + std::string(key);
  const std::vector<std::string> args{num(delta), num(expire_at_ms), num(now_ms)};
  auto v = co_await eval(*conn_, kAddScript, k, args);
  expect_size(v, 1, kAddScript.name);
  co_return v[0];
}

}  // namespace relay::limits
