#pragma once
// The daily aggregates both UsageStore backends keep (docs/records.md, "Daily aggregates"): how
// a batch of records sums into usage_daily rows, and the column each report grouping reads.
#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "records/usage_record.hpp"
#include "store/usage_store.hpp"

namespace relay::store {

// (day, tenant, key_id, model, account): usage_daily's key.
using DailyKey = std::tuple<std::string, std::string, std::string, std::string, std::string>;
// The sums, in the order of kDailySumColumns.
using DailySums = std::array<std::int64_t, 9>;

inline constexpr std::array<std::string_view, 9> kDailySumColumns = {
    "requests",      "errors",           "incomplete", "input_tokens", "cached_tokens",
    "output_tokens", "reasoning_tokens", "bytes_in",   "bytes_out"};

// The records summed per usage_daily row. Sums saturate at the int64 limits rather than
// overflow: a record may carry any count.
std::map<DailyKey, DailySums> sum_daily(const std::vector<records::UsageRecord>& records);

// usage_daily's column for a report grouping.
const char* group_column(UsageGroup by);

}  // namespace relay::store
