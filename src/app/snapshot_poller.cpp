#include "app/snapshot_poller.hpp"

#include <spdlog/spdlog.h>

namespace relay::app {

void SnapshotPoller::load_now() {
  token_ = store_->change_token();
  auto snap = store_->load_snapshot();
  target_.set(snap);
  if (on_snapshot) on_snapshot(*snap);
}

void SnapshotPoller::start() {
  thread_ = std::thread([this] { run(); });
}

void SnapshotPoller::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

void SnapshotPoller::run() {
  using namespace std::chrono_literals;
  // Without news from the store (PostgreSQL's NOTIFY), the token is still read every few
  // seconds: a notification lost in transit must not leave a node on old config for long.
  constexpr auto kRecheck = 5s;
  auto last_check = std::chrono::steady_clock::now();
  bool failing = false;
  for (;;) {
    const bool news = store_->wait_for_change(250ms);
    {
      std::lock_guard lock(mu_);
      if (stopping_) return;
    }
    if (on_tick) on_tick();
    const auto now = std::chrono::steady_clock::now();
    if (!news && now - last_check < kRecheck) continue;
    last_check = now;
    try {
      auto token = store_->change_token();
      // A failing streak ends only when a reload works: a store that answers but cannot be
      // loaded (e.g. re-sealed under a new master key) must not log once per poll either.
      if (token != token_) {
        auto snap = store_->load_snapshot();
        token_ = token;
        target_.set(snap);
        if (on_snapshot) on_snapshot(*snap);
        spdlog::info("config reloaded: {} keys, {} accounts", target_.get()->keys_by_hash.size(),
                     target_.get()->accounts.size());
      }
      if (failing) spdlog::info("config store reachable again");
      failing = false;
    } catch (const std::exception& e) {
      // Keep serving the last good snapshot; the next poll tries again. Once per outage: a
      // database down for an hour must not write 14,400 lines.
      if (!failing) spdlog::warn("config reload failed, serving the last snapshot: {}", e.what());
      failing = true;
    }
  }
}

}  // namespace relay::app
