#include "app/pool_metrics.hpp"

#include <algorithm>
#include <array>
#include <tuple>

#include "metrics/text_format.hpp"

namespace relay::app {

namespace {

constexpr std::array kAccountStates{pool::HealthState::kHealthy, pool::HealthState::kCooling,
                                    pool::HealthState::kHalfOpen, pool::HealthState::kDisabled};

}  // namespace

void render_pool_metrics(std::string& out, const pool::AccountPool& accounts,
                         const pool::EgressPool& egresses,
                         std::chrono::steady_clock::time_point now) {
  using metrics::append_family_header;
  using metrics::append_sample;
  const auto account_status = accounts.status(now);  // sorted by name

  // Every state has a series (0 or 1), so a state change shows as a change of value rather
  // than a series appearing, and alerts can match on `== 1`.
  append_family_header(out, "codex_relay_account_state",
                       "1 for the account's current health state, 0 for the others.", "gauge");
  for (const auto& a : account_status)
    for (const auto state : kAccountStates)
      append_sample(out, "codex_relay_account_state",
                    {{"account", a.name}, {"state", pool::to_string(state)}},
                    a.state == state ? 1 : 0);

  append_family_header(out, "codex_relay_account_health_score",
                       "The account's health score used to pick accounts; higher is better, 0 "
                       "when it cannot take traffic.",
                       "gauge");
  for (const auto& a : account_status)
    append_sample(out, "codex_relay_account_health_score", {{"account", a.name}}, a.score);

  append_family_header(out, "codex_relay_account_in_flight",
                       "Requests holding one of the account's concurrency slots.", "gauge");
  for (const auto& a : account_status)
    append_sample(out, "codex_relay_account_in_flight", {{"account", a.name}},
                  static_cast<double>(a.in_flight));

  // status() sorts by egress name only; two accounts may name their egresses alike.
  auto egress_status = egresses.status();
  std::sort(egress_status.begin(), egress_status.end(), [](const auto& x, const auto& y) {
    return std::tie(x.name, x.account_name, x.id) < std::tie(y.name, y.account_name, y.id);
  });
  append_family_header(out, "codex_relay_egress_state",
                       "1 for the egress's current state (up or down), 0 for the other.", "gauge");
  for (const auto& e : egress_status)
    for (const bool up : {true, false})
      append_sample(
          out, "codex_relay_egress_state",
          {{"egress", e.name}, {"account", e.account_name}, {"state", up ? "up" : "down"}},
          e.up == up ? 1 : 0);
}

}  // namespace relay::app
