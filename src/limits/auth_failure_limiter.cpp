#include "limits/auth_failure_limiter.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <functional>

#include "limits/gcra.hpp"

namespace relay::limits {
namespace {

constexpr std::int64_t kPeriodMs = 60'000;

bool v4_mapped(const unsigned char* a) {
  static constexpr unsigned char kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  return std::equal(a, a + 12, kMapped);
}

}  // namespace

std::string address_group(std::string_view ip) {
  const std::string text(ip);
  unsigned char raw[16];
  if (inet_pton(AF_INET, text.c_str(), raw) == 1)
    return "4:" + std::string(reinterpret_cast<const char*>(raw), 4);
  if (inet_pton(AF_INET6, text.c_str(), raw) == 1) {
    if (v4_mapped(raw)) return "4:" + std::string(reinterpret_cast<const char*>(raw + 12), 4);
    return "6:" + std::string(reinterpret_cast<const char*>(raw), 8);
  }
  return "?:" + text.substr(0, 64);  // bounded: the key is held in memory
}

AuthFailureLimiter::AuthFailureLimiter(AuthFailureSettings settings)
    : settings_(settings), shard_cap_(std::max<std::size_t>(1, settings.max_addresses / kShards)) {}

AuthFailureLimiter::Shard& AuthFailureLimiter::shard_for(const std::string& group) {
  return shards_[std::hash<std::string>{}(group) % kShards];
}

std::int64_t AuthFailureLimiter::blocked_for_ms(std::string_view ip, std::int64_t now_ms) {
  if (!enabled()) return 0;
  const std::string group = address_group(ip);
  Shard& shard = shard_for(group);
  std::lock_guard lock(shard.mu);
  const auto it = shard.tat_us.find(group);
  if (it == shard.tat_us.end()) return 0;
  const auto d = gcra::decide(it->second, now_ms, settings_.per_minute, kPeriodMs, settings_.burst);
  return d.allowed ? 0 : std::max<std::int64_t>(1, d.retry_after_ms);
}

std::int64_t AuthFailureLimiter::note_failure(std::string_view ip, std::int64_t now_ms) {
  if (!enabled()) return 0;
  const std::string group = address_group(ip);
  Shard& shard = shard_for(group);
  std::lock_guard lock(shard.mu);
  auto it = shard.tat_us.find(group);
  const std::int64_t stored = it == shard.tat_us.end() ? 0 : it->second;
  const auto d = gcra::decide(stored, now_ms, settings_.per_minute, kPeriodMs, settings_.burst);
  if (!d.allowed) {
    refused_.fetch_add(1, std::memory_order_relaxed);
    return std::max<std::int64_t>(1, d.retry_after_ms);
  }
  if (it != shard.tat_us.end()) {
    it->second = d.tat_us;
  } else {
    make_room(shard, now_ms * 1000);
    shard.tat_us.emplace(group, d.tat_us);
  }
  return 0;
}

// An entry whose TAT has passed has its full burst back: forgetting it changes nothing. When
// none has, the one nearest to that point goes (a flood from more addresses than the cap can
// then lose some of its count, never a valid client's service).
void AuthFailureLimiter::make_room(Shard& shard, std::int64_t now_us) {
  if (shard.tat_us.size() < shard_cap_) return;
  std::erase_if(shard.tat_us, [now_us](const auto& e) { return e.second <= now_us; });
  if (shard.tat_us.size() < shard_cap_) return;
  const auto oldest =
      std::min_element(shard.tat_us.begin(), shard.tat_us.end(),
                       [](const auto& a, const auto& b) { return a.second < b.second; });
  shard.tat_us.erase(oldest);
}

std::size_t AuthFailureLimiter::tracked() const {
  std::size_t n = 0;
  for (const auto& shard : shards_) {
    std::lock_guard lock(shard.mu);
    n += shard.tat_us.size();
  }
  return n;
}

}  // namespace relay::limits
