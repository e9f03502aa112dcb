// `codex-relay records`: the per-request metadata records, oldest first, one JSON object per line
// in the journal's own format (docs/records.md). For audits and scripts; `usage` sums them.
#include <charconv>
#include <iostream>

#include "app/cli_internal.hpp"
#include "records/usage_record.hpp"
#include "store/store_factory.hpp"
#include "store/usage_store.hpp"

namespace relay::app::cli {
namespace {

// A bound: unix milliseconds, or a UTC day YYYY-MM-DD (its first millisecond).
std::string parse_bound(const std::string& text, std::int64_t& out) {
  const char* end = text.data() + text.size();
  std::int64_t v = 0;
  auto [p, ec] = std::from_chars(text.data(), end, v);
  if (ec == std::errc() && p == end && v >= 0) {
    out = v;
    return {};
  }
  int y = 0;
  unsigned m = 0;
  unsigned d = 0;
  if (text.size() == 10 && text[4] == '-' && text[7] == '-' &&
      std::from_chars(text.data(), text.data() + 4, y).ptr == text.data() + 4 &&
      std::from_chars(text.data() + 5, text.data() + 7, m).ptr == text.data() + 7 &&
      std::from_chars(text.data() + 8, end, d).ptr == end) {
    const std::chrono::year_month_day ymd{std::chrono::year(y), std::chrono::month(m),
                                          std::chrono::day(d)};
    if (ymd.ok() && y >= 1970) {
      out = std::chrono::duration_cast<std::chrono::milliseconds>(
                std::chrono::sys_days(ymd).time_since_epoch())
                .count();
      return {};
    }
  }
  return "'" + text + "' is neither a date (YYYY-MM-DD, UTC) nor unix milliseconds";
}

}  // namespace

void add_records_command(CLI::App& app, Globals& g) {
  struct Opts {
    std::string tenant, since, until;
    std::size_t limit = 1000;
  };
  auto o = std::make_shared<Opts>();
  auto* cmd = app.add_subcommand(
      "records", "Per-request metadata records, oldest first, as JSON lines (no bodies, no keys)");
  cmd->add_option("--tenant", o->tenant, "Only this tenant's records");
  cmd->add_option("--since", o->since, "From this UTC day (YYYY-MM-DD) or unix ms, inclusive");
  cmd->add_option("--until", o->until, "Before this UTC day (YYYY-MM-DD) or unix ms, exclusive");
  cmd->add_option("--limit", o->limit, "At most this many records (default 1000)")
      ->check(CLI::Range(std::size_t{1}, std::size_t{10'000'000}));
  cmd->callback([&g, o] {
    g.action = [&g, o] {
      store::UsageFilter f;
      f.tenant = o->tenant;
      f.limit = o->limit;
      for (auto [text, dst] :
           {std::pair{&o->since, &f.since_ms}, std::pair{&o->until, &f.until_ms}}) {
        if (text->empty()) continue;
        if (auto err = parse_bound(*text, *dst); !err.empty()) {
          std::cerr << "codex-relay: error: " << err << "\n";
          return 2;
        }
      }
      auto usage = store::open_usage_store(g.config());
      for (const auto& r : usage->query(f)) std::cout << records::encode(r) << '\n';
      std::cout << std::flush;
      return 0;
    };
  });
}

}  // namespace relay::app::cli
