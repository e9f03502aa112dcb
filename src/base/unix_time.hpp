#pragma once
// Wall-clock time as unix milliseconds: what the stores, the counters shared between nodes and
// the records keep (never steady_clock, which means nothing to another process).
#include <chrono>
#include <cstdint>

namespace relay {

inline std::int64_t unix_now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

}  // namespace relay
