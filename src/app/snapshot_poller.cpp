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
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void SnapshotPoller::run() {
  std::unique_lock lock(mu_);
  while (!cv_.wait_for(lock, std::chrono::milliseconds(250), [this] { return stopping_; })) {
    if (on_tick) on_tick();
    try {
      auto token = store_->change_token();
      if (token == token_) continue;
      auto snap = store_->load_snapshot();
      token_ = token;
      target_.set(snap);
      if (on_snapshot) on_snapshot(*snap);
      spdlog::info("config reloaded: {} keys, {} accounts", target_.get()->keys_by_hash.size(),
                   target_.get()->accounts.size());
    } catch (const std::exception& e) {
      // Keep serving the last good snapshot; the next poll tries again.
      spdlog::warn("config reload failed: {}", e.what());
    }
  }
}

}  // namespace relay::app
