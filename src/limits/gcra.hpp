#pragma once
// GCRA (generic cell rate algorithm): the rate-limit math, and its single source of truth.
// Every CounterStore backend stores one number per rate key, the theoretical arrival time
// (TAT), and calls decide() on it (the in-process store) or mirrors decide() line by line (the
// Redis Lua script, which must keep the same names, units and rounding). Pure: no clock, no
// state; tests drive it with a fake clock (tests/unit/gcra_test.cpp).
//
// Why GCRA rather than a sliding window: one integer per key, O(1) per request, an exact burst,
// and exact Retry-After / remaining / reset figures fall out of the same arithmetic.
//
// Units: the TAT and all intermediate times are integer MICROseconds, so that an emission
// interval such as 60 s / 7 is not truncated to whole milliseconds (which would let through
// noticeably more than the limit over a long run). Inputs and reported durations are ms.
//
// Definitions (all integers; now = now_ms * 1000):
//   T     = ceil(period_ms * 1000 / limit)    emission interval; rounded up so that the long-run
//                                             rate never exceeds limit / period
//   tau   = T * (burst - 1)                   tolerance: how far the TAT may run ahead of now
//   tat   = max(stored_tat, now)              an idle key (stored TAT in the past, or absent = 0)
//                                             has its full burst available
//   allowed    iff  tat - tau <= now
//   new_tat    = allowed ? tat + T : tat      a refused request consumes nothing: only an
//                                             allowed one writes new_tat back
//   remaining  = max(0, floor((T * burst - (new_tat - now)) / T))
//                                             requests admitted right now after this one: the
//                                             k-th more is admitted iff new_tat + (k-1)*T - now
//                                             <= tau, i.e. k <= (tau + T - (new_tat - now)) / T
//   reset      = ceil((new_tat - now) / 1000) ms: at new_tat the full burst is back (and the key
//                                             may be forgotten: an absent key means the same)
//   retry_after = allowed ? 0 : ceil((tat - tau - now) / 1000) ms: the first instant at which
//                                             tat - tau <= now holds; rounding up to whole ms
//                                             means a client that waits exactly that long passes
//
// Clocks: nodes sharing a store pass their own now. Every admission moves the shared TAT
// forward by T and nothing ever moves it back, so clock skew between nodes shifts when a request
// passes by at most the skew; it never raises the long-run rate. For the same reason the stored
// TAT is not clamped to the current parameters (a clamp would move it back); the price is that
// after limits are raised, a tenant who had just used up the old burst waits at most the old
// tau + T before the new limits apply.
//
// Bounds: period_ms, T and tau are clamped to kMaxSpanUs (2^50 us, about 35 years), so every
// value stays below 2^53 and a Lua mirror computing in doubles gets bit-identical integers: sums
// and products are exact there, and quotients are made exact by correcting the rounded quotient
// by one step (a large quotient such as burst - 1 - 1e-5 rounds up to burst - 1 in a double;
// tests/unit/redis_counter_store_test.cpp caught that). A limit or period below 1 means "not
// limited": allowed, nothing stored.
#include <cstdint>

namespace relay::limits::gcra {

inline constexpr std::int64_t kMaxSpanUs = std::int64_t{1} << 50;

struct Decision {
  bool allowed = true;
  std::int64_t tat_us = 0;     // allowed: new_tat, to store; refused: the stored TAT, unchanged
  std::int64_t limit = 0;      // the burst capacity actually applied
  std::int64_t remaining = 0;  // requests still allowed right now, after this one
  std::int64_t reset_ms = 0;   // until the full burst is back; also the key's useful life
  std::int64_t retry_after_ms = 0;  // when refused: until one request is allowed again
};

// The emission interval T in microseconds (>= 1); 0 when not limited.
std::int64_t emission_interval_us(std::int64_t limit, std::int64_t period_ms);

// One request at now_ms against a key whose stored TAT is stored_tat_us (0 when absent).
Decision decide(std::int64_t stored_tat_us, std::int64_t now_ms, std::int64_t limit,
                std::int64_t period_ms, std::int64_t burst);

}  // namespace relay::limits::gcra
