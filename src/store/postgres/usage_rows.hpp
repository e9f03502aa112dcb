#pragma once
// Rows of the usage tables as PgUsageStore writes and reads them: text parameters for libpq,
// and the daily aggregates' upsert.
#include <array>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "records/usage_record.hpp"
#include "store/postgres/connection.hpp"

namespace relay::store::pg {

// usage_records' columns in the order push_record() and read_record() use.
inline constexpr std::string_view kColumns =
    "request_id, start_ms, node, region, tenant, key_id, account, egress, model, endpoint, "
    "stream, status, error_code, attempts, ttfb_ms, duration_ms, bytes_in, bytes_out, "
    "input_tokens, cached_tokens, output_tokens, reasoning_tokens, usage_incomplete, "
    "client_family";
inline constexpr std::size_t kColumnCount = 24;
// Rows per INSERT: a statement may carry at most 65535 parameters.
inline constexpr std::size_t kRowsPerStatement = 1000;

// "($1, $2), ($3, $4)" for rows x cols parameters.
std::string placeholders(std::size_t rows, std::size_t cols);
// Appends the record's kColumnCount values as text.
void push_record(std::vector<std::string>& params, const records::UsageRecord& r);
// A row of kColumns.
records::UsageRecord read_record(const Result& q, int row);
// A numeric expression clamped into bigint, so that a sum never fails its statement.
std::string saturated(const std::string& expr);
// Adds the records to usage_daily: one multi-row upsert for the batch's groups.
void upsert_daily(Connection& c, const std::vector<records::UsageRecord>& records);

}  // namespace relay::store::pg
