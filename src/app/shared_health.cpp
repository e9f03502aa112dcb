#include "app/shared_health.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <stdexcept>
#include <string_view>
#include <utility>
#include <vector>

#include "base/unix_time.hpp"

namespace relay::app {

namespace {

using pool::FailureClass;
using pool::HealthState;
using pool::SharedVerdict;

// A cooling key outlives its window by this much, for nodes whose clocks are behind.
constexpr std::int64_t kCoolingMarginMs = 30'000;
// A disable stands until an operator enables the account; the key only has to outlive the
// nodes that have not read it yet, and must not stay forever for deleted accounts.
constexpr std::int64_t kDisableTtlMs = std::int64_t{7} * 24 * 3'600'000;
constexpr std::size_t kKeysPerMget = 15;  // BlockingClient commands take at most 16 arguments
constexpr auto kRetryInterval = std::chrono::seconds(1);

// The value is "cool_until,cool_at,cool_cause,dis_at,dis_cause" (unix ms; 0 and "" for none):
// the longest window and the newest disable, kept apart so that a cooling verdict never erases
// a disable, nor a stale disable (one an operator enable has overruled) blocks windows.
// ARGV: kind ('c' or 'd'), until, at, cause, now, cooling margin, disable ttl. 1: stored.
constexpr const char* kPublish = R"lua(
local cu, ca, cc, da, dc = 0, 0, '', 0, ''
local old = redis.call('GET', KEYS[1])
if old then
  local a, b, c, d, e = string.match(old, '^(%d+),(%d+),([%w_]*),(%d+),([%w_]*)$')
  if a then cu, ca, cc, da, dc = tonumber(a), tonumber(b), c, tonumber(d), e end
end
local at = tonumber(ARGV[3])
if ARGV[1] == 'c' then
  if tonumber(ARGV[2]) <= cu then return 0 end
  cu, ca, cc = tonumber(ARGV[2]), at, ARGV[4]
else
  if at <= da then return 0 end
  da, dc = at, ARGV[4]
end
local now = tonumber(ARGV[5])
local ttl = cu - now + tonumber(ARGV[6])
if da > 0 then ttl = math.max(ttl, da + tonumber(ARGV[7]) - now) end
if ttl <= 0 then return 0 end
redis.call('SET', KEYS[1], string.format('%.0f,%.0f,%s,%.0f,%s', cu, ca, cc, da, dc),
           'PX', string.format('%.0f', ttl))
return 1
)lua";

FailureClass failure_from(std::string_view name) {
  for (int i = 0; i <= static_cast<int>(FailureClass::kAuth); ++i)
    if (pool::to_string(static_cast<FailureClass>(i)) == name) return static_cast<FailureClass>(i);
  return FailureClass::kNone;
}

std::int64_t number(std::string_view s) {
  std::int64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return ec == std::errc{} && end == s.data() + s.size() ? v : 0;
}

// The disable first: adopting it makes the window moot. Unreadable values give nothing.
std::vector<SharedVerdict> parse(std::string_view value) {
  std::array<std::string_view, 5> f;
  for (std::size_t i = 0; i < f.size(); ++i) {
    const auto comma = value.find(',');
    if ((comma == std::string_view::npos) != (i == f.size() - 1)) return {};
    f[i] = value.substr(0, comma);
    value.remove_prefix(comma == std::string_view::npos ? value.size() : comma + 1);
  }
  std::vector<SharedVerdict> out;
  if (const auto at = number(f[3]); at > 0)
    out.push_back({HealthState::kDisabled, 0, failure_from(f[4]), at});
  if (const auto until = number(f[0]); until > 0)
    out.push_back({HealthState::kCooling, until, failure_from(f[2]), number(f[1])});
  return out;
}

}  // namespace

SharedHealth::SharedHealth(redis::Endpoint endpoint, std::string key_prefix,
                           pool::AccountPool& pool, redis::ConnectionOptions opts)
    : prefix_(std::move(key_prefix) + "health:"), pool_(pool) {
  opts.call_timeout = std::max(opts.call_timeout, std::chrono::milliseconds(100));
  opts.connect_timeout = std::min(opts.connect_timeout, opts.call_timeout);
  if (opts.name == "redis") opts.name = "redis[health]";
  client_ = std::make_unique<redis::BlockingClient>(std::move(endpoint), std::move(opts));
}

SharedHealth::~SharedHealth() = default;

void SharedHealth::tick() {
  const auto now = pool::Clock::now();
  if (down_ && now < next_try_) return;
  try {
    exchange(now);
    if (down_) spdlog::info("shared health: redis answers again; account health is shared");
    down_ = false;
  } catch (const std::exception& e) {
    failures_.fetch_add(1, std::memory_order_relaxed);
    sent_.clear();  // what Redis took is unknown now: send every standing verdict again
    next_try_ = pool::Clock::now() + kRetryInterval;
    if (!down_)
      spdlog::warn(
          "shared health: redis unavailable ({}); each node keeps its own account health until "
          "it is back",
          e.what());
    down_ = true;
  }
}

void SharedHealth::exchange(pool::TimePoint now) {
  const auto standing = pool_.local_verdicts(now);
  std::erase_if(sent_, [&](const auto& kv) {
    return std::ranges::find(standing, std::pair{kv.first, kv.second}) == standing.end();
  });
  std::vector<std::pair<std::int64_t, SharedVerdict>> fresh;
  for (const auto& iv : standing)
    if (!sent_.contains(iv.first)) fresh.push_back(iv);

  const std::string wall = std::to_string(unix_now_ms());
  std::vector<std::vector<std::string>> commands;
  commands.reserve(fresh.size() + 8);
  for (const auto& [id, v] : fresh) {
    commands.push_back({"EVAL", kPublish, "1", prefix_ + std::to_string(id),
                        v.state == HealthState::kCooling ? "c" : "d",
                        std::to_string(v.until_unix_ms), std::to_string(v.at_unix_ms),
                        std::string(pool::to_string(v.cause)), wall,
                        std::to_string(kCoolingMarginMs), std::to_string(kDisableTtlMs)});
  }
  std::vector<std::int64_t> ids;
  for (const auto& s : pool_.status(now)) ids.push_back(s.id);
  for (std::size_t i = 0; i < ids.size(); i += kKeysPerMget) {
    std::vector<std::string> mget{"MGET"};
    for (std::size_t j = i; j < std::min(ids.size(), i + kKeysPerMget); ++j)
      mget.push_back(prefix_ + std::to_string(ids[j]));
    commands.push_back(std::move(mget));
  }
  if (commands.empty()) return;
  const auto replies = client_->pipeline(commands);

  std::string refused;  // the first error reply: thrown after the rest is used
  for (std::size_t i = 0; i < fresh.size(); ++i) {
    const redis::Reply& r = replies[i];
    if (r.type != redis::Reply::Type::kInteger) {
      if (refused.empty()) refused = r.is_error() ? r.str : "unexpected reply to EVAL";
      continue;
    }
    sent_.insert_or_assign(fresh[i].first, fresh[i].second);
    if (r.integer == 1) published_.fetch_add(1, std::memory_order_relaxed);
  }
  // A fresh clock: the window ends are converted against it, and the round trip took a while.
  const auto after = pool::Clock::now();
  for (std::size_t i = 0; i < ids.size(); ++i) {
    const redis::Reply& r = replies[fresh.size() + i / kKeysPerMget];
    if (r.type != redis::Reply::Type::kArray) {
      if (refused.empty()) refused = r.is_error() ? r.str : "unexpected reply to MGET";
      continue;
    }
    const std::size_t j = i % kKeysPerMget;
    if (j >= r.elements.size() || r.elements[j].type != redis::Reply::Type::kString) continue;
    for (const auto& v : parse(r.elements[j].str))
      if (pool_.adopt_shared(ids[i], v, after)) adopted_.fetch_add(1, std::memory_order_relaxed);
  }
  if (!refused.empty()) throw std::runtime_error("redis refused: " + refused);
}

}  // namespace relay::app
