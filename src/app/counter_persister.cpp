#include "app/counter_persister.hpp"

#include <spdlog/spdlog.h>

namespace relay::app {

namespace {
constexpr std::string_view kQuotaPrefix = "usage:";

std::int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}
}  // namespace

void CounterPersister::restore() {
  auto rows = store_->read(kQuotaPrefix, wall_ms());
  counters_.load(rows);
  spdlog::info("quota counters restored: {}", rows.size());
}

void CounterPersister::tick() {
  if (std::chrono::steady_clock::now() - last_ >= std::chrono::seconds(1)) flush();
}

void CounterPersister::flush() {
  last_ = std::chrono::steady_clock::now();
  try {
    store_->write(counters_.dump(kQuotaPrefix, wall_ms()));
  } catch (const std::exception& e) {
    spdlog::warn("quota counters not written: {}", e.what());
  }
}

}  // namespace relay::app
