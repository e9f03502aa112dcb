#pragma once
// Retention of the metadata records (docs/records.md, "Retention"): per-request records go
// after [records] retention_days, their daily aggregates after aggregate_retention_days.
// RetentionJob runs it on its own thread, on its own store connection (SQLite connections
// belong to one thread), once at start and then every retention_interval_ms.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

#include "store/usage_store.hpp"

namespace relay::records {

inline constexpr std::int64_t kDayMs = 86'400'000;

struct RetentionPolicy {
  std::int64_t retention_days = 30;
  std::int64_t aggregate_retention_days = 400;
};

struct RetentionResult {
  std::int64_t records_deleted = 0;
  std::int64_t aggregates_deleted = 0;

  bool operator==(const RetentionResult&) const = default;
};

// Deletes the records that started before now_ms - retention_days, and the aggregates of the
// UTC days before the day of now_ms - aggregate_retention_days (so a day's aggregate goes
// whole, once all of it is older than that). Throws StoreError.
RetentionResult run_retention(store::UsageStore& store, std::int64_t now_ms,
                              const RetentionPolicy& policy);

class RetentionJob {
 public:
  using StoreOpener = std::function<std::unique_ptr<store::UsageStore>()>;
  using Clock = std::function<std::int64_t()>;  // unix ms

  // Starts the thread, which opens its store with open_store (retried on the next run when it
  // throws) and runs at once, then every interval.
  RetentionJob(StoreOpener open_store, RetentionPolicy policy, std::chrono::milliseconds interval,
               Clock clock);
  ~RetentionJob();  // stop()
  RetentionJob(const RetentionJob&) = delete;
  RetentionJob& operator=(const RetentionJob&) = delete;

  // Wakes the thread and joins it; a run in progress finishes first. Idempotent.
  void stop();
  // Runs finished so far, failed ones included.
  std::uint64_t runs() const;

 private:
  void loop();
  void run_once();

  StoreOpener open_store_;
  RetentionPolicy policy_;
  std::chrono::milliseconds interval_;
  Clock clock_;
  std::unique_ptr<store::UsageStore> store_;  // the job's thread only

  mutable std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::uint64_t runs_ = 0;
  std::thread thread_;
};

}  // namespace relay::records
