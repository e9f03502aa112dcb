#pragma once
// UsageStore: the metadata records (issue 6, docs/records.md), written by the EventQueue's
// consumer in batches and read by reports. Embedded backend: sqlite/; cluster: postgres/ (not yet
// selectable in serve). Records are not config: writing them never makes serve reload its snapshot.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "records/journal_sink.hpp"
#include "records/usage_record.hpp"

namespace relay::store {

// The UTC day (YYYY-MM-DD) of a unix-ms instant, as the daily aggregates key it. Clamped to
// years 0000..9999, so that any start_ms a record may carry has a day and days sort as text.
inline std::string utc_day(std::int64_t unix_ms) {
  using namespace std::chrono;
  constexpr std::int64_t kFirst = -62'167'219'200'000;  // 0000-01-01T00:00:00Z
  constexpr std::int64_t kLast = 253'402'300'799'999;   // 9999-12-31T23:59:59.999Z
  const std::int64_t ms = unix_ms < kFirst ? kFirst : unix_ms > kLast ? kLast : unix_ms;
  const year_month_day ymd{floor<days>(sys_time<milliseconds>{milliseconds{ms}})};
  // By hand: snprintf was most of the daily aggregate's cost per record.
  const auto y = static_cast<unsigned>(static_cast<int>(ymd.year()));  // 0..9999, clamped above
  const auto m = static_cast<unsigned>(ymd.month());
  const auto d = static_cast<unsigned>(ymd.day());
  const auto digit = [](unsigned v) { return static_cast<char>('0' + v % 10); };
  const char out[10] = {digit(y / 1000), digit(y / 100), digit(y / 10), digit(y),      '-',
                        digit(m / 10),   digit(m),       '-',           digit(d / 10), digit(d)};
  return {out, sizeof out};
}

// Every member has an initializer, so callers may name only some: {.tenant = "a", .limit = 10}.
struct UsageFilter {
  std::string tenant = {};                                           // "" = every tenant
  std::int64_t since_ms = 0;                                         // start_ms >= since_ms
  std::int64_t until_ms = std::numeric_limits<std::int64_t>::max();  // start_ms < until_ms
  std::size_t limit = 1000;
};

// One row of a usage report: the sums over the daily aggregates of one group.
struct UsageTotals {
  std::string group;  // the day (YYYY-MM-DD), model, key id, account or tenant
  std::int64_t requests = 0;
  std::int64_t errors = 0;      // status >= 400, or no status sent (0)
  std::int64_t incomplete = 0;  // records with usage_incomplete
  std::int64_t input_tokens = 0;
  std::int64_t cached_tokens = 0;
  std::int64_t output_tokens = 0;
  std::int64_t reasoning_tokens = 0;
  std::int64_t bytes_in = 0;
  std::int64_t bytes_out = 0;

  bool operator==(const UsageTotals&) const = default;
};

enum class UsageGroup { kDay, kModel, kKey, kAccount, kTenant };

// Days are UTC 'YYYY-MM-DD'; both bounds inclusive; "" leaves that side open.
struct TotalsFilter {
  std::string tenant = {};  // "" = every tenant
  std::string since_day = {};
  std::string until_day = {};
};

// append() and journal_offset() are the JournalSink contract (records/journal_sink.hpp): the
// records go into usage_records and the daily aggregates, and the offset into journal_state, in
// one transaction; that is what makes the journal's delivery, and so the aggregates, exactly
// once. Beyond that contract: an empty journal name stores no offset (the cluster's
// StreamConsumer, whose progress is the stream's acknowledgements, not a journal's), and both
// throw StoreError.
class UsageStore : public records::JournalSink {
 public:
  // Oldest first (by start_ms, then insertion order), at most filter.limit.
  virtual std::vector<records::UsageRecord> query(const UsageFilter& filter) = 0;
  // Deletes the records that started before cutoff_ms; returns how many. The daily aggregates
  // keep counting them.
  virtual std::int64_t delete_older_than(std::int64_t cutoff_ms) = 0;
  // Sums of the daily aggregates (kept up to date by append(), and longer than the records),
  // one row per group, ordered by group.
  virtual std::vector<UsageTotals> totals(const TotalsFilter& filter, UsageGroup by) = 0;
  // Deletes the daily aggregates of the days before `day` (YYYY-MM-DD); returns how many rows.
  virtual std::int64_t delete_aggregates_before(std::string_view day) = 0;
};

}  // namespace relay::store
