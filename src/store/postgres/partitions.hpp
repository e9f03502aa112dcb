#pragma once
// The daily partitions of usage_records: one per UTC day of start_ms, named
// usage_records_YYYYMMDD. Days are clamped as utc_day() clamps them, so the first partition
// (0000-01-01) starts at MINVALUE and the last (9999-12-31) ends at MAXVALUE: every int64
// start_ms has a partition.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace relay::store::pg {

inline constexpr std::int64_t kDayMs = 86'400'000;

// The day (days since 1970-01-01, floored) whose partition holds start_ms.
std::int64_t partition_day(std::int64_t start_ms);

std::string partition_name(std::int64_t day);

// The day a partition_name() names; nullopt for any other table name.
std::optional<std::int64_t> day_of_partition(std::string_view table);

// CREATE TABLE IF NOT EXISTS for that day's partition.
std::string create_partition_sql(std::int64_t day);

// The exclusive upper bound of the day's partition in ms; nullopt for the last (MAXVALUE).
std::optional<std::int64_t> partition_end_ms(std::int64_t day);

}  // namespace relay::store::pg
