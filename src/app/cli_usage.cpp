// usage: totals from the daily aggregates (docs/records.md, "The usage report"). Reads only
// usage_daily, so it answers from one small table whatever the records' retention, and works
// while serve writes to the same relay.db (WAL: readers never wait for the writer).
#include <fmt/core.h>

#include <array>
#include <cctype>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "app/cli_internal.hpp"
#include "base/unix_time.hpp"
#include "store/store_factory.hpp"

namespace relay::app::cli {
namespace {

struct UsageOpts {
  std::string tenant, since, until, by = "day", format = "table";
};

constexpr std::array<std::string_view, 9> kColumns = {
    "requests",      "errors",           "incomplete", "input_tokens", "cached_tokens",
    "output_tokens", "reasoning_tokens", "bytes_in",   "bytes_out"};

std::array<std::int64_t, 9> values(const store::UsageTotals& t) {
  return {t.requests,      t.errors,           t.incomplete, t.input_tokens, t.cached_tokens,
          t.output_tokens, t.reasoning_tokens, t.bytes_in,   t.bytes_out};
}

// A real calendar day written YYYY-MM-DD, or nullopt.
std::optional<std::chrono::sys_days> parse_day(const std::string& s) {
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') return std::nullopt;
  std::array<int, 3> parts{};
  for (std::size_t i = 0, p = 0; i < s.size(); ++i) {
    if (i == 4 || i == 7) {
      ++p;
      continue;
    }
    if (s[i] < '0' || s[i] > '9') return std::nullopt;
    parts[p] = parts[p] * 10 + (s[i] - '0');
  }
  using namespace std::chrono;
  const year_month_day ymd{year{parts[0]}, month{static_cast<unsigned>(parts[1])},
                           day{static_cast<unsigned>(parts[2])}};
  if (!ymd.ok()) return std::nullopt;
  return sys_days{ymd};
}

std::string check_day(const std::string& s) {
  return parse_day(s) ? "" : "'" + s + "' is not a date as YYYY-MM-DD (UTC)";
}

// The day n days before a valid YYYY-MM-DD.
std::string days_before(const std::string& day, int n) {
  using namespace std::chrono;
  const sys_days d = *parse_day(day) - days{n};
  return store::utc_day(duration_cast<milliseconds>(d.time_since_epoch()).count());
}

std::int64_t saturating_add(std::int64_t a, std::int64_t b) {
  std::int64_t r = 0;
  return __builtin_add_overflow(a, b, &r) ? (b < 0 ? INT64_MIN : INT64_MAX) : r;
}

store::UsageGroup group_of(const std::string& by) {
  if (by == "model") return store::UsageGroup::kModel;
  if (by == "key") return store::UsageGroup::kKey;
  if (by == "account") return store::UsageGroup::kAccount;
  if (by == "tenant") return store::UsageGroup::kTenant;
  return store::UsageGroup::kDay;
}

// Length of the valid UTF-8 sequence at s[i], or 0.
std::size_t utf8_len(std::string_view s, std::size_t i) {
  const auto c = static_cast<unsigned char>(s[i]);
  const std::size_t n = c < 0x80                 ? 1
                        : c >= 0xC2 && c <= 0xDF ? 2
                        : c >= 0xE0 && c <= 0xEF ? 3
                        : c >= 0xF0 && c <= 0xF4 ? 4
                                                 : 0;
  if (n == 0 || i + n > s.size()) return 0;
  for (std::size_t k = 1; k < n; ++k)
    if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return 0;
  const auto c1 = static_cast<unsigned char>(n > 1 ? s[i + 1] : 0);
  if ((c == 0xE0 && c1 < 0xA0) || (c == 0xED && c1 > 0x9F) || (c == 0xF0 && c1 < 0x90) ||
      (c == 0xF4 && c1 > 0x8F))
    return 0;  // overlong, surrogate, or above U+10FFFF
  return n;
}

// For a terminal: models come from clients, so a control character (C0, DEL or C1, any of which
// may start an escape sequence) or a byte that is not UTF-8 becomes '?'.
std::string printable(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    const std::size_t n = utf8_len(s, i);
    const bool c1 = n == 2 && c == 0xC2 && static_cast<unsigned char>(s[i + 1]) < 0xA0;
    if (n == 0 || c < 0x20 || c == 0x7F || c1)
      out += '?';
    else
      out.append(s.substr(i, n));
    i += n == 0 ? 1 : n;
  }
  return out;
}

// The group left-aligned, numbers right-aligned; a TOTAL line when there is any row. Exact
// values are what csv and json are for.
void print_usage_table(const std::string& by, const std::vector<store::UsageTotals>& rows) {
  std::vector<std::vector<std::string>> cells;
  std::vector<std::string> header = {by};
  for (auto c : kColumns) header.emplace_back(c);
  for (auto& h : header)
    for (auto& c : h) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  cells.push_back(std::move(header));
  std::array<std::int64_t, 9> total{};
  for (const auto& r : rows) {
    std::vector<std::string> line = {r.group.empty() ? "-" : printable(r.group)};
    const auto v = values(r);
    for (std::size_t i = 0; i < v.size(); ++i) {
      line.push_back(std::to_string(v[i]));
      total[i] = saturating_add(total[i], v[i]);
    }
    cells.push_back(std::move(line));
  }
  if (!rows.empty()) {
    std::vector<std::string> line = {"TOTAL"};
    for (auto v : total) line.push_back(std::to_string(v));
    cells.push_back(std::move(line));
  }
  std::vector<std::size_t> width(cells[0].size(), 0);
  for (const auto& line : cells)
    for (std::size_t i = 0; i < line.size(); ++i)
      width[i] = std::max(width[i], display_width(line[i]));
  for (const auto& line : cells) {
    std::string out = line[0] + std::string(width[0] - display_width(line[0]), ' ');
    for (std::size_t i = 1; i < line.size(); ++i)
      out += std::string(width[i] - line[i].size() + 2, ' ') + line[i];
    fmt::print("{}\n", out);
  }
}

// RFC 4180: a field holding a comma, a quote or a line break is quoted, its quotes doubled.
std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

void print_usage_csv(const std::string& by, const std::vector<store::UsageTotals>& rows) {
  std::string out = by;
  for (auto c : kColumns) out += fmt::format(",{}", c);
  out += "\r\n";
  for (const auto& r : rows) {
    out += csv_field(r.group);
    for (auto v : values(r)) out += fmt::format(",{}", v);
    out += "\r\n";
  }
  fmt::print("{}", out);
}

// A JSON string; a byte that is not valid UTF-8 becomes U+FFFD, so the output always parses.
std::string json_string(std::string_view s) {
  std::string out = "\"";
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    const std::size_t n = utf8_len(s, i);
    if (n == 0)
      out += "\\ufffd";
    else if (c == '"' || c == '\\')
      out += {'\\', static_cast<char>(c)};
    else if (c < 0x20)
      out += fmt::format("\\u{:04x}", c);
    else
      out.append(s.substr(i, n));
    i += n == 0 ? 1 : n;
  }
  return out + "\"";
}

void print_usage_json(const std::string& by, const std::vector<store::UsageTotals>& rows) {
  std::string out = "[";
  for (std::size_t r = 0; r < rows.size(); ++r) {
    out += fmt::format("{}\n  {{{}:{}", r == 0 ? "" : ",", json_string(by),
                       json_string(rows[r].group));
    const auto v = values(rows[r]);
    for (std::size_t i = 0; i < v.size(); ++i) out += fmt::format(",\"{}\":{}", kColumns[i], v[i]);
    out += "}";
  }
  out += rows.empty() ? "]\n" : "\n]\n";
  fmt::print("{}", out);
}

int usage_report(const Globals& g, const UsageOpts& o) {
  const std::vector<store::UsageTotals> rows =
      store::open_usage_store(g.config())
          ->totals({.tenant = o.tenant, .since_day = o.since, .until_day = o.until},
                   group_of(o.by));
  if (o.format == "csv")
    print_usage_csv(o.by, rows);
  else if (o.format == "json")
    print_usage_json(o.by, rows);
  else
    print_usage_table(o.by, rows);
  return 0;
}

}  // namespace

void add_usage_command(CLI::App& app, Globals& g) {
  auto o = std::make_shared<UsageOpts>();
  auto* cmd = app.add_subcommand(
      "usage", "Report requests, errors, tokens and bytes from the daily aggregates (UTC days)");
  cmd->add_option("--tenant", o->tenant, "Only this tenant (default: every tenant)");
  auto* since =
      cmd->add_option("--since", o->since, "First day, YYYY-MM-DD (default: --until - 29 days)")
          ->check(check_day);
  auto* until = cmd->add_option("--until", o->until, "Last day, YYYY-MM-DD (default: today)")
                    ->check(check_day);
  cmd->add_option("--by", o->by, "Group by day, model, key, account or tenant (default day)")
      ->check(CLI::IsMember({"day", "model", "key", "account", "tenant"}));
  cmd->add_option("--format", o->format, "table, csv or json (default table)")
      ->check(CLI::IsMember({"table", "csv", "json"}));
  cmd->callback([&g, o, since, until] {
    if (until->count() == 0) o->until = store::utc_day(unix_now_ms());
    if (since->count() == 0) o->since = days_before(o->until, 29);
    if (o->since > o->until)
      throw CLI::ValidationError("usage", "--since " + o->since + " is after --until " + o->until);
    g.action = [&g, o] { return usage_report(g, *o); };
  });
}

}  // namespace relay::app::cli
