#include "store/postgres/partitions.hpp"

#include <chrono>

#include "store/usage_store.hpp"

namespace relay::store::pg {
namespace {

constexpr std::int64_t kFirstMs = -62'167'219'200'000;  // 0000-01-01, as utc_day() clamps
constexpr std::int64_t kLastMs = 253'402'300'799'999;   // 9999-12-31T23:59:59.999
constexpr std::int64_t kFirstDay = kFirstMs / kDayMs;   // exact: a day boundary
constexpr std::int64_t kLastDay = (kLastMs - kDayMs + 1) / kDayMs;
constexpr std::string_view kPrefix = "usage_records_";

}  // namespace

std::int64_t partition_day(std::int64_t start_ms) {
  const std::int64_t ms = start_ms < kFirstMs ? kFirstMs : start_ms > kLastMs ? kLastMs : start_ms;
  return ms / kDayMs - (ms % kDayMs < 0 ? 1 : 0);
}

std::string partition_name(std::int64_t day) {
  std::string name(kPrefix);
  for (char c : utc_day(day * kDayMs))
    if (c != '-') name += c;
  return name;
}

std::optional<std::int64_t> day_of_partition(std::string_view table) {
  if (table.size() != kPrefix.size() + 8 || table.substr(0, kPrefix.size()) != kPrefix)
    return std::nullopt;
  int digits[8];
  for (std::size_t i = 0; i < 8; ++i) {
    const char c = table[kPrefix.size() + i];
    if (c < '0' || c > '9') return std::nullopt;
    digits[i] = c - '0';
  }
  using namespace std::chrono;
  const year_month_day ymd{year{digits[0] * 1000 + digits[1] * 100 + digits[2] * 10 + digits[3]},
                           month{static_cast<unsigned>(digits[4] * 10 + digits[5])},
                           day{static_cast<unsigned>(digits[6] * 10 + digits[7])}};
  if (!ymd.ok()) return std::nullopt;
  const std::int64_t d = sys_days{ymd}.time_since_epoch().count();
  if (d < kFirstDay || d > kLastDay) return std::nullopt;
  return d;
}

std::string create_partition_sql(std::int64_t day) {
  const std::string from = day <= kFirstDay ? "MINVALUE" : std::to_string(day * kDayMs);
  const std::optional<std::int64_t> end = partition_end_ms(day);
  const std::string to = end ? std::to_string(*end) : "MAXVALUE";
  return "CREATE TABLE IF NOT EXISTS " + partition_name(day) +
         " PARTITION OF usage_records FOR VALUES FROM (" + from + ") TO (" + to + ")";
}

std::optional<std::int64_t> partition_end_ms(std::int64_t day) {
  if (day >= kLastDay) return std::nullopt;
  return (day + 1) * kDayMs;
}

}  // namespace relay::store::pg
