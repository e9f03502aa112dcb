#include "app/counter_persister.hpp"

#include <spdlog/spdlog.h>

#include "base/unix_time.hpp"

namespace relay::app {

namespace {
constexpr std::string_view kQuotaPrefix = "usage:";
}  // namespace

void CounterPersister::restore() {
  auto rows = store_->read(kQuotaPrefix, unix_now_ms());
  counters_.load(rows);
  spdlog::info("quota counters restored: {}", rows.size());
}

void CounterPersister::tick() {
  if (std::chrono::steady_clock::now() - last_ >= std::chrono::seconds(1)) flush();
}

void CounterPersister::flush() {
  last_ = std::chrono::steady_clock::now();
  try {
    store_->write(counters_.dump(kQuotaPrefix, unix_now_ms()));
  } catch (const std::exception& e) {
    spdlog::warn("quota counters not written: {}", e.what());
  }
}

}  // namespace relay::app
