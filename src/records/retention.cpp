#include "records/retention.hpp"

#include <spdlog/spdlog.h>

#include <exception>
#include <utility>

#include "store/config_store.hpp"

namespace relay::records {

RetentionResult run_retention(store::UsageStore& store, std::int64_t now_ms,
                              const RetentionPolicy& policy) {
  RetentionResult r;
  r.records_deleted = store.delete_older_than(now_ms - policy.retention_days * kDayMs);
  r.aggregates_deleted = store.delete_aggregates_before(
      store::utc_day(now_ms - policy.aggregate_retention_days * kDayMs));
  return r;
}

RetentionJob::RetentionJob(StoreOpener open_store, RetentionPolicy policy,
                           std::chrono::milliseconds interval, Clock clock)
    : open_store_(std::move(open_store)),
      policy_(policy),
      interval_(interval),
      clock_(std::move(clock)),
      thread_([this] { loop(); }) {}

RetentionJob::~RetentionJob() {
  stop();
}

void RetentionJob::stop() {
  {
    std::lock_guard lk(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
}

std::uint64_t RetentionJob::runs() const {
  std::lock_guard lk(mu_);
  return runs_;
}

void RetentionJob::loop() {
  std::unique_lock lk(mu_);
  while (!stopping_) {
    lk.unlock();
    run_once();
    lk.lock();
    ++runs_;
    wake_.wait_for(lk, interval_, [this] { return stopping_; });
  }
  lk.unlock();
  store_.reset();  // on the thread that used the connection
}

void RetentionJob::run_once() {
  try {
    if (!store_) store_ = open_store_();
    const RetentionResult r = run_retention(*store_, clock_(), policy_);
    if (r.records_deleted > 0 || r.aggregates_deleted > 0)
      spdlog::info(
          "records retention: deleted {} records older than {} days and {} daily aggregate rows "
          "older than {} days",
          r.records_deleted, policy_.retention_days, r.aggregates_deleted,
          policy_.aggregate_retention_days);
  } catch (const std::exception& e) {
    // StoreError (busy, disk full) or a store that cannot be opened: the next run retries.
    spdlog::warn("records retention: failed (will retry in {} ms): {}", interval_.count(),
                 e.what());
  }
}

}  // namespace relay::records
