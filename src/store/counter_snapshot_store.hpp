#pragma once
// CounterSnapshotStore: a durable copy of the in-process quota counters (limits::CounterStore's
// usage:* keys). serve writes its counters here about once a second and loads them back at
// start, so a restart does not hand every tenant a fresh daily quota; the CLI reads them for
// `tenant show`. Figures are therefore as of serve's last flush. Times are unix milliseconds.
#include <cstdint>
#include <string_view>
#include <vector>

#include "limits/counter_store.hpp"

namespace relay::store {

class CounterSnapshotStore {
 public:
  virtual ~CounterSnapshotStore() = default;
  // Upserts every row (key, value, expiry) and deletes the rows already expired by the wall
  // clock, in one transaction. Rows not named are left alone (until they expire).
  virtual void write(const std::vector<limits::CounterRow>& rows) = 0;
  // Rows whose key starts with key_prefix ("" for all) and that are live at now_ms (expire_at_ms
  // 0, or later than now_ms), ordered by key.
  virtual std::vector<limits::CounterRow> read(std::string_view key_prefix,
                                               std::int64_t now_ms) = 0;
};

}  // namespace relay::store
