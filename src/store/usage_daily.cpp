#include "store/usage_daily.hpp"

#include <limits>

namespace relay::store {
namespace {

std::int64_t add(std::int64_t a, std::int64_t b) {
  std::int64_t r = 0;
  if (__builtin_add_overflow(a, b, &r))
    return b < 0 ? std::numeric_limits<std::int64_t>::min()
                 : std::numeric_limits<std::int64_t>::max();
  return r;
}

}  // namespace

std::map<DailyKey, DailySums> sum_daily(const std::vector<records::UsageRecord>& records) {
  std::map<DailyKey, DailySums> groups;
  for (const records::UsageRecord& r : records) {
    DailySums& g = groups[{utc_day(r.start_ms), r.tenant, r.key_id, r.model, r.account}];
    const DailySums one = {1,
                           r.status >= 400 || r.status == 0,
                           r.usage_incomplete,
                           r.input_tokens,
                           r.cached_tokens,
                           r.output_tokens,
                           r.reasoning_tokens,
                           r.bytes_in,
                           r.bytes_out};
    for (std::size_t i = 0; i < g.size(); ++i) g[i] = add(g[i], one[i]);
  }
  return groups;
}

const char* group_column(UsageGroup by) {
  switch (by) {
    case UsageGroup::kDay:
      return "day";
    case UsageGroup::kModel:
      return "model";
    case UsageGroup::kKey:
      return "key_id";
    case UsageGroup::kAccount:
      return "account";
    case UsageGroup::kTenant:
      return "tenant";
  }
  return "day";
}

}  // namespace relay::store
