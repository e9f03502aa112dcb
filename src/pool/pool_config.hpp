#pragma once
// Tunables of the account pool; defaults are what docs/pool.md describes.
#include <array>
#include <cstddef>
#include <string>

#include "pool/outcome.hpp"

namespace relay::pool {

struct ClassPolicy {
  Millis base_cooldown{0};  // first failure's window; doubles with each consecutive failure
  Millis max_cooldown{0};
  bool disables = false;  // credential failures: disabled until re-enabled or probed back
  bool penalize = true;   // false: no health effect at all (client errors)
};

struct PoolConfig {
  // Indexed by FailureClass.
  std::array<ClassPolicy, 8> policy{{
      {Millis{0}, Millis{0}, false, false},           // kNone
      {Millis{0}, Millis{0}, false, false},           // kClientError
      {Millis{2'000}, Millis{120'000}, false, true},  // kConnect
      {Millis{2'000}, Millis{120'000}, false, true},  // kTimeout
      {Millis{1'000}, Millis{60'000}, false, true},   // kServerError
      {Millis{5'000}, Millis{120'000}, false, true},  // kOverloaded
      {Millis{1'000}, Millis{300'000}, false, true},  // kRateLimited (Retry-After wins if longer)
      {Millis{0}, Millis{0}, true, true},             // kAuth
  }};
  int half_open_successes = 2;  // probes that must succeed to leave half-open
  double ewma_alpha = 0.2;      // weight of the newest sample in the moving averages
  // The error average halves over this much time without samples, so an account that healed
  // (and lost power-of-two draws on its old errors) wins traffic back.
  Millis error_half_life{30'000};
  Millis affinity_ttl{3'600'000};
  std::size_t affinity_max_entries = 100'000;
  int max_attempts = 3;             // accounts tried per request before the first byte
  Millis attempt_deadline{60'000};  // all attempts of one request, together
  std::size_t holdback_bytes = 256 * std::size_t{1024};  // stream bytes held before commit
  bool probe_disabled = false;  // background probe may re-enable credential failures
  Millis probe_interval{10'000};
  std::string probe_path = "/v1/models";

  const ClassPolicy& for_class(FailureClass c) const { return policy[static_cast<std::size_t>(c)]; }
};

}  // namespace relay::pool
