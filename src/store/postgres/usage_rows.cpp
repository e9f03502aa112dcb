#include "store/postgres/usage_rows.hpp"

#include "store/usage_daily.hpp"

namespace relay::store::pg {

using records::UsageRecord;

// "($1, $2), ($3, $4)" for rows x cols parameters.
std::string placeholders(std::size_t rows, std::size_t cols) {
  std::string out;
  for (std::size_t r = 0, n = 1; r < rows; ++r) {
    out += r == 0 ? "(" : ", (";
    for (std::size_t c = 0; c < cols; ++c, ++n) out += (c == 0 ? "$" : ", $") + std::to_string(n);
    out += ')';
  }
  return out;
}

void push_record(std::vector<std::string>& p, const UsageRecord& r) {
  const auto i = [](std::int64_t v) { return std::to_string(v); };
  const auto b = [](bool v) { return std::string(v ? "true" : "false"); };
  for (std::string v : {r.request_id,
                        i(r.start_ms),
                        r.node,
                        r.region,
                        r.tenant,
                        r.key_id,
                        r.account,
                        r.egress,
                        r.model,
                        r.endpoint,
                        b(r.stream),
                        i(r.status),
                        r.error_code,
                        i(r.attempts),
                        i(r.ttfb_ms),
                        i(r.duration_ms),
                        i(r.bytes_in),
                        i(r.bytes_out),
                        i(r.input_tokens),
                        i(r.cached_tokens),
                        i(r.output_tokens),
                        i(r.reasoning_tokens),
                        b(r.usage_incomplete),
                        r.client_family})
    p.push_back(std::move(v));
}

UsageRecord read_record(const Result& q, int row) {
  UsageRecord r;
  const auto s = [&](int c) { return std::string(q.text(row, c)); };
  const auto i = [&](int c) { return q.int64(row, c); };
  r.request_id = s(0);
  r.start_ms = i(1);
  r.node = s(2);
  r.region = s(3);
  r.tenant = s(4);
  r.key_id = s(5);
  r.account = s(6);
  r.egress = s(7);
  r.model = s(8);
  r.endpoint = s(9);
  r.stream = q.boolean(row, 10);
  r.status = i(11);
  r.error_code = s(12);
  r.attempts = i(13);
  r.ttfb_ms = i(14);
  r.duration_ms = i(15);
  r.bytes_in = i(16);
  r.bytes_out = i(17);
  r.input_tokens = i(18);
  r.cached_tokens = i(19);
  r.output_tokens = i(20);
  r.reasoning_tokens = i(21);
  r.usage_incomplete = q.boolean(row, 22);
  r.client_family = s(23);
  return r;
}

// A numeric expression clamped into bigint, so that a sum never fails the statement.
std::string saturated(const std::string& expr) {
  return "LEAST(GREATEST(" + expr + ", -9223372036854775808), 9223372036854775807)::bigint";
}

// One multi-row upsert for the batch's groups (a batch is mostly a few tenants and models).
void upsert_daily(Connection& c, const std::vector<UsageRecord>& records) {
  const auto groups = sum_daily(records);
  if (groups.empty()) return;
  std::string set;
  for (std::string_view col : kDailySumColumns) {
    const std::string name(col);
    std::string sum = "usage_daily.";
    sum.append(name).append("::numeric + EXCLUDED.").append(name);
    set.append(set.empty() ? "" : ", ").append(name).append(" = ").append(saturated(sum));
  }
  std::vector<std::string> params;
  params.reserve(groups.size() * 14);
  for (const auto& [key, sums] : groups) {
    const auto& [day, tenant, key_id, model, account] = key;
    for (const std::string& v : {day, tenant, key_id, model, account}) params.push_back(v);
    for (std::int64_t v : sums) params.push_back(std::to_string(v));
  }
  c.exec(
      "INSERT INTO usage_daily (day, tenant, key_id, model, account, requests, errors, "
      "incomplete, input_tokens, cached_tokens, output_tokens, reasoning_tokens, bytes_in, "
      "bytes_out) VALUES " +
          placeholders(groups.size(), 14) +
          " ON CONFLICT (day, tenant, key_id, model, account) DO UPDATE SET " + set,
      params);
}

}  // namespace relay::store::pg
