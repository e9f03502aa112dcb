#pragma once
// Column conversions shared by PgConfigStore's files (pg_config_store.cpp, pg_egress_store.cpp,
// pg_snapshot.cpp). Sealed values travel as hex (decode($n, 'hex') in, encode(col, 'hex') out),
// so that neither the text protocol nor the server's bytea_output setting can alter a byte.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "store/postgres/connection.hpp"
#include "store/snapshot.hpp"

namespace relay::store::pg {

// The six admission-limit columns of tenants and api_keys, in TenantLimits order.
inline constexpr std::string_view kLimitColumns =
    "rps, rpm, concurrency, daily_requests, daily_tokens, monthly_tokens";

// The six columns selected from `first` on (in kLimitColumns order).
TenantLimits read_limits(const Result& r, int row, int first);
std::optional<std::int64_t> opt_int64(const Result& r, int row, int col);

// The id (as text, for a query parameter) of the row of `table` (a constant) named `name`,
// locked FOR KEY SHARE: it cannot be deleted before the caller's transaction ends. Throws
// StoreError kNotFound ("<what> '<name>' not found") when there is no such row.
std::string id_by_name(Connection& c, const char* table, const char* what, std::string_view name);

std::string to_hex(std::string_view bytes);
// The bytes of what encode(..., 'hex') returned; "" for text that is not hex.
std::string from_hex(std::string_view hex);

inline std::string pg_bool(bool b) {
  return b ? "true" : "false";
}

}  // namespace relay::store::pg
