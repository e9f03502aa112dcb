#pragma once
// Failed key checks (invalid, unknown, revoked or missing relay keys) per client address, so
// that one address guessing or replaying keys is answered 429 instead of 401 once it is over
// the limit. GCRA (gcra.hpp) per address: `burst` failures at once, then `per_minute`.
//
// Valid keys are never refused here: a NAT'd office shares one address, and 256-bit keys cannot
// be guessed, so refusing them would only let an attacker lock others out. While an address is
// over the limit the relay skips the lookup for keys no relay ever issued (identify.hpp).
//
// Shared by every io thread: the addresses are split over shards, each with its own mutex and
// a cap, so memory stays bounded under a flood from many addresses (the entry nearest to
// expiry goes first).
#include <array>
#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace relay::limits {

struct AuthFailureSettings {
  std::int64_t burst = 20;       // failures tolerated at once; 0: no limit
  std::int64_t per_minute = 10;  // sustained failures tolerated; 0: no limit
  std::size_t max_addresses = 65536;
};

// The unit an address is limited by: an IPv4 address (also when IPv4-mapped), or the /64 of an
// IPv6 address (one subscriber's usual allocation). Unparseable text is its own group.
std::string address_group(std::string_view ip);

class AuthFailureLimiter {
 public:
  explicit AuthFailureLimiter(AuthFailureSettings settings);

  bool enabled() const { return settings_.burst > 0 && settings_.per_minute > 0; }

  // Milliseconds until a failure from this address would be tolerated again; 0 when it is
  // within the limit. Counts nothing.
  std::int64_t blocked_for_ms(std::string_view ip, std::int64_t now_ms);

  // Counts one failure from this address. 0: within the limit (answer 401); otherwise the
  // milliseconds until one more is tolerated (answer 429 with Retry-After). A refused failure
  // is not counted, so a steady flood still sees a 401 now and then, at the sustained rate.
  std::int64_t note_failure(std::string_view ip, std::int64_t now_ms);

  std::size_t tracked() const;  // addresses held now
  std::uint64_t refused() const { return refused_.load(std::memory_order_relaxed); }

 private:
  static constexpr std::size_t kShards = 16;
  struct Shard {
    mutable std::mutex mu;
    std::unordered_map<std::string, std::int64_t> tat_us;  // group -> GCRA TAT
  };
  Shard& shard_for(const std::string& group);
  void make_room(Shard& shard, std::int64_t now_us);

  const AuthFailureSettings settings_;
  const std::size_t shard_cap_;
  std::array<Shard, kShards> shards_;
  std::atomic<std::uint64_t> refused_{0};
};

}  // namespace relay::limits
