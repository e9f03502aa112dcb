#include "admin/admin_fields.hpp"

#include <chrono>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "admin/json_out.hpp"

namespace relay::admin {

using U = store::TenantLimitsUpdate;
using L = store::TenantLimits;
const std::array<LimitField, 6> kLimitFields = {{
    {"rps", "--rps", "rps", "Requests per second (0: no limit)", &U::rps, &L::rps},
    {"rpm", "--rpm", "rpm", "Requests per minute (0: no limit)", &U::rpm, &L::rpm},
    {"concurrency", "--concurrency", "concurrency", "Requests in flight at once (0: no limit)",
     &U::concurrency, &L::concurrency},
    {"daily_requests", "--daily-requests", "daily requests", "Requests per UTC day (0: no limit)",
     &U::daily_requests, &L::daily_requests},
    {"daily_tokens", "--daily-tokens", "daily tokens",
     "Tokens (input + output) per UTC day (0: no limit)", &U::daily_tokens, &L::daily_tokens},
    {"monthly_tokens", "--monthly-tokens", "monthly tokens",
     "Tokens (input + output) per UTC month (0: no limit)", &U::monthly_tokens, &L::monthly_tokens},
}};

std::string limits_json(const store::TenantLimits& l) {
  JsonObject o;
  for (const LimitField& f : kLimitFields) o.num(f.json, l.*f.limit);
  return o.done();
}

std::string limits_update_json(const store::TenantLimitsUpdate& u) {
  JsonObject o;
  for (const LimitField& f : kLimitFields)
    if (const auto& v = u.*f.update) o.num(f.json, *v);
  return o.done();
}

std::string trim(std::string_view s) {
  const char* ws = " \t\r\n\f\v";
  auto b = s.find_first_not_of(ws);
  if (b == std::string_view::npos) return {};
  return std::string(s.substr(b, s.find_last_not_of(ws) - b + 1));
}

std::string normalize_base_url(std::string url) {
  url = trim(url);
  const bool http = url.starts_with("http://") && url.size() > 7;
  const bool https = url.starts_with("https://") && url.size() > 8;
  if ((!http && !https) || url.find_first_of(" \t\"") != std::string::npos)
    throw std::invalid_argument(
        "the base URL must be an http:// or https:// URL, e.g. https://api.openai.com/v1");
  while (url.ends_with('/')) url.pop_back();
  return url;
}

std::vector<std::string> parse_models(const std::string& list) {
  std::vector<std::string> out;
  if (trim(list) == "*") return out;
  std::size_t start = 0;
  while (start <= list.size()) {
    std::size_t end = std::min(list.find(',', start), list.size());
    if (std::string m = trim(std::string_view(list).substr(start, end - start)); !m.empty())
      out.push_back(std::move(m));
    start = end + 1;
  }
  return out;
}

std::string absolute_readable(const std::string& path) {
  if (!std::ifstream(path)) throw std::invalid_argument("cannot read CA file " + path);
  return std::filesystem::absolute(path).lexically_normal().string();
}

}  // namespace relay::admin

namespace relay::admin {

std::optional<std::int64_t> parse_since(std::string_view t, std::int64_t now_ms) {
  auto digits = [](std::string_view s, std::int64_t& out) {
    if (s.empty() || s.size() > 15) return false;
    out = 0;
    for (char c : s) {
      if (c < '0' || c > '9') return false;
      out = out * 10 + (c - '0');
    }
    return true;
  };
  std::int64_t n = 0;
  if (digits(t, n)) return n;
  if (t.size() >= 2) {
    const std::int64_t unit_ms = t.back() == 'm'   ? 60'000
                                 : t.back() == 'h' ? 3'600'000
                                 : t.back() == 'd' ? 86'400'000
                                                   : 0;
    if (unit_ms > 0 && digits(t.substr(0, t.size() - 1), n) && n <= 100'000)
      return now_ms - n * unit_ms;
  }
  std::int64_t y = 0, m = 0, d = 0;
  if (t.size() == 10 && t[4] == '-' && t[7] == '-' && digits(t.substr(0, 4), y) &&
      digits(t.substr(5, 2), m) && digits(t.substr(8, 2), d)) {
    using namespace std::chrono;
    const year_month_day ymd{year{static_cast<int>(y)}, month{static_cast<unsigned>(m)},
                             day{static_cast<unsigned>(d)}};
    if (!ymd.ok()) return std::nullopt;
    return duration_cast<milliseconds>(sys_days{ymd}.time_since_epoch()).count();
  }
  return std::nullopt;
}

}  // namespace relay::admin
