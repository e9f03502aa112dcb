#include "app/health_recorder.hpp"

#include <spdlog/spdlog.h>

namespace relay::app {

void HealthRecorder::tick() {
  if (std::chrono::steady_clock::now() - last_ >= std::chrono::seconds(1)) flush();
}

void HealthRecorder::flush() {
  auto now = std::chrono::steady_clock::now();
  last_ = now;
  auto wall_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                     std::chrono::system_clock::now().time_since_epoch())
                     .count();
  std::vector<store::AccountHealthRow> rows;
  for (const auto& s : pool_.status(now)) {
    store::AccountHealthRow r;
    r.account_id = s.id;
    r.account_name = s.name;
    r.state = std::string(pool::to_string(s.state));
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
  try {
    store_->write(rows, events);
  } catch (const std::exception& ex) {
    spdlog::warn("health record not written: {}", ex.what());
  }
}

}  // namespace relay::app
