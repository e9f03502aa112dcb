#include "app/health_recorder.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "base/unix_time.hpp"

namespace relay::app {

void HealthRecorder::tick() {
  if (std::chrono::steady_clock::now() - last_ >= std::chrono::seconds(1)) flush();
}

void HealthRecorder::flush() {
  auto now = std::chrono::steady_clock::now();
  last_ = now;
  const std::int64_t wall_ms = unix_now_ms();
  // An account whose egresses are all down cannot be used whatever its own health says.
  const auto blocked = egresses_.unavailable_accounts(now);
  std::vector<store::AccountHealthRow> rows;
  for (const auto& s : pool_.status(now)) {
    store::AccountHealthRow r;
    r.account_id = s.id;
    r.account_name = s.name;
    r.state = std::binary_search(blocked.begin(), blocked.end(), s.id)
                  ? "egress_unavailable"
                  : std::string(pool::to_string(s.state));
    r.score = s.score;
    r.error_rate = s.error_rate;
    r.ttfb_ms = s.ttfb_ms;
    r.cooling_until_unix_ms = s.cooling_until_unix_ms;
    r.requests = s.requests;
    r.input_tokens = s.input_tokens;
    r.cached_tokens = s.cached_tokens;
    r.last_failure = std::string(pool::to_string(s.last_failure));
    r.updated_at_unix_ms = wall_ms;
    rows.push_back(std::move(r));
  }
  std::vector<store::AccountEvent> events;
  for (const auto& c : pool_.take_changes()) {
    store::AccountEvent e;
    e.account_id = c.account_id;
    e.account_name = c.account_name;
    e.from_state = std::string(pool::to_string(c.from));
    e.to_state = std::string(pool::to_string(c.to));
    e.cause = c.note.empty() ? std::string(pool::to_string(c.cause)) : c.note;
    e.at_unix_ms = c.at_unix_ms;
    spdlog::warn("account {}: {} -> {} ({})", e.account_name, e.from_state, e.to_state, e.cause);
    events.push_back(std::move(e));
  }
  std::vector<store::EgressHealthRow> egress_rows;
  for (const auto& e : egresses_.status()) {
    store::EgressHealthRow r;
    r.egress_id = e.id;
    r.egress_name = e.name;
    r.account_name = e.account_name;
    r.state = e.up ? "up" : "down";
    r.last_error = e.last_error;
    r.updated_at_unix_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(e.changed_at.time_since_epoch())
            .count();
    egress_rows.push_back(std::move(r));
  }
  try {
    store_->write(rows, events);
    store_->write_egress_health(egress_rows);
  } catch (const std::exception& ex) {
    spdlog::warn("health record not written: {}", ex.what());
  }
}

}  // namespace relay::app
