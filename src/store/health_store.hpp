#pragma once
// HealthStore: what `serve` records about its accounts' and egresses' health, for operators
// (`account list`, `egress list`) and for the record (state-change events). Written by serve's
// background thread about once a second; read by the CLI. Strings instead of pool enums keep the
// store independent of pool/.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace relay::store {

struct AccountHealthRow {
  std::int64_t account_id = 0;
  std::string account_name;
  std::string state;  // healthy, cooling, half_open, disabled
  double score = 0;
  double error_rate = 0;  // 0..1, moving average
  double ttfb_ms = 0;     // moving average
  std::int64_t cooling_until_unix_ms = 0;
  std::int64_t requests = 0;
  std::int64_t input_tokens = 0;
  std::int64_t cached_tokens = 0;
  std::string last_failure;  // failure class name, or "none"
  std::int64_t updated_at_unix_ms = 0;
};

struct AccountEvent {
  std::int64_t account_id = 0;
  std::string account_name;
  std::string from_state;
  std::string to_state;
  std::string cause;  // failure class, "operator_enable", "probe_ok", ...
  std::int64_t at_unix_ms = 0;
};

// One egress (forward proxy) as serve last reported it (issue 5), for `egress list`.
struct EgressHealthRow {
  std::int64_t egress_id = 0;
  std::string egress_name;
  std::string account_name;
  std::string state;                    // "up" or "down"
  std::string last_error;               // why it is down; "" when up
  std::int64_t updated_at_unix_ms = 0;  // when the state last changed
};

class HealthStore {
 public:
  virtual ~HealthStore() = default;
  // Replaces the health rows and appends the events, in one transaction.
  virtual void write(const std::vector<AccountHealthRow>& rows,
                     const std::vector<AccountEvent>& events) = 0;
  virtual std::vector<AccountHealthRow> read_health() = 0;
  // The newest `limit` events, oldest first (the CLI prints them in this order).
  virtual std::vector<AccountEvent> recent_events(std::size_t limit) = 0;

  // Replaces every egress row with these, in one transaction.
  virtual void write_egress_health(const std::vector<EgressHealthRow>& rows) = 0;
  virtual std::vector<EgressHealthRow> read_egress_health() = 0;  // by egress name
};

}  // namespace relay::store
